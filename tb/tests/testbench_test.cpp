// The testbench API (tb/testbench.h): the CLI's system and the CLI's JSON, runs that stop on a
// condition, bad input named, and the one-simulation-per-process rule said in words (issue 17).
#include "tb/testbench.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "cli_harness.h"

namespace {

const std::vector<std::string> short_burst = {"sim.duration_us=120",   "traffic.rate_gbps=10",
                                              "traffic.pattern=burst", "traffic.burst_frames=256",
                                              "traffic.count=256",     "nic.rx_ring_size=64"};

// What differs between two runs of one configuration: the wall clock.
nlohmann::ordered_json without_wall(nlohmann::ordered_json j) {
  j.at("sim").erase("wall_s");
  j.at("sim").erase("frames_per_wall_s");
  j.at("sim").erase("slowdown");
  j.erase("meta");  // the CLI's: its command line and build, what ran rather than what came out
  return j;
}

TEST(testbench, results_are_the_json_nicsim_run_writes_for_the_same_knobs) {
  nicsim::tb::testbench tb(short_burst);
  tb.run();
  const auto mine = tb.results();
  EXPECT_EQ(tb.now(), sc_core::sc_time(120, sc_core::SC_US));

  std::string sets;
  for (const auto& s : short_burst) sets += " --set " + s;
  const std::string json = nicsim::test::scratch_path("testbench", "cli.json");
  const auto out = nicsim::test::nicsim_cli("run --quiet --json " + json + sets);
  ASSERT_EQ(out.status, 0) << out.output;
  std::ifstream in(json);
  const auto cli = nlohmann::ordered_json::parse(in);
  EXPECT_GT(mine.at("wire").at("frames").get<uint64_t>(), 0u);
  EXPECT_GT(mine.at("conservation").at("dropped").get<uint64_t>(), 0u);  // the burst overflows something
  EXPECT_EQ(without_wall(mine).dump(2), without_wall(cli).dump(2));

  const auto c = tb.counters();
  EXPECT_EQ(c.wire_frames, cli.at("wire").at("frames").get<uint64_t>());
  EXPECT_EQ(c.rx_missed, cli.at("nic").at("rx_missed").get<uint64_t>());
  EXPECT_EQ(c.app_messages, cli.at("app").at("messages").get<uint64_t>());
  EXPECT_EQ(c.dropped, cli.at("conservation").at("dropped").get<uint64_t>());
  EXPECT_TRUE(c.conservation_ok);
  EXPECT_EQ(c.wire_frames,
            c.app_messages + c.dropped + mine.at("conservation").at("in_flight").get<uint64_t>());
}

TEST(testbench, run_until_stops_when_the_condition_holds_and_run_goes_on_to_the_duration) {
  nicsim::tb::testbench tb({"sim.duration_us=200", "traffic.rate_gbps=2"});
  const bool reached = tb.run_until([&tb] { return tb.top().wire().frames_sent() >= 10; },
                                    sc_core::sc_time(200, sc_core::SC_US));
  EXPECT_TRUE(reached);
  const auto at = tb.now();
  EXPECT_LT(at, sc_core::sc_time(200, sc_core::SC_US));
  EXPECT_GE(tb.counters().wire_frames, 10u);
  // One step (1 us) at 2 Gb/s of 512-byte frames adds at most one frame or so.
  EXPECT_LE(tb.counters().wire_frames, 12u);
  // A condition that never holds: false at the limit.
  EXPECT_FALSE(tb.run_until([] { return false; }, at + sc_core::sc_time(5, sc_core::SC_US)));
  EXPECT_EQ(tb.now(), at + sc_core::sc_time(5, sc_core::SC_US));
  tb.run();
  EXPECT_EQ(tb.now(), sc_core::sc_time(200, sc_core::SC_US));
  EXPECT_GT(tb.counters().wire_frames, 40u);
  tb.finish();
  // After finish(), the last results remain and the system is gone.
  EXPECT_GT(tb.results().at("wire").at("frames").get<uint64_t>(), 40u);
  EXPECT_THROW(tb.top(), std::logic_error);
  EXPECT_THROW(tb.run(), std::logic_error);
}

TEST(testbench, a_bad_knob_is_a_config_error_naming_the_key_and_builds_nothing) {
  try {
    nicsim::tb::testbench tb({"nic.rx_ring_size=5"});
    FAIL() << "no error";
  } catch (const nicsim::tb::config_error& e) {
    EXPECT_NE(std::string(e.what()).find("nic.rx_ring_size"), std::string::npos) << e.what();
  }
  // Nothing was elaborated: a good testbench still builds in this process.
  nicsim::tb::testbench tb({"sim.duration_us=10"});
  tb.run();
  EXPECT_EQ(tb.now(), sc_core::sc_time(10, sc_core::SC_US));
}

TEST(testbench, a_second_system_in_one_process_is_refused_with_the_rule_and_the_fix) {
  nicsim::tb::testbench first({"sim.duration_us=10"});
  first.run();
  try {
    nicsim::tb::testbench second({"sim.duration_us=10"});
    FAIL() << "a second testbench was built";
  } catch (const std::logic_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("SystemC builds one per process"), std::string::npos) << what;
    EXPECT_NE(what.find("nicsim::gtest_main"), std::string::npos) << what;
  }
}

TEST(testbench, waves_from_a_testbench_appear_when_it_finishes) {
  const std::string dir = nicsim::test::scratch_dir("testbench", "waves");
  nicsim::tb::testbench_options o;
  o.sets = {"sim.duration_us=30"};
  o.trace.waves = dir + "/run.fst";
  o.trace.pcap = dir + "/run.pcapng";
  nicsim::tb::testbench tb(o);
  tb.run();
  EXPECT_FALSE(std::filesystem::exists(dir + "/run.fst"));  // staged until finish()
  tb.finish();
  EXPECT_GT(std::filesystem::file_size(dir + "/run.fst"), 0u);
  EXPECT_GT(std::filesystem::file_size(dir + "/run.rtl.fst"), 0u);
  EXPECT_GT(std::filesystem::file_size(dir + "/run.pcapng"), 0u);
  EXPECT_TRUE(std::filesystem::exists(dir + "/run.pcapng.fates.csv"));
}

}  // namespace
