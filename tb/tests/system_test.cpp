// Whole-system tests: frames from the wire to the application, one simulation
// per test process.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "host/cost_table.h"
#include "tb/tests/system_harness.h"

using namespace nicsim;

using nicsim::test::simulate;

TEST(system, application_receives_exact_payloads_in_order) {
  const auto r = simulate(
      {"traffic.count=300", "traffic.rate_gbps=1", "sim.duration_us=3000", "traffic.frame_bytes=333"});
  ASSERT_EQ(r.j.at("wire").at("frames"), 300u);
  EXPECT_EQ(r.j.at("app").at("messages"), 300u);
  EXPECT_EQ(r.j.at("app").at("bytes"), 300u * (333 - proto::UDP_FRAME_OVERHEAD));
  EXPECT_EQ(r.bad_payloads, 0u);  // every byte checked against the sender's stamp and fill
  std::vector<uint32_t> expect(300);
  std::iota(expect.begin(), expect.end(), 0u);
  EXPECT_EQ(r.seqs, expect);
  EXPECT_EQ(r.j.at("udp").at("InDatagrams"), 300u);
  EXPECT_EQ(r.j.at("host").at("softnet").at("processed"), 300u);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
  EXPECT_EQ(r.j.at("conservation").at("in_flight"), 0u);
}

TEST(system, latency_is_no_smaller_than_wire_dma_and_charged_software_cost) {
  const auto r = simulate({"traffic.count=50", "traffic.rate_gbps=0.1", "sim.duration_us=8000",
                           "traffic.frame_bytes=1518", "nic.coalesce.rx_usecs=0"});
  ASSERT_EQ(r.latency_ns.size(), 50u);
  const auto& p = r.params;
  const auto costs = host::cost_table::defaults(p.host.cpu_ghz);
  // Wire: preamble + frame at line rate.
  const double wire_ns = 8.0 * (8 + 1518) / p.traffic.line_rate_gbps;
  // DMA: payload (no FCS) in MPS-sized TLPs, then the write-back, then flight.
  const unsigned payload = 1518 - 4;
  const unsigned tlps = (payload + p.link.max_payload_bytes - 1) / p.link.max_payload_bytes;
  const double dma_ns =
      (payload + tlps * p.link.tlp_overhead_bytes + 16 + p.link.tlp_overhead_bytes) * 8.0 / p.link.gbps +
      p.link.latency.to_seconds() * 1e9;
  // Software: the steps every frame's path charges at least once.
  double sw_ns = 0;
  for (auto c : {host::cost::irq_entry, host::cost::e1000_intr, host::cost::clean_rx_desc,
                 host::cost::build_skb, host::cost::netif_receive_skb, host::cost::ip_rcv,
                 host::cost::udp_rcv, host::cost::udp_enqueue, host::cost::recvmsg})
    sw_ns += costs(c).to_seconds() * 1e9;
  sw_ns += costs(host::cost::copy_to_user, payload - 14 - 20 - 8).to_seconds() * 1e9;
  const double bound = wire_ns + dma_ns + sw_ns;
  const uint64_t min_latency = *std::min_element(r.latency_ns.begin(), r.latency_ns.end());
  EXPECT_GE(static_cast<double>(min_latency), bound);
  // And not absurdly more at this light load: interrupt + wake-up + switches stay within 20 µs.
  EXPECT_LT(static_cast<double>(min_latency), bound + 20000.0);
}

TEST(system, closed_port_counts_noports_and_rate_limits_icmp_unreachable) {
  const auto r = simulate({"traffic.count=100", "traffic.dst_port=9999", "sim.duration_us=2000"});
  EXPECT_EQ(r.j.at("udp").at("NoPorts"), 100u);
  EXPECT_EQ(r.j.at("app").at("messages"), 0u);
  // One destination: inet_peer allows a burst of XRLIM_BURST_FACTOR (6) per icmp_ratelimit.
  // icmp_global_allow comes first: a burst of icmp_msgs_burst (50) passes it...
  EXPECT_EQ(r.j.at("icmp").at("OutRateLimitGlobal"), 50u);
  // ...then one destination's inet_peer allows XRLIM_BURST_FACTOR (6) per icmp_ratelimit.
  EXPECT_EQ(r.j.at("icmp").at("OutDestUnreachs"), 6u);
  EXPECT_EQ(r.j.at("icmp").at("OutRateLimitHost"), 44u);
  EXPECT_EQ(r.j.at("drop_reasons").at("NO_SOCKET"), 100u);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
  EXPECT_EQ(r.j.at("conservation").at("in_flight"), 0u);
}

TEST(system, slow_reader_overflows_rcvbuf_and_counts_rcvbuf_errors) {
  const auto r = simulate({"traffic.count=400", "traffic.rate_gbps=2", "app.work_ns=50000",
                           "app.rcvbuf_bytes=13120", "sim.duration_us=30000"});
  const auto rcvbuf_errors = r.j.at("udp").at("RcvbufErrors").get<uint64_t>();
  EXPECT_GT(rcvbuf_errors, 0u);
  EXPECT_EQ(r.j.at("udp").at("InErrors"), rcvbuf_errors);
  EXPECT_EQ(r.j.at("drop_reasons").at("SOCKET_RCVBUFF"), rcvbuf_errors);
  EXPECT_EQ(r.j.at("app").at("messages").get<uint64_t>() + rcvbuf_errors, 400u);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
}

