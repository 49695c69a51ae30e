#pragma once
// The built-in link partner: puts real Ethernet/IPv4/UDP frames on the wire through its
// Ethernet port (tlm/eth_port), which serializes them at line rate: a frame occupies
// (preamble+SFD 8 + frame + IFG 12) bytes of wire time and the MAC gets it when its last
// bit has arrived. Whatever the NIC sends back through the port is counted and discarded.
#include <cstdint>
#include <random>
#include <string>
#include <systemc>

#include "proto/frame.h"
#include "tlm/eth_port.h"

namespace nicsim::tb {

struct traffic_params {
  double rate_gbps = 1;
  double line_rate_gbps = 10;
  unsigned frame_bytes = 512;
  enum pattern_t { constant, poisson, burst } pattern = constant;
  unsigned burst_frames = 32;
  uint64_t count = 0;  // 0: no limit
  unsigned flows = 1;  // frame i goes to flow.dst_port + i % flows
  // Every corrupt_every-th frame is damaged in one way, to exercise the receive checks.
  enum corruption_t { none, fcs, ip_csum, udp_csum } corrupt = none;
  unsigned corrupt_every = 0;
  sc_core::sc_time start{sc_core::SC_ZERO_TIME};
  uint64_t seed = 1;
  proto::udp_flow flow;
};

class traffic_source : public sc_core::sc_module {
 public:
  traffic_source(const sc_core::sc_module_name& name, const traffic_params& params);

  // The partner's end of the link: bind it to the NIC's port (nic::port()).
  tlm::eth_port& port() { return m_port; }
  // Start no earlier than this event (link up).
  void start_after(const sc_core::sc_event& e) { m_start_after = &e; }

  // Counted at the port.
  uint64_t frames_sent() const { return m_port.stats().tx_frames; }  // first bit on the wire
  uint64_t bytes_sent() const { return m_port.stats().tx_bytes; }
  uint64_t frames_delivered() const { return m_port.stats().tx_done; }  // last bit at the MAC
  uint64_t frames_corrupted() const { return m_corrupted; }
  // What the NIC sent to the partner (last bit arrived).
  uint64_t frames_received() const { return m_port.stats().rx_frames; }
  uint64_t bytes_received() const { return m_port.stats().rx_bytes; }
  // Wire time of one frame: preamble, frame and inter-frame gap.
  sc_core::sc_time slot_time() const;
  sc_core::sc_time frame_time() const;  // preamble + frame, without the gap

 private:
  void run();
  static void corrupt(std::vector<uint8_t>& frame, traffic_params::corruption_t what);
  sc_core::sc_time gap_after(uint64_t index);

  traffic_params m_params;
  tlm::eth_port m_port;
  const sc_core::sc_event* m_start_after = nullptr;
  std::mt19937_64 m_rng;
  proto::wire_frame m_on_wire;
  uint64_t m_corrupted = 0;
};

}  // namespace nicsim::tb
