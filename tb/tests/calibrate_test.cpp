// `nicsim run --costs FILE` and `nicsim calibrate`, run as a user runs them:
// a replaced cost table moves the results the way its numbers say, a bad one is
// refused naming the key, and a table measured on this machine is accepted.
#include "tb/calibrate.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "host/cost_table.h"
#include "tb/tests/cli_harness.h"

namespace {

using nicsim::test::outcome;
using nicsim::test::read_json;
outcome run_nicsim(const std::string& args) { return nicsim::test::nicsim_cli(args); }
std::string scratch(const std::string& name) { return nicsim::test::scratch_path("scratch_calibrate", name); }
void write(const std::string& path, const std::string& text) { nicsim::test::write_file(path, text); }
std::string read(const std::string& path) { return nicsim::test::read_file(path); }

bool exists(const std::string& path) { return std::ifstream(path).good(); }

// The built-in table with one entry's line replaced.
std::string defaults_with(const std::string& key, const std::string& new_line) {
  const std::regex line("(^|\n)" + key + ":[^\n]*");
  const std::string& text = nicsim::host::cost_table::default_yaml();
  EXPECT_TRUE(std::regex_search(text, line)) << key;
  return std::regex_replace(text, line, "$1" + new_line);
}

nlohmann::json run_json(const std::string& name, const std::string& args) {
  const auto out = scratch(name + ".json");
  std::remove(out.c_str());
  const auto o = run_nicsim("run --quiet --json " + out + " " + args);
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_TRUE(o.output.empty()) << o.output;
  return exists(out) ? read_json(out) : nlohmann::json::object();
}

nlohmann::json without_wall_time(nlohmann::json j) {
  for (const char* k : {"wall_s", "frames_per_wall_s", "slowdown"}) j.at("sim").erase(k);
  j.erase("costs");
  j.erase("meta");  // names the cost table and the command line: what ran, not what came out
  return j;
}

}  // namespace

TEST(calibrate, run_records_the_built_in_cost_table) {
  const auto j = run_json("builtin", "--set sim.duration_us=200");
  EXPECT_EQ(j.at("costs"), "built-in");
}

TEST(calibrate, costs_file_equal_to_the_built_in_table_gives_identical_results) {
  const auto costs = scratch("same.yaml");
  write(costs, nicsim::host::cost_table::default_yaml());
  const auto a = run_json("same_a", "--set sim.duration_us=500");
  const auto b = run_json("same_b", "--set sim.duration_us=500 --costs " + costs);
  EXPECT_EQ(b.at("costs"), costs);
  EXPECT_EQ(without_wall_time(a), without_wall_time(b));
}

TEST(calibrate, doubling_context_switch_adds_its_cost_to_system_time) {
  const auto costs = scratch("double_cs.yaml");
  const double cs_cycles =
      nicsim::host::cost_table::defaults(3.0).at(nicsim::host::cost::context_switch).cycles;
  write(costs, defaults_with("context_switch",
                             "context_switch: {cycles: " + std::to_string(2 * cs_cycles) + "}  # doubled"));
  const auto a = run_json("cs_a", "");
  const auto b = run_json("cs_b", "--costs " + costs);
  const double sys_a = a.at("host").at("cpu_ns").at("system").get<double>();
  const double sys_b = b.at("host").at("cpu_ns").at("system").get<double>();
  const double switches = b.at("host").at("context_switches").get<double>();
  ASSERT_GT(switches, 10);
  // Every switch now stalls cs_cycles longer at 3 GHz, all of it system time;
  // the rest of the run moves only a little (a few switches more or fewer).
  const double expected = switches * cs_cycles / 3.0;
  EXPECT_GT(sys_b - sys_a, 0.7 * expected) << sys_a << " -> " << sys_b;
  EXPECT_LT(sys_b - sys_a, 1.3 * expected) << sys_a << " -> " << sys_b;
  // Light load: slower switches delay frames (one more may be in flight at the end) but drop none.
  EXPECT_EQ(b.at("udp").at("RcvbufErrors"), 0);
  EXPECT_EQ(b.at("nic").at("rx_missed"), 0);
  EXPECT_NEAR(b.at("app").at("messages").get<double>(), a.at("app").at("messages").get<double>(), 2);
}

TEST(calibrate, unknown_cost_entry_is_bad_input_naming_file_and_key) {
  const auto costs = scratch("unknown.yaml");
  const auto out = scratch("never.json");
  std::remove(out.c_str());
  write(costs, nicsim::host::cost_table::default_yaml() + "\ncontext_swtich: {cycles: 1}\n");
  const auto o = run_nicsim("run --quiet --costs " + costs + " --json " + out);
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find(costs + ": unknown cost entry 'context_swtich'"), std::string::npos) << o.output;
  EXPECT_FALSE(exists(out));
}