// The socket's receive buffer as getsockopt(SO_RCVBUF) reports it (issue 14): sock_init_data
// (net/core/sock.c, v6.6) gives net.core.rmem_default; sk_setsockopt / __sock_set_rcvbuf
// (v6.6) cap the value at net.core.rmem_max and double it. sk_rmem_alloc (final and highest)
// never passes sk_rcvbuf by more than one skb (__udp_enqueue_schedule_skb, v6.6).
struct rcvbuf_case {
  const char* name;
  std::vector<std::string> sets;
  uint64_t sk_rcvbuf;
};
void PrintTo(const rcvbuf_case& c, std::ostream* os) { *os << c.name; }
class sk_rcvbuf_json : public ::testing::TestWithParam<rcvbuf_case> {};
TEST_P(sk_rcvbuf_json, reports_sk_rcvbuf_as_setsockopt_leaves_it_and_sk_rmem_alloc) {
  std::vector<std::string> sets = GetParam().sets;
  sets.push_back("sim.duration_us=200");
  const auto r = simulate(sets);
  const auto& sk = r.j.at("app").at("sockets").at(0);
  EXPECT_EQ(sk.at("sk_rcvbuf").get<uint64_t>(), GetParam().sk_rcvbuf);
  EXPECT_GT(sk.at("sk_rmem_alloc_max").get<uint64_t>(), 0u);
  EXPECT_LE(sk.at("sk_rmem_alloc").get<uint64_t>(), sk.at("sk_rmem_alloc_max").get<uint64_t>());
  EXPECT_LE(sk.at("sk_rmem_alloc_max").get<uint64_t>(), GetParam().sk_rcvbuf + 2624);
}
INSTANTIATE_TEST_SUITE_P(
    so_rcvbuf, sk_rcvbuf_json,
    ::testing::Values(rcvbuf_case{"rmem_default", {}, 212992},
                      rcvbuf_case{"rmem_default_set", {"host.rmem_default=50000"}, 50000},
                      rcvbuf_case{"doubled", {"app.rcvbuf_bytes=100000"}, 200000},
                      rcvbuf_case{"capped_at_rmem_max", {"app.rcvbuf_bytes=300000"}, 425984},
                      rcvbuf_case{
                          "rmem_max_raised", {"app.rcvbuf_bytes=300000", "host.rmem_max=1000000"}, 600000}),
    [](const ::testing::TestParamInfo<rcvbuf_case>& i) { return std::string(i.param.name); });

// A small buffer under load: the queue is capped one skb past sk_rcvbuf.
TEST(system, a_small_so_rcvbuf_caps_sk_rmem_alloc_one_skb_past_sk_rcvbuf) {
  const auto r = simulate({"traffic.rate_gbps=5", "app.rcvbuf_bytes=10000", "sim.duration_us=500"});
  const auto& sk = r.j.at("app").at("sockets").at(0);
  EXPECT_EQ(sk.at("sk_rcvbuf"), 20000u);
  EXPECT_GT(sk.at("sk_rmem_alloc_max").get<uint64_t>(), 20000u);
  EXPECT_LE(sk.at("sk_rmem_alloc_max").get<uint64_t>(), 20000u + 2624);
  EXPECT_GT(r.j.at("udp").at("RcvbufErrors").get<uint64_t>(), 0u);
}

TEST(system, small_ring_and_fifo_drop_bursts_as_rx_missed) {
  const auto r = simulate({"traffic.count=256", "traffic.pattern=burst", "traffic.burst_frames=128",
                           "traffic.rate_gbps=1", "nic.rx_ring_size=16", "nic.rx_fifo_bytes=8192",
                           "traffic.frame_bytes=1024", "sim.duration_us=5000", "nic.coalesce.rx_usecs=50"});
  const auto missed = r.j.at("nic").at("rx_missed").get<uint64_t>();
  EXPECT_GT(missed, 0u);
  EXPECT_GT(r.j.at("nic").at("rx_no_buffer_count").get<uint64_t>(), 0u);
  EXPECT_EQ(r.j.at("app").at("messages").get<uint64_t>() + missed, 256u);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
  EXPECT_EQ(r.j.at("conservation").at("in_flight"), 0u);
}

TEST(system, rx_frames_coalescing_cuts_interrupts) {
  // rx-usecs at its maximum (65 ms) never expires in this run: only the frame count can interrupt.
  const auto r = simulate({"traffic.count=640", "traffic.rate_gbps=2", "nic.coalesce.rx_usecs=65535",
                           "nic.coalesce.rx_frames=32", "sim.duration_us=10000"});
  EXPECT_EQ(r.j.at("app").at("messages"), 640u);
  EXPECT_EQ(r.j.at("nic").at("interrupts"), 640u / 32);  // one interrupt per 32 frames, exactly
}

