// The input contract as a user meets it: each bad input file or option value
// ends with exit status 2 and a message naming the culprit, before any
// simulation starts and without reading a device or a fifo.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "host/cost_table.h"
#include "tb/tests/cli_harness.h"

namespace {

namespace fs = std::filesystem;
using nicsim::test::outcome;

// The old reader took /dev/zero until the machine ran out of memory. Bounding the
// child's address space turns that into a quick failure instead; sanitizer
// builds reserve terabytes of address space up front, so they only get the timeout.
#if defined(__SANITIZE_ADDRESS__)
constexpr const char* memory_cap = "";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr const char* memory_cap = "";
#else
constexpr const char* memory_cap = "ulimit -v 4000000; ";
#endif
#else
constexpr const char* memory_cap = "ulimit -v 4000000; ";
#endif

// nicsim with a bounded run time: a reader stuck on a fifo or a device fails the test, not the suite.
outcome cli(const std::string& args) {
  return nicsim::test::sh(std::string(memory_cap) + "timeout 60 " + nicsim::test::nicsim_bin() + " " + args);
}

std::string scratch(const std::string& name) { return nicsim::test::scratch_path("input_cli", name); }

std::string scratch_file(const std::string& name, const std::string& text) {
  const auto path = scratch(name);
  nicsim::test::write_file(path, text);
  return path;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

// ---- item 4 ----

TEST(input_cli, devices_are_not_read_as_input_files) {
  for (const std::string& args :
       {std::string("run --quiet /dev/zero"), std::string("run --quiet --costs /dev/zero"),
        std::string("sweep /dev/zero --dry-run")}) {
    const auto o = cli(args);
    EXPECT_EQ(o.status, 2) << args << ": " << o.output;
    EXPECT_TRUE(has(o.output, "/dev/zero: the ")) << args << ": " << o.output;
    EXPECT_TRUE(has(o.output, "is not a regular file")) << args << ": " << o.output;
  }
}

TEST(input_cli, a_fifo_is_refused_without_waiting_for_a_writer) {
  const auto fifo = scratch("fifo.yaml");
  std::remove(fifo.c_str());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const auto o = cli("run --quiet " + fifo);
  std::remove(fifo.c_str());
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(has(o.output, fifo + ": the scenario file is not a regular file")) << o.output;
}

TEST(input_cli, an_unreadable_scenario_is_bad_input_not_the_defaults) {
  const auto o = cli("run --quiet --json " + scratch("mem.json") + " /proc/self/mem");
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(has(o.output, "/proc/self/mem: cannot read the scenario file")) << o.output;
  EXPECT_FALSE(fs::exists(scratch("mem.json")));
}

TEST(input_cli, an_oversized_cost_table_is_refused_naming_the_limit) {
  std::string text = nicsim::host::cost_table::default_yaml();
  while (text.size() <= 1024 * 1024) text += "# a long comment a long comment a long comment\n";
  const auto path = scratch_file("big_costs.yaml", text);
  const auto o = cli("run --quiet --costs " + path);
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(has(o.output, path + ": the cost table is")) << o.output;
  EXPECT_TRUE(has(o.output, "at most 1 MiB")) << o.output;
}

// ---- item 9 ----

TEST(input_cli, complex_keys_are_bad_input_with_line_and_column) {
  const auto scenario = scratch_file("complex.yaml", "sim:\n  seed: 2\n? [a, b]\n: 1\n");
  auto o = cli("run --quiet " + scenario);
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(has(o.output, scenario + ":3:3: a key must be a plain name")) << o.output;

  const auto costs = scratch_file("complex_costs.yaml",
                                  nicsim::host::cost_table::default_yaml() + "? [a, b]\n: {cycles: 1}\n");
  o = cli("run --quiet --costs " + costs);
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(has(o.output, costs + ":")) << o.output;
  EXPECT_TRUE(has(o.output, ":3: a key must be a plain name")) << o.output;

  const auto study = scratch_file("complex_study.yaml", "sweep:\n  ? [grid]\n  : {rate: 1,2}\n");
  o = cli("sweep " + study + " --dry-run");
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(has(o.output, study + ":2:5: a key must be a plain name")) << o.output;
}

// ---- item 10 ----

TEST(input_cli, non_finite_or_huge_costs_are_refused_with_the_bounds) {
  std::string text = nicsim::host::cost_table::default_yaml();
  const auto at = text.find("\nsyscall:");
  ASSERT_NE(at, std::string::npos);
  text = text.substr(0, at + 1) + "syscall: {cycles: .nan}" + text.substr(text.find('\n', at + 1));
  const auto path = scratch_file("nan_costs.yaml", text);
  const auto o = cli("run --quiet --set sim.duration_us=10 --costs " + path);
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(has(o.output, "entry 'syscall' cycles = .nan is not a number")) << o.output;
  EXPECT_TRUE(has(o.output, "[0, 1000000000]")) << o.output;
}

TEST(input_cli, wave_window_edges_must_be_finite_times_within_the_longest_run) {
  const auto waves = scratch("window.vcd");
  for (const std::string& bad :
       {std::string("--waves-from nan"), std::string("--waves-from 1e300"), std::string("--waves-from -1"),
        std::string("--waves-to inf"), std::string("--waves-to 0"), std::string("--waves-to 10000001")}) {
    std::remove(waves.c_str());
    const auto o = cli("run --quiet --set sim.duration_us=10 --waves " + waves + " " + bad);
    EXPECT_EQ(o.status, 2) << bad << ": " << o.output;
    EXPECT_TRUE(has(o.output, bad.substr(0, bad.find(' ')) + ": '")) << bad << ": " << o.output;
    EXPECT_TRUE(has(o.output, "10000000] us")) << bad << ": " << o.output;
    EXPECT_LT(o.output.size(), 300u) << bad << ": " << o.output;
    EXPECT_FALSE(fs::exists(waves)) << bad;
  }
}

// ---- item 11 ----

TEST(input_cli, sockets_past_port_65535_are_refused) {
  const auto o = cli("run --quiet --set app.port=65535 --set app.sockets=1024");
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(has(o.output, "app.port = 65535 with app.sockets = 1024 runs past port 65535")) << o.output;
}

TEST(input_cli, unknown_wave_groups_are_refused_listing_the_groups) {
  const auto waves = scratch("groups.vcd");
  std::remove(waves.c_str());
  auto o = cli("run --quiet --set sim.duration_us=10 --waves " + waves + " --waves-groups nic,bogus");
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(has(o.output, "'bogus' is not a signal group; the groups are wire, nic, host, cpu0"))
      << o.output;
  // A CPU the host does not have selects nothing: refused once the scenario is known.
  o = cli("run --quiet --set sim.duration_us=10 --set host.cpus=2 --waves " + waves + " --waves-groups cpu2");
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(has(o.output, "--waves-groups cpu2: the host has host.cpus = 2")) << o.output;
  EXPECT_TRUE(has(o.output, "cpu0, cpu1")) << o.output;
  EXPECT_FALSE(fs::exists(waves));
}

TEST(input_cli, duplicate_nested_dotted_and_multi_document_scenarios_are_refused) {
  struct bad {
    const char* name;
    const char* yaml;
    const char* message;
  };
  for (const bad& b : {
           bad{"dup.yaml", "sim:\n  seed: 1\n  seed: 2\n", ":3:3: key 'seed' appears twice"},
           bad{"dotted.yaml", "sim:\n  seed: 1\nsim.seed: 2\n", ":3:1: sim.seed is given a second time"},
           bad{"docs.yaml", "sim:\n  seed: 1\n---\nsim:\n  seed: 2\n", ":4:1: a second YAML document"},
       }) {
    const auto path = scratch_file(b.name, b.yaml);
    const auto o = cli("run --quiet " + path);
    EXPECT_EQ(o.status, 2) << b.name << ": " << o.output;
    EXPECT_TRUE(has(o.output, path + b.message)) << b.name << ": " << o.output;
  }
}

// ---- item 12 ----

TEST(input_cli, jobs_zero_names_a_short_true_range) {
  const auto o = cli("sweep --jobs 0 --dry-run");
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(has(o.output, "--jobs: Value 0 not in range 1 to 1024")) << o.output;
  EXPECT_LT(o.output.size(), 200u) << o.output;
}

TEST(input_cli, knobs_prints_exact_ranges_that_set_agrees_with) {
  const auto knobs = cli("knobs");
  ASSERT_EQ(knobs.status, 0);
  EXPECT_TRUE(has(knobs.output, "[0, 4294967295]")) << knobs.output;
  EXPECT_TRUE(has(knobs.output, "[4608, 2147483647]")) << knobs.output;
  EXPECT_FALSE(has(knobs.output, "e+0")) << knobs.output;
  const auto seed = cli("run --quiet --set sim.seed=4294967296");
  EXPECT_EQ(seed.status, 2);
  EXPECT_TRUE(has(seed.output, "sim.seed = 4294967296 is out of range [0, 4294967295]")) << seed.output;
}

TEST(input_cli, a_section_with_no_value_and_a_tiny_rate_get_true_messages) {
  const auto path = scratch_file("null_sim.yaml", "sim:\ntraffic:\n  flows: 2\n");
  auto o = cli("run --quiet " + path);
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(has(o.output, path + ":1:1: sim is empty")) << o.output;
  o = cli("run --quiet --set traffic.rate_gbps=1e-320");
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_TRUE(has(o.output, "traffic.rate_gbps = 1e-320 is out of range [1e-06, 400]")) << o.output;
}

// ---- the shipped studies still plan ----

TEST(input_cli, every_shipped_study_plans) {
  size_t studies = 0;
  for (const auto& entry : fs::directory_iterator(std::string(NICSIM_SOURCE_DIR) + "/tb/scenarios")) {
    if (entry.path().filename().string().rfind("study_", 0) != 0) continue;
    const auto o = cli("sweep " + entry.path().string() + " --dry-run --out " + scratch("study_out"));
    EXPECT_EQ(o.status, 0) << entry.path() << ": " << o.output;
    EXPECT_TRUE(has(o.output, " points\n")) << o.output;
    ++studies;
  }
  EXPECT_GE(studies, 4u);
}
