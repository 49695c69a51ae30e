// Two whole-system tests in one binary, for nicsim_gtest_main (tb/gtest_main.cpp): run directly,
// it runs each in a process of its own and both pass; NICSIM_GTEST_IN_PROCESS=1 runs them in one
// process, and the second then fails saying why. tb/tests/CMakeLists.txt runs the binary these
// ways (gtest_main_*). The disabled test fails on purpose: a failure must be reported.
#include <gtest/gtest.h>

#include <cstdlib>

#include "tb/testbench.h"

namespace {

void one_system(const char* rate) {
  nicsim::tb::testbench tb({"sim.duration_us=40", std::string("traffic.rate_gbps=") + rate});
  tb.run();
  const auto c = tb.counters();
  EXPECT_GT(c.wire_frames, 0u);
  EXPECT_TRUE(c.conservation_ok);
}

TEST(gtest_main, first_whole_system) { one_system("1"); }
TEST(gtest_main, second_whole_system) { one_system("2"); }
TEST(gtest_main, DISABLED_fails_on_purpose) { FAIL() << "failing on purpose"; }

}  // namespace
