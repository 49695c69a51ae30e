// Named parts (nic.model) and named kernels (host.kernel): each rule they select, against the
// driver or kernel source it follows (function, version), issue 14.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "host/drivers/net/ethernet/intel/e1000/e1000.h"
#include "tb/config.h"
#include "tb/tests/system_harness.h"

using namespace nicsim;

using nicsim::test::simulate;

namespace {
tb::config with(const std::vector<std::string>& sets) {
  tb::config c;
  for (const auto& s : sets) c.set_assignment(s);
  return c;
}
}  // namespace

// ---- nic.model: defaults, overrides, what a part cannot do

TEST(personality, a_model_sets_its_defaults_and_an_explicit_knob_wins_in_any_order) {
  const auto igb = with({"nic.model=igb"});
  EXPECT_EQ(igb.text("nic.line_rate_gbps"), "1");
  EXPECT_EQ(igb.text("nic.coalesce.mode"), "itr");
  EXPECT_EQ(igb.text("nic.coalesce.rx_usecs"), "3");  // IGB_DEFAULT_ITR: dynamic conservative
  EXPECT_EQ(igb.text("nic.rx_csum_offload"), "true");
  const auto before = with({"nic.coalesce.rx_usecs=50", "nic.model=ixgbe"});
  const auto after = with({"nic.model=ixgbe", "nic.coalesce.rx_usecs=50"});
  EXPECT_EQ(before.text("nic.coalesce.rx_usecs"), "50");
  EXPECT_EQ(after.text("nic.coalesce.rx_usecs"), "50");
  EXPECT_EQ(after.text("nic.rx_ring_size"), "512");  // IXGBE_DEFAULT_RXD
  // Back to generic: the model's defaults go with it.
  const auto back = with({"nic.model=e1000", "nic.model=generic"});
  EXPECT_EQ(back.text("nic.line_rate_gbps"), tb::config().text("nic.line_rate_gbps"));
  EXPECT_EQ(back.text("nic.coalesce.mode"), "timer");
}

TEST(personality, what_the_driver_rejects_is_an_error_naming_the_knob) {
  const auto rejects = [](const std::vector<std::string>& sets, const std::string& words) {
    try {
      with(sets).validate();
    } catch (const tb::config_error& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
      return;
    }
    ADD_FAILURE() << "accepted: " << sets.back();
  };
  rejects({"nic.model=e1000", "nic.rx_queues=4"}, "82540EM has one queue");
  rejects({"nic.model=igb", "nic.coalesce.rx_usecs=5"}, "EINVAL");  // igb_set_coalesce, v6.6
  rejects({"nic.model=igb", "nic.coalesce.rx_usecs=2"}, "EINVAL");
  rejects({"nic.model=e1000", "nic.coalesce.rx_usecs=20000"}, "EINVAL");  // E1000_MAX_ITR_USECS
  rejects({"nic.model=ixgbe", "nic.coalesce.rx_usecs=2000"}, "IXGBE_MAX_EITR");
  rejects({"nic.model=igb", "nic.coalesce.rx_frames=8"}, "rx-frames");
  rejects({"nic.model=igb", "nic.coalesce.mode=timer"}, "EITR");
  rejects({"nic.model=igb", "nic.rx_queues=12"}, "at most 8");
  EXPECT_NO_THROW(with({"nic.model=e1000", "nic.coalesce.rx_usecs=4"}).validate());  // a mode on e1000
  EXPECT_NO_THROW(with({"nic.model=ixgbe", "nic.rx_queues=16"}).validate());
}

TEST(personality, a_part_run_past_its_line_rate_is_flagged_not_refused) {
  const auto fast = with({"nic.model=igb", "nic.line_rate_gbps=10"});
  EXPECT_NO_THROW(fast.validate());
  ASSERT_EQ(fast.model_warnings().size(), 1u);
  EXPECT_NE(fast.model_warnings().front().find("82576"), std::string::npos);
  EXPECT_TRUE(with({"nic.model=igb"}).model_warnings().empty());
  EXPECT_TRUE(tb::config().model_warnings().empty());
}

// igb_setup_mrqc (igb_main.c, v6.6) fills the table in blocks, rss_indir_tbl[j] =
// j * num_rx_queues / IGB_RETA_SIZE; ixgbe_setup_reta (v6.6) round robin.
TEST(personality, igb_fills_reta_in_blocks_and_ixgbe_round_robin) {
  const auto igb = host::rss_indir_tbl(host::nic_model::igb, 4);
  const auto ixgbe = host::rss_indir_tbl(host::nic_model::ixgbe, 4);
  for (unsigned j = 0; j < 128; ++j) {
    EXPECT_EQ(igb[j], j / 32) << j;
    EXPECT_EQ(ixgbe[j], j % 4) << j;
  }
  const auto igb3 = host::rss_indir_tbl(host::nic_model::igb, 3);
  EXPECT_EQ(igb3[42], 0);  // 42 * 3 / 128 = 0
  EXPECT_EQ(igb3[43], 1);  // 129 / 128
  EXPECT_EQ(igb3[127], 2);
}

