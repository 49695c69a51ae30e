// `nicsim sweep`, `merge` and `report` as a user meets them: the grid and its
// ranges, exactly the expected rows, resume after a kill, shards merged, bad
// input refused before anything runs, failing points, and plots traceable to
// the CSV they show.
#include "tb/sweep.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tb/tests/cli_harness.h"

namespace {

namespace fs = std::filesystem;
using nicsim::tb::config;
using nicsim::tb::config_error;
using nicsim::tb::expand_grid_values;
using row = std::map<std::string, std::string>;

using nicsim::test::nicsim_bin;
using nicsim::test::outcome;
using nicsim::test::sh;
outcome cli(const std::string& args) { return nicsim::test::nicsim_cli(args); }
std::string read(const std::string& path) { return nicsim::test::read_file(path); }

// A fresh, empty path for a test's sweep directory.
std::string scratch(const std::string& name) {
  const auto path = nicsim::test::scratch_path("scratch_sweep", name);
  fs::remove_all(path);
  return path;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

std::vector<row> read_csv(const std::string& path) {
  const auto lines = split(read(path), '\n');
  std::vector<row> rows;
  if (lines.empty()) return rows;
  const auto header = split(lines[0], ',');
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const auto cells = split(lines[i] + ",", ',');  // a trailing empty cell survives getline
    row r;
    for (size_t c = 0; c < header.size(); ++c) r[header[c]] = c < cells.size() ? cells[c] : "";
    rows.push_back(r);
  }
  return rows;
}

std::set<std::string> point_jsons(const std::string& dir) {
  std::set<std::string> ids;
  if (!fs::exists(dir + "/points")) return ids;
  for (const auto& e : fs::directory_iterator(dir + "/points")) {
    const auto name = e.path().filename().string();
    if (name.size() > 5 && name.substr(name.size() - 5) == ".json" &&
        name.find(".failed") == std::string::npos)
      ids.insert(name.substr(0, name.size() - 5));
  }
  return ids;
}

std::vector<std::string> values(const std::string& key, const std::string& spec) {
  return expand_grid_values(config(), key, spec, "test");
}

const std::string quick = " --set sim.duration_us=300 --no-report";

}  // namespace

TEST(sweep_grid, ranges_include_both_ends) {
  EXPECT_EQ(values("nic.coalesce.rx_usecs", "0:100:25"),
            (std::vector<std::string>{"0", "25", "50", "75", "100"}));
  EXPECT_EQ(values("nic.coalesce.rx_usecs", "1:3"), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(values("traffic.rate_gbps", "0.1:0.5:0.1"),
            (std::vector<std::string>{"0.1", "0.2", "0.3", "0.4", "0.5"}));
}

TEST(sweep_grid, log_and_geometric_ranges) {
  EXPECT_EQ(values("nic.coalesce.rx_usecs", "1:1000:log4"),
            (std::vector<std::string>{"1", "10", "100", "1000"}));
  EXPECT_EQ(values("traffic.rate_gbps", "0.1:10:log3"), (std::vector<std::string>{"0.1", "1", "10"}));
  EXPECT_EQ(values("nic.rx_ring_size", "64:1024:*2"),
            (std::vector<std::string>{"64", "128", "256", "512", "1024"}));
}

TEST(sweep_grid, lists_mix_values_and_ranges_and_drop_duplicates) {
  EXPECT_EQ(values("nic.coalesce.rx_usecs", "0,20,10:30:10"),
            (std::vector<std::string>{"0", "20", "10", "30"}));
  EXPECT_EQ(values("host.napi", "true,false"), (std::vector<std::string>{"true", "false"}));
  EXPECT_EQ(values("traffic.rate_gbps", "1.50,3e0"), (std::vector<std::string>{"1.5", "3"}));
}

// A sysctl triple holds commas: its values are separated by ';', each checked as a triple.
TEST(sweep_grid, triple_keys_take_semicolon_separated_values) {
  EXPECT_EQ(values("host.tcp_rmem", "4096,131072,262144;4096,131072,6291456"),
            (std::vector<std::string>{"4096,131072,262144", "4096,131072,6291456"}));
  EXPECT_THROW(values("host.tcp_rmem", "4096,131072,262144;4096,131072"), config_error);
  EXPECT_THROW(values("host.tcp_rmem", "4096,131072,6291456;6291456,131072,4096"), config_error);
}

TEST(sweep_grid, hex_keys_take_ethtool_colons_and_count_once_in_any_spelling) {
  std::string colons, upper, plain;
  for (int i = 0; i < 40; ++i) {
    char b[4];
    std::snprintf(b, sizeof b, "%02x", (37 * i + 5 + i * i) & 0xFF);
    plain += b;
    colons += std::string(i ? ":" : "") + b;
    std::snprintf(b, sizeof b, "%02X", (37 * i + 5 + i * i) & 0xFF);
    upper += b;
  }
  EXPECT_EQ(values("nic.rss_key", colons + "," + upper + "," + plain), (std::vector<std::string>{plain}));
  EXPECT_THROW(values("nic.rss_key", "6d:5a"), config_error);  // 2 bytes, not 40
}

TEST(sweep_grid, bad_specs_name_the_key_and_value) {
  EXPECT_THROW(values("nic.coalesce.rx_usecs", "10:1"), config_error);
  EXPECT_THROW(values("nic.coalesce.rx_usecs", "1:10:0"), config_error);
  EXPECT_THROW(values("nic.coalesce.rx_usecs", "0:10:log1"), config_error);
  EXPECT_THROW(values("traffic.pattern", "0:1"), config_error);
  EXPECT_THROW(values("nic.coalesce.rx_usecs", "1:1e9:1"), config_error);  // surely a typo
  try {
    values("traffic.frame_bytes", "64,2000");
    FAIL() << "out of range value accepted";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("traffic.frame_bytes = 2000"), std::string::npos) << e.what();
  }
}

TEST(sweep_grid, ethtool_names_resolve_to_knobs) {
  EXPECT_EQ(nicsim::tb::resolve_key("rx-usecs"), "nic.coalesce.rx_usecs");
  EXPECT_EQ(nicsim::tb::resolve_key("rx-frames"), "nic.coalesce.rx_frames");
  EXPECT_EQ(nicsim::tb::resolve_key("rx"), "nic.rx_ring_size");
  EXPECT_EQ(nicsim::tb::short_name("nic.rx_ring_size"), "rx");
  const config cfg;
  for (const auto& a : nicsim::tb::key_aliases()) EXPECT_TRUE(cfg.has(a.key)) << a.alias << " -> " << a.key;
}

// `run --set` takes the sweep's aliases, from the same table: rx-usecs=50 is nic.coalesce.rx_usecs=50.
TEST(sweep_grid, run_set_takes_the_same_aliases) {
  config cfg;
  cfg.set_assignment("rx-usecs=50");
  EXPECT_EQ(cfg.text("nic.coalesce.rx_usecs"), "50");
  for (const auto& a : nicsim::tb::key_aliases())
    EXPECT_NO_THROW(cfg.set_assignment(std::string(a.alias) + "=" + cfg.text(a.key))) << a.alias;
  EXPECT_THROW(cfg.set_assignment("rx-usec=50"), config_error);
}

