#include "tb/traffic_source.h"

#include <algorithm>
#include <cmath>

#include "proto/checksum.h"
#include "proto/tcp.h"
#include "proto/tcp_stream.h"
#include "tlm/local_time.h"

namespace nicsim::tb {

using sc_core::sc_time;

traffic_source::traffic_source(const sc_core::sc_module_name& name, const traffic_params& params)
    : sc_core::sc_module(name), m_params(params), m_port("port", params.line_rate_gbps), m_rng(params.seed) {
  m_slot = compute_slot_time();
  SC_HAS_PROCESS(traffic_source);
  if (m_params.capture) {
    SC_THREAD(run_pcap);
  } else if (m_params.proto == traffic_params::tcp) {
    // Each connection's initial sequence number and timestamp offset, drawn from the seed
    // (Linux draws them from secure_tcp_seq and secure_tcp_ts_off).
    for (unsigned k = 0; k < m_params.flows; ++k) {
      partner::tcp_sender_config c;
      c.conn = k;
      c.src_port = static_cast<uint16_t>(m_params.flow.src_port + k);
      c.dst_port = m_params.tcp_dst_port;
      c.mss = static_cast<uint16_t>(tcp_mss_option(m_params.frame_bytes));
      c.cc = m_params.tcp_cc;
      c.recovery = m_params.tcp_recovery;
      c.iss = static_cast<uint32_t>(m_rng());
      c.ts_offset = static_cast<uint32_t>(m_rng());
      m_tcp.push_back(std::make_unique<partner::tcp_sender>(c));
    }
    SC_THREAD(run_tcp);
  } else if (m_params.pattern == traffic_params::rr) {
    SC_THREAD(run_rr);
  } else {
    // A method, not a thread: two activations per frame (first bit, last bit) with no stack
    // switch, the same actions at the same times as a thread's loop of waits.
    SC_METHOD(run);
  }
  m_port.register_receive([this](const proto::wire_frame& f) { receive(f); });
}

sc_time traffic_source::slot_time() const { return m_slot; }

sc_time traffic_source::compute_slot_time() const {
  const double bits = 8.0 * (proto::ETH_PREAMBLE_SFD + m_params.frame_bytes + proto::ETH_IFG);
  return sc_time(bits / m_params.line_rate_gbps, sc_core::SC_NS);
}

sc_time traffic_source::frame_time() const {
  const double bits = 8.0 * (proto::ETH_PREAMBLE_SFD + m_params.frame_bytes);
  return sc_time(bits / m_params.line_rate_gbps, sc_core::SC_NS);
}

// Time from one frame's first bit to the next one's.
sc_time traffic_source::gap_after(uint64_t index) {
  const sc_time slot = slot_time();
  const double load = m_params.rate_gbps / m_params.line_rate_gbps;  // ≤ 1
  switch (m_params.pattern) {
    case traffic_params::rr:  // not paced: the window is (run_rr)
    case traffic_params::constant:
      return slot / load;
    case traffic_params::poisson: {
      std::exponential_distribution<double> exp(load / slot.to_seconds());
      const sc_time t(exp(m_rng), sc_core::SC_SEC);
      return t < slot ? slot : t;  // a frame cannot start before the previous one ended
    }
    case traffic_params::burst: {
      const uint64_t n = m_params.burst_frames;
      if ((index + 1) % n != 0) return slot;
      // The last frame of a burst waits so that a whole period averages `load`.
      return slot * static_cast<double>(n) / load - slot * static_cast<double>(n - 1);
    }
  }
  return slot;
}

// Damages one field and, unless the FCS is the target, re-seals the frame
// so that only the intended check can catch it.
void traffic_source::corrupt(std::vector<uint8_t>& f, traffic_params::corruption_t what) {
  const size_t body = f.size() - proto::ETH_FCS_LEN;
  switch (what) {
    case traffic_params::fcs:
      f[body] ^= 0xFF;
      return;
    case traffic_params::ip_csum:
      f[proto::ETH_HLEN + 10] ^= 0x5A;
      break;
    case traffic_params::udp_csum:
      f[proto::ETH_HLEN + proto::IPV4_HLEN + 6] ^= 0x5A;
      break;
    case traffic_params::none:
      return;
  }
  const uint32_t fcs = proto::crc32(f.data(), body);
  for (int k = 0; k < 4; ++k) f[body + static_cast<size_t>(k)] = static_cast<uint8_t>(fcs >> (8 * k));
}

void traffic_source::make_frame(uint64_t i, sc_time at) {
  proto::payload_stamp stamp;
  stamp.seq = static_cast<uint32_t>(i);
  stamp.tx_ns = at.value() / 1000;   // ps → ns
  proto::wire_frame& f = m_on_wire;  // a member: the run may end mid-frame
  f.id = i;
  f.first_bit_ps = at.value();
  proto::udp_flow flow = m_params.flow;
  // Flow k is its own 4-tuple: src_port + k to dst_port + k (so RSS can tell flows apart).
  flow.src_port = static_cast<uint16_t>(flow.src_port + i % m_params.flows);
  flow.dst_port = static_cast<uint16_t>(flow.dst_port + i % m_params.flows);
  proto::build_udp_frame(f.bytes, flow, m_params.frame_bytes, stamp);  // in the last frame's storage
  if (m_params.corrupt != traffic_params::none && m_params.corrupt_every &&
      (i + 1) % m_params.corrupt_every == 0) {
    corrupt(f.bytes, m_params.corrupt);
    ++m_corrupted;
  }
}

// The generator (an SC_METHOD, so a state machine): after link up and traffic.start, frame i
// goes out when the previous frame's pacing gap is over: its first bit (make_frame, the port's
// begin_transmit), then one frame time later its last bit (end_transmit: the MAC gets it).
// This is a thread's
//   for (i...) { if (next > now) wait(next - now); make_frame(i); next = now + gap_after(i);
//                m_port.transmit(m_on_wire); }
// step by step, each wait a next_trigger.
void traffic_source::run() {
  for (;;) {
    switch (m_gen) {
      case gen_state::link_up:
        m_gen = gen_state::start;
        if (m_start_after != nullptr) {
          next_trigger(*m_start_after);
          return;
        }
        [[fallthrough]];
      case gen_state::start:
        m_gen = gen_state::first;
        next_trigger(m_params.start);  // a delta cycle when zero, as wait(SC_ZERO_TIME)
        return;
      case gen_state::first:
        m_gen_next = tlm::sim_now();
        m_gen = gen_state::pace;
        [[fallthrough]];
      case gen_state::pace: {
        if (m_params.count != 0 && m_gen_i >= m_params.count) return;  // done: no trigger left
        const sc_time now = tlm::sim_now();
        if (m_lazy) {
          // The frame, its gap and its first bit at the times the steps below would take
          // them; the first bit's work is done when the last bit is due (lazy_last_bit).
          const sc_time first = m_gen_next > now ? m_gen_next : now;
          const uint64_t corrupted = m_corrupted;
          make_frame(m_gen_i, first);
          m_lazy_corrupted = m_corrupted != corrupted;
          m_gen_next = first + gap_after(m_gen_i);
          m_lazy_start = first > m_port.free_at() ? first : m_port.free_at();
          m_gen = gen_state::lazy_last_bit;
          next_trigger(m_lazy_start + m_port.frame_time(m_on_wire.bytes.size()) - now);
          return;
        }
        m_gen = gen_state::frame;
        if (m_gen_next > now) {
          next_trigger(m_gen_next - now);
          return;
        }
        [[fallthrough]];
      }
      case gen_state::frame:
        make_frame(m_gen_i);
        m_gen_next = tlm::sim_now() + gap_after(m_gen_i);  // ≥ one slot
        m_gen = gen_state::port_free;
        [[fallthrough]];
      case gen_state::port_free: {
        // The port is this generator's alone: never busy here, but it may still be in the gap.
        const sc_time now = tlm::sim_now(), start = m_port.next_start();
        if (start > now) {
          next_trigger(start - now);
          return;
        }
        m_gen = gen_state::last_bit;
        next_trigger(m_port.begin_transmit(m_on_wire));
        return;
      }
      case gen_state::stopped:
        return;
      case gen_state::lazy_last_bit:
        m_port.begin_transmit_at(m_on_wire, m_lazy_start);
        ++m_lazy_first_bits;
        [[fallthrough]];
      case gen_state::last_bit:
        m_port.end_transmit(m_on_wire);
        ++m_gen_i;
        m_gen = gen_state::pace;
        break;
    }
  }
}

// After a run with the lazy first bit: a frame whose first bit was due before the end (the
// activation at the end's own time does not run, as in sc_start) is started, as the
// generator's own first-bit step would have; a frame made for a first bit at or after the end
// is taken back (its damage uncounted). Either way the generator stops.
void traffic_source::finish_lazy_first_bit() {
  if (m_gen != gen_state::lazy_last_bit) return;
  if (m_lazy_start < tlm::sim_now())
    m_port.begin_transmit_at(m_on_wire, m_lazy_start);
  else if (m_lazy_corrupted)
    --m_corrupted;
  m_gen = gen_state::stopped;
}

// netperf's UDP_RR (src/nettest_omni.c, send_omni_inner): rr_outstanding requests go out
// back to back (the first one and the burst), then each response lets one more out. No
// request is sent again: a lost one holds its place in the window to the end of the run,
// as in netperf. The rate knob does not pace requests; the window does.
void traffic_source::run_rr() {
  if (m_start_after != nullptr) sc_core::wait(*m_start_after);
  sc_core::wait(m_params.start);
  for (uint64_t i = 0; m_params.count == 0 || i < m_params.count; ++i) {
    while (m_rr_open.size() >= m_params.rr_outstanding) sc_core::wait(m_rr_answered);
    // Stamped at the time its first bit leaves: the port is free then.
    const sc_time start = m_port.next_start(), now = tlm::sim_now();
    if (start > now) sc_core::wait(start - now);
    make_frame(i);
    const uint8_t* udp = m_on_wire.bytes.data() + proto::ETH_HLEN + proto::IPV4_HLEN;
    if (m_rr.requests == 0) m_rr.first_request = tlm::sim_now();
    ++m_rr.requests;
    m_rr_open[static_cast<uint32_t>(i)] = {m_on_wire.first_bit_ps, m_on_wire.first_bit_ps / 1000,
                                           proto::get_be16(udp), proto::get_be16(udp + 2)};
    m_rr.max_outstanding = std::max<uint64_t>(m_rr.max_outstanding, m_rr_open.size());
    m_port.transmit(m_on_wire);
  }
}

namespace {
bool is_broadcast(const uint8_t* mac) {
  return std::all_of(mac, mac + proto::ETH_ALEN, [](uint8_t b) { return b == 0xFF; });
}
}  // namespace

// The partner's receive checks, in the order a host's NIC and stack make them.
void traffic_source::receive(const proto::wire_frame& frame) {
  const std::vector<uint8_t>& f = frame.bytes;
  ++m_rx.rx_frames;
  m_rx.rx_bytes += f.size();
  if (f.size() < proto::ETH_MIN_FRAME || !proto::fcs_ok(f.data(), f.size())) {
    ++m_rx.rx_fcs_errors;
    return;
  }
  const uint8_t* p = f.data();
  const size_t body = f.size() - proto::ETH_FCS_LEN;
  const auto& me = m_params.flow;  // the partner is the flows' source
  const bool our_mac = std::equal(me.src_mac.begin(), me.src_mac.end(), p) || is_broadcast(p);
  const uint8_t* ip = p + proto::ETH_HLEN;
  const size_t ihl = static_cast<size_t>(ip[0] & 0x0F) * 4;
  const size_t ip_len = proto::get_be16(ip + 2);
  if (!our_mac || proto::get_be16(p + 12) != proto::ETH_P_IP || (ip[0] >> 4) != 4 || ihl < proto::IPV4_HLEN ||
      ip_len < ihl || proto::ETH_HLEN + ip_len > body) {
    ++m_rx.rx_unexpected;
    return;
  }
  if (proto::csum_fold(proto::csum_partial(ip, ihl)) != 0) {
    ++m_rx.rx_csum_errors;
    return;
  }
  const uint16_t frag = proto::get_be16(ip + 6) & 0x3FFF;  // MF or an offset: not reassembled
  if (proto::get_be32(ip + 16) != me.src_ip || frag != 0 ||
      (ip[9] != proto::IPPROTO_UDP && ip[9] != proto::IPPROTO_ICMP && ip[9] != proto::IPPROTO_TCP)) {
    ++m_rx.rx_unexpected;
    return;
  }
  const uint8_t* l4 = ip + ihl;
  const size_t l4_len = ip_len - ihl;
  if (ip[9] == proto::IPPROTO_TCP) {
    const size_t doff = l4_len >= proto::TCP_HLEN ? static_cast<size_t>(l4[12] >> 4) * 4 : 0;
    if (doff < proto::TCP_HLEN || doff > l4_len) {
      ++m_rx.rx_unexpected;
    } else if (proto::tcp_checksum_verify(proto::get_be32(ip + 12), proto::get_be32(ip + 16), l4, l4_len) !=
               0) {
      ++m_rx.rx_csum_errors;
    } else {
      ++m_rx.rx_tcp;
      tcp_frame(ip, l4, l4_len);
    }
    return;
  }
  if (ip[9] == proto::IPPROTO_ICMP) {
    if (l4_len < 8) {
      ++m_rx.rx_unexpected;
    } else if (proto::csum_fold(proto::csum_partial(l4, l4_len)) != 0) {
      ++m_rx.rx_csum_errors;
    } else {
      ++m_rx.rx_icmp;
      if (l4[0] == 3 && l4[1] == 3) ++m_rx.rx_icmp_port_unreach;  // ICMP_DEST_UNREACH, ICMP_PORT_UNREACH
    }
    return;
  }
  const size_t udp_len = l4_len >= proto::UDP_HLEN ? proto::get_be16(l4 + 4) : 0;
  if (udp_len < proto::UDP_HLEN || udp_len > l4_len) {
    ++m_rx.rx_unexpected;
    return;
  }
  // A zero checksum field: the sender computed none (RFC 768).
  if (proto::get_be16(l4 + 6) != 0 &&
      proto::csum_fold(proto::csum_tcpudp_nofold(proto::get_be32(ip + 12), proto::get_be32(ip + 16),
                                                 static_cast<uint16_t>(udp_len), proto::IPPROTO_UDP,
                                                 proto::csum_partial(l4, udp_len))) != 0) {
    ++m_rx.rx_csum_errors;
    return;
  }
  ++m_rx.rx_udp;
  if (m_params.pattern == traffic_params::rr) rr_response(l4, udp_len);
}

// ------------------------------------------------------------------ TCP

void traffic_source::attach(waves::observer* o) {
  if (m_tcp.empty()) return;
  m_cwnd_probe.attach(o, "partner.tcp.cwnd", 32);
  m_inflight_probe.attach(o, "partner.tcp.bytes_in_flight", 32);
  tcp_probe();
}

void traffic_source::tcp_probe() {
  if (!m_cwnd_probe && !m_inflight_probe) return;
  uint64_t cwnd = 0, in_flight = 0;
  for (const auto& c : m_tcp) {
    if (c->st() != partner::tcp_sender::state::established) continue;
    cwnd += c->cwnd();
    in_flight += c->bytes_in_flight();
  }
  m_cwnd_probe(cwnd);
  m_inflight_probe(in_flight);
}

// A TCP segment to us with a good checksum: to the connection whose ports it names.
void traffic_source::tcp_frame(const uint8_t* ip, const uint8_t* tcp, size_t tcp_len) {
  proto::tcp_header h;
  size_t payload_off = 0;
  const bool parsed = proto::parse_tcp_header(tcp, tcp_len, &h, &payload_off) == proto::tcp_parse_error::none;
  const unsigned k = static_cast<uint16_t>(h.dst_port - m_params.flow.src_port);
  if (!parsed || m_tcp.empty() || proto::get_be32(ip + 12) != m_params.flow.dst_ip ||
      h.src_port != m_params.tcp_dst_port || k >= m_tcp.size()) {
    ++m_rx.rx_tcp_no_conn;
    return;
  }
  m_tcp[k]->on_segment(h, tcp_len - payload_off, tlm::sim_now().value() / 1000);
  tcp_probe();
  m_tcp_event.notify(sc_core::SC_ZERO_TIME);
}

// The TCP sender's thread: opens every connection, lets the application write as the pattern
// says, runs the senders' timers and, whenever the port is free, asks the connections in
// turn for a segment ("may I send now"). The eth_port serializes at line rate: the ceiling.
void traffic_source::run_tcp() {
  if (m_start_after != nullptr) sc_core::wait(*m_start_after);
  sc_core::wait(m_params.start);
  auto now_ns = [] { return tlm::sim_now().value() / 1000; };
  for (auto& c : m_tcp) c->open(now_ns());
  const uint64_t unit = tcp_write_unit(m_params.frame_bytes);
  const auto n = static_cast<unsigned>(m_tcp.size());
  // At line rate the application always has data (a bulk writer, limited by cwnd and the
  // receive window only); traffic.count then writes all of its units at once. Below line
  // rate, write i of one unit goes to connection i % flows when the UDP pattern would send
  // frame i.
  const bool paced = m_params.rate_gbps < m_params.line_rate_gbps;
  uint64_t writes = 0;
  if (!paced) {
    if (m_params.count == 0) {
      for (auto& c : m_tcp) c->set_app_unlimited();
    } else {
      // Write i to connection i % flows, all at once: connection k gets its share in one go.
      for (unsigned k = 0; k < n; ++k)
        m_tcp[k]->app_write(unit * (m_params.count / n + (k < m_params.count % n ? 1 : 0)));
      writes = m_params.count;
    }
  }
  sc_time next_write = tlm::sim_now();
  partner::tcp_segment_out seg;
  std::vector<uint8_t> payload;
  proto::tcp_endpoints ep;
  ep.src_mac = m_params.flow.src_mac;
  ep.dst_mac = m_params.flow.dst_mac;
  ep.src_ip = m_params.flow.src_ip;
  ep.dst_ip = m_params.flow.dst_ip;
  for (;;) {
    const sc_time now = tlm::sim_now();
    while (paced && (m_params.count == 0 || writes < m_params.count) && next_write <= now) {
      m_tcp[writes % n]->app_write(unit);
      next_write += gap_after(writes);
      ++writes;
    }
    uint64_t wake_ns = UINT64_MAX;
    for (auto& c : m_tcp) {
      if (c->next_timer() <= now_ns()) c->on_timer(now_ns());
      wake_ns = std::min(wake_ns, c->next_timer());
    }
    const sc_time start = m_port.next_start();
    if (start > now) {  // the port is busy: ask again when it is free
      sc_core::wait(start - now);
      continue;
    }
    bool sent = false;
    for (unsigned i = 0; i < n && !sent; ++i) {
      const unsigned k = (m_tcp_next + i) % n;
      if (!m_tcp[k]->next_segment(now_ns(), &seg)) continue;
      sent = true;
      m_tcp_next = (k + 1) % n;
      payload.resize(seg.payload_len);
      proto::tcp_stream_fill(k, seg.stream_offset, payload.data(), payload.size());
      proto::wire_frame& f = m_on_wire;  // a member: the run may end mid-frame
      f.id = m_tcp_frames++;
      f.first_bit_ps = now.value();
      f.bytes =
          proto::build_tcp_frame(ep, static_cast<uint16_t>(f.id), seg.hdr, payload.data(), payload.size());
      // traffic.corrupt applies to TCP frames as to UDP ones (fcs, ip_csum): the host drops the
      // frame and the sender, which took it as sent, retransmits.
      if (m_params.corrupt != traffic_params::none && m_params.corrupt_every &&
          (f.id + 1) % m_params.corrupt_every == 0) {
        corrupt(f.bytes, m_params.corrupt);
        ++m_corrupted;
      }
    }
    if (sent) {
      tcp_probe();
      m_port.transmit(m_on_wire);
      continue;
    }
    // Nothing may go now: sleep until a segment comes in, a timer is due or the application
    // writes again.
    sc_time wake = sc_core::SC_ZERO_TIME;
    bool timed = false;
    if (wake_ns != UINT64_MAX) {
      const sc_time t(static_cast<double>(wake_ns), sc_core::SC_NS);
      wake = t > now ? t - now : sc_time(1, sc_core::SC_NS);
      timed = true;
    }
    if (paced && (m_params.count == 0 || writes < m_params.count)) {
      const sc_time w = next_write - now;
      if (!timed || w < wake) wake = w;
      timed = true;
    }
    if (timed)
      sc_core::wait(wake, m_tcp_event);
    else
      sc_core::wait(m_tcp_event);
  }
}

// A response: the request's stamp, from the port it went to, back to the port it came from,
// carrying the request's payload (the echo's same bytes) at the response size.
void traffic_source::rr_response(const uint8_t* udp, size_t udp_len) {
  const uint8_t* payload = udp + proto::UDP_HLEN;
  const size_t len = udp_len - proto::UDP_HLEN;
  proto::payload_stamp stamp;
  auto it = proto::read_payload_stamp(payload, len, &stamp) ? m_rr_open.find(stamp.seq) : m_rr_open.end();
  if (it == m_rr_open.end()) {
    ++m_rr.unmatched;
    return;
  }
  const request& req = it->second;
  const unsigned resp_bytes = m_params.response_bytes != 0 ? m_params.response_bytes : m_params.frame_bytes;
  bool good = len == proto::udp_payload_len(resp_bytes) && stamp.tx_ns == req.tx_ns &&
              proto::get_be16(udp) == req.dst_port && proto::get_be16(udp + 2) == req.src_port;
  good = good && proto::payload_fill_matches(payload, len, stamp.seq, proto::payload_stamp::SIZE);
  if (good) {
    const uint64_t ns = (tlm::sim_now().value() - req.first_bit_ps) / 1000;
    ++m_rr.transactions;
    m_rr.latency_ns.add(ns);
    m_rr.latency_sum_ns += ns;
  } else {
    ++m_rr.bad_payload;
  }
  m_rr_open.erase(it);
  m_rr_answered.notify(sc_core::SC_ZERO_TIME);
}

}  // namespace nicsim::tb