TEST(calibrate, missing_cost_entry_is_bad_input_naming_the_key) {
  const auto costs = scratch("missing.yaml");
  write(costs, defaults_with("ttwu", ""));
  const auto o = run_nicsim("run --quiet --costs " + costs);
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find(costs + ": missing cost entry 'ttwu'"), std::string::npos) << o.output;
}

TEST(calibrate, negative_cost_entry_is_bad_input_naming_the_key) {
  const auto costs = scratch("negative.yaml");
  write(costs, defaults_with("syscall", "syscall: {cycles: -300}"));
  const auto o = run_nicsim("run --quiet --costs " + costs);
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find(costs + ": entry 'syscall' is negative"), std::string::npos) << o.output;
}

TEST(calibrate, unreadable_cost_file_is_bad_input) {
  const auto o = run_nicsim("run --quiet --costs /nonexistent/costs.yaml");
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find("/nonexistent/costs.yaml"), std::string::npos) << o.output;
}

TEST(calibrate, measured_table_is_complete_plausible_and_accepted_by_run) {
  const auto costs = scratch("measured.yaml");
  const auto meas = scratch("measured.json");
  std::remove(costs.c_str());
  const auto o = run_nicsim("calibrate --seconds 1 --cpu-ghz 2.5 --out " + costs + " --json " + meas);
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("syscall"), std::string::npos) << o.output;  // the table of measurements
  const std::string text = read(costs);
  EXPECT_NE(text.find("calibrated at cpu_ghz: 2.500"), std::string::npos);
  for (const char* key : {"syscall:", "context_switch:", "copy_to_user:"}) {
    const size_t at = text.find(std::string("\n") + key);
    ASSERT_NE(at, std::string::npos) << key;
    EXPECT_NE(text.substr(at, text.find('\n', at + 1) - at).find("MEASURED"), std::string::npos) << key;
  }
  EXPECT_NE(text.find("[lat]"), std::string::npos);  // defaults keep their sources

  // parse() throws on a missing, unknown or negative entry.
  const auto t = nicsim::host::cost_table::parse(text, costs, 2.5);
  const double syscall_ns = t.at(nicsim::host::cost::syscall).cycles / 2.5;
  const double switch_ns = t.at(nicsim::host::cost::context_switch).cycles / 2.5;
  const double copy_ns_per_byte = t.at(nicsim::host::cost::copy_to_user).per_byte / 2.5;
  EXPECT_GT(syscall_ns, 20);
  EXPECT_LT(syscall_ns, 100000);  // bounds wide enough for a loaded, shared machine
  EXPECT_GT(switch_ns, 20);
  EXPECT_LT(switch_ns, 5000000);
  EXPECT_GT(copy_ns_per_byte, 0.001);  // below 1000 GB/s
  EXPECT_LT(copy_ns_per_byte, 10);     // above 0.1 GB/s
  EXPECT_EQ(t.at(nicsim::host::cost::ttwu).cycles,
            nicsim::host::cost_table::defaults(2.5).at(nicsim::host::cost::ttwu).cycles);

  const auto m = read_json(meas);
  ASSERT_GE(m.at("udp_loopback").size(), 2u);
  for (const auto& r : m.at("udp_loopback")) {
    EXPECT_GT(r.at("received").get<double>(), 0) << r;
    EXPECT_GT(r.at("rate_dgram_s").get<double>(), 1e3) << r;
    EXPECT_LT(r.at("rate_dgram_s").get<double>(), 1e8) << r;
    EXPECT_GT(r.at("receiver_cpu_ns_per_dgram").get<double>(), 20) << r;
  }

  const auto j =
      run_json("measured_run", "--set sim.duration_us=300 --set host.cpu_ghz=2.5 --costs " + costs);
  EXPECT_EQ(j.at("costs"), costs);
  EXPECT_TRUE(j.at("conservation").at("ok").get<bool>());
}

TEST(calibrate, run_warns_when_the_clock_differs_from_the_calibrated_one) {
  const auto costs = scratch("clock.yaml");
  write(costs, "# calibrated at cpu_ghz: 2.000\n" + nicsim::host::cost_table::default_yaml());
  const auto o = run_nicsim("run --quiet --set sim.duration_us=100 --costs " + costs);
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("host.cpu_ghz=2"), std::string::npos) << o.output;
}

TEST(calibrate, unwritable_out_is_bad_input_and_writes_nothing) {
  const auto o = run_nicsim("calibrate --seconds 0.2 --out /nonexistent/dir/costs.yaml");
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find("/nonexistent/dir/costs.yaml"), std::string::npos) << o.output;
}

TEST(calibrate, calibrated_cpu_ghz_reads_the_header_line) {
  EXPECT_EQ(nicsim::tb::calibrated_cpu_ghz("# x\n# calibrated at cpu_ghz: 2.596   (/proc/cpuinfo)\n"), 2.596);
  EXPECT_EQ(nicsim::tb::calibrated_cpu_ghz(nicsim::host::cost_table::default_yaml()), 0);
}
