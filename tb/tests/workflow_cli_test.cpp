// What a user meets around a run (issue 16): nicsim --version, the JSON's meta block, "did
// you mean" for a mistyped key, `nicsim knobs` in plain units, and the progress line on a
// terminal.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

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
  EXPECT_NE(o.output.find("app.rcvbuf_bytes = 0  [0, 2147483647] B  "), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("nic.coalesce.itr = 0  [0, 65535] × 256 ns  "), std::string::npos);
  EXPECT_NE(o.output.find("host.cpus = 1  [1, 64] CPUs  "), std::string::npos);
  EXPECT_EQ(o.output.find("4x faster"), std::string::npos);
}

// The progress line: on a terminal (script(1) gives the run a pseudo-terminal) it is
// rewritten in place and cleared at the end; --quiet and a stderr that is no terminal get none.
TEST(workflow_cli, a_progress_line_shows_on_a_terminal_only_and_not_with_quiet) {
  // Long enough to take well over half a second of wall time (the default scenario runs at
  // about real time here; 300 ms simulated no longer did after issue 15's fourth round).
  const std::string run = nicsim::test::nicsim_bin() + " run --set sim.duration_us=2000000";
  auto o = nicsim::test::sh("script -qfec '" + run + "' /dev/null");
  ASSERT_EQ(o.status, 0) << o.output;
  const auto first = o.output.find("\rnicsim: ");
  ASSERT_NE(first, std::string::npos) << "a run over half a second shows progress: " << o.output;
  EXPECT_NE(o.output.find("ms simulated (", first), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("s left"), std::string::npos) << o.output;
  const auto summary = o.output.find("\r\033[Knicsim run:");
  ASSERT_NE(summary, std::string::npos) << "the line is cleared before the summary: " << o.output;
  EXPECT_LT(first, summary);
  o = nicsim::test::sh("script -qfec '" + run + " --quiet' /dev/null");
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_EQ(o.output, "") << "--quiet prints nothing";
  o = nicsim_cli("run --set sim.duration_us=2000000");  // stderr is a pipe
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_EQ(o.output.find('\r'), std::string::npos) << o.output;
  EXPECT_EQ(o.output.find("left"), std::string::npos) << o.output;
}

// Every signal's full name in an FST file (fst2vcd's scopes joined with dots), ranges dropped.
std::set<std::string> fst_signals(const std::string& fst) {
  const auto o = nicsim::test::sh("fst2vcd " + fst + " | sed -n '/enddefinitions/q;p'");
  std::set<std::string> names;
  std::vector<std::string> scope;
  std::istringstream in(o.output);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string kw, a, b, c, name;
    w >> kw;
    if (kw == "$scope") {
      w >> a >> name;
      scope.push_back(name);
    } else if (kw == "$upscope" && !scope.empty()) {
      scope.pop_back();
    } else if (kw == "$var") {
      w >> a >> b >> c >> name;
      std::string full;
      for (const auto& s : scope) full += s + ".";
      names.insert(full + name);
    }
  }
  return names;
}

// The saved views name real signals, in full, and open at the run's start; the RTL companion
// file has a view of its own.
TEST(workflow_cli, the_wave_views_name_signals_the_run_writes_and_open_at_the_start) {
  const auto dir = nicsim::test::scratch_dir("workflow_cli", "views");
  const auto o = nicsim_cli("run --quiet --waves " + dir + "/run.fst --set sim.duration_us=100");
  ASSERT_EQ(o.status, 0) << o.output;
  const std::string views = std::string(NICSIM_SOURCE_DIR) + "/waves/views/";
  for (const auto& [view, fst] : {std::pair<std::string, std::string>{"co_analysis.gtkw", "run.fst"},
                                  {"rtl_moderation.gtkw", "run.rtl.fst"}}) {
    const auto names = fst_signals(dir + "/" + fst);
    ASSERT_GT(names.size(), 10u) << fst;
    std::istringstream in(nicsim::test::read_file(views + view));
    std::string line;
    size_t signals = 0;
    bool starts_at_zero = false;
    while (std::getline(in, line)) {
      if (line == "[timestart] 0") starts_at_zero = true;
      if (line.empty() || std::string("[@-*+#").find(line[0]) != std::string::npos) continue;
      ++signals;
      const std::string name = line.substr(0, line.find('['));
      EXPECT_EQ(names.count(name), 1u) << view << ": " << name << " is not in " << fst;
      EXPECT_NE(name.find('.'), std::string::npos) << view << ": " << name << " is not a full name";
    }
    EXPECT_GT(signals, 10u) << view;
    EXPECT_TRUE(starts_at_zero) << view;
  }
  const std::string rc = nicsim::test::read_file(views + "nicsim.gtkwaverc");
  EXPECT_NE(rc.find("hier_max_level 0"), std::string::npos) << "full names in the signal pane";
}

