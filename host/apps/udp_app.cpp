#include "host/apps/udp_app.h"

#include "proto/frame.h"
#include "tlm/local_time.h"

namespace nicsim::host {

namespace {
constexpr size_t USER_BUFFER_BYTES = 65536;  // recvfrom(fd, buf, sizeof buf, ...): any datagram fits
}  // namespace

udp_app::udp_app(cpu& c, udp& proto, const udp_app_params& params)
    : m_home(c), m_udp(proto), m_params(params), m_sock(proto.udp_bind(params.port, params.rcvbuf_bytes)) {
  m_sock.busy_poll = params.busy_poll;
  m_sock.sk_sndbuf = params.sndbuf_bytes;
  m_stats.per_reader.assign(params.readers, 0);
  m_last_seq.assign(params.readers, -1);
  for (unsigned i = 0; i < params.readers; ++i)
    m_user_buffers.push_back(std::unique_ptr<uint8_t[]>(new uint8_t[USER_BUFFER_BYTES]));
  for (unsigned i = 0; i < params.readers; ++i)
    m_readers.push_back(m_home.kthread_create(
        params.comm + "/" + std::to_string(i), [this, i] { reader(i); }, params.pinned));
}

void udp_app::reader(unsigned index) {
  // The user buffer lives in the app, not on the task's stack: a run may end
  // while the task is suspended, and SystemC does not unwind suspended threads.
  uint8_t* const buf = m_user_buffers[index].get();
  cpu::this_cpu().current()->in_kernel = false;
  for (;;) {
    waves::observer* obs = cpu::this_cpu().observer();
    const int track = cpu::this_cpu().current()->track;
    if (obs) obs->begin(track, "recvfrom");
    cpu::this_cpu().syscall_enter();  // recvfrom(fd, buf, sizeof buf, 0, ...)
    sockaddr_in from;
    const long n = m_udp.udp_recvmsg(m_sock, buf, USER_BUFFER_BYTES, m_params.nonblocking, &from);
    if (n == EAGAIN_) {
      ++m_stats.eagain;
      cpu::this_cpu().syscall_exit();
      if (obs) obs->end(track);
      continue;  // spin: try again at once
    }
    ++m_returning;  // copied to the reader's buffer, recvfrom not yet returned
    cpu::this_cpu().syscall_exit();
    --m_returning;
    if (obs) obs->end(track);
    received(buf, static_cast<size_t>(n), index);
    if (m_params.role == udp_app_params::role_t::echo) {
      if (obs) obs->begin(track, "sendto");
      cpu::this_cpu().syscall_enter();  // sendto(fd, buf, n, 0, &from, sizeof from)
      const uint8_t* out = buf;
      size_t out_len = static_cast<size_t>(n);
      proto::payload_stamp stamp;
      if (m_params.response_payload != 0 && m_params.response_payload != out_len &&
          proto::read_payload_stamp(buf, out_len, &stamp)) {
        m_response.resize(m_params.response_payload);
        proto::write_payload(m_response.data(), m_response.size(), stamp);
        // No charge: netserver sends from a buffer it filled once; the stamp is written here
        // only so that the partner can match and verify the response.
        out = m_response.data();
        out_len = m_response.size();
      }
      const long sent = m_udp.udp_sendmsg(m_sock, out, out_len, from, m_params.nonblocking);
      cpu::this_cpu().syscall_exit();
      if (obs) obs->end(track);
      if (sent < 0) {
        ++m_stats.send_errors;
      } else {
        ++m_stats.sent;
        m_stats.sent_bytes += static_cast<uint64_t>(sent);
      }
    }
    waves::slice work(obs, track, "work");
    cpu::this_cpu().charge(m_params.work);
  }
}

void udp_app::received(const uint8_t* buf, size_t n, unsigned index) {
  ++m_stats.messages;
  ++m_stats.per_reader[index];
  m_stats.bytes += n;
  proto::payload_stamp stamp;
  if (!proto::read_payload_stamp(buf, n, &stamp)) {
    ++m_stats.bad_payloads;
    return;
  }
  if (!proto::payload_fill_matches(buf, n, stamp.seq, proto::payload_stamp::SIZE)) ++m_stats.bad_payloads;
  if (static_cast<int64_t>(stamp.seq) < m_last_seq[index]) ++m_stats.out_of_order;
  m_last_seq[index] = stamp.seq;
  const auto now_ns = static_cast<uint64_t>(tlm::local_now().value() / 1000);  // ps → ns
  m_stats.latency_ns.add(now_ns - stamp.tx_ns);
  if (m_params.record) {
    m_record.seqs.push_back(stamp.seq);
    m_record.latency_ns.push_back(now_ns - stamp.tx_ns);
  }
  if (auto* o = cpu::this_cpu().observer())
    o->frame(stamp.seq, waves::frame_stage::delivered, cpu::this_cpu().current()->track);
}

}  // namespace nicsim::host
