// The input contract at the API: every bad scenario, cost table or sweep
// section is a config_error (or, for the cost table, std::invalid_argument)
// naming the file and the line, key or bound; nothing is silently dropped,
// wrapped or read without limit. And every shipped scenario still loads.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "host/cost_table.h"
#include "tb/config.h"
#include "tb/sweep.h"
#include "tb/tests/cli_harness.h"

namespace {

namespace fs = std::filesystem;
using nicsim::host::cost_table;
using nicsim::tb::config;
using nicsim::tb::config_error;

// A scratch file of this test's own (tests run in parallel, one process each).
std::string scratch_file(const std::string& name, const std::string& text) {
  const auto path = nicsim::test::scratch_path("input", name);
  nicsim::test::write_file(path, text);
  return path;
}

// The message of the config_error that `f` throws; fails the test when it throws nothing or something else.
template <typename F>
std::string config_error_of(F f) {
  try {
    f();
  } catch (const config_error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a config_error: " << e.what();
    return {};
  }
  ADD_FAILURE() << "accepted";
  return {};
}

std::string scenario_error(const std::string& yaml, const std::string& origin = "s.yaml") {
  return config_error_of([&] {
    config c;
    c.load_yaml_text(yaml, origin);
  });
}

std::string set_error(const std::string& key, const std::string& value) {
  return config_error_of([&] {
    config c;
    c.set(key, value, "--set");
  });
}

std::string validate_error(const std::vector<std::string>& sets) {
  return config_error_of([&] {
    config c;
    for (const auto& s : sets) c.set_assignment(s);
    c.validate();
  });
}

// The built-in cost table with `line` appended (or with an entry's line replaced).
std::string costs_with(const std::string& entry, const std::string& line) {
  std::string text = cost_table::default_yaml();
  if (entry.empty()) return text + line + "\n";
  const auto at = text.find("\n" + entry + ":");
  EXPECT_NE(at, std::string::npos) << entry;
  const auto end = text.find('\n', at + 1);
  return text.substr(0, at + 1) + line + text.substr(end);
}

std::string costs_error(const std::string& text) {
  try {
    cost_table::parse(text, "c.yaml", 3.0);
  } catch (const std::invalid_argument& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an invalid_argument: " << e.what();
    return {};
  }
  ADD_FAILURE() << "accepted";
  return {};
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

// ---- item 4: input files are bounded regular files, read to their end ----

TEST(input_file, larger_than_the_limit_is_refused_naming_the_limit) {
  // A valid scenario padded with comments past 1 MiB: the old reader took it whole.
  std::string text = "sim:\n  seed: 7\n";
  while (text.size() <= nicsim::tb::max_input_file_bytes) text += "# padding padding padding padding\n";
  const auto path = scratch_file("big.yaml", text);
  const auto e = config_error_of([&] { config().load_file(path); });
  EXPECT_TRUE(has(e, path)) << e;
  EXPECT_TRUE(has(e, "1 MiB")) << e;
}

TEST(input_file, exactly_at_the_limit_is_read) {
  std::string text = "sim:\n  seed: 7\n";
  text += "#" + std::string(nicsim::tb::max_input_file_bytes - text.size() - 2, 'x') + "\n";
  ASSERT_EQ(text.size(), nicsim::tb::max_input_file_bytes);
  config c;
  c.load_file(scratch_file("limit.yaml", text));
  EXPECT_EQ(c.text("sim.seed"), "7");
}

TEST(input_file, a_read_error_is_bad_input_not_an_empty_scenario) {
  // /proc/self/mem is a regular file of size 0 whose first page cannot be read (EIO):
  // the old reader saw an empty scenario and ran the defaults.
  const auto e = config_error_of([] { config().load_file("/proc/self/mem"); });
  EXPECT_TRUE(has(e, "/proc/self/mem: cannot read the scenario file")) << e;
}

TEST(input_file, devices_fifos_and_directories_are_not_input_files) {
  const auto fifo = nicsim::test::scratch_path("input", "fifo.yaml");
  std::remove(fifo.c_str());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const auto dir = nicsim::test::scratch_path("input", "dir.yaml");
  fs::create_directories(dir);
  for (const std::string& path : {std::string("/dev/zero"), fifo, dir}) {
    const auto e = config_error_of([&] { nicsim::tb::read_input_file(path, "cost table"); });
    EXPECT_TRUE(has(e, path + ": the cost table is not a regular file")) << e;
  }
  std::remove(fifo.c_str());
}

TEST(input_file, sweep_scenario_is_read_with_the_same_limit) {
  const auto e = config_error_of([] { nicsim::tb::make_sweep_plan("/proc/self/mem", {}, {}); });
  EXPECT_TRUE(has(e, "/proc/self/mem: cannot read the scenario file")) << e;
}

// ---- item 9: complex keys are bad input with file, line and column ----

TEST(yaml_shape, complex_key_in_a_scenario_names_line_and_column) {
  EXPECT_TRUE(has(scenario_error("? [a, b]\n: 1\n"), "s.yaml:1:3: a key must be a plain name"));
  EXPECT_TRUE(
      has(scenario_error("sim:\n  seed: 1\n  ? {x: 1}\n  : 2\n"), "s.yaml:3:5: a key must be a plain name"));
}

TEST(yaml_shape, complex_key_in_a_cost_table_names_line_and_column) {
  const auto text = costs_with("", "? [a, b]\n: 1");
  const auto line =
      std::count(cost_table::default_yaml().begin(), cost_table::default_yaml().end(), '\n') + 1;
  const auto e = costs_error(text);
  EXPECT_TRUE(has(e, "c.yaml:" + std::to_string(line) + ":3: a key must be a plain name")) << e;
  EXPECT_TRUE(has(costs_error(costs_with("syscall", "syscall: {? [a]: 1, cycles: 3}")),
                  "a key must be a plain name"));
}

TEST(yaml_shape, complex_key_in_a_sweep_section_names_line_and_column) {
  const auto path = scratch_file("sweep_complex.yaml", "sweep:\n  grid:\n    ? [rate, frame]\n    : 1,2\n");
  const auto e = config_error_of([&] { nicsim::tb::make_sweep_plan(path, {}, {}); });
  EXPECT_TRUE(has(e, path + ":3:7: a key must be a plain name")) << e;
}

// ---- item 11: a value is given once; one document per file ----

TEST(yaml_shape, duplicate_key_is_refused_with_both_lines) {
  const auto e = scenario_error("sim:\n  seed: 1\n  seed: 2\n");
  EXPECT_TRUE(has(e, "s.yaml:3:3: key 'seed' appears twice in one map (first at line 2")) << e;
  // A section twice would merge silently, keeping the last of any shared key.
  EXPECT_TRUE(has(scenario_error("sim:\n  seed: 1\ntraffic:\n  flows: 2\nsim:\n  duration_us: 5\n"),
                  "s.yaml:5:1: key 'sim' appears twice"));
}

TEST(yaml_shape, key_given_nested_and_dotted_is_refused) {
  const auto e = scenario_error("sim:\n  seed: 1\nsim.seed: 2\n");
  EXPECT_TRUE(has(e, "s.yaml:3:1: sim.seed is given a second time (first at line 2")) << e;
  EXPECT_TRUE(has(scenario_error("nic.coalesce:\n  rx_usecs: 3\nnic:\n  coalesce:\n    rx_usecs: 4\n"),
                  "nic.coalesce.rx_usecs is given a second time"));
}

TEST(yaml_shape, second_document_is_refused) {
  EXPECT_TRUE(
      has(scenario_error("sim:\n  seed: 3\n---\nsim:\n  seed: 4\n"), "s.yaml:4:1: a second YAML document"));
  const auto e = costs_error(costs_with("", "---\nsyscall: {cycles: 1}"));
  EXPECT_TRUE(has(e, "a second YAML document")) << e;
}

// yaml-cpp 0.7.0's LoadAll loops forever, allocating, on a leading ',' (the
// fuzzer found it in both parsers); the loader must refuse it and return.
TEST(yaml_shape, stray_flow_indicator_is_refused_not_looped_on) {
  const auto e = scenario_error(",sim: {duration_us: 5}\n");
  EXPECT_TRUE(has(e, "s.yaml:1:1: ',' starts no YAML value")) << e;
  const auto c = costs_error(",  [perf]  perf p}rofil\n");
  EXPECT_TRUE(has(c, "',' starts no YAML value")) << c;
}

TEST(yaml_shape, duplicate_cost_entry_or_field_is_refused) {
  EXPECT_TRUE(has(costs_error(costs_with("", "syscall: {cycles: 1}")), "key 'syscall' appears twice"));
  EXPECT_TRUE(has(costs_error(costs_with("syscall", "syscall: {cycles: 1, cycles: 2}")),
                  "key 'cycles' appears twice"));
}

TEST(yaml_shape, duplicate_grid_in_a_sweep_section_is_refused) {
  const auto path = scratch_file("sweep_dup.yaml", "sweep:\n  grid:\n    rate: 1,2\n    rate: 3\n");
  const auto e = config_error_of([&] { nicsim::tb::make_sweep_plan(path, {}, {}); });
  EXPECT_TRUE(has(e, path + ":4:5: key 'rate' appears twice")) << e;
}

TEST(yaml_shape, well_formed_documents_still_load) {
  config c;
  c.load_yaml_text("", "empty.yaml");  // the defaults
  c.load_yaml_text("---\nsim:\n  seed: 5\n...\n", "markers.yaml");
  EXPECT_EQ(c.text("sim.seed"), "5");
  c.load_yaml_text("sim:\n  seed: &s 6\ntraffic:\n  burst_frames: *s\ntraffic.dst_port: 9001\n",
                   "mixed.yaml");
  EXPECT_EQ(c.text("sim.seed"), "6");
  EXPECT_EQ(c.text("traffic.burst_frames"), "6");
  EXPECT_EQ(c.text("traffic.dst_port"), "9001");
}

TEST(yaml_shape, self_referring_alias_is_refused_not_walked_forever) {
  EXPECT_TRUE(has(scenario_error("a: &x [*x]\n"), "s.yaml:"));
}

// ---- item 10: costs are finite and bounded ----

TEST(cost_values, nan_inf_and_huge_cycles_are_refused_naming_entry_and_bounds) {
  for (const char* v : {".nan", ".inf", "1e308", "1000000001"}) {
    const auto e = costs_error(costs_with("syscall", std::string("syscall: {cycles: ") + v + "}"));
    EXPECT_TRUE(has(e, std::string("c.yaml: entry 'syscall' cycles = ") + v)) << e;
    EXPECT_TRUE(has(e, "cycles must be within [0, 1000000000]")) << e;
  }
  const auto e = costs_error(costs_with("csum", "csum: {cycles: 20, per_byte: .inf}"));
  EXPECT_TRUE(has(e, "entry 'csum' per_byte = .inf")) << e;
  EXPECT_TRUE(has(e, "per_byte must be within [0, 1000000]")) << e;
  EXPECT_TRUE(has(costs_error(costs_with("syscall", "syscall: {cycles: -1}")), "entry 'syscall' is negative"))
      << e;
}

TEST(cost_values, the_bounds_themselves_are_accepted) {
  const auto t = cost_table::parse(costs_with("csum", "csum: {cycles: 1e9, per_byte: 1000000}"), "c.yaml",
                                   0.1);  // slowest clock
  EXPECT_EQ(t.at(nicsim::host::cost::csum).cycles, 1e9);
  // The largest charge (both bounds, the slowest clock, 64 KiB) is still a finite time: some 665 s.
  EXPECT_GT(t(nicsim::host::cost::csum, 65536).to_seconds(), 600.0);
}

// ---- item 11: knobs that together wrap around ----

TEST(cross_knob, sockets_may_not_run_past_port_65535) {
  const auto e = validate_error({"app.port=65535", "app.sockets=1024"});
  EXPECT_TRUE(has(e, "app.port = 65535 with app.sockets = 1024 runs past port 65535")) << e;
  EXPECT_TRUE(has(validate_error({"app.port=65534", "app.sockets=3"}), "runs past port 65535"));
  config ok;  // the last port is usable
  ok.set_assignment("app.port=65534");
  ok.set_assignment("app.sockets=2");
  EXPECT_NO_THROW(ok.validate());
}

TEST(cross_knob, reader_tasks_are_bounded_since_each_is_a_systemc_thread) {
  // 1024 sockets of 64 readers used to fail inside SystemC allocating 65536 stacks (exit 1).
  const auto e = validate_error({"app.sockets=1024", "app.readers=64"});
  EXPECT_TRUE(has(e, "app.sockets = 1024 with app.readers = 64 makes 65536 reader tasks")) << e;
  EXPECT_TRUE(has(validate_error({"app.sockets=1024", "app.readers=5"}), "at most 4096")) << e;
  config ok;  // exactly at the bound
  ok.set_assignment("app.sockets=1024");
  ok.set_assignment("app.readers=4");
  EXPECT_NO_THROW(ok.validate());
}

TEST(cross_knob, flows_may_not_run_past_port_65535) {
  EXPECT_TRUE(has(validate_error({"traffic.dst_port=65535", "traffic.flows=2"}), "traffic.dst_port = 65535"));
  EXPECT_TRUE(
      has(validate_error({"traffic.src_port=65000", "traffic.flows=1000"}), "traffic.src_port = 65000"));
}

// ---- item 12: messages that are true ----

TEST(messages, ranges_are_exact_integers) {
  const config c;
  EXPECT_EQ(config::range_text(c.knobs().at("sim.seed")), "[0, 4294967295]");
  EXPECT_EQ(config::range_text(c.knobs().at("app.rcvbuf_bytes")), "[0, 2147483647]");
  EXPECT_EQ(config::range_text(c.knobs().at("traffic.count")), "[0, 1000000000000]");
  EXPECT_EQ(config::range_text(c.knobs().at("traffic.rate_gbps")), "[1e-06, 400]");
  EXPECT_TRUE(
      has(set_error("sim.seed", "4294967296"), "sim.seed = 4294967296 is out of range [0, 4294967295]"));
  for (const auto& [key, k] : c.knobs())
    if (k.type == config::kind::integer) {
      EXPECT_FALSE(has(config::range_text(k), "e+")) << key;
    }
}

TEST(messages, tiny_and_huge_numbers_are_out_of_range_not_not_a_number) {
  EXPECT_TRUE(has(set_error("traffic.rate_gbps", "1e-320"),
                  "traffic.rate_gbps = 1e-320 is out of range [1e-06, 400]"));
  EXPECT_TRUE(has(set_error("traffic.rate_gbps", "1e400"), "is out of range [1e-06, 400]"));
  EXPECT_TRUE(has(set_error("traffic.rate_gbps", ".inf"), "is out of range"));
  EXPECT_TRUE(has(set_error("sim.seed", "1e-400"), "must be an integer"));
  EXPECT_TRUE(has(set_error("traffic.rate_gbps", "nan"), "is not a number"));
  EXPECT_TRUE(has(set_error("traffic.rate_gbps", "fast"), "is not a number"));
}

TEST(messages, a_section_with_no_value_says_it_is_empty) {
  const auto e = scenario_error("sim:\n");
  EXPECT_TRUE(has(e, "s.yaml:1:1: sim is empty")) << e;
  EXPECT_FALSE(has(e, "single value")) << e;
  EXPECT_TRUE(has(e, "sim.duration_us")) << e;
  EXPECT_TRUE(has(scenario_error("sim:\n  seed:\n"), "s.yaml:2:3: sim.seed has no value"));
  EXPECT_TRUE(has(scenario_error("sim:\n  seed: [1, 2]\n"), "sim.seed must be a single value, not a list"));
  EXPECT_TRUE(has(scenario_error("bogus:\n"), "unknown key 'bogus'"));
}

// ---- no valid shipped scenario is refused ----

TEST(shipped, every_scenario_loads_and_every_study_plans) {
  size_t studies = 0, scenarios = 0;
  for (const auto& entry : fs::directory_iterator(std::string(NICSIM_SOURCE_DIR) + "/tb/scenarios")) {
    const auto path = entry.path().string();
    if (entry.path().extension() != ".yaml") continue;
    if (entry.path().filename().string().rfind("study_", 0) == 0) {
      EXPECT_NO_THROW(nicsim::tb::make_sweep_plan(path, {}, {})) << path;
      ++studies;
    } else {
      config c;
      EXPECT_NO_THROW({
        c.load_file(path);
        c.validate();
      }) << path;
      ++scenarios;
    }
  }
  EXPECT_GE(studies, 4u);
  EXPECT_GE(scenarios, 3u);
  EXPECT_NO_THROW(cost_table::parse(cost_table::default_yaml(), "built-in", 3.0));
}

// The built-in table is compiled in from costs.yaml at configure time (host/CMakeLists.txt):
// it must be the table the YAML parser makes of the same file, entry for entry and, at two
// clock rates, charge for charge.
TEST(cost_values, the_compiled_in_table_equals_the_parsed_costs_yaml) {
  for (const double ghz : {3.0, 2.1}) {
    const auto compiled = cost_table::defaults(ghz);
    const auto parsed = cost_table::parse(cost_table::default_yaml(), "built-in", ghz);
    EXPECT_EQ(compiled.cpu_ghz(), parsed.cpu_ghz());
    for (size_t i = 0; i < nicsim::host::cost_count; ++i) {
      const auto c = static_cast<nicsim::host::cost>(i);
      EXPECT_EQ(compiled.at(c).cycles, parsed.at(c).cycles) << nicsim::host::cost_name(c);
      EXPECT_EQ(compiled.at(c).per_byte, parsed.at(c).per_byte) << nicsim::host::cost_name(c);
      EXPECT_EQ(compiled(c), parsed(c)) << nicsim::host::cost_name(c);
      EXPECT_EQ(compiled(c, 1500), parsed(c, 1500)) << nicsim::host::cost_name(c);
    }
  }
  // Not a table of zeros: the context switch costs thousands of cycles.
  EXPECT_GT(cost_table::defaults(3.0).at(nicsim::host::cost::context_switch).cycles, 1000);
}