std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    size_t start = 0;
    for (size_t comma; (comma = line.find(',', start)) != std::string::npos; start = comma + 1)
      cells.push_back(line.substr(start, comma - start));
    cells.push_back(line.substr(start));
    rows.push_back(cells);
  }
  return rows;
}

// --frames: one row per wire frame, with the fate fates.csv gives it and stage times that
// never go back; the .gz file is the same CSV, gzipped. Frames to a port nobody listens on and
// a small ring make several fates.
TEST(workflow_cli, frames_csv_has_a_row_per_wire_frame_with_its_fate_and_stage_times) {
  const std::string config =
      " --set sim.duration_us=300 --set traffic.flows=2 --set traffic.rate_gbps=4 --set rx=8"
      " --set traffic.frame_bytes=256";
  const auto dir = nicsim::test::scratch_dir("workflow_cli", "frames");
  auto o = nicsim_cli("run --quiet --json " + dir + "/a.json --pcap " + dir + "/a.pcap --frames " + dir +
                      "/a.csv" + config);
  ASSERT_EQ(o.status, 0) << o.output;
  o = nicsim_cli("run --quiet --frames " + dir + "/b.csv.gz" + config);
  ASSERT_EQ(o.status, 0) << o.output;
  const std::string plain = nicsim::test::read_file(dir + "/a.csv");
  const auto unzipped = nicsim::test::sh("gzip -dc " + dir + "/b.csv.gz");
  ASSERT_EQ(unzipped.status, 0);
  EXPECT_EQ(unzipped.output, plain) << "the gzipped CSV is the same CSV";

  const auto rows = csv_rows(plain);
  ASSERT_GE(rows.size(), 2u);
  ASSERT_EQ(rows[0].size(), 14u);
  EXPECT_EQ(rows[0][0], "seq");
  const auto j = read_json(dir + "/a.json");
  EXPECT_EQ(rows.size() - 1, j.at("wire").at("frames").get<size_t>()) << "a row per wire frame";
  // fates.csv: packet,direction,seq,fate
  std::map<std::string, std::string> fates;
  for (const auto& r : csv_rows(nicsim::test::read_file(dir + "/a.pcap.fates.csv")))
    if (r.size() == 4 && r[1] == "in") fates[r[2]] = r[3];
  std::map<std::string, size_t> by_fate;
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto& r = rows[i];
    ASSERT_EQ(r.size(), 14u) << i;
    EXPECT_EQ(fates.at(r[0]), r[4]) << "seq " << r[0];
    ++by_fate[r[4]];
    EXPECT_EQ(r[3], "256");
    EXPECT_TRUE(r[2] == "9000" || r[2] == "9001") << r[2];
    double prev = -1;
    bool ended = false;
    for (size_t k = 5; k < 14; ++k) {
      if (r[k].empty()) {
        ended = true;
        continue;
      }
      EXPECT_FALSE(ended) << "seq " << r[0] << ": a stage after one it never reached";
      const double t = std::stod(r[k]);
      EXPECT_GE(t, prev) << "seq " << r[0] << " column " << rows[0][k];
      prev = t;
    }
    EXPECT_EQ(r[4] == "delivered", !r[13].empty()) << "seq " << r[0];
  }
  EXPECT_EQ(by_fate["delivered"], j.at("app").at("messages").get<size_t>());
  EXPECT_EQ(by_fate["udp.NoPorts"], j.at("udp").at("NoPorts").get<size_t>());
  EXPECT_GT(by_fate.size(), 2u) << "delivered, NoPorts and more";
}

}  // namespace