TEST(sweep_grid, point_ids_are_stable_and_shards_partition_the_grid) {
  const auto a = nicsim::tb::make_sweep_plan("", {"rx-usecs=0,20,50", "rate=1:3"}, {});
  const auto b = nicsim::tb::make_sweep_plan("", {"rx-usecs=0,20,50", "rate=1:3"}, {});
  ASSERT_EQ(a.size(), 9u);
  std::set<size_t> covered;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a.point(i).id, b.point(i).id);
    size_t owners = 0;
    for (size_t k = 1; k <= 4; ++k) owners += nicsim::tb::parse_shard(std::to_string(k) + "/4").contains(i);
    EXPECT_EQ(owners, 1u) << i;
  }
  // The last grid varies fastest, as in nested loops written in that order.
  EXPECT_EQ(a.point(1).values[0].second, "0");
  EXPECT_EQ(a.point(1).values[1].second, "2");
  EXPECT_THROW(nicsim::tb::parse_shard("0/4"), config_error);
  EXPECT_THROW(nicsim::tb::parse_shard("5/4"), config_error);
}

// The report script is found next to the binary (the build copies it there), not through
// a path into the source tree compiled into the binary: a copy of nicsim elsewhere looks
// beside itself.
TEST(sweep, report_script_is_found_next_to_the_binary) {
  EXPECT_EQ(read(nicsim_bin().substr(0, nicsim_bin().rfind('/')) + "/sweep_report.py"),
            read(std::string(NICSIM_SOURCE_DIR) + "/scripts/sweep_report.py"));
  const auto dir = nicsim::test::scratch_dir("scratch_sweep", "moved");
  fs::copy_file(nicsim_bin(), dir + "/nicsim");
  std::ofstream(dir + "/results.csv") << "point\n0\n";
  const auto o = sh("env -u NICSIM_REPORT_SCRIPT NICSIM_PYTHON=/bin/true " + dir + "/nicsim report " + dir);
  EXPECT_EQ(o.status, 1) << o.output;
  EXPECT_NE(o.output.find("no report: " + dir + "/sweep_report.py not found"), std::string::npos) << o.output;
}

TEST(sweep, small_sweep_produces_exactly_the_expected_rows) {
  const auto dir = scratch("rows");
  const auto o = cli("sweep --grid rx-usecs=0,20 --grid rate=1,2 --jobs 2 --out " + dir + quick);
  ASSERT_EQ(o.status, 0) << o.output;
  const auto rows = read_csv(dir + "/results.csv");
  ASSERT_EQ(rows.size(), 4u);
  const std::vector<std::pair<std::string, std::string>> expected{
      {"0", "1"}, {"0", "2"}, {"20", "1"}, {"20", "2"}};
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].at("point"), std::to_string(i));
    EXPECT_EQ(rows[i].at("nic.coalesce.rx_usecs"), expected[i].first);
    EXPECT_EQ(rows[i].at("traffic.rate_gbps"), expected[i].second);
    EXPECT_EQ(rows[i].at("sim_time_ns"), "300000");
    EXPECT_EQ(rows[i].at("conservation.ok"), "true");
    const auto j = nlohmann::json::parse(read(dir + "/points/" + rows[i].at("id") + ".json"));
    EXPECT_EQ(j.at("config").at("nic.coalesce.rx_usecs"), expected[i].first);
    EXPECT_EQ(rows[i].at("app.messages"), j.at("app").at("messages").dump());
  }
  EXPECT_EQ(point_jsons(dir).size(), 4u);
  EXPECT_FALSE(fs::exists(dir + "/running")) << "a finished sweep keeps no running/";
  // A point is the same simulation as the standalone run with the same knobs.
  const auto alone = dir + "/alone.json";
  ASSERT_EQ(cli("run --quiet --json " + alone +
                " --set nic.coalesce.rx_usecs=20 --set traffic.rate_gbps=2 --set sim.duration_us=300")
                .status,
            0);
  const auto standalone = nicsim::tb::result_row(nlohmann::json::parse(read(alone)));
  const auto& columns = nicsim::tb::result_columns();
  for (size_t c = 0; c < columns.size(); ++c) EXPECT_EQ(rows[3].at(columns[c]), standalone[c]) << columns[c];
  // The header: point, id, the grid keys, then the fixed result columns.
  const auto header = split(split(read(dir + "/results.csv"), '\n')[0], ',');
  ASSERT_GE(header.size(), 5u);
  EXPECT_EQ(header[2], "nic.coalesce.rx_usecs");
  EXPECT_EQ(header[3], "traffic.rate_gbps");
  EXPECT_EQ(header[4], "sim_time_ns");
}

TEST(sweep, progress_lines_count_up_to_the_total) {
  const auto dir = scratch("progress");
  const auto o = cli("sweep --grid seed=1:3 --jobs 1 --out " + dir + quick);
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("[1/3] 33% eta"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("[3/3] 100% eta"), std::string::npos) << o.output;
}

