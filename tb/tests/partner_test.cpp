// The link partner's receive side and its request/response mode (issue 12): every frame the
// host sends lands in exactly one partner.* counter, and traffic.pattern=rr runs netperf's
// UDP_RR against a reflector on the other end of the wire. The reflector is a test harness
// standing in for the host's echo application: an Ethernet port and a thread that swaps
// MACs, addresses and ports, recomputes the checksums and sends the payload back after a
// configurable delay.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <set>
#include <systemc>
#include <vector>

#include "proto/checksum.h"
#include "proto/frame.h"
#include "tb/percentile.h"
#include "tb/traffic_source.h"
#include "tlm/eth_port.h"

namespace {

using nicsim::tb::traffic_params;
using nicsim::tb::traffic_source;
using nicsim::tlm::eth_port;
namespace proto = nicsim::proto;
using sc_core::sc_time;

sc_time ns(double v) { return sc_time(v, sc_core::SC_NS); }

// The host's side of the partner's flows: from 10.0.0.2 back to 10.0.0.1.
proto::udp_flow host_flow() {
  const proto::udp_flow partner;
  proto::udp_flow f;
  f.src_mac = partner.dst_mac;
  f.dst_mac = partner.src_mac;
  f.src_ip = partner.dst_ip;
  f.dst_ip = partner.src_ip;
  f.src_port = partner.dst_port;
  f.dst_port = partner.src_port;
  return f;
}

// The IPv4 header checksum and the FCS computed again after an edit.
void seal(std::vector<uint8_t>& f, bool ip_csum = true) {
  uint8_t* ip = f.data() + proto::ETH_HLEN;
  if (ip_csum) {
    proto::put_be16(ip + 10, 0);
    proto::put_be16(ip + 10, proto::csum_fold(proto::csum_partial(ip, proto::IPV4_HLEN)));
  }
  const size_t body = f.size() - proto::ETH_FCS_LEN;
  const uint32_t fcs = proto::crc32(f.data(), body);
  for (size_t k = 0; k < 4; ++k) f[body + k] = static_cast<uint8_t>(fcs >> (8 * k));
}

// ICMP destination unreachable (port) about a datagram, as icmp_send builds it: the
// offending IPv4 header and the first 8 bytes of its payload.
std::vector<uint8_t> icmp_port_unreachable() {
  const auto offending = proto::build_udp_frame(host_flow(), 128, {});
  const size_t quoted = proto::IPV4_HLEN + 8, icmp_len = 8 + quoted;
  std::vector<uint8_t> f(std::max(proto::ETH_HLEN + proto::IPV4_HLEN + icmp_len + 4, proto::ETH_MIN_FRAME),
                         0);
  std::copy(offending.begin(), offending.begin() + proto::ETH_HLEN, f.begin());  // MACs, EtherType
  uint8_t* ip = f.data() + proto::ETH_HLEN;
  std::copy(offending.begin() + proto::ETH_HLEN, offending.begin() + proto::ETH_HLEN + proto::IPV4_HLEN, ip);
  proto::put_be16(ip + 2, static_cast<uint16_t>(proto::IPV4_HLEN + icmp_len));
  ip[9] = proto::IPPROTO_ICMP;
  uint8_t* icmp = ip + proto::IPV4_HLEN;
  icmp[0] = 3;  // ICMP_DEST_UNREACH
  icmp[1] = 3;  // ICMP_PORT_UNREACH
  std::copy(offending.begin() + proto::ETH_HLEN, offending.begin() + proto::ETH_HLEN + quoted, icmp + 8);
  proto::put_be16(icmp + 2, proto::csum_fold(proto::csum_partial(icmp, icmp_len)));
  seal(f);
  return f;
}

// Sends a list of frames to the partner, one after another.
struct host_sender : sc_core::sc_module {
  SC_HAS_PROCESS(host_sender);
  host_sender(const sc_core::sc_module_name& n, std::vector<std::vector<uint8_t>> frames)
      : sc_core::sc_module(n), port("port"), m_frames(std::move(frames)) {
    SC_THREAD(run);
  }
  void run() {
    for (size_t i = 0; i < m_frames.size(); ++i) {
      proto::wire_frame f;
      f.id = i;
      f.bytes = m_frames[i];
      port.transmit(f);
    }
  }
  eth_port port;
  std::vector<std::vector<uint8_t>> m_frames;
};

traffic_params quiet_partner() {
  traffic_params p;
  p.line_rate_gbps = 10;
  p.start = sc_time(1, sc_core::SC_SEC);  // sends nothing during the test
  return p;
}

TEST(partner, every_received_frame_lands_in_exactly_one_counter) {
  const auto good = proto::build_udp_frame(host_flow(), 256, {});
  auto bad_fcs = good;
  bad_fcs.at(bad_fcs.size() - proto::ETH_FCS_LEN) ^= 0xFF;  // the FCS, first byte
  auto bad_ip = good;
  bad_ip[proto::ETH_HLEN + 10] ^= 0x5A;  // the header checksum itself
  seal(bad_ip, false);
  auto bad_udp = good;
  bad_udp[proto::ETH_HLEN + proto::IPV4_HLEN + proto::UDP_HLEN + 20] ^= 0x01;  // a payload byte
  seal(bad_udp);
  auto other_mac = good;
  other_mac[0] = 0x0E;  // to someone else
  seal(other_mac);
  auto arp = good;
  proto::put_be16(arp.data() + 12, 0x0806);
  seal(arp);
  auto other_ip = good;
  proto::put_be32(other_ip.data() + proto::ETH_HLEN + 16, 0x0A000009);
  seal(other_ip);  // a correct header for an address that is not ours
  traffic_source partner("partner", quiet_partner());
  host_sender host("host",
                   {good, bad_fcs, bad_ip, bad_udp, icmp_port_unreachable(), other_mac, arp, other_ip});
  partner.port().bind(host.port);
  sc_core::sc_start(ns(20000));
  const auto& rx = partner.rx_stats();
  EXPECT_EQ(rx.rx_frames, 8u);
  EXPECT_EQ(rx.rx_udp, 1u);
  EXPECT_EQ(rx.rx_fcs_errors, 1u);
  EXPECT_EQ(rx.rx_csum_errors, 2u);  // the IPv4 header's and the UDP checksum
  EXPECT_EQ(rx.rx_icmp, 1u);
  EXPECT_EQ(rx.rx_icmp_port_unreach, 1u);
  EXPECT_EQ(rx.rx_unexpected, 3u);
  EXPECT_EQ(rx.rx_fcs_errors + rx.rx_csum_errors + rx.rx_udp + rx.rx_icmp + rx.rx_unexpected, rx.rx_frames);
  EXPECT_EQ(rx.rx_frames, partner.frames_received());
  uint64_t bytes = 0;
  const std::vector<const std::vector<uint8_t>*> sent{&good,      &bad_fcs, &bad_ip,  &bad_udp,
                                                      &other_mac, &arp,     &other_ip};
  for (const auto* f : sent) bytes += f->size();
  EXPECT_EQ(rx.rx_bytes, bytes + icmp_port_unreachable().size());
  EXPECT_EQ(partner.rr().requests, 0u) << "not in rr mode: nothing is matched";
}

// The test's stand-in for the host's echo: answers each UDP request after `delay`, from the
// port it went to, back to where it came from, with the request's stamp and payload at the
// response size. drop_every/bad_every: the k-th, 2k-th, ... response is dropped / damaged.
struct reflector : sc_core::sc_module {
  SC_HAS_PROCESS(reflector);
  reflector(const sc_core::sc_module_name& n, sc_time delay, unsigned response_bytes)
      : sc_core::sc_module(n), port("port"), m_delay(delay), m_response_bytes(response_bytes) {
    port.register_receive([this](const proto::wire_frame& f) {
      m_queue.push_back({f.bytes, sc_core::sc_time_stamp() + m_delay});
      m_ev.notify(sc_core::SC_ZERO_TIME);
    });
    SC_THREAD(run);
  }
  void run() {
    for (uint64_t k = 1;; ++k) {
      while (m_queue.empty()) sc_core::wait(m_ev);
      const auto req = m_queue.front();
      m_queue.pop_front();
      if (req.due > sc_core::sc_time_stamp()) sc_core::wait(req.due - sc_core::sc_time_stamp());
      const uint8_t* ip = req.bytes.data() + proto::ETH_HLEN;
      const uint8_t* udp = ip + proto::IPV4_HLEN;
      proto::payload_stamp stamp;
      ASSERT_TRUE(proto::read_payload_stamp(udp + proto::UDP_HLEN,
                                            req.bytes.size() - proto::UDP_FRAME_OVERHEAD, &stamp));
      if (drop_every != 0 && k % drop_every == 0) {
        dropped.insert(stamp.seq);
        continue;
      }
      proto::udp_flow back;
      std::copy(req.bytes.begin() + 6, req.bytes.begin() + 12, back.dst_mac.begin());
      std::copy(req.bytes.begin(), req.bytes.begin() + 6, back.src_mac.begin());
      back.src_ip = proto::get_be32(ip + 16);
      back.dst_ip = proto::get_be32(ip + 12);
      back.src_port = proto::get_be16(udp + 2);
      back.dst_port = proto::get_be16(udp);
      proto::wire_frame f;
      f.id = k;
      f.bytes = proto::build_udp_frame(back, m_response_bytes, stamp);  // checksums computed anew
      if (bad_every != 0 && k % bad_every == 0) {
        f.bytes[proto::UDP_FRAME_OVERHEAD - proto::ETH_FCS_LEN + 20] ^= 0xFF;  // a payload byte
        uint8_t* u = f.bytes.data() + proto::ETH_HLEN + proto::IPV4_HLEN;
        const uint16_t len = proto::get_be16(u + 4);
        proto::put_be16(u + 6, 0);
        proto::put_be16(u + 6,
                        proto::csum_fold(proto::csum_tcpudp_nofold(
                            back.src_ip, back.dst_ip, len, proto::IPPROTO_UDP, proto::csum_partial(u, len))));
        seal(f.bytes);
        ++damaged;
      }
      port.transmit(f);
    }
  }
  struct pending {
    std::vector<uint8_t> bytes;
    sc_time due;
  };
  eth_port port;
  unsigned drop_every = 0, bad_every = 0;
  std::set<uint32_t> dropped;
  uint64_t damaged = 0;