// ---- moderation as the drivers program it

// EITR is a minimum gap (igb_write_itr, v6.6): a frame after a quiet spell interrupts at
// once. Frames 4 ms apart on an igb with rx-usecs 100 wait for no timer.
TEST(personality, igb_lone_frames_interrupt_at_once) {
  const auto r = simulate({"nic.model=igb", "nic.coalesce.rx_usecs=100", "traffic.rate_gbps=0.001",
                           "traffic.frame_bytes=512", "sim.duration_us=20000"});
  const auto messages = r.j.at("app").at("messages").get<uint64_t>();
  ASSERT_GE(messages, 3u);
  EXPECT_EQ(r.j.at("nic").at("interrupts").get<uint64_t>(), messages);
  EXPECT_LT(r.j.at("latency_ns").at("max").get<uint64_t>(), 100000u);
  EXPECT_LT(r.j.at("latency_ns").at("p50").get<uint64_t>(), 20000u);
}

// The same frames on the generic device's timer mode wait rx-usecs each.
TEST(personality, timer_mode_delays_each_lone_frame_by_rx_usecs) {
  const auto r = simulate({"nic.coalesce.mode=timer", "nic.coalesce.rx_usecs=100", "traffic.rate_gbps=0.001",
                           "traffic.frame_bytes=512", "sim.duration_us=20000"});
  ASSERT_GE(r.j.at("app").at("messages").get<uint64_t>(), 3u);
  EXPECT_GE(r.j.at("latency_ns").at("p50").get<uint64_t>(), 100000u);
}

// A fixed EITR gap (ixgbe_set_coalesce: rx-usecs n >= 2 is n us) bounds the interrupt rate.
TEST(personality, ixgbe_fixed_eitr_bounds_the_interrupt_rate) {
  constexpr double duration_us = 5000, gap_us = 100;
  const auto r = simulate({"nic.model=ixgbe", "nic.coalesce.rx_usecs=100", "traffic.rate_gbps=1",
                           "traffic.frame_bytes=512", "sim.duration_us=5000"});
  const auto irqs = r.j.at("nic").at("interrupts").get<uint64_t>();
  EXPECT_GE(irqs, 10u);
  EXPECT_LE(static_cast<double>(irqs), duration_us / gap_us + 1);
  EXPECT_EQ(r.j.at("host").at("driver").at("itr_writes").get<uint64_t>(), 0u);  // not dynamic
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
}

// e1000_set_itr (e1000_main.c, v6.6), dynamic mode (rx-usecs 1): light traffic of small
// frames (at most 2 per interrupt, under 512 bytes) is lowest_latency, 70000 ints/s, reached
// from the starting 20000 in steps of a quarter of the new rate: 37500, 55000, 70000.
TEST(personality, e1000_dynamic_itr_climbs_to_lowest_latency_for_light_traffic) {
  const auto r = simulate({"nic.model=e1000", "nic.coalesce.rx_usecs=1", "traffic.rate_gbps=0.01",
                           "traffic.frame_bytes=64", "sim.duration_us=3000"});
  EXPECT_EQ(r.j.at("host").at("driver").at("itr_writes").get<uint64_t>(), 3u);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
}

// The default, conservative (InterruptThrottleRate 3), drops lowest_latency: the same traffic
// keeps the starting 20000 ints/s and ITR is never rewritten.
TEST(personality, e1000_conservative_itr_keeps_20000_for_light_traffic) {
  const auto r = simulate(
      {"nic.model=e1000", "traffic.rate_gbps=0.01", "traffic.frame_bytes=64", "sim.duration_us=3000"});
  EXPECT_EQ(r.j.at("host").at("driver").at("itr_writes").get<uint64_t>(), 0u);
  // Frames 67 us apart, ITR's gap 50 us: each still interrupts on its own.
  EXPECT_EQ(r.j.at("nic").at("interrupts").get<uint64_t>(), r.j.at("app").at("messages").get<uint64_t>());
}

