#pragma once
// The built-in link partner: puts real Ethernet/IPv4/UDP frames on the wire through its
// Ethernet port (tlm/eth_port), which serializes them at line rate: a frame occupies
// (preamble+SFD 8 + frame + IFG 12) bytes of wire time and the MAC gets it when its last
// bit has arrived. Whatever the NIC sends back through the port is checked (FCS, IPv4 header
// checksum, UDP or ICMP checksum) and counted in exactly one of partner_rx_stats' classes.
// pattern rr is netperf's UDP_RR: a window of requests in flight, each answered by the host
// (app.role=echo) with the request's stamp, the next request sent as a response arrives.
// proto tcp: the partner is a TCP sender (tb/partner/tcp_sender.h) with traffic.flows
// connections to the host's app.port, the application writing as the pattern says.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <systemc>
#include <unordered_map>
#include <vector>

#include "host/value_histogram.h"
#include "proto/frame.h"
#include "tb/partner/tcp_sender.h"
#include "tlm/eth_port.h"
#include "tlm/local_time.h"
#include "waves/observer.h"

namespace nicsim::tb {

class pcap_capture;

struct traffic_params {
  double rate_gbps = 1;
  double line_rate_gbps = 10;
  unsigned frame_bytes = 512;
  enum pattern_t { constant, poisson, burst, rr } pattern = constant;
  unsigned rr_outstanding = 1;  // rr: requests in flight (netperf's burst + 1)
  unsigned response_bytes = 0;  // rr: the response frame's size; 0: the request's
  unsigned burst_frames = 32;
  uint64_t count = 0;  // 0: no limit
  unsigned flows = 1;  // frame i goes to flow.dst_port + i % flows
  // Every corrupt_every-th frame is damaged in one way, to exercise the receive checks.
  enum corruption_t { none, fcs, ip_csum, udp_csum } corrupt = none;
  unsigned corrupt_every = 0;
  sc_core::sc_time start{sc_core::SC_ZERO_TIME};
  uint64_t seed = 1;
  proto::udp_flow flow;
  // traffic.pcap (tb/pcap_source.h): replay this capture instead of generating frames;
  // make_system_params reads and checks it into `capture`.
  std::string pcap;
  std::shared_ptr<const pcap_capture> capture;
  enum pcap_timing_t { pcap_capture_time, pcap_rate } pcap_timing = pcap_capture_time;
  uint64_t pcap_loop = 0;  // passes after the first
  // TCP (traffic.proto=tcp): connection k from flow.src_port + k to tcp_dst_port (the host's
  // app.port, copied by make_system_params).
  enum proto_t { udp, tcp } proto = udp;
  partner::tcp_cc tcp_cc = partner::tcp_cc::cubic;
  partner::tcp_recovery tcp_recovery = partner::tcp_recovery::rack;
  uint16_t tcp_dst_port = 9000;
};

// TCP's sizes from traffic.frame_bytes. The SYN's MSS option is what a frame of frame_bytes
// leaves for TCP payload without options (frame - Ethernet 14 - IPv4 20 - TCP 20 - FCS 4, as
// Linux advertises MTU - 40); every later segment carries the timestamp option (12 bytes), so
// a full data segment carries MSS - 12 bytes and its frame is exactly frame_bytes. The
// application writes in units of that payload.
inline unsigned tcp_mss_option(unsigned frame_bytes) {
  return frame_bytes - static_cast<unsigned>(proto::ETH_HLEN + proto::IPV4_HLEN + 20 + proto::ETH_FCS_LEN);
}
inline unsigned tcp_write_unit(unsigned frame_bytes) { return tcp_mss_option(frame_bytes) - 12; }
// The smallest frame_bytes TCP accepts: an MSS option of TCP_MIN_MSS (88, include/net/tcp.h).
inline constexpr unsigned TCP_MIN_FRAME_BYTES = partner::TCP_MIN_MSS + 14 + 20 + 20 + 4;

// What the partner received from the NIC, each frame in exactly one class (rx_frames is
// their sum), checked in this order: the FCS; for us (our MAC or broadcast, IPv4, a header
// that parses; else unexpected); the IPv4 header checksum; our IP; UDP or ICMP (else
// unexpected) and its checksum.
struct partner_rx_stats {
  uint64_t rx_frames = 0, rx_bytes = 0;
  uint64_t rx_fcs_errors = 0, rx_csum_errors = 0, rx_udp = 0, rx_icmp = 0, rx_unexpected = 0;
  uint64_t rx_icmp_port_unreach = 0;  // of rx_icmp: destination unreachable, port (type 3 code 3)
  uint64_t rx_tcp = 0;                // TCP with a good checksum (bad ones are rx_csum_errors)
  uint64_t rx_tcp_no_conn = 0;        // of rx_tcp: for no connection of the partner's
};

// netperf UDP_RR as the partner measures it.
struct rr_stats {
  uint64_t requests = 0;      // sent
  uint64_t transactions = 0;  // answered with the right payload
  uint64_t bad_payload = 0;   // answered (the stamp matched) with other bytes or size
  uint64_t unmatched = 0;     // UDP to us carrying no stamp of a request in flight
  uint64_t max_outstanding = 0;
  uint64_t latency_sum_ns = 0;
  host::value_histogram latency_ns;  // request's first bit out to the response's last bit in
  sc_core::sc_time first_request{sc_core::SC_ZERO_TIME};
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
  const partner_rx_stats& rx_stats() const { return m_rx; }
  // TCP: the connections (empty with UDP).
  const std::vector<std::unique_ptr<partner::tcp_sender>>& tcp() const { return m_tcp; }
  // Waves: the TCP senders' cwnd (segments) and bytes in flight, summed over connections.
  void attach(waves::observer* o);
  const rr_stats& rr() const { return m_rr; }
  // rr: requests sent and never answered (so far; at the end of a run: lost).
  uint64_t rr_open() const { return m_rr_open.size(); }
  const traffic_params& params() const { return m_params; }
  // The lazy first bit (issue 15), for the paced UDP generator on a link without delay: a
  // frame's first-bit work (making it, the port's counts, the taps) is done when its last bit
  // is due, stamped with the first bit's time, so each frame costs one activation instead of
  // two. For a run whose taps only stamp (no waves, timeline, pcap, fates or frames CSV:
  // system_top decides); finish_lazy_first_bit() must then follow the run, to start the frame whose
  // first bit was due before the end and whose last bit was not.
  void set_lazy_first_bit(bool on) { m_lazy = on; }
  void finish_lazy_first_bit();
  // Frames whose first bit was taken lazily (for tests; no result depends on it).
  uint64_t lazy_first_bits() const { return m_lazy_first_bits; }
  // Wire time of one frame: preamble, frame and inter-frame gap.
  sc_core::sc_time slot_time() const;
  sc_core::sc_time frame_time() const;  // preamble + frame, without the gap