TEST(system, overload_hands_softirq_work_to_ksoftirqd) {
  const auto r = simulate({"traffic.rate_gbps=6", "traffic.frame_bytes=256", "sim.duration_us=10000"});
  EXPECT_GT(r.j.at("host").at("ksoftirqd_wakeups").get<uint64_t>(), 0u);
  EXPECT_GT(r.j.at("host").at("cpu_ns").at("ksoftirqd").get<uint64_t>(), 0u);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
}

TEST(system, without_napi_every_frame_goes_through_the_backlog_and_overflow_counts_softnet_dropped) {
  const auto r = simulate({"host.napi=false", "host.netdev_max_backlog=20", "traffic.count=2000",
                           "traffic.rate_gbps=5", "nic.coalesce.rx_usecs=50", "sim.duration_us=20000"});
  const auto dropped = r.j.at("host").at("softnet").at("dropped").get<uint64_t>();
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(r.j.at("drop_reasons").at("CPU_BACKLOG"), dropped);
  EXPECT_EQ(r.j.at("host").at("napi_polls"), 0u);  // the driver's NAPI instance is never used
  // Every frame that reached the stack went through netif_rx: processed or dropped at the backlog.
  EXPECT_EQ(r.j.at("host").at("softnet").at("processed").get<uint64_t>() + dropped,
            r.j.at("host").at("driver").at("rx_cleaned").get<uint64_t>());
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
  EXPECT_EQ(r.j.at("conservation").at("in_flight"), 0u);
}

TEST(system, reader_on_another_cpu_is_woken_with_a_reschedule_ipi) {
  const auto r = simulate(
      {"host.cpus=2", "app.cpu=1", "traffic.count=200", "traffic.rate_gbps=0.5", "sim.duration_us=5000"});
  const auto& cpu0 = r.j.at("host").at("per_cpu")[0];
  const auto& cpu1 = r.j.at("host").at("per_cpu")[1];
  EXPECT_EQ(r.j.at("app").at("messages"), 200u);
  EXPECT_GT(cpu0.at("ipis_sent").get<uint64_t>(), 0u);
  EXPECT_EQ(cpu0.at("ipis_sent"), cpu1.at("interrupts").at("RES"));  // every IPI sent arrived
  EXPECT_EQ(cpu1.at("interrupts").at("eth0"), 0u);                   // the NIC's vector stays on CPU 0
  EXPECT_GT(cpu0.at("interrupts").at("eth0").get<uint64_t>(), 0u);
  EXPECT_EQ(cpu0.at("cpu_ns").at("user"), 0u);  // the reader runs on CPU 1 only
  EXPECT_GT(cpu1.at("cpu_ns").at("user").get<uint64_t>(), 0u);
  EXPECT_EQ(cpu1.at("softirqs").at("NET_RX"), 0u);  // softirq runs where the interrupt came
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
}

TEST(system, interrupt_affinity_moves_hardirq_and_softirq_to_that_cpu) {
  const auto r = simulate({"host.cpus=2", "host.irq_cpu=1", "traffic.count=100", "sim.duration_us=2000"});
  const auto& cpu0 = r.j.at("host").at("per_cpu")[0];
  const auto& cpu1 = r.j.at("host").at("per_cpu")[1];
  EXPECT_EQ(cpu0.at("interrupts").at("eth0"), 0u);
  EXPECT_GT(cpu1.at("interrupts").at("eth0").get<uint64_t>(), 0u);
  EXPECT_EQ(cpu1.at("softnet").at("processed"), 100u);
  EXPECT_EQ(cpu0.at("softnet").at("processed"), 0u);
  EXPECT_EQ(r.j.at("app").at("messages"), 100u);
}

TEST(system, splitting_interrupts_and_reader_over_two_cpus_ends_the_livelock) {
  // One CPU at this load drops most frames (see the README's load curve); two keep up.
  const auto r = simulate({"host.cpus=2", "app.cpu=1", "traffic.rate_gbps=3", "sim.duration_us=10000"});
  EXPECT_EQ(r.j.at("udp").at("RcvbufErrors"), 0u);
  EXPECT_EQ(r.j.at("nic").at("rx_missed"), 0u);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
}

TEST(system, udp_backlog_defers_softirq_work_to_the_reader_that_owns_the_socket) {
  // Softirq on CPU 0 meets the reader on CPU 1 while it holds the socket to copy.
  const auto r = simulate({"host.udp_backlog=true", "host.cpus=2", "app.cpu=1", "traffic.count=2000",
                           "traffic.rate_gbps=4", "traffic.frame_bytes=1518", "sim.duration_us=10000"});
  EXPECT_GT(r.j.at("app").at("sockets")[0].at("backlogged").get<uint64_t>(), 0u);
  EXPECT_EQ(r.j.at("app").at("messages"), 2000u);
  EXPECT_EQ(r.j.at("app").at("out_of_order"), 0u);  // the backlog keeps arrival order
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
}

TEST(system, current_kernels_enqueue_udp_without_the_backlog) {
  const auto r = simulate(
      {"traffic.count=400", "traffic.rate_gbps=1.5", "traffic.frame_bytes=1518", "sim.duration_us=10000"});
  EXPECT_EQ(r.j.at("app").at("sockets")[0].at("backlogged"), 0u);
  EXPECT_EQ(r.j.at("app").at("messages"), 400u);
}