// At 1 Gb/s at most ~6 KB arrive per 50 us, below low_latency's 10000-byte step to bulk: the
// conservative e1000 stays at 20000 ints/s under full load (e1000_update_itr, v6.6).
TEST(personality, e1000_conservative_itr_holds_20000_ints_per_second_at_line_rate) {
  constexpr double duration_s = 0.01;
  const auto r = simulate(
      {"nic.model=e1000", "traffic.rate_gbps=0.95", "traffic.frame_bytes=1518", "sim.duration_us=10000"});
  const auto irqs = static_cast<double>(r.j.at("nic").at("interrupts").get<uint64_t>());
  EXPECT_LE(irqs, 20000 * duration_s + 1);
  EXPECT_GE(irqs, 20000 * duration_s / 2);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
}

// igb_set_itr (igb_main.c, v6.6), conservative (rx-usecs 3): light traffic stays at
// low_latency (20000 ints/s, EITR 196); bulk frames go to IGB_4K_ITR.
TEST(personality, igb_dynamic_itr_goes_bulk_for_full_frames_at_line_rate) {
  constexpr double duration_s = 0.01;
  const auto r = simulate(
      {"nic.model=igb", "traffic.rate_gbps=0.95", "traffic.frame_bytes=1518", "sim.duration_us=10000"});
  const auto irqs = r.j.at("nic").at("interrupts").get<uint64_t>();
  EXPECT_GE(r.j.at("host").at("driver").at("itr_writes").get<uint64_t>(), 1u);
  EXPECT_LT(static_cast<double>(irqs), 20000 * duration_s / 2);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
}

// ---- host.kernel

// "icmp: change the order of rate limits" (net/ipv4/icmp.c, v6.12): the global bucket pays
// only for messages the per-destination limit lets through, so one flooding destination no
// longer drains it; before (6.6) every message charged it first.
TEST(personality, kernel_6_12_checks_the_destination_before_charging_the_global_icmp_bucket) {
  const auto r = simulate({"host.kernel=6.12", "app.port=9100", "sim.duration_us=2000"});
  const auto& icmp = r.j.at("icmp");
  EXPECT_EQ(icmp.at("OutRateLimitGlobal").get<uint64_t>(), 0u);
  EXPECT_GT(icmp.at("OutRateLimitHost").get<uint64_t>(), 100u);
  EXPECT_EQ(icmp.at("OutMsgs").get<uint64_t>(), 6u);  // XRLIM_BURST_FACTOR tokens of the peer
}

TEST(personality, kernel_6_6_charges_the_global_icmp_bucket_first) {
  const auto r = simulate({"host.kernel=6.6", "app.port=9100", "sim.duration_us=2000"});
  EXPECT_GT(r.j.at("icmp").at("OutRateLimitGlobal").get<uint64_t>(), 100u);
}

// 4.9 - 6.4 (kernel/softirq.c invoke_softirq, "softirq: Let ksoftirqd do its job",
// 4cd13c21b207): once ksoftirqd is runnable, irq_exit leaves the softirqs to it, and the
// scheduler shares the CPU between ksoftirqd and the reader. v6.5 reverted it
// (d15121be7485): every interrupt's softirq runs at irq_exit again, and a reader with work to
// do per message starves. Frames at 1.6 Gb/s, no moderation, 5 us of work per message (at
// 2 Gb/s, with GRO's per-frame work, every interrupt's softirq pass ends before the next
// interrupt: nothing re-raises NET_RX within a pass, ksoftirqd is never woken on either kernel,
// and the reader starves on both).
namespace {
const std::vector<std::string> overload{"sim.duration_us=10000", "traffic.frame_bytes=512",
                                        "app.work_ns=5000", "traffic.rate_gbps=1.6",
                                        "nic.coalesce.rx_usecs=0"};
std::vector<std::string> on(const std::string& kernel) {
  auto sets = overload;
  sets.push_back("host.kernel=" + kernel);
  return sets;
}
}  // namespace

TEST(personality, kernel_6_1_leaves_softirqs_to_a_runnable_ksoftirqd_and_the_reader_gets_its_share) {
  const auto r = simulate(on("6.1"));
  const auto& ns = r.j.at("host").at("cpu_ns");
  EXPECT_GT(ns.at("ksoftirqd").get<double>(), ns.at("softirq").get<double>());
  EXPECT_GT(r.j.at("app").at("messages").get<uint64_t>(), 40u);
  EXPECT_GT(ns.at("user").get<double>(), 100000.0);
}

TEST(personality, kernel_6_6_runs_softirqs_at_irq_exit_and_the_reader_starves) {
  const auto r = simulate(on("6.6"));
  const auto& ns = r.j.at("host").at("cpu_ns");
  EXPECT_GT(ns.at("softirq").get<double>(), ns.at("ksoftirqd").get<double>());
  EXPECT_LT(r.j.at("app").at("messages").get<uint64_t>(), 10u);
}
