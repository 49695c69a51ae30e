#include "tb/traffic_source.h"

#include <cmath>

#include "proto/checksum.h"

namespace nicsim::tb {

using sc_core::sc_time;

traffic_source::traffic_source(const sc_core::sc_module_name& name, const traffic_params& params)
    : sc_core::sc_module(name), m_params(params), m_port("port", params.line_rate_gbps), m_rng(params.seed) {
  SC_HAS_PROCESS(traffic_source);
  SC_THREAD(run);
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

void traffic_source::run() {
  if (m_start_after != nullptr) sc_core::wait(*m_start_after);
  sc_core::wait(m_params.start);
  sc_time next = sc_core::sc_time_stamp();
  for (uint64_t i = 0; m_params.count == 0 || i < m_params.count; ++i) {
    const sc_time now = sc_core::sc_time_stamp();
    if (next > now) sc_core::wait(next - now);
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
    next = sc_core::sc_time_stamp() + gap_after(i);  // ≥ one slot: the port does not wait for the gap
    m_port.transmit(f);                              // returns when the last bit has arrived
  }
}

}  // namespace nicsim::tb