TEST(system, nonblocking_reader_spins_on_eagain_and_never_sleeps) {
  const auto r = simulate({"app.mode=nonblocking", "traffic.count=100", "sim.duration_us=2000"});
  EXPECT_EQ(r.j.at("app").at("messages"), 100u);
  EXPECT_GT(r.j.at("app").at("eagain").get<uint64_t>(), 100u);
  EXPECT_EQ(r.j.at("host").at("cpu_ns").at("idle"), 0u);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
}

TEST(system, busy_polling_reader_takes_frames_from_the_ring_itself) {
  const auto r = simulate({"app.busy_poll_us=50", "traffic.count=200", "sim.duration_us=3000"});
  EXPECT_GT(r.j.at("udp").at("BusyPollRxPackets").get<uint64_t>(), 0u);
  EXPECT_EQ(r.j.at("app").at("messages"), 200u);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
  EXPECT_EQ(r.j.at("conservation").at("in_flight"), 0u);
}

TEST(system, flows_to_several_sockets_reach_each_socket) {
  const auto r = simulate({"traffic.flows=3", "app.sockets=3", "traffic.count=300", "sim.duration_us=3000"});
  ASSERT_EQ(r.j.at("app").at("sockets").size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r.j.at("app").at("sockets")[i].at("port"), 9000 + i);
    EXPECT_EQ(r.j.at("app").at("sockets")[i].at("messages"), 100u);
  }
  EXPECT_EQ(r.j.at("udp").at("NoPorts"), 0u);
}

TEST(system, deferred_hard_irqs_poll_from_the_gro_flush_timer_instead_of_interrupts) {
  const auto r = simulate({"host.napi_defer_hard_irqs=2", "host.gro_flush_timeout_ns=20000",
                           "nic.coalesce.rx_usecs=0", "traffic.count=500", "sim.duration_us=5000"});
  const auto nic_irqs = r.j.at("host").at("interrupts").at("eth0").get<uint64_t>();
  const auto watchdog = r.j.at("host").at("napi_watchdog_polls").get<uint64_t>();
  EXPECT_LT(nic_irqs, 20u);  // one per packet without deferral
  EXPECT_GT(watchdog, 50u);
  EXPECT_EQ(r.j.at("host").at("interrupts").at("HRT"), watchdog);  // every timer poll came from its hrtimer
  EXPECT_EQ(r.j.at("app").at("messages"), 500u);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
}

TEST(system, bad_fcs_is_dropped_at_the_mac_and_counted) {
  const auto r = simulate(
      {"traffic.corrupt=fcs", "traffic.corrupt_every=10", "traffic.count=200", "sim.duration_us=2000"});
  EXPECT_EQ(r.j.at("nic").at("rx_crc_errors"), 20u);
  EXPECT_EQ(r.j.at("app").at("messages"), 180u);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
}

TEST(system, bad_ip_header_checksum_is_dropped_by_ip_rcv) {
  const auto r = simulate(
      {"traffic.corrupt=ip_csum", "traffic.corrupt_every=10", "traffic.count=200", "sim.duration_us=2000"});
  EXPECT_EQ(r.j.at("ip").at("InCsumErrors"), 20u);
  EXPECT_EQ(r.j.at("ip").at("InHdrErrors"), 20u);
  EXPECT_EQ(r.j.at("drop_reasons").at("IP_CSUM"), 20u);
  EXPECT_EQ(r.j.at("nic").at("rx_crc_errors"), 0u);  // the FCS was re-sealed: only IP can tell
  EXPECT_EQ(r.j.at("app").at("messages"), 180u);
}

TEST(system, bad_udp_checksum_is_caught_when_recvfrom_copies) {
  const auto r = simulate(
      {"traffic.corrupt=udp_csum", "traffic.corrupt_every=10", "traffic.count=200", "sim.duration_us=2000"});
  EXPECT_EQ(r.j.at("udp").at("InCsumErrors"), 20u);
  EXPECT_EQ(r.j.at("udp").at("InErrors"), 20u);
  EXPECT_EQ(r.j.at("udp").at("InDatagrams"), 180u);  // counted only for good ones, in recvmsg
  EXPECT_EQ(r.j.at("app").at("bad_payloads"), 0u);
  EXPECT_EQ(r.j.at("app").at("messages"), 180u);
}

TEST(system, two_readers_share_a_socket_and_each_datagram_wakes_one) {
  const auto r = simulate({"app.readers=2", "traffic.count=400", "traffic.rate_gbps=0.2", "app.work_ns=20000",
                           "sim.duration_us=20000"});
  EXPECT_EQ(r.j.at("app").at("messages"), 400u);
  EXPECT_GT(r.j.at("app").at("per_reader")[0].get<uint64_t>(), 50u);
  EXPECT_GT(r.j.at("app").at("per_reader")[1].get<uint64_t>(), 50u);
  // Exclusive waits: never more reader wake-ups than datagrams (no thundering herd).
  EXPECT_LE(r.j.at("host").at("wakeups").get<uint64_t>(), 400u + 10u);
}