 private:
  struct request {
    uint64_t first_bit_ps;
    uint64_t tx_ns;
    uint16_t src_port, dst_port;
  };
  void run();
  void run_rr();
  void run_pcap();  // tb/pcap_source.cpp
  void run_tcp();
  void tcp_frame(const uint8_t* ip, const uint8_t* tcp, size_t tcp_len);
  void tcp_probe();
  // Frame i of the generator (its flow, stamp and damage) into m_on_wire, stamped at `at`.
  void make_frame(uint64_t i, sc_core::sc_time at);
  void make_frame(uint64_t i) { make_frame(i, tlm::sim_now()); }
  void receive(const proto::wire_frame& frame);
  void rr_response(const uint8_t* udp, size_t udp_len);
  static void corrupt(std::vector<uint8_t>& frame, traffic_params::corruption_t what);
  sc_core::sc_time gap_after(uint64_t index);
  sc_core::sc_time compute_slot_time() const;

  traffic_params m_params;
  tlm::eth_port m_port;
  const sc_core::sc_event* m_start_after = nullptr;
  std::mt19937_64 m_rng;
  proto::wire_frame m_on_wire;
  sc_core::sc_time m_slot;  // slot_time(), worked out once
  // run()'s state: where the generator resumes, the frame it is at, when the next may start.
  enum class gen_state { link_up, start, first, pace, frame, port_free, last_bit, lazy_last_bit, stopped };
  gen_state m_gen = gen_state::link_up;
  uint64_t m_gen_i = 0;
  sc_core::sc_time m_gen_next{sc_core::SC_ZERO_TIME};
  bool m_lazy = false;
  sc_core::sc_time m_lazy_start{sc_core::SC_ZERO_TIME};  // lazy_last_bit: the frame's first bit
  bool m_lazy_corrupted = false;                         // lazy_last_bit: the frame was damaged
  uint64_t m_lazy_first_bits = 0;
  uint64_t m_corrupted = 0;
  partner_rx_stats m_rx;
  rr_stats m_rr;
  std::unordered_map<uint32_t, request> m_rr_open;  // by the stamp's sequence number
  sc_core::sc_event m_rr_answered;
  std::vector<std::unique_ptr<partner::tcp_sender>> m_tcp;
  sc_core::sc_event m_tcp_event;  // a segment came in
  uint64_t m_tcp_frames = 0;      // frames sent: the wire id, and the IPv4 ID's low 16 bits
  unsigned m_tcp_next = 0;        // round robin over connections
  waves::probe m_cwnd_probe, m_inflight_probe;
};

}  // namespace nicsim::tb
