// What a user meets around a run (issue 16): nicsim --version, the JSON's meta block, "did
// you mean" for a mistyped key, `nicsim knobs` in plain units, and the progress line on a
// terminal.
#include <gtest/gtest.h>

#include <string>

#include "tb/tests/cli_harness.h"

namespace {

using nicsim::test::nicsim_cli;
using nicsim::test::read_json;

std::string scratch(const std::string& name) { return nicsim::test::scratch_path("workflow_cli", name); }

TEST(workflow_cli, version_prints_the_version_and_the_git_revision) {
  const auto o = nicsim_cli("--version");
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_EQ(o.output.rfind("nicsim 0.", 0), 0u) << o.output;
  EXPECT_NE(o.output.find("(git "), std::string::npos) << o.output;
}

// meta: what ran, with the knobs typed: numbers as numbers, booleans as booleans.
TEST(workflow_cli, the_json_meta_block_says_what_ran_with_typed_values) {
  const auto json = scratch("meta.json");
  const auto scenario = std::string(NICSIM_SOURCE_DIR) + "/tb/scenarios/livelock.yaml";
  const auto o = nicsim_cli("run --quiet " + scenario + " --json " + json +
                            " --set sim.duration_us=50 --set traffic.rate_gbps=1.5");
  ASSERT_EQ(o.status, 0) << o.output;
  const auto j = read_json(json);
  const auto& m = j.at("meta");
  EXPECT_FALSE(m.at("nicsim_version").get<std::string>().empty());
  EXPECT_FALSE(m.at("git_revision").get<std::string>().empty());
  EXPECT_EQ(m.at("scenario"), scenario);
  EXPECT_EQ(m.at("costs"), "built-in");
  const auto& cl = m.at("command_line");
  ASSERT_TRUE(cl.is_array());
  EXPECT_EQ(cl.at(1), "run");
  EXPECT_EQ(cl.back(), "traffic.rate_gbps=1.5");
  const auto& c = m.at("config");
  EXPECT_TRUE(c.at("sim.duration_us").is_number());
  EXPECT_EQ(c.at("sim.duration_us").get<double>(), 50.0);
  EXPECT_EQ(c.at("traffic.rate_gbps").get<double>(), 1.5);
  EXPECT_TRUE(c.at("nic.rx_ring_size").is_number_integer());
  EXPECT_TRUE(c.at("host.napi").is_boolean());
  EXPECT_TRUE(c.at("host.hz").is_number_integer()) << "a choice of numbers is a number";
  EXPECT_TRUE(c.at("traffic.pattern").is_string());
  EXPECT_EQ(c.size(), j.at("config").size()) << "every knob";
}

TEST(workflow_cli, a_mistyped_key_gets_the_closest_key_and_only_a_close_one) {
  auto o = nicsim_cli("run --quiet --set traffic.rate_gpbs=2");
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.output.find("did you mean traffic.rate_gbps?"), std::string::npos) << o.output;
  o = nicsim_cli("run --quiet --set rx-usec=2");
  EXPECT_NE(o.output.find("did you mean rx-usecs?"), std::string::npos) << o.output;
  const auto yaml = scratch("typo.yaml");
  nicsim::test::write_file(yaml, "nic:\n  coalesce:\n    rx_usec: 10\n");
  o = nicsim_cli("run --quiet " + yaml);
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.output.find("did you mean nic.coalesce.rx_usecs?"), std::string::npos) << o.output;
  o = nicsim_cli("run --quiet --set bogus.key=1");
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.output.find("did you mean"), std::string::npos) << o.output;
}

TEST(workflow_cli, knobs_prints_exact_ranges_and_the_unit_after_the_range) {
  const auto o = nicsim_cli("knobs");
  ASSERT_EQ(o.status, 0);
  EXPECT_EQ(o.output.find("e+"), std::string::npos) << "no exponent notation";
  EXPECT_NE(o.output.find("app.rcvbuf_bytes = 212992  [256, 2147483647] B  "), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("nic.coalesce.itr = 0  [0, 65535] × 256 ns  "), std::string::npos);
  EXPECT_NE(o.output.find("host.cpus = 1  [1, 64] CPUs  "), std::string::npos);
  EXPECT_EQ(o.output.find("4x faster"), std::string::npos);
}

}  // namespace