TEST(system, rx_checksum_offload_lets_the_host_skip_good_checksums_and_catch_bad_ones) {
  const auto r = simulate({"nic.rx_csum_offload=true", "traffic.corrupt=udp_csum", "traffic.corrupt_every=10",
                           "traffic.count=200", "sim.duration_us=2000"});
  EXPECT_EQ(r.j.at("nic").at("rx_csum_offload_good"), 180u);  // verified by the RTL front end
  EXPECT_EQ(r.j.at("nic").at("rx_csum_offload_errors"), 20u);
  EXPECT_EQ(r.j.at("host").at("driver").at("hw_csum_good"), 180u);  // CHECKSUM_UNNECESSARY: no software check
  EXPECT_EQ(r.j.at("host").at("driver").at("hw_csum_err"), 20u);
  EXPECT_EQ(r.j.at("udp").at("InCsumErrors"), 20u);  // the stack still finds and counts the bad ones
  EXPECT_EQ(r.j.at("app").at("messages"), 180u);
  // Every frame went through the front end: one 64-byte beat per 64 bytes of frame.
  EXPECT_EQ(r.j.at("nic").at("frontend_cycles"), 200u * ((512 + 63) / 64));
}

TEST(system, without_prefetch_every_descriptor_fetch_stalls_the_dma_engine) {
  const auto r = simulate({"traffic.pattern=burst", "traffic.burst_frames=64", "traffic.rate_gbps=2",
                           "traffic.count=640", "sim.duration_us=5000"});
  EXPECT_EQ(r.j.at("nic").at("rx_desc_fetch_stalls"), r.j.at("nic").at("rx_desc_fetches"));
  EXPECT_GT(r.j.at("nic").at("rx_desc_fetch_stalls").get<uint64_t>(), 100u);
  EXPECT_EQ(r.j.at("nic").at("rx_desc_writebacks"),
            r.j.at("nic").at("rx_frames"));  // WTHRESH 1: one per frame
}

TEST(system, descriptor_prefetch_below_threshold_hides_the_fetch_latency) {
  const auto r =
      simulate({"nic.desc_prefetch_threshold=8", "traffic.pattern=burst", "traffic.burst_frames=64",
                "traffic.rate_gbps=2", "traffic.count=640", "sim.duration_us=5000"});
  EXPECT_LE(r.j.at("nic").at("rx_desc_fetch_stalls").get<uint64_t>(), 1u);  // at most the very first frame
  EXPECT_GT(r.j.at("nic").at("rx_desc_fetches").get<uint64_t>(), 100u);
  EXPECT_EQ(r.j.at("app").at("messages"), 640u);
  EXPECT_EQ(r.bad_payloads, 0u);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
}

TEST(system, descriptor_writeback_batching_merges_writes_while_frames_queue) {
  const auto r = simulate({"nic.desc_wb_batch=8", "traffic.pattern=burst", "traffic.burst_frames=64",
                           "traffic.rate_gbps=2", "traffic.count=640", "sim.duration_us=5000"});
  const auto frames = r.j.at("nic").at("rx_frames").get<uint64_t>();
  const auto writebacks = r.j.at("nic").at("rx_desc_writebacks").get<uint64_t>();
  EXPECT_EQ(frames, 640u);
  EXPECT_LT(writebacks, frames);      // some bursts of descriptors in one TLP
  EXPECT_GE(writebacks * 8, frames);  // never more than WTHRESH per burst
  EXPECT_EQ(r.j.at("app").at("messages"), 640u);
  EXPECT_EQ(r.j.at("app").at("out_of_order"), 0u);
  EXPECT_EQ(r.bad_payloads, 0u);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
  EXPECT_EQ(r.j.at("conservation").at("in_flight"), 0u);
}

// ---------------------------------------------------------------- multi-queue

std::vector<std::string> two_queue_run(const std::string& udp4_hash) {
  return {"host.cpus=2",          "nic.rx_queues=2",
          "traffic.flows=8",      "app.sockets=8",
          "traffic.count=400",    "traffic.rate_gbps=0.5",
          "sim.duration_us=5000", "nic.rx_flow_hash_udp4=" + udp4_hash};
}

TEST(system, rss_spreads_flows_over_queues_and_their_cpus_and_delivers_every_frame) {
  const auto r = simulate(two_queue_run("sdfn"));
  const auto& nic = r.j.at("nic");
  const uint64_t q0 = nic.at("rx_queue_0_packets"), q1 = nic.at("rx_queue_1_packets");
  EXPECT_GT(q0, 0u);
  EXPECT_GT(q1, 0u);
  EXPECT_EQ(q0 + q1, nic.at("rx_frames").get<uint64_t>());
  EXPECT_EQ(r.j.at("app").at("messages"), 400u);
  // Queue n's vector is routed to CPU n, whose softirq then does that queue's work.
  for (unsigned c = 0; c < 2; ++c) {
    const auto& cpu = r.j.at("host").at("per_cpu")[c];
    const std::string own = "eth0-rx-" + std::to_string(c), other = "eth0-rx-" + std::to_string(1 - c);
    EXPECT_GT(cpu.at("interrupts")[own].get<uint64_t>(), 0u) << c;
    EXPECT_EQ(cpu.at("interrupts")[other], 0u) << c;
    EXPECT_EQ(cpu.at("softnet").at("processed"), nic.at("rx_queue_" + std::to_string(c) + "_packets")) << c;
  }
  EXPECT_EQ(r.bad_payloads, 0u);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
}