TEST(sweep, resume_after_kill_repeats_no_point_and_loses_none) {
  const auto dir = scratch("resume");
  // Points long enough (about 0.1 s of wall time each) for the kill to land mid-sweep.
  const std::vector<std::string> args{
      nicsim_bin(), "sweep", "--grid",      "seed=1:6", "--set", "sim.duration_us=20000",
      "--jobs",     "1",     "--no-report", "--out",    dir};
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    freopen("/dev/null", "w", stderr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int status = 0;
  bool exited = false;
  while (point_jsons(dir).empty() && std::chrono::steady_clock::now() < deadline && !exited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    exited = waitpid(pid, &status, WNOHANG) == pid;
  }
  ASSERT_FALSE(exited) << "the sweep ended before any point finished";
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  // The point in flight dies with the sweep; give it a moment to be gone.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto before = point_jsons(dir);
  ASSERT_FALSE(before.empty());
  ASSERT_LT(before.size(), 6u) << "the sweep finished before the kill; the test proves nothing";
  std::map<std::string, std::pair<ino_t, int64_t>> stamp;
  for (const auto& id : before) {
    struct stat st {};
    ASSERT_EQ(stat((dir + "/points/" + id + ".json").c_str(), &st), 0);
    stamp[id] = {st.st_ino, static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  }

  const auto o = cli("sweep --grid seed=1:6 --set sim.duration_us=20000 --jobs 1 --no-report --out " + dir);
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find(std::to_string(before.size()) + " already finished"), std::string::npos)
      << o.output;
  const auto after = point_jsons(dir);
  EXPECT_EQ(after.size(), 6u);
  for (const auto& [id, st_before] : stamp) {
    struct stat st {};
    ASSERT_EQ(stat((dir + "/points/" + id + ".json").c_str(), &st), 0);
    EXPECT_EQ(st.st_ino, st_before.first) << id << " was written again";
    EXPECT_EQ(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, st_before.second)
        << id;
  }
  // The resumed run started exactly the points that had not finished.
  std::vector<std::string> started_after_resume;
  for (const auto& line : split(read(dir + "/sweep.log"), '\n')) {
    const auto words = split(line, ' ');
    if (words.size() >= 2 && words[1] == "sweep") started_after_resume.clear();
    if (words.size() >= 3 && words[1] == "start") started_after_resume.push_back(words[2]);
  }
  std::set<std::string> resumed(started_after_resume.begin(), started_after_resume.end());
  EXPECT_EQ(resumed.size(), started_after_resume.size()) << "a point started twice";
  for (const auto& id : before) EXPECT_EQ(resumed.count(id), 0u) << id << " ran again";
  EXPECT_EQ(resumed.size() + before.size(), 6u);
  EXPECT_EQ(read_csv(dir + "/results.csv").size(), 6u);
}

TEST(sweep, shards_merged_equal_the_unsharded_sweep) {
  const std::string grid = " --grid rx-usecs=0,20,50 --grid rate=1,3" + quick;
  const auto whole = scratch("whole");
  ASSERT_EQ(cli("sweep" + grid + " --out " + whole).status, 0);
  std::string shard_dirs;
  std::vector<std::string> shards;
  std::set<std::string> seen;
  for (int k = 1; k <= 3; ++k) {
    const auto d = scratch("shard" + std::to_string(k));
    shards.push_back(d);
    const auto o = cli("sweep" + grid + " --shard " + std::to_string(k) + "/3 --out " + d);
    ASSERT_EQ(o.status, 0) << o.output;
    const auto ids = point_jsons(d);
    EXPECT_EQ(ids.size(), 2u);
    for (const auto& id : ids) EXPECT_TRUE(seen.insert(id).second) << id << " ran in two shards";
    shard_dirs += " " + d;
  }
  const auto merged = scratch("merged");
  const auto o = cli("merge --no-report " + merged + shard_dirs);
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_EQ(seen, point_jsons(whole));
  const auto csv = read(whole + "/results.csv");
  EXPECT_EQ(split(csv, '\n').size(), 7u);
  EXPECT_EQ(read(merged + "/results.csv"), csv);
  // A merge missing a shard says which points have no result.
  const auto partial = scratch("partial");
  const auto p = cli("merge --no-report " + partial + " " + shards[0]);
  EXPECT_EQ(p.status, 1) << p.output;
  EXPECT_NE(p.output.find("4 points have no result"), std::string::npos) << p.output;
}

// ---- Slurm job arrays (issue 16): the scripts, run by bash as sbatch would run them ----

TEST(sweep_slurm, dry_run_tasks_run_one_by_one_merge_into_the_unsharded_csv_and_a_failed_shard_resubmits) {
  const std::string grid = " --grid rx-usecs=0,20,50 --grid rate=1,3 --set sim.duration_us=300";
  const auto whole = scratch("slurm_whole");
  ASSERT_EQ(cli("sweep" + grid + " --no-report --out " + whole).status, 0);
  const auto dir = scratch("slurm dir");  // a space: every path in the scripts must be quoted
  const auto bad = cli("sweep" + grid + " --slurm --dry-run --out '" + dir + "'");
  EXPECT_EQ(bad.status, 2) << bad.output;  // but #SBATCH lines cannot carry one
  EXPECT_NE(bad.output.find("#SBATCH"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(dir));
  const auto out = scratch("slurm_out");
  // Written from another directory, with a relative --out: the scripts hold absolute paths.
  const auto o = sh("cd " + fs::path(out).parent_path().string() + " && " + nicsim_bin() + " sweep" + grid +
                    " --jobs 2 --slurm --dry-run --array-parallel 2 --slurm-opt=--partition=p "
                    "--slurm-opt=--account=a --out " +
                    fs::path(out).filename().string());
  ASSERT_EQ(o.status, 0) << o.output;
  const auto script = read(out + "/slurm/sweep.sbatch");
  const auto merge_script = read(out + "/slurm/merge.sbatch");
  // 6 points, 2 at a time per task: 3 tasks, at most 2 at once.
  for (const auto& line : {"#SBATCH --array=0-2%2\n", "#SBATCH --partition=p\n", "#SBATCH --account=a\n",
                           "#SBATCH --cpus-per-task=2\n"})
    EXPECT_NE(script.find(line), std::string::npos) << line << script;
  EXPECT_NE(script.find("#SBATCH --output=" + out + "/slurm/logs/sweep-%A_%a.out\n"), std::string::npos)
      << script;
  EXPECT_NE(script.find("'" + nicsim_bin() + "' sweep"), std::string::npos) << script;
  EXPECT_NE(merge_script.find("#SBATCH --partition=p\n"), std::string::npos) << merge_script;
  EXPECT_NE(merge_script.find("#SBATCH --output=" + out + "/slurm/logs/merge-%j.out\n"), std::string::npos);
  EXPECT_TRUE(fs::is_directory(out + "/slurm/logs"));
  EXPECT_EQ(point_jsons(out).size(), 0u);  // nothing ran
  // Without SLURM_ARRAY_TASK_ID the script refuses.
  EXPECT_NE(sh("cd / && bash " + out + "/slurm/sweep.sbatch").status, 0);
  // Task 1 fails one point (rx-usecs=0 rate=3 is point 1, in shard 2/3 = task 1).
  const auto wrapper = nicsim::test::scratch_path("scratch_sweep", "slurm_wrapper.sh");
  std::ofstream(wrapper) << "#!/bin/sh\n"
                            "for a in \"$@\"; do [ \"$a\" = traffic.rate_gbps=3 ] && r=1; "
                            "[ \"$a\" = nic.coalesce.rx_usecs=0 ] && u=1; done\n"
                            "if [ -n \"$r$u\" ] && [ \"$r$u\" = 11 ]; then echo cursed >&2; exit 1; fi\n"
                            "exec "
                         << nicsim_bin() << " \"$@\"\n";
  fs::permissions(wrapper, fs::perms::owner_all);
  for (int k = 0; k < 3; ++k) {
    const auto t = sh("cd / && SLURM_ARRAY_TASK_ID=" + std::to_string(k) + " NICSIM_SWEEP_CHILD=" + wrapper +
                      " bash " + out + "/slurm/sweep.sbatch");
    EXPECT_EQ(t.status, k == 1 ? 1 : 0) << k << ": " << t.output;
    EXPECT_EQ(point_jsons(out + "/shards/" + std::to_string(k)).size(), k == 1 ? 1u : 2u) << k;
  }
  // (The merge job draws the report too; not needed here.)
  const std::string no_report = "NICSIM_PYTHON=/nonexistent ";
  auto m = sh("cd / && " + no_report + "bash " + out + "/slurm/merge.sbatch");
  EXPECT_EQ(m.status, 1) << m.output;
  EXPECT_NE(m.output.find("shard 1 exited with 1"), std::string::npos) << m.output;
  EXPECT_NE(m.output.find("sbatch --array=1 " + out + "/slurm/sweep.sbatch"), std::string::npos) << m.output;
  EXPECT_NE(m.output.find("1 points have no result"), std::string::npos) << m.output;
  // The resubmitted task resumes (its finished point is kept), and the merge is then whole.
  const auto again = sh("cd / && SLURM_ARRAY_TASK_ID=1 bash " + out + "/slurm/sweep.sbatch");
  EXPECT_EQ(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("1 already finished"), std::string::npos) << again.output;
  m = sh("cd / && " + no_report + "bash " + out + "/slurm/merge.sbatch");
  EXPECT_EQ(m.status, 0) << m.output;
  EXPECT_EQ(read(out + "/results.csv"), read(whole + "/results.csv"));
  EXPECT_EQ(split(read(out + "/results.csv"), '\n').size(), 7u);
  EXPECT_FALSE(fs::exists(out + "/running"));
}

TEST(sweep_slurm, bad_input_exits_2_with_a_clear_message_and_creates_nothing) {
  const auto dir = scratch("slurm_bad");
  const std::string grid = " --grid rx-usecs=0,20 --set sim.duration_us=300 --out " + dir;
  for (const auto& [args, needle] : std::vector<std::pair<std::string, std::string>>{
           {"--slurm --dry-run --shard 1/2", "--slurm and --shard"},
           {"--slurm --dry-run --array-parallel 0", "--array-parallel 0"},
           {"--slurm --dry-run --slurm-opt=partition=p", "--slurm-opt 'partition=p'"},
           {"--array-parallel 2", "add --slurm"},
           {"--slurm-opt=--partition=p", "add --slurm"},
           {"--slurm --dry-run --grid rx=64,100", "nic.rx_ring_size = 100"}}) {
    const auto o = cli("sweep " + args + grid);
    EXPECT_EQ(o.status, 2) << args << ": " << o.output;
    EXPECT_NE(o.output.find(needle), std::string::npos) << args << ": " << o.output;
    EXPECT_FALSE(fs::exists(dir)) << args;
  }
  // No sbatch on PATH and no --dry-run.
  const auto empty = scratch("slurm_empty_path");
  fs::create_directories(empty);
  const auto o = sh("PATH=" + empty + " " + nicsim_bin() + " sweep --slurm" + grid);
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find("sbatch is not on PATH"), std::string::npos) << o.output;
  EXPECT_FALSE(fs::exists(dir));
}

// ---- --seeds K (issue 16) ----

TEST(sweep_seeds, every_point_runs_with_k_seeds_in_adjacent_rows_and_shards_agree) {
  const std::string grid =
      " --grid rx-usecs=0,20 --seeds 3 --set seed=7 --set pattern=poisson --set sim.duration_us=300 "
      "--no-report";
  const auto dir = scratch("seeds");
  const auto o = cli("sweep" + grid + " --out " + dir);
  ASSERT_EQ(o.status, 0) << o.output;
  const auto header = split(split(read(dir + "/results.csv"), '\n')[0], ',');
  ASSERT_GE(header.size(), 5u);
  EXPECT_EQ(header[2], "nic.coalesce.rx_usecs");
  EXPECT_EQ(header[3], "seed");
  EXPECT_EQ(header[4], "sim_time_ns");
  const auto rows = read_csv(dir + "/results.csv");
  ASSERT_EQ(rows.size(), 6u);
  std::set<std::string> wire;
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].at("nic.coalesce.rx_usecs"), i < 3 ? "0" : "20");
    EXPECT_EQ(rows[i].at("seed"), std::to_string(7 + i % 3));
    const auto j = nlohmann::json::parse(read(dir + "/points/" + rows[i].at("id") + ".json"));
    EXPECT_EQ(j.at("config").at("sim.seed"), std::to_string(7 + i % 3));
    if (i < 3) wire.insert(rows[i].at("wire.frames"));
  }
  EXPECT_GT(wire.size(), 1u) << "Poisson arrivals with three seeds gave the same frame count three times";
  // The seed's run is the standalone run with that seed.
  const auto alone = dir + "/alone.json";
  ASSERT_EQ(
      cli("run --quiet --json " + alone +
          " --set nic.coalesce.rx_usecs=20 --set seed=8 --set pattern=poisson --set sim.duration_us=300")
          .status,
      0);
  EXPECT_EQ(rows[4].at("wire.frames"), nlohmann::json::parse(read(alone)).at("wire").at("frames").dump());
  // Shards and their merge give the same CSV.
  std::string shard_dirs;
  for (int k = 1; k <= 2; ++k) {
    const auto d = scratch("seeds_shard" + std::to_string(k));
    ASSERT_EQ(cli("sweep" + grid + " --shard " + std::to_string(k) + "/2 --out " + d).status, 0);
    shard_dirs += " " + d;
  }
  const auto merged = scratch("seeds_merged");
  ASSERT_EQ(cli("merge --no-report " + merged + shard_dirs).status, 0);
  EXPECT_EQ(read(merged + "/results.csv"), read(dir + "/results.csv"));
  // The same grid without --seeds is another sweep.
  const auto other =
      cli("sweep --grid rx-usecs=0,20 --set seed=7 --set pattern=poisson --set sim.duration_us=300 "
          "--no-report --out " +
          dir);
  EXPECT_EQ(other.status, 2) << other.output;
}

