#include "tb/traffic_source.h"

#include <algorithm>
#include <cmath>

#include "proto/checksum.h"

namespace nicsim::tb {

using sc_core::sc_time;

traffic_source::traffic_source(const sc_core::sc_module_name& name, const traffic_params& params)
    : sc_core::sc_module(name), m_params(params), m_port("port", params.line_rate_gbps), m_rng(params.seed) {
  SC_HAS_PROCESS(traffic_source);
  if (m_params.capture) {
    SC_THREAD(run_pcap);
  } else if (m_params.pattern == traffic_params::rr) {
    SC_THREAD(run_rr);
  } else {
    SC_THREAD(run);
  }
  m_port.register_receive([this](const proto::wire_frame& f) { receive(f); });
}

sc_time traffic_source::slot_time() const {
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

void traffic_source::make_frame(uint64_t i) {
  proto::payload_stamp stamp;
  stamp.seq = static_cast<uint32_t>(i);
  stamp.tx_ns = sc_core::sc_time_stamp().value() / 1000;  // ps → ns
  proto::wire_frame& f = m_on_wire;                       // a member: the run may end mid-frame
  f.id = i;
  f.first_bit_ps = sc_core::sc_time_stamp().value();
  proto::udp_flow flow = m_params.flow;
  // Flow k is its own 4-tuple: src_port + k to dst_port + k (so RSS can tell flows apart).
  flow.src_port = static_cast<uint16_t>(flow.src_port + i % m_params.flows);
  flow.dst_port = static_cast<uint16_t>(flow.dst_port + i % m_params.flows);
  f.bytes = proto::build_udp_frame(flow, m_params.frame_bytes, stamp);
  if (m_params.corrupt != traffic_params::none && m_params.corrupt_every &&
      (i + 1) % m_params.corrupt_every == 0) {
    corrupt(f.bytes, m_params.corrupt);
    ++m_corrupted;
  }
}

void traffic_source::run() {
  if (m_start_after != nullptr) sc_core::wait(*m_start_after);
  sc_core::wait(m_params.start);
  sc_time next = sc_core::sc_time_stamp();
  for (uint64_t i = 0; m_params.count == 0 || i < m_params.count; ++i) {
    const sc_time now = sc_core::sc_time_stamp();
    if (next > now) sc_core::wait(next - now);
    make_frame(i);
    next = sc_core::sc_time_stamp() + gap_after(i);  // ≥ one slot: the port does not wait for the gap
    m_port.transmit(m_on_wire);                      // returns when the last bit has arrived
  }
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
    const sc_time start = m_port.next_start(), now = sc_core::sc_time_stamp();
    if (start > now) sc_core::wait(start - now);
    make_frame(i);
    const uint8_t* udp = m_on_wire.bytes.data() + proto::ETH_HLEN + proto::IPV4_HLEN;
    if (m_rr.requests == 0) m_rr.first_request = sc_core::sc_time_stamp();
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
      (ip[9] != proto::IPPROTO_UDP && ip[9] != proto::IPPROTO_ICMP)) {
    ++m_rx.rx_unexpected;
    return;
  }
  const uint8_t* l4 = ip + ihl;
  const size_t l4_len = ip_len - ihl;
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
  for (size_t i = proto::payload_stamp::SIZE; good && i < len; ++i)
    good = payload[i] == proto::payload_fill(stamp.seq, i);
  if (good) {
    const uint64_t ns = (sc_core::sc_time_stamp().value() - req.first_bit_ps) / 1000;
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