TEST(system, udp4_hashed_on_addresses_keeps_one_host_pair_on_one_queue) {
  // igb's default: UDP/IPv4 is hashed on the addresses only, so flows between two
  // hosts share a queue however many ports they use.
  const auto r = simulate(two_queue_run("sd"));
  const auto& nic = r.j.at("nic");
  const uint64_t q0 = nic.at("rx_queue_0_packets"), q1 = nic.at("rx_queue_1_packets");
  EXPECT_EQ(std::min(q0, q1), 0u);
  EXPECT_EQ(q0 + q1, 400u);
  EXPECT_EQ(r.j.at("app").at("messages"), 400u);
}

TEST(system, a_starved_queue_drops_into_rx_no_dma_resources_and_the_ledger_holds) {
  // Tiny rings and a slow reader: descriptors run out; with several queues the NIC
  // drops per queue (SRRCTL.DROP_EN) rather than blocking the packet buffer. Write-back
  // batches of 8 must not strand frames behind a drop: after the burst and a quiet stretch,
  // nothing is left in flight.
  const auto r =
      simulate({"host.cpus=1", "nic.rx_queues=2", "nic.rx_flow_hash_udp4=sdfn", "traffic.flows=8",
                "app.sockets=8", "nic.rx_ring_size=16", "nic.desc_wb_batch=8", "traffic.rate_gbps=8",
                "traffic.frame_bytes=128", "traffic.count=3000", "sim.duration_us=20000"});
  const auto& nic = r.j.at("nic");
  const uint64_t drops = nic.at("rx_no_dma_resources");
  EXPECT_GT(drops, 0u);
  EXPECT_EQ(drops, nic.at("rx_queue_0_drops").get<uint64_t>() + nic.at("rx_queue_1_drops").get<uint64_t>());
  const auto& c = r.j.at("conservation");
  EXPECT_TRUE(c.at("ok").get<bool>()) << c.dump();
  EXPECT_EQ(c.at("in_flight"), 0u) << c.dump();
  EXPECT_EQ(c.at("delivered").get<uint64_t>() + c.at("dropped").get<uint64_t>(), 3000u) << c.dump();
}

// Eight sockets, readers free to move, queues spread over four CPUs: every reader keeps
// up. (This once lost readers to wake-ups that raced a context switch.)
void free_readers_keep_up(const std::string& queues) {
  const auto r =
      simulate({"host.cpus=4", queues, "nic.rx_flow_hash_udp4=sdfn", "traffic.flows=8", "app.sockets=8",
                "app.pinned=false", "traffic.rate_gbps=2", "sim.duration_us=10000"});
  for (const auto& s : r.j.at("app").at("sockets")) {
    EXPECT_EQ(s.at("sk_drops"), 0u) << queues << " port " << s.at("port");
    EXPECT_GT(s.at("messages").get<uint64_t>(), 570u) << queues << " port " << s.at("port");
  }
  EXPECT_EQ(r.j.at("conservation").at("dropped"), 0u) << queues;
}

TEST(system, free_readers_on_four_cpus_keep_up_with_one_queue) { free_readers_keep_up("nic.rx_queues=1"); }
TEST(system, free_readers_on_four_cpus_keep_up_with_four_queues) { free_readers_keep_up("nic.rx_queues=4"); }

// Issue 10 item 1: multi-CPU runs that ended in SIGSEGV (a waker touched a wait-queue entry
// its wakee, on another CPU, had already left) run to the end with every frame accounted for.
namespace {
void expect_every_frame_accounted_for(const nlohmann::ordered_json& j) {
  const auto& c = j.at("conservation");
  EXPECT_TRUE(c.at("ok").get<bool>());
  EXPECT_EQ(c.at("wire").get<uint64_t>(), j.at("wire").at("frames").get<uint64_t>());
  EXPECT_EQ(c.at("delivered").get<uint64_t>(), j.at("app").at("messages").get<uint64_t>());
  EXPECT_EQ(j.at("app").at("bad_payloads").get<uint64_t>(), 0u);
  EXPECT_GT(j.at("app").at("messages").get<uint64_t>(), 0u);
}
}  // namespace

TEST(system, reader_on_the_other_cpu_with_poisson_arrivals_and_no_moderation_runs_to_the_end) {
  const auto r = simulate({"host.cpus=2", "app.cpu=1", "nic.coalesce.rx_usecs=0", "traffic.pattern=poisson"});
  expect_every_frame_accounted_for(r.j);
  // Light load: nothing dropped, at most a frame or two still on its way at the end.
  EXPECT_EQ(r.j.at("conservation").at("dropped").get<uint64_t>(), 0u);
  EXPECT_LE(r.j.at("conservation").at("in_flight").get<uint64_t>(), 3u);
  EXPECT_GT(r.j.at("host").at("per_cpu").at(1).at("interrupts").at("RES").get<uint64_t>(), 0u);
}