 private:
  sc_time m_delay;
  unsigned m_response_bytes;
  std::deque<pending> m_queue;
  sc_core::sc_event m_ev;
};

traffic_params rr_params(unsigned outstanding, uint64_t count) {
  traffic_params p;
  p.line_rate_gbps = 10;
  p.pattern = traffic_params::rr;
  p.rr_outstanding = outstanding;
  p.count = count;
  p.frame_bytes = 512;
  return p;
}

// One request in flight: each transaction takes the request's wire time, the link delay, the
// reflector's delay, the response's wire time and the delay back.
TEST(partner_rr, latency_is_both_wire_times_both_delays_and_the_reflectors_delay) {
  const sc_time link_delay = ns(700), turn = ns(1500);
  auto p = rr_params(1, 0);
  p.response_bytes = 128;
  traffic_source partner("partner", p);
  reflector refl("reflector", turn, p.response_bytes);
  partner.port().bind(refl.port);
  refl.port.set_delay(link_delay);
  sc_core::sc_start(sc_time(200, sc_core::SC_US));
  const auto& rr = partner.rr();
  const sc_time rtt = partner.port().frame_time(p.frame_bytes) + link_delay + turn +
                      partner.port().frame_time(p.response_bytes) + link_delay;
  const auto want_ns = static_cast<uint64_t>(rtt.to_seconds() * 1e9);
  ASSERT_GT(rr.transactions, 10u);
  const uint64_t p50 = nicsim::tb::percentile(rr.latency_ns, 0.5);
  EXPECT_LE(p50 > want_ns ? p50 - want_ns : want_ns - p50, 1u) << "p50 " << p50 << " ns, want " << want_ns;
  EXPECT_LT(static_cast<double>(p50),
            rtt.to_seconds() * 1e9 + partner.port().frame_time(p.frame_bytes).to_seconds() * 1e9);
  EXPECT_EQ(rr.latency_ns.max(), p50) << "one in flight: every transaction alike";
  // Back to back: a transaction every RTT (the next request leaves as the response arrives).
  EXPECT_EQ(rr.requests, rr.transactions + partner.rr_open());
  EXPECT_EQ(rr.transactions, static_cast<uint64_t>(sc_time(200, sc_core::SC_US) / rtt));
  EXPECT_EQ(rr.bad_payload, 0u);
  EXPECT_EQ(rr.unmatched, 0u);
  EXPECT_EQ(partner.rx_stats().rx_udp, rr.transactions);
}

TEST(partner_rr, the_window_keeps_at_most_rr_outstanding_requests_in_flight) {
  constexpr unsigned N = 4;
  constexpr uint64_t COUNT = 300;
  traffic_source partner("partner", rr_params(N, COUNT));
  reflector refl("reflector", ns(3000), 512);
  partner.port().bind(refl.port);
  // Seen from the far end: request seq s may leave only once s + 1 - N responses are back.
  uint64_t violations = 0, max_ahead = 0;
  refl.port.on_rx_first_bit = [&](const proto::wire_frame& f) {
    const uint64_t answered = refl.port.stats().tx_done;
    const uint64_t ahead = f.id + 1 - std::min(f.id + 1, answered);
    max_ahead = std::max(max_ahead, ahead);
    if (ahead > N) ++violations;
  };
  sc_core::sc_start(sc_time(2, sc_core::SC_MS));
  EXPECT_EQ(violations, 0u);
  EXPECT_EQ(max_ahead, N) << "the window fills";
  EXPECT_EQ(partner.rr().max_outstanding, N);
  EXPECT_EQ(partner.rr().requests, COUNT);
  EXPECT_EQ(partner.rr().transactions, COUNT);
  EXPECT_EQ(partner.rr_open(), 0u);
}

TEST(partner_rr, responses_the_reflector_drops_end_as_lost_and_damaged_ones_as_bad_payload) {
  constexpr uint64_t COUNT = 40;
  traffic_source partner("partner", rr_params(16, COUNT));
  reflector refl("reflector", ns(1000), 512);
  refl.drop_every = 7;
  refl.bad_every = 5;
  partner.port().bind(refl.port);
  sc_core::sc_start(sc_time(2, sc_core::SC_MS));
  const auto& rr = partner.rr();
  EXPECT_EQ(refl.dropped.size(), COUNT / 7);
  EXPECT_EQ(partner.rr_open(), refl.dropped.size()) << "a lost request holds its place to the end";
  EXPECT_EQ(rr.bad_payload, refl.damaged);
  EXPECT_GT(refl.damaged, 0u);
  EXPECT_EQ(rr.requests, COUNT);
  EXPECT_EQ(rr.transactions + rr.bad_payload + partner.rr_open(), COUNT);
}

}  // namespace
