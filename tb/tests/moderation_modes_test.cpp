// Interrupt moderation modes over the whole system: the driver programs the
// mode's registers in e1000_open and the NIC's RTL block paces the MSIs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "host/cost_table.h"
#include "tb/tests/system_harness.h"

using namespace nicsim;

using nicsim::test::simulate;

TEST(moderation_modes, e1000_itr_bounds_interrupt_rate_and_every_frame_is_delivered) {
  constexpr unsigned itr = 390;  // 99.84 us: at most ~10 000 interrupts/s
  constexpr double duration_us = 10000;
  const auto r = simulate({"nic.coalesce.mode=e1000", "nic.coalesce.itr=" + std::to_string(itr),
                           "nic.coalesce.rdtr=0", "traffic.rate_gbps=1", "traffic.frame_bytes=512",
                           "traffic.count=2000", "sim.duration_us=10000"});
  ASSERT_EQ(r.j.at("wire").at("frames"), 2000u);
  EXPECT_EQ(r.j.at("app").at("messages"), 2000u);
  EXPECT_TRUE(r.j.at("conservation").at("ok").get<bool>());
  EXPECT_EQ(r.j.at("conservation").at("in_flight"), 0u);

  const auto interrupts = r.j.at("nic").at("interrupts").get<uint64_t>();
  const double gap_s = itr * 256e-9;
  const double duration_s = duration_us * 1e-6;
  EXPECT_GE(interrupts, 1u);
  // Interrupts are at least ITR apart: one at the start, then one per gap at most.
  EXPECT_LE(static_cast<double>(interrupts), duration_s / gap_s + 1);
  EXPECT_LE(static_cast<double>(interrupts) / duration_s, 1.0 / gap_s + 1.0 / duration_s);
  // RDTR 0 without a throttle would interrupt per frame (minus NAPI's masking): ITR is what cut it.
  EXPECT_LT(interrupts, 2000u / 10);
}
