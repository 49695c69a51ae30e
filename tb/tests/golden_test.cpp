// Golden results: every case of tb/golden/cases.txt runs through the real
// binary and its statistics must equal the pinned tb/golden/<case>.json, wall
// clock aside. A refactoring must leave them untouched; a fidelity change
// regenerates them deliberately (scripts/update_golden.sh) and says so.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tb/tests/cli_harness.h"

namespace {

struct golden_case {
  std::string name;
  std::string args;
};
void PrintTo(const golden_case& c, std::ostream* os) { *os << c.name; }

std::string golden_dir() { return std::string(NICSIM_SOURCE_DIR) + "/tb/golden"; }

std::vector<golden_case> read_cases() {
  std::vector<golden_case> cases;
  std::ifstream in(golden_dir() + "/cases.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    golden_case c;
    words >> c.name;
    std::string arg;
    while (words >> arg) {
      // Scenario files are named relative to the repository.
      if (arg.rfind("tb/", 0) == 0) arg = std::string(NICSIM_SOURCE_DIR) + "/" + arg;
      c.args += " " + arg;
    }
    cases.push_back(c);
  }
  return cases;
}

// Every leaf as JSON pointer -> value, so a difference is reported by its path.
void flatten(const nlohmann::json& j, const std::string& at, std::map<std::string, nlohmann::json>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) flatten(v, at + "/" + k, out);
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) flatten(j.at(i), at + "/" + std::to_string(i), out);
  } else {
    out[at] = j;
  }
}

class golden : public testing::TestWithParam<golden_case> {};

TEST_P(golden, results_equal_the_pinned_json) {
  const golden_case& c = GetParam();
  const std::string got_path = nicsim::test::scratch_path("golden", c.name + ".json");
  const std::string want_path = golden_dir() + "/" + c.name + ".json";
  std::remove(got_path.c_str());
  const auto o = nicsim::test::nicsim_cli("run --quiet --json " + got_path + c.args);
  ASSERT_EQ(o.status, 0) << o.output;
  const nlohmann::json got = nicsim::test::simulated_results(got_path);
  if (std::getenv("NICSIM_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(want_path) << got.dump(1) << "\n";
    GTEST_SKIP() << "wrote " << want_path;
  }
  std::ifstream want_in(want_path);
  ASSERT_TRUE(want_in) << want_path << " is missing: run scripts/update_golden.sh";
  const nlohmann::json want = nlohmann::json::parse(want_in);
  std::map<std::string, nlohmann::json> w, g;
  flatten(want, "", w);
  flatten(got, "", g);
  std::ostringstream diff;
  int shown = 0, differ = 0;
  for (const auto& [path, v] : w) {
    const auto it = g.find(path);
    if (it != g.end() && it->second == v) continue;
    ++differ;
    if (shown++ < 25)
      diff << "  " << path << ": pinned " << v.dump() << ", now "
           << (it == g.end() ? "missing" : it->second.dump()) << "\n";
  }
  for (const auto& [path, v] : g) {
    if (w.count(path) != 0) continue;
    ++differ;
    if (shown++ < 25) diff << "  " << path << ": new, " << v.dump() << "\n";
  }
  EXPECT_EQ(differ, 0) << c.name << " (nicsim run" << c.args << ") differs from " << want_path << " in "
                       << differ << " values:\n"
                       << diff.str();
}

TEST(golden_cases, are_read_from_the_cases_file) { EXPECT_GE(read_cases().size(), 10u); }

std::string case_name(const testing::TestParamInfo<golden_case>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(cases, golden, testing::ValuesIn(read_cases()), case_name);

// The shipped studies: each sweep's results.csv (no wall-clock column) is pinned whole.
class golden_study : public testing::TestWithParam<std::string> {};

TEST_P(golden_study, results_csv_equals_the_pinned_csv) {
  const std::string study = GetParam();
  const std::string out = nicsim::test::scratch_path("golden", study);
  const std::string want_path = golden_dir() + "/" + study + ".csv";
  nicsim::test::sh("rm -rf " + out);
  const auto o = nicsim::test::nicsim_cli("sweep " + std::string(NICSIM_SOURCE_DIR) + "/tb/scenarios/" +
                                          study + ".yaml --jobs 1 --no-report --out " + out);
  ASSERT_EQ(o.status, 0) << o.output;
  const std::string got = nicsim::test::read_file(out + "/results.csv");
  ASSERT_FALSE(got.empty());
  if (std::getenv("NICSIM_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(want_path) << got;
    GTEST_SKIP() << "wrote " << want_path;
  }
  const std::string want = nicsim::test::read_file(want_path);
  ASSERT_FALSE(want.empty()) << want_path << " is missing: run scripts/update_golden.sh";
  const auto lines = [](const std::string& text) {
    std::vector<std::string> v;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
  };
  const auto w = lines(want), g = lines(got);
  ASSERT_EQ(g.size(), w.size()) << study << ": rows";
  for (size_t i = 1; i < w.size(); ++i)
    EXPECT_EQ(g.at(i), w.at(i)) << study << ": row " << i << " differs; columns: " << w.at(0);
  EXPECT_EQ(g.at(0), w.at(0)) << study << ": header";
}

INSTANTIATE_TEST_SUITE_P(studies, golden_study,
                         testing::Values("study_coalescing", "study_livelock", "study_ring", "study_rss",
                                         "study_tcp_gro"),
                         [](const testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