TEST(sweep_seeds, seeds_and_a_grid_over_the_seed_are_refused) {
  const auto dir = scratch("seeds_bad");
  for (const auto& [args, needle] : std::vector<std::pair<std::string, std::string>>{
           {"--grid seed=1,2 --seeds 2", "--seeds 2 and a grid over sim.seed"},
           {"--grid rx-usecs=0 --seeds 0", "--seeds"},
           {"--grid rx-usecs=0 --seeds 2 --set seed=4294967295", "sim.seed"}}) {
    const auto o = cli("sweep " + args + " --out " + dir + quick);
    EXPECT_EQ(o.status, 2) << args << ": " << o.output;
    EXPECT_NE(o.output.find(needle), std::string::npos) << args << ": " << o.output;
    EXPECT_FALSE(fs::exists(dir)) << args;
  }
}

TEST(sweep_seeds, the_report_draws_means_with_min_max_error_bars) {
  if (std::system("/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3-matplotlib is not installed";
  const auto dir = scratch("seeds_report");
  const auto o = cli(
      "sweep --grid rx-usecs=10,50 --seeds 2 --set pattern=poisson --set sim.duration_us=300 --out " + dir);
  ASSERT_EQ(o.status, 0) << o.output;
  std::map<std::string, row> by_point;
  for (const auto& r : read_csv(dir + "/results.csv")) by_point[r.at("point")] = r;
  const auto figures = nlohmann::json::parse(read(dir + "/plots/figures.json"));
  size_t checked = 0;
  for (const auto& f : figures.at("figures")) {
    EXPECT_NE(f.at("caption").get<std::string>().find("2 seeds"), std::string::npos) << f.at("file");
    for (const auto& s : f.at("series")) {
      if (!s.contains("x_column")) continue;
      for (size_t i = 0; i < s.at("points").size(); ++i) {
        const auto& pts = s.at("points")[i];
        ASSERT_EQ(pts.size(), 2u) << f.at("file");
        std::vector<double> ys;
        for (const auto& p : pts)
          ys.push_back(
              std::stod(by_point.at(std::to_string(p.get<int>())).at(s.at("y_column").get<std::string>())) *
              s.at("y_factor").get<double>());
        const double mean = (ys[0] + ys[1]) / 2;
        EXPECT_NEAR(s.at("y")[i].get<double>(), mean, 1e-9 * std::max(1.0, std::fabs(mean)));
        EXPECT_DOUBLE_EQ(s.at("y_min")[i].get<double>(), std::min(ys[0], ys[1]));
        EXPECT_DOUBLE_EQ(s.at("y_max")[i].get<double>(), std::max(ys[0], ys[1]));
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 4u);
  EXPECT_NE(read(dir + "/report.html").find("error bars from the minimum to the maximum"), std::string::npos);
}

TEST(sweep, a_study_names_its_choice_and_the_report_marks_it) {
  if (std::system("/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3-matplotlib is not installed";
  const auto dir = scratch("choice");
  const auto scenario = nicsim::test::scratch_path("scratch_sweep", "choice.yaml");
  std::ofstream(scenario) << "sweep:\n  grid: {rx-usecs: '0,20,100'}\n"
                             "  choose: {minimize: cpu_busy_pct, where: {latency_ns.p99: '<= 60000'}}\n"
                             "sim: {duration_us: 2000}\n";
  const auto o = cli("sweep " + scenario + " --out " + dir);
  ASSERT_EQ(o.status, 0) << o.output;
  // The choice, worked out from the CSV: the least busy run among those with p99 <= 60 us.
  std::string want;
  double least = 1e9;
  for (const auto& r : read_csv(dir + "/results.csv")) {
    const double busy = 100 - 100 * std::stod(r.at("host.cpu_ns.idle")) / std::stod(r.at("sim_time_ns"));
    if (std::stod(r.at("latency_ns.p99")) <= 60000 && busy < least) {
      least = busy;
      want = r.at("point");
    }
  }
  ASSERT_FALSE(want.empty());
  const auto figures = nlohmann::json::parse(read(dir + "/plots/figures.json"));
  EXPECT_EQ(figures.at("choice").at("points"), nlohmann::json::parse("[[" + want + "]]"));
  EXPECT_NE(read(dir + "/report.html").find("<p id='choice'>"), std::string::npos);
  // A choice naming no column of the sweep is bad input.
  std::ofstream(scenario, std::ios::trunc) << "sweep:\n  grid: {rx-usecs: '0,20'}\n"
                                              "  choose: {minimize: cpu_bsy}\n";
  const auto bad = cli("sweep " + scenario + " --dry-run");
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("cpu_bsy"), std::string::npos) << bad.output;
}

TEST(sweep, bad_grid_key_is_rejected_before_anything_runs) {
  const auto dir = scratch("bad");
  for (const auto& [args, needle] : std::vector<std::pair<std::string, std::string>>{
           {"--grid rx-usec=0,20", "rx-usec"},
           {"--grid rx-usecs=0,70000", "nic.coalesce.rx_usecs = 70000"},
           {"--grid rx=64,100", "nic.rx_ring_size = 100"},  // not a multiple of 8
           {"--grid rate=5,20", "traffic.rate_gbps = 20"},  // above line rate
           {"--grid pattern=constant,sawtooth", "sawtooth"},
           {"--grid rx-usecs=0,20 --shard 4/3", "--shard"},
           {"--grid rx-usecs", "rx-usecs"},
           {"--grid rx-usecs=0 --set rx-usecs=5", "rx-usecs"}}) {
    const auto o = cli("sweep " + args + " --out " + dir + quick);
    EXPECT_EQ(o.status, 2) << args << ": " << o.output;
    EXPECT_NE(o.output.find(needle), std::string::npos) << args << ": " << o.output;
    EXPECT_FALSE(fs::exists(dir)) << args << ": something ran";
  }
}

TEST(sweep, rerun_with_another_grid_into_the_same_directory_is_refused) {
  const auto dir = scratch("other");
  ASSERT_EQ(cli("sweep --grid rx-usecs=0,20 --out " + dir + quick).status, 0);
  const auto csv = read(dir + "/results.csv");
  const auto o = cli("sweep --grid rx-usecs=0,50 --out " + dir + quick);
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.output.find("holds a different sweep"), std::string::npos) << o.output;
  const auto o2 = cli("sweep --grid rx-usecs=0,20 --out " + dir + " --set sim.duration_us=400 --no-report");
  EXPECT_EQ(o2.status, 2);
  EXPECT_NE(o2.output.find("sim.duration_us"), std::string::npos) << o2.output;
  EXPECT_EQ(read(dir + "/results.csv"), csv);
}

TEST(sweep, failing_point_is_reported_and_the_rest_still_run) {
  const auto dir = scratch("failing");
  const auto wrapper = nicsim::test::scratch_path("scratch_sweep", "wrapper.sh");
  std::ofstream(wrapper)
      << "#!/bin/sh\n"
         "for a in \"$@\"; do\n"
         "  if [ \"$a\" = sim.seed=2 ]; then echo 'boom: seed 2 is cursed' >&2; exit 1; fi\n"
         "done\n"
         "exec "
      << nicsim_bin() << " \"$@\"\n";
  fs::permissions(wrapper, fs::perms::owner_all);
  const std::string args = "sweep --grid seed=1,2,3 --jobs 1 --out " + dir + quick;
  const auto o = sh("NICSIM_SWEEP_CHILD=" + wrapper + " " + nicsim_bin() + " " + args);
  EXPECT_EQ(o.status, 1) << o.output;
  EXPECT_NE(o.output.find("boom: seed 2 is cursed"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("seed=2"), std::string::npos) << o.output;
  auto rows = read_csv(dir + "/results.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].at("sim.seed"), "1");
  EXPECT_EQ(rows[1].at("sim.seed"), "3");
  const auto failed_id = nicsim::tb::make_sweep_plan("", {"seed=1,2,3"}, {"sim.duration_us=300"}).point(1).id;
  EXPECT_NE(read(dir + "/points/" + failed_id + ".err").find("boom"), std::string::npos);
  // Rerunning retries only the failed point.
  const auto again = cli(args);
  EXPECT_EQ(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("2 already finished"), std::string::npos) << again.output;
  rows = read_csv(dir + "/results.csv");
  EXPECT_EQ(rows.size(), 3u);
  EXPECT_FALSE(fs::exists(dir + "/points/" + failed_id + ".err"));
}

TEST(sweep, plots_are_made_from_the_csv_they_claim_to_show) {
  if (std::system("/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3-matplotlib is not installed";
  const auto dir = scratch("report");
  // Two CPUs: cpu_ns sums over CPUs, and the stacked bars must still add up to 100 %.
  const auto o = cli(
      "sweep --grid rate=1,2 --grid rx-usecs=10,50 --set host.cpus=2 --set sim.duration_us=300 --out " + dir);
  ASSERT_EQ(o.status, 0) << o.output;
  auto check = [&dir](const std::string& tampered_point) {
    const auto sha = split(sh("sha256sum " + dir + "/results.csv").output, ' ').at(0);
    const auto html = read(dir + "/report.html");
    EXPECT_NE(html.find("<code id='csv-sha256'>" + sha + "</code>"), std::string::npos);
    const auto figures = nlohmann::json::parse(read(dir + "/plots/figures.json"));
    EXPECT_EQ(figures.at("csv_sha256"), sha);
    std::map<std::string, row> by_point;
    for (const auto& r : read_csv(dir + "/results.csv")) by_point[r.at("point")] = r;
    std::set<std::string> files;
    size_t checked = 0;
    for (const auto& f : figures.at("figures")) {
      files.insert(f.at("file").get<std::string>());
      if (f.at("file") == "plots/cpu_by_context.png") {
        std::map<int, double> total;
        for (const auto& s : f.at("series"))
          for (size_t i = 0; i < s.at("points").size(); ++i)
            total[s.at("points")[i].get<int>()] += s.at("y")[i].get<double>();
        EXPECT_EQ(total.size(), 4u);
        for (const auto& [point, pct] : total) EXPECT_NEAR(pct, 100.0, 0.01) << "point " << point;
      }
      EXPECT_TRUE(fs::exists(dir + "/" + f.at("file").get<std::string>()));
      EXPECT_NE(html.find(f.at("file").get<std::string>()), std::string::npos);
      for (const auto& s : f.at("series")) {
        for (size_t i = 0; i < s.at("points").size(); ++i) {
          const auto& r = by_point.at(std::to_string(s.at("points")[i].get<int>()));
          if (s.contains("x_column")) {
            EXPECT_DOUBLE_EQ(s.at("x")[i].get<double>(),
                             std::stod(r.at(s.at("x_column").get<std::string>())));
          }
          double y = std::stod(r.at(s.at("y_column").get<std::string>())) * s.at("y_factor").get<double>();
          if (s.contains("y_per_columns"))
            for (const auto& per : s.at("y_per_columns")) y /= std::stod(r.at(per.get<std::string>()));
          EXPECT_NEAR(s.at("y")[i].get<double>(), y, 1e-9 * std::max(1.0, std::fabs(y))) << f.at("file");
          if (r.at("point") == tampered_point && s.at("y_column") == "delivered_kpps") {
            EXPECT_EQ(s.at("y")[i].get<double>(), 12345.0);
          }
          ++checked;
        }
      }
    }
    EXPECT_GT(checked, 10u);
    for (const char* name : {"plots/delivered_vs_offered.png", "plots/latency_vs_rx_usecs.png",
                             "plots/interrupts_per_s.png", "plots/cpu_by_context.png"})
      EXPECT_EQ(files.count(name), 1u) << name;
  };
  check("");
  // Change a value in the CSV, redraw: the report follows the CSV, not the runs.
  auto lines = split(read(dir + "/results.csv"), '\n');
  const auto header = split(lines[0], ',');
  auto cells = split(lines[1], ',');
  for (size_t c = 0; c < header.size(); ++c)
    if (header[c] == "delivered_kpps") cells[c] = "12345";
  std::string text = lines[0] + "\n";
  std::string first;
  for (const auto& c : cells) first += (first.empty() ? "" : ",") + c;
  text += first + "\n";
  for (size_t i = 2; i < lines.size(); ++i) text += lines[i] + "\n";
  std::ofstream(dir + "/results.csv", std::ios::trunc) << text;
  const auto r = cli("report " + dir);
  ASSERT_EQ(r.status, 0) << r.output;
  check("0");
}

TEST(sweep, shipped_studies_are_valid_sweeps) {
  for (const auto& [name, points] : std::vector<std::pair<std::string, std::string>>{
           {"livelock", "40 points"}, {"coalescing", "21 points"}, {"ring", "28 points"}}) {
    const auto o =
        cli("sweep --dry-run " + std::string(NICSIM_SOURCE_DIR) + "/tb/scenarios/study_" + name + ".yaml");
    EXPECT_EQ(o.status, 0) << name << ": " << o.output;
    EXPECT_EQ(o.output.rfind(points + "\n", 0), 0u) << name << ": " << o.output;
  }
}

TEST(sweep, scenario_grid_is_replaced_by_a_grid_on_the_same_key) {
  const auto plan = nicsim::tb::make_sweep_plan(
      std::string(NICSIM_SOURCE_DIR) + "/tb/scenarios/study_ring.yaml", {"rx=64,128"}, {});
  ASSERT_EQ(plan.grids.size(), 2u);
  EXPECT_EQ(plan.grids[0].key, "traffic.burst_frames");
  EXPECT_EQ(plan.grids[1].key, "nic.rx_ring_size");
  EXPECT_EQ(plan.grids[1].values, (std::vector<std::string>{"64", "128"}));
  EXPECT_EQ(plan.size(), 8u);
}

// ---- The sweep directory: a lock, and every interrupted state resumes (issue 10, item 13) ----

namespace {

// Every regular file under dir with its size, relative paths.
std::map<std::string, uintmax_t> files_under(const std::string& dir) {
  std::map<std::string, uintmax_t> files;
  if (!fs::exists(dir)) return files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = e.file_size();
  return files;
}

// What a sweep directory must look like whenever no sweep runs in it: nothing
// half-written (no *.tmp, no empty file, no partial log line), nothing left
// in running/, every point's JSON complete and the point's own, every failed
// point's .err telling its command.
void expect_clean_sweep_dir(const std::string& dir, const std::string& context) {
  SCOPED_TRACE(context);
  const auto plan = nicsim::tb::load_sweep_plan(dir + "/sweep.json");
  std::map<std::string, size_t> index_of;
  for (size_t i = 0; i < plan.size(); ++i) index_of[plan.point(i).id] = i;
  for (const auto& [name, size] : files_under(dir)) {
    EXPECT_FALSE(name.size() > 4 && name.substr(name.size() - 4) == ".tmp") << name << " left behind";
    EXPECT_NE(name.rfind("running/", 0), 0u) << name << " left in running/";
    if (name != "sweep.lock") {
      EXPECT_GT(size, 0u) << name << " is empty";
    }
    if (name.rfind("points/", 0) == 0 && name.size() > 12 && name.substr(name.size() - 5) == ".json" &&
        name.find(".failed") == std::string::npos) {
      const auto id = name.substr(7, name.size() - 12);
      ASSERT_EQ(index_of.count(id), 1u) << name << " is no point of this sweep";
      const auto j = nlohmann::json::parse(read(dir + "/" + name), nullptr, false);
      ASSERT_FALSE(j.is_discarded()) << name << " is not complete JSON";
      for (const auto& [key, value] : plan.point(index_of.at(id)).values) {
        EXPECT_EQ(j.at("config").at(key).get<std::string>(), value) << name;
      }
    }
    if (name.size() > 4 && name.substr(name.size() - 4) == ".err") {
      EXPECT_EQ(read(dir + "/" + name).rfind("$ ", 0), 0u) << name << " does not start with its command";
    }
  }
  const auto log = read(dir + "/sweep.log");
  if (!log.empty()) {
    EXPECT_EQ(log.back(), '\n') << "sweep.log ends in half a line";
  }
  for (const auto& line : split(log, '\n')) {
    EXPECT_EQ(line.substr(0, 2), "20") << "sweep.log line: " << line;
  }
  if (fs::exists(dir + "/results.csv")) {
    EXPECT_EQ(read_csv(dir + "/results.csv").size(), point_jsons(dir).size()) << "results.csv rows";
  }
}

// Starts `nicsim ARGS...` without waiting; its output goes to output_path.
pid_t start_nicsim(const std::vector<std::string>& args, const std::string& output_path) {
  std::vector<std::string> all{nicsim_bin()};
  all.insert(all.end(), args.begin(), args.end());
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : all) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (!freopen(output_path.c_str(), "w", stderr)) _exit(126);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

std::vector<std::string> sweep_args(const std::string& dir, const std::string& grid,
                                    const std::string& duration_us, const std::string& jobs) {
  return {"sweep",  "--grid", grid,          "--set", "sim.duration_us=" + duration_us,
          "--jobs", jobs,     "--no-report", "--out", dir};
}

std::string command_line(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += " " + a;
  return s;
}

// The ids each sweep.log "start" line names, over the whole log.
std::vector<std::string> started_points(const std::string& dir) {
  std::vector<std::string> ids;
  for (const auto& line : split(read(dir + "/sweep.log"), '\n')) {
    const auto words = split(line, ' ');
    if (words.size() >= 3 && words[1] == "start") ids.push_back(words[2]);
  }
  return ids;
}

bool have_strace() { return std::system("strace -V >/dev/null 2>&1") == 0; }

}  // namespace

TEST(sweep_dir, a_directory_killed_before_sweep_json_is_taken_over) {
  const std::string grid = "seed=1:3";
  // What the old layout left when killed between making points/ and writing sweep.json.
  const auto dir = scratch("killed_early");
  fs::create_directories(dir + "/points");
  fs::create_directories(dir + "/running");
  nicsim::test::write_file(dir + "/sweep.json.tmp", "{\n  \"format\": \"nicsim-sw");
  const auto args = sweep_args(dir, grid, "300", "2");
  auto o = cli(command_line(args));
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_EQ(point_jsons(dir).size(), 3u);
  expect_clean_sweep_dir(dir, "taken over");

  // The same with a real kill -9 at the moment sweep.json is being written.
  if (have_strace()) {
    const auto killed = scratch("killed_at_sweep_json");
    const auto k = sh("strace -qq -o /dev/null -P " + killed +
                      "/sweep.json.tmp -e trace=openat,write,rename -e inject=all:signal=KILL " +
                      nicsim_bin() + command_line(sweep_args(killed, grid, "300", "2")));
    ASSERT_FALSE(fs::exists(killed + "/sweep.json")) << "the kill did not land; " << k.output;
    ASSERT_TRUE(fs::exists(killed)) << k.output;
    o = cli(command_line(sweep_args(killed, grid, "300", "2")));
    ASSERT_EQ(o.status, 0) << o.output;
    EXPECT_EQ(point_jsons(killed).size(), 3u);
    expect_clean_sweep_dir(killed, "after kill -9 at sweep.json");
  }

  // A directory holding anything a sweep would not have left is not taken over, and not touched.
  for (const auto& stray : {std::string("notes.txt"), std::string("points/notes.txt")}) {
    const auto other = scratch("not_a_sweep");
    fs::create_directories(other + "/points");
    nicsim::test::write_file(other + "/" + stray, "mine\n");
    o = cli(command_line(sweep_args(other, grid, "300", "2")));
    EXPECT_EQ(o.status, 2) << o.output;
    EXPECT_NE(o.output.find("not a sweep directory"), std::string::npos) << o.output;
    EXPECT_NE(o.output.find(fs::path(stray).filename().string()), std::string::npos) << o.output;
    EXPECT_EQ(files_under(other), (std::map<std::string, uintmax_t>{{stray, 5}})) << stray;
  }
}

TEST(sweep_dir, leftovers_of_an_interrupted_sweep_are_removed_and_half_written_points_rerun) {
  const auto dir = scratch("leftovers");
  const auto args = sweep_args(dir, "seed=1:3", "300", "1");
  ASSERT_EQ(cli(command_line(args)).status, 0);
  const auto plan = nicsim::tb::load_sweep_plan(dir + "/sweep.json");
  const auto p0 = plan.point(0).id, p1 = plan.point(1).id, p2 = plan.point(2).id;
  // Everything a kill -9 (of the sweep, a point, a merge or the report script) can leave.
  const std::map<std::string, std::string> leftovers{
      {"results.csv.tmp", "point,id,sim.se"},
      {"sweep.json.tmp", "{\"format\""},
      {"report.html.tmp", "<html><bo"},
      {"plots/delivered.png.tmp", "\x89PNG"},
      {"points/" + p2 + ".json.tmp", "{\"config\": {"},
      {"running/" + p0 + ".json", "{}"},
      {"running/" + p0 + ".json.tmp", "{\"sim\""},
      {"running/" + p0 + ".log", "$ nicsim run\n"},
      // A point killed by its parent-death signal leaves its output staging directory.
      {"running/.nicsim-staging-Ab12Cd/0-" + p0 + ".json", "{\"sim\""},
      {".nicsim-staging-Zz9yX8/0-report.html", "<html>"},
  };
  fs::create_directories(dir + "/plots");
  fs::create_directories(dir + "/running/.nicsim-staging-Ab12Cd");
  fs::create_directories(dir + "/.nicsim-staging-Zz9yX8");
  for (const auto& [name, text] : leftovers) nicsim::test::write_file(dir + "/" + name, text);
  // A point's JSON cut short (e.g. copied in by hand from a full disk) is no result.
  const auto full = read(dir + "/points/" + p1 + ".json");
  nicsim::test::write_file(dir + "/points/" + p1 + ".json", full.substr(0, full.size() / 2));
  const auto starts_before = started_points(dir).size();

  const auto o = cli(command_line(args));
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("2 already finished"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find(p1 + ".json is not a complete result"), std::string::npos) << o.output;
  const auto started = started_points(dir);
  ASSERT_EQ(started.size(), starts_before + 1) << read(dir + "/sweep.log");
  EXPECT_EQ(started.back(), p1);
  for (const auto& [name, text] : leftovers) {
    EXPECT_FALSE(fs::exists(dir + "/" + name)) << name;
  }
  EXPECT_FALSE(fs::exists(dir + "/running/.nicsim-staging-Ab12Cd"));
  EXPECT_FALSE(fs::exists(dir + "/.nicsim-staging-Zz9yX8"));
  expect_clean_sweep_dir(dir, "after resume");
}

TEST(sweep_dir, kill_9_at_any_moment_then_resume_loses_no_point_and_leaves_nothing_half_written) {
  const auto dir = scratch("kill9");
  const auto args = sweep_args(dir, "seed=1:6", "3000", "2");
  const auto out = dir + ".out";
  // Kills at staggered moments: while starting, between points, mid-CSV. Each
  // next sweep starts at once, while the killed one's points may still be dying.
  int kills = 0;
  for (const int delay_ms : {0, 2, 5, 10, 20, 35, 50, 80, 120, 170, 250}) {
    const pid_t pid = start_nicsim(args, out);
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) {
      ++kills;
      continue;
    }
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0) << "delay " << delay_ms << " ms: " << read(out);
    break;  // it finished before the kill
  }
  EXPECT_GE(kills, 3);
  const auto o = cli(command_line(args));
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_EQ(point_jsons(dir).size(), 6u);
  EXPECT_EQ(read_csv(dir + "/results.csv").size(), 6u);
  expect_clean_sweep_dir(dir, "after " + std::to_string(kills) + " kills");

  // Real kills at exact moments, through strace's fault injection: while the
  // CSV is half written, and as a finished point is moved from running/ into points/.
  if (!have_strace()) return;
  const auto second_point =
      nicsim::tb::make_sweep_plan("", {"seed=1:4"}, {"sim.duration_us=300"}).point(1).id;
  for (const auto& [what, trace] : std::vector<std::pair<std::string, std::string>>{
           {"results.csv.tmp", "-e trace=write -e inject=write:signal=KILL"},
           {"running/" + second_point + ".json", "-e trace=rename -e inject=rename:signal=KILL"}}) {
    const auto d = scratch(what == "results.csv.tmp" ? "kill9_at_csv" : "kill9_at_point");
    const auto grid_args = sweep_args(d, "seed=1:4", "300", "1");
    const auto k = sh("strace -qq -o /dev/null -P " + d + "/" + what + " " + trace + " " + nicsim_bin() +
                      command_line(grid_args));
    ASSERT_TRUE(fs::exists(d + "/sweep.json")) << what << ": " << k.output;
    if (what != "results.csv.tmp") {
      ASSERT_EQ(point_jsons(d).size(), 1u) << "the kill did not land: " << k.output;
    } else {
      ASSERT_TRUE(fs::exists(d + "/" + what)) << "the kill did not land: " << k.output;
    }
    const auto r = cli(command_line(grid_args));
    ASSERT_EQ(r.status, 0) << what << ": " << r.output;
    EXPECT_EQ(point_jsons(d).size(), 4u) << what;
    expect_clean_sweep_dir(d, "after kill -9 at " + what);
  }
}

TEST(sweep_dir, a_second_sweep_into_a_directory_in_use_exits_2_naming_the_holder) {
  const auto dir = scratch("locked");
  const auto args = sweep_args(dir, "seed=1:4", "20000", "1");
  const auto out = dir + ".out";
  const pid_t first = start_nicsim(args, out);
  ASSERT_GT(first, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (started_points(dir).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_FALSE(started_points(dir).empty()) << read(out);
  // The same sweep, another sweep, and a merge into it: all refused while it runs.
  for (const auto& second : {command_line(args), command_line(sweep_args(dir, "seed=1:8", "20000", "1")),
                             "merge --no-report " + dir + " " + dir}) {
    const auto o = cli(second);
    EXPECT_EQ(o.status, 2) << second << ": " << o.output;
    EXPECT_NE(o.output.find(dir + " is in use by another nicsim sweep: pid " + std::to_string(first) + " "),
              std::string::npos)
        << o.output;
  }
  int status = 0;
  waitpid(first, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read(out);
  const auto started = started_points(dir);
  EXPECT_EQ(std::set<std::string>(started.begin(), started.end()).size(), started.size())
      << "a point ran twice: " << read(dir + "/sweep.log");
  EXPECT_EQ(started.size(), 4u);
  expect_clean_sweep_dir(dir, "after the first sweep");
  EXPECT_EQ(cli(command_line(args)).status, 0) << "the lock outlived its sweep";

  // kill -9 leaves no stale lock: the next sweep takes the directory over at once.
  const auto dir2 = scratch("locked_killed");
  const auto args2 = sweep_args(dir2, "seed=1:4", "20000", "2");
  const pid_t killed = start_nicsim(args2, out);
  while (started_points(dir2).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  kill(killed, SIGKILL);
  waitpid(killed, &status, 0);
  const auto o = cli(command_line(args2));
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_EQ(point_jsons(dir2).size(), 4u);
  expect_clean_sweep_dir(dir2, "after kill -9 and resume");
}

TEST(sweep_dir, a_full_disk_stops_the_sweep_with_nothing_half_written_and_it_resumes_once_there_is_room) {
  // A 64 KiB tmpfs in a private mount namespace (it disappears with the shell,
  // whatever happens): root mounts it directly, others through a user namespace.
  const auto base = scratch("full_disk");
  const auto mnt = base + "/mnt";
  const auto keep = base + "/kept";
  fs::create_directories(mnt);
  fs::create_directories(keep);
  const std::string sweep = nicsim_bin() + command_line(sweep_args(mnt + "/s", "seed=1:10", "300", "2"));
  const std::string script = "mount -t tmpfs -o size=64k tmpfs " + mnt + " || exit 99\n" + sweep + " > " +
                             keep + "/first.out 2>&1; echo $? > " + keep + "/first.status\n" + "cp -a " +
                             mnt + "/s " + keep + "/first\n" + "mount -o remount,size=16m " + mnt +
                             " || exit 98\n" + sweep + " > " + keep + "/second.out 2>&1; echo $? > " + keep +
                             "/second.status\n" + "cp -a " + mnt + "/s " + keep + "/second\n";
  nicsim::test::write_file(base + "/script.sh", script);
  const std::string ns = geteuid() == 0 ? "unshare -m" : "unshare -rm";
  const auto o = sh(ns + " sh " + base + "/script.sh");
  if (o.status == 99 || (o.status != 0 && !fs::exists(keep + "/first.status")))
    GTEST_SKIP() << "cannot mount a small tmpfs here (" << ns << "): " << o.output;
  ASSERT_EQ(o.status, 0) << o.output;

  const auto first_out = read(keep + "/first.out");
  EXPECT_EQ(read(keep + "/first.status"), "1\n") << first_out;
  EXPECT_NE(first_out.find("No space left on device"), std::string::npos) << first_out;
  EXPECT_NE(first_out.find("run the same command again to resume"), std::string::npos) << first_out;
  const auto finished = point_jsons(keep + "/first").size();
  EXPECT_GT(finished, 0u);
  EXPECT_LT(finished, 10u) << "the disk did not fill up; the test proves nothing";
  expect_clean_sweep_dir(keep + "/first", "on the full disk");

  EXPECT_EQ(read(keep + "/second.status"), "0\n") << read(keep + "/second.out");
  EXPECT_EQ(point_jsons(keep + "/second").size(), 10u);
  EXPECT_EQ(read_csv(keep + "/second/results.csv").size(), 10u);
  for (const auto& [name, size] : files_under(keep + "/second")) {
    EXPECT_EQ(name.find(".err"), std::string::npos) << name << " outlived its point's success";
  }
  expect_clean_sweep_dir(keep + "/second", "after making room");
}
