#include "host/apps/tcp_app.h"

#include "proto/tcp_stream.h"

namespace nicsim::host {

tcp_app::tcp_app(cpu& c, tcp& proto, const tcp_app_params& params)
    : m_home(c),
      m_tcp(proto),
      m_params(params),
      m_listener(proto.tcp_listen(params.port, params.backlog)),
      m_conns(params.connections, nullptr),
      m_conn_state(params.connections) {
  for (unsigned k = 0; k < params.connections; ++k)
    proto.declare_child_waves(m_listener, static_cast<uint16_t>(params.peer_port_base + k), c.observer());
  m_stats.per_reader.assign(uint64_t{params.connections} * params.readers, 0);
  m_pieces.resize(uint64_t{params.connections} * params.readers);
  m_tasks.push_back(m_home.kthread_create(
      params.comm + "/accept", [this] { acceptor(); }, params.pinned));
  for (unsigned k = 0; k < params.connections; ++k)
    for (unsigned r = 0; r < params.readers; ++r) {
      // The user buffer lives in the app, not on the task's stack (see udp_app), left
      // uninitialized: only the pages recv copies into are touched.
      m_user_buffers.push_back(std::unique_ptr<uint8_t[]>(new uint8_t[params.read_bytes]));
      m_tasks.push_back(m_home.kthread_create(
          params.comm + "/" + std::to_string(k) + "-" + std::to_string(r), [this, k, r] { reader(k, r); },
          params.pinned));
    }
}

// accept(2) in a loop: connection k is the partner's from source port peer_port_base + k
// (tb/traffic_source.cpp run_tcp); its readers are woken.
void tcp_app::acceptor() {
  cpu::this_cpu().current()->in_kernel = false;
  for (;;) {
    cpu::this_cpu().syscall_enter();  // accept(lfd, &addr, &len)
    tcp_sock& sk = m_tcp.inet_csk_accept(m_listener);
    cpu::this_cpu().syscall_exit();
    ++m_stats.accepted;
    const unsigned k = static_cast<uint16_t>(sk.dport - m_params.peer_port_base);
    if (k >= m_conns.size() || m_conns[k] != nullptr) {
      ++m_stats.unknown_peer;  // no reader for it: its data stays unread
      continue;
    }
    sk.conn_index = k;
    cpu::this_cpu().syscall_enter();  // setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, ...)
    sk.sk_rcvlowat = m_params.rcvlowat;
    cpu::this_cpu().syscall_exit();
    m_conns[k] = &sk;
    // pthread_cond_broadcast to the connection's readers (a futex wake).
    __wake_up(m_conn_state[k].wq, 0);
  }
}

void tcp_app::reader(unsigned k, unsigned r) {
  const unsigned index = k * m_params.readers + r;
  uint8_t* const buf = m_user_buffers[index].get();
  cpu::this_cpu().current()->in_kernel = false;
  conn_state& cs = m_conn_state[k];
  while (m_conns[k] == nullptr) {  // pthread_cond_wait
    wait_queue_entry wait;
    init_wait(wait, cpu::this_cpu());
    prepare_to_wait(cs.wq, wait, cpu::this_cpu());
    if (m_conns[k] == nullptr) cpu::this_cpu().schedule();
    finish_wait(wait, cpu::this_cpu());
  }
  tcp_sock& sk = *m_conns[k];
  for (;;) {
    waves::observer* obs = cpu::this_cpu().observer();
    const int track = cpu::this_cpu().current()->track;
    if (obs) obs->begin(track, "recv");
    cpu::this_cpu().syscall_enter();  // recv(fd, buf, read_bytes, 0)
    auto& pieces = m_pieces[index];
    pieces.clear();
    ++cs.in_recv;
    const long n = m_tcp.tcp_recvmsg(sk, buf, m_params.read_bytes, nullptr, &pieces);
    --cs.in_recv;
    const uint64_t got = n > 0 ? static_cast<uint64_t>(n) : 0;
    m_returning_bytes += got;  // copied to the reader's buffer, recv not yet returned
    cs.returning += got;
    cpu::this_cpu().syscall_exit();
    m_returning_bytes -= got;
    cs.returning -= got;
    if (obs) obs->end(track);
    if (n <= 0) continue;  // the connection closed (the partner never closes in a run)
    ++m_stats.reads;
    ++m_stats.per_reader[index];
    size_t at = 0;
    for (const auto& [off32, len] : pieces) {
      // tcp_recvmsg gives offsets as 32 bits of sequence space: unwrap them near what was read.
      const uint64_t offset =
          cs.contiguous + static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(off32) -
                                                                    static_cast<uint32_t>(cs.contiguous)));
      received(k, index, offset, buf + at, len);
      at += len;
    }
    waves::slice work(obs, track, "work");
    cpu::this_cpu().charge(m_params.work);
  }
}

void tcp_app::received(unsigned k, unsigned index, uint64_t offset, const uint8_t* buf, size_t n) {
  conn_state& cs = m_conn_state[k];
  (void)index;
  m_stats.bytes += n;
  cs.bytes += n;
  if (proto::tcp_stream_check(k, offset, buf, n) != offset + n) ++m_stats.bad_payloads;
  // Once and in order: the pieces the readers count must tile the stream.
  const uint64_t end = offset + n;
  if (offset < cs.contiguous) {
    ++m_stats.out_of_order;
    return;
  }
  auto next = cs.ahead.lower_bound(offset);
  if ((next != cs.ahead.end() && next->first < end) ||
      (next != cs.ahead.begin() && std::prev(next)->second > offset)) {
    ++m_stats.out_of_order;
    return;
  }
  if (offset != cs.contiguous) {
    cs.ahead.emplace(offset, end);
    return;
  }
  cs.contiguous = end;
  for (auto it = cs.ahead.begin(); it != cs.ahead.end() && it->first == cs.contiguous;
       it = cs.ahead.erase(it))
    cs.contiguous = it->second;
}

}  // namespace nicsim::host