TEST(system, free_reader_beside_an_interrupt_storm_runs_to_the_end) {
  const auto r =
      simulate({"app.pinned=false", "host.cpus=2", "nic.coalesce.rx_usecs=1", "traffic.frame_bytes=128"});
  expect_every_frame_accounted_for(r.j);
  // CPU 0 is nearly all interrupts; whatever its softirq gets through reaches the reader (or
  // waits on its socket at the end, GRO's lists delivering several frames at once, or is the one
  // its reader is copying when the run ends).
  uint64_t queued = 0;
  for (const auto& sk : r.j.at("app").at("sockets")) queued += sk.at("rx_queue").get<uint64_t>();
  const auto processed = r.j.at("host").at("softnet").at("processed").get<uint64_t>();
  const auto read = r.j.at("app").at("messages").get<uint64_t>();
  EXPECT_GE(processed, read + queued);
  EXPECT_LE(processed, read + queued + 1);
  EXPECT_EQ(r.j.at("drop_reasons").size(), 0u);
  EXPECT_GT(r.j.at("app").at("messages").get<uint64_t>(), 400u);
}

TEST(system, three_free_readers_sharing_the_socket_lock_on_two_cpus_run_to_the_end) {
  const auto r =
      simulate({"sim.duration_us=10000", "sim.seed=2", "host.udp_backlog=true", "app.readers=3",
                "host.cpus=2", "app.pinned=false", "traffic.rate_gbps=4", "traffic.pattern=poisson"});
  expect_every_frame_accounted_for(r.j);
  const auto& c = r.j.at("conservation");
  EXPECT_GE(c.at("delivered").get<uint64_t>(), c.at("wire").get<uint64_t>() * 9 / 10);
  EXPECT_LE(c.at("in_flight").get<uint64_t>(), 32u);
  // Every reader keeps being woken: none is lost off a wait queue.
  for (const auto& n : r.j.at("app").at("per_reader")) EXPECT_GT(n.get<uint64_t>(), 1000u);
}

// Issue 10 item 2: without NAPI, skbs come through netif_rx and carry no NAPI instance, so a
// busy-polling socket has nothing to poll; it once cleaned the ring beside the hard IRQ and
// freed a buffer twice (E549, exit 1).
TEST(system, busy_polling_without_napi_polls_nothing_and_every_buffer_is_freed_once) {
  const auto r = simulate({"host.napi=false", "app.busy_poll_us=1", "nic.coalesce.rx_frames=1"});
  expect_every_frame_accounted_for(r.j);
  EXPECT_EQ(r.j.at("udp").at("BusyPollRxPackets").get<uint64_t>(), 0u);
  // Every frame the driver cleaned went through the backlog, except one the run may end with
  // still queued there (counted in flight on the host).
  const auto processed = r.j.at("host").at("softnet").at("processed").get<uint64_t>();
  const auto cleaned = r.j.at("host").at("driver").at("rx_cleaned").get<uint64_t>();
  EXPECT_LE(processed, cleaned);
  EXPECT_LE(cleaned, processed + r.j.at("conservation").at("in_flight_detail").at("host").get<uint64_t>());
  EXPECT_EQ(r.j.at("conservation").at("dropped").get<uint64_t>(), 0u);
  EXPECT_LE(r.j.at("conservation").at("in_flight").get<uint64_t>(), 2u);
}

// Issue 11 item 4: a user's own SystemC module takes the link partner's place on the NIC's
// Ethernet port. The built-in source is not built (it once had to be silenced with
// traffic.start_us=10000000, and the ledger then said wire: 0); the frames are counted at
// the port, so the ledger holds with wire == the frames the module sent.
namespace {
class user_partner : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(user_partner);
  user_partner(const sc_core::sc_module_name& name, const proto::udp_flow& flow, unsigned frames,
               const sc_core::sc_event& link_up)
      : sc_core::sc_module(name), port("port", 10), m_flow(flow), m_frames(frames), m_link_up(link_up) {
    SC_THREAD(run);
  }
  nicsim::tlm::eth_port port;

 private:
  void run() {
    sc_core::wait(m_link_up);
    for (unsigned i = 0; i < m_frames; ++i) {
      proto::payload_stamp stamp;
      stamp.seq = i;
      stamp.tx_ns = sc_core::sc_time_stamp().value() / 1000;
      proto::wire_frame f;
      f.id = i;
      f.first_bit_ps = sc_core::sc_time_stamp().value();
      f.bytes = proto::build_udp_frame(m_flow, 200 + 10 * i, stamp);
      port.transmit(f);
      sc_core::wait(1, sc_core::SC_US);
    }
  }
  proto::udp_flow m_flow;
  unsigned m_frames;
  const sc_core::sc_event& m_link_up;
};
}  // namespace

TEST(system,
     a_user_module_bound_to_the_nic_port_replaces_the_built_in_source_and_the_ledger_counts_its_frames) {
  constexpr unsigned N = 25;
  tb::config cfg;
  cfg.set_assignment("sim.duration_us=300");
  auto params = tb::make_system_params(cfg);
  params.partner = tb::system_params::partner_kind::external;
  params.host.app.record = true;
  static const auto costs = host::cost_table::defaults(params.host.cpu_ghz);
  auto* top = new tb::system_top("top", params, costs);  // lives to the end of the process
  auto* user = new user_partner("user", params.traffic.flow, N, top->host().link_up());
  user->port.bind(top->nic_port());
  EXPECT_THROW(top->traffic(), std::logic_error);
  top->run();

  const auto l = top->account();
  EXPECT_EQ(l.wire, N);
  EXPECT_EQ(l.delivered, N);
  EXPECT_EQ(l.in_flight, 0u);
  EXPECT_TRUE(l.ok());
  const auto j = top->results(0.0);
  EXPECT_EQ(j.at("conservation").at("wire").get<uint64_t>(), N);
  EXPECT_TRUE(j.at("conservation").at("ok").get<bool>());
  EXPECT_EQ(j.at("wire").at("frames").get<uint64_t>(), N);
  uint64_t bytes = 0;
  for (unsigned i = 0; i < N; ++i) bytes += 200 + 10 * i;
  EXPECT_EQ(j.at("wire").at("bytes").get<uint64_t>(), bytes);
  EXPECT_EQ(j.at("app").at("messages").get<uint64_t>(), N);
  EXPECT_EQ(top->host().app().stats().bad_payloads, 0u);
  std::vector<uint32_t> expect(N);
  std::iota(expect.begin(), expect.end(), 0u);
  EXPECT_EQ(top->host().app().record().seqs, expect);
}

// The MAC's transmit direction: a frame the NIC sends reaches the built-in partner, which
// counts it, while the partner's own frames keep flowing the other way.
TEST(system, a_frame_the_nic_sends_reaches_the_link_partner_at_line_rate) {
  tb::config cfg;
  cfg.set_assignment("sim.duration_us=50");
  cfg.set_assignment("traffic.rate_gbps=5");
  const auto params = tb::make_system_params(cfg);
  static const auto costs = host::cost_table::defaults(params.host.cpu_ghz);
  auto* top = new tb::system_top("top", params, costs);
  struct sender : sc_core::sc_module {
    SC_HAS_PROCESS(sender);
    sender(const sc_core::sc_module_name& n, hw::nic& nic) : sc_core::sc_module(n), m_nic(nic) {
      SC_THREAD(run);
    }
    void run() {
      sc_core::wait(20, sc_core::SC_US);
      proto::wire_frame f;
      f.id = 99;
      f.bytes = proto::build_udp_frame(proto::udp_flow{}, 128, proto::payload_stamp{});
      m_nic.mac_tx(f);
      done_at = sc_core::sc_time_stamp();
    }
    hw::nic& m_nic;
    sc_core::sc_time done_at;
  };
  auto* s = new sender("sender", top->nic());
  top->run();
  EXPECT_EQ(top->traffic().frames_received(), 1u);
  EXPECT_EQ(top->traffic().bytes_received(), 128u);
  // Its last bit arrives (8 + 128) * 8 bits at 10 Gb/s after it started.
  EXPECT_EQ(s->done_at, sc_core::sc_time(20000 + 108.8, sc_core::SC_NS));
  EXPECT_GT(top->traffic().frames_sent(), 10u);
  EXPECT_TRUE(top->account().ok());
  EXPECT_EQ(top->nic().port.stats().tx_frames, 1u);
}

// GRO (issue 13): UDP goes through napi_gro_receive unmerged, in lists of at most
// gro_normal_batch segments sent up when full or at the end of each poll; every frame is still
// accounted for and delivered in order.
TEST(system, gro_passes_udp_unmerged_in_batches_and_every_frame_arrives) {
  const auto r = simulate({"traffic.count=300", "traffic.rate_gbps=5", "sim.duration_us=3000",
                           "app.rcvbuf_bytes=4000000", "host.rmem_max=4000000"});
  const auto& gro = r.j.at("host").at("gro");
  EXPECT_TRUE(gro.at("enabled").get<bool>());
  const auto received = gro.at("received").get<uint64_t>();
  EXPECT_EQ(received, r.j.at("host").at("driver").at("rx_cleaned").get<uint64_t>());
  EXPECT_EQ(gro.at("merged"), 0u);
  EXPECT_EQ(gro.at("held"), 0u);
  EXPECT_EQ(gro.at("normal"), received);
  EXPECT_EQ(gro.at("normal_skbs"), received);
  // At 5 Gb/s polls find several frames: fewer lists than frames, none longer than 8.
  const auto batches = gro.at("normal_batches").get<uint64_t>();
  EXPECT_LT(batches, received);
  EXPECT_GE(batches * 8, received);
  EXPECT_EQ(r.j.at("app").at("messages"), 300u);
  EXPECT_EQ(r.j.at("app").at("out_of_order"), 0u);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
}

TEST(system, gro_off_still_batches_and_delivers_every_frame) {
  const auto r = simulate({"traffic.count=300", "traffic.rate_gbps=5", "sim.duration_us=3000",
                           "app.rcvbuf_bytes=4000000", "host.rmem_max=4000000", "nic.gro=false",
                           "host.gro_normal_batch=1"});
  const auto& gro = r.j.at("host").at("gro");
  EXPECT_FALSE(gro.at("enabled").get<bool>());
  // gro_normal_batch 1: every skb is a list of its own.
  EXPECT_EQ(gro.at("normal_batches"), gro.at("received"));
  EXPECT_EQ(r.j.at("app").at("messages"), 300u);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
}
