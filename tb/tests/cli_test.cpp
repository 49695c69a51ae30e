// The nicsim command line as a user meets it: exit codes, error messages that
// name the file, key or value, the JSON contract, and determinism.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "hw/rx_frontend_rtl.h"
#include "proto/frame.h"
#include "tb/tests/cli_harness.h"
#include "tb/tests/rss_reference.h"

namespace {

using nicsim::test::outcome;
using nicsim::test::read_json;
outcome run_cli(const std::string& args) { return nicsim::test::nicsim_cli(args); }
std::string scratch(const std::string& name) { return nicsim::test::scratch_path("scratch", name); }
void write(const std::string& path, const std::string& text) { nicsim::test::write_file(path, text); }

}  // namespace

// The README's knob table is `nicsim knobs --markdown`, between its markers: one declaration
// of each knob, and the README cannot drift from it.
TEST(cli, readme_knob_table_is_the_generated_one) {
  const std::string readme = nicsim::test::read_file(std::string(NICSIM_SOURCE_DIR) + "/README.md");
  const std::string begin = "<!-- knobs:begin -->\n", end = "<!-- knobs:end -->";
  const auto b = readme.find(begin), e = readme.find(end);
  ASSERT_NE(b, std::string::npos) << "README.md has no " << begin;
  ASSERT_NE(e, std::string::npos) << "README.md has no " << end;
  ASSERT_LT(b, e);
  const auto o = run_cli("knobs --markdown");
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_EQ(readme.substr(b + begin.size(), e - b - begin.size()), o.output)
      << "paste `nicsim knobs --markdown` between the knobs markers of README.md";
}

TEST(cli, default_scenario_runs_and_prints_summary) {
  const auto o = run_cli("run");
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("conservation"), std::string::npos);
  EXPECT_EQ(o.output.find("SystemC"), std::string::npos);  // no banner in a tool's output
}

TEST(cli, json_holds_the_contract_keys) {
  const auto path = scratch("contract.json");
  std::remove(path.c_str());
  const auto o = run_cli("run --quiet --json " + path + " --set sim.duration_us=500");
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_TRUE(o.output.empty()) << o.output;
  const auto j = read_json(path);
  for (const char* ptr : {"/sim/sim_time_ns",
                          "/sim/wall_s",
                          "/sim/frames_per_wall_s",
                          "/wire/frames",
                          "/wire/bytes",
                          "/nic/rx_frames",
                          "/nic/rx_missed",
                          "/nic/rx_crc_errors",
                          "/nic/interrupts",
                          "/host/hardirqs",
                          "/host/napi_polls",
                          "/host/softnet/processed",
                          "/host/softnet/dropped",
                          "/host/softnet/time_squeeze",
                          "/host/ksoftirqd_wakeups",
                          "/host/context_switches",
                          "/host/wakeups",
                          "/host/cpu_ns/hardirq",
                          "/host/cpu_ns/softirq",
                          "/host/cpu_ns/ksoftirqd",
                          "/host/cpu_ns/user",
                          "/host/cpu_ns/system",
                          "/host/cpu_ns/idle",
                          "/udp/InDatagrams",
                          "/udp/NoPorts",
                          "/udp/InErrors",
                          "/udp/RcvbufErrors",
                          "/icmp/OutDestUnreachs",
                          "/app/messages",
                          "/app/bytes",
                          "/latency_ns/p50",
                          "/latency_ns/p99",
                          "/latency_ns/p999",
                          "/latency_ns/max",
                          "/conservation/ok",
                          "/conservation/in_flight"})
    EXPECT_TRUE(j.contains(nlohmann::json::json_pointer(ptr))) << ptr;
  EXPECT_EQ(j.at("sim").at("sim_time_ns"), 500000);
  EXPECT_GT(j.at("wire").at("frames").get<uint64_t>(), 0u);
  // CPU time adds up to the simulated time.
  uint64_t total = 0;
  for (const auto& [k, v] : j.at("host").at("cpu_ns").items()) total += v.get<uint64_t>();
  // Each bucket is floored to whole ns, so the sum may miss up to one ns per bucket.
  EXPECT_LE(total, 500000u);
  EXPECT_GE(total, 500000u - j.at("host").at("cpu_ns").size());
}

TEST(cli, unknown_key_is_rejected_with_its_name) {
  const auto o = run_cli("run --set traffic.rate_gbs=1");
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.output.find("traffic.rate_gbs"), std::string::npos) << o.output;
}

TEST(cli, out_of_range_value_is_rejected_with_key_and_value) {
  const auto o = run_cli("run --set traffic.frame_bytes=1519");
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.output.find("traffic.frame_bytes = 1519"), std::string::npos) << o.output;
}

TEST(cli, non_numeric_value_is_rejected) {
  const auto o = run_cli("run --set nic.rx_ring_size=big");
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.output.find("nic.rx_ring_size"), std::string::npos) << o.output;
}

TEST(cli, multi_queue_knobs_reject_what_the_hardware_cannot_do) {
  struct bad {
    const char* set;
    const char* message;
  };
  for (const bad& b : {
           bad{"nic.rx_queues=17", "nic.rx_queues = 17 is out of range [1, 16]"},
           bad{"nic.model=igb --set nic.rx_queues=9", "82576's RSS spreads over at most 8 queues"},
           bad{"nic.rss_key=6d:5a:56", "nic.rss_key has 3 bytes, needs exactly 40"},
           bad{"nic.rss_key=6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fz",
               "nic.rss_key = '6d5a"},
           bad{"nic.rx_flow_hash_udp4=sdf", "is not one of sd|sdfn"},
           bad{"nic.rx_queues=2 --set nic.rtl_frontend=false", "needs nic.rtl_frontend = true"},
           bad{"nic.rx_queues=2 --set host.napi=false", "needs host.napi = true"},
           bad{"traffic.flows=100 --set traffic.src_port=65500",
               "traffic.src_port = 65500 with traffic.flows = 100"},
       }) {
    const auto o = run_cli(std::string("run --set ") + b.set);
    EXPECT_EQ(o.status, 2) << b.set;
    EXPECT_NE(o.output.find(b.message), std::string::npos) << b.set << ": " << o.output;
  }
}

// Per-queue packet counts the reference Toeplitz hash predicts for flows k = 0..4
// (40000 + k -> 9000 + k, 10 frames each) over 4 queues.
std::vector<uint64_t> predicted_queues(const std::array<uint8_t, 40>& key) {
  std::vector<uint64_t> out(4, 0);
  const nicsim::proto::udp_flow flow;
  for (unsigned k = 0; k < 5; ++k) {
    const auto in = nicsim::test::rss_input(flow.src_ip, flow.dst_ip, static_cast<uint16_t>(40000 + k),
                                            static_cast<uint16_t>(9000 + k));
    out[(nicsim::test::toeplitz(key, in) & 127) % 4] += 10;
  }
  return out;
}

TEST(cli, rss_key_in_ethtool_form_reaches_the_hash_byte_for_byte) {
  const std::string base =
      "run --quiet --set nic.rx_queues=4 --set traffic.flows=5 --set app.sockets=5 "
      "--set nic.rx_flow_hash_udp4=sdfn --set traffic.count=50 --set sim.duration_us=2000 --json ";
  // A key with no symmetry, so that any byte-order slip between the knob, RSSRK and the RTL
  // puts flows on other queues than the reference hash does.
  std::array<uint8_t, 40> key{};
  std::string text;
  for (unsigned i = 0; i < key.size(); ++i) {
    key[i] = static_cast<uint8_t>(37 * i + 5 + i * i);
    char byte[4];
    std::snprintf(byte, sizeof byte, "%s%02X", i ? ":" : "", key[i]);
    text += byte;
  }
  const auto want_default = predicted_queues(nicsim::hw::rss_default_key), want = predicted_queues(key);
  ASSERT_NE(want, want_default) << "the two keys must place these flows differently";
  const auto a = scratch("key_default.json"), b = scratch("key_other.json");
  ASSERT_EQ(run_cli(base + a).status, 0);
  ASSERT_EQ(run_cli(base + b + " --set nic.rss_key=" + text).status, 0);
  const auto ja = read_json(a), jb = read_json(b);
  std::vector<uint64_t> qa, qb;
  for (int q = 0; q < 4; ++q) {
    qa.push_back(ja.at("nic").at("rx_queue_" + std::to_string(q) + "_packets"));
    qb.push_back(jb.at("nic").at("rx_queue_" + std::to_string(q) + "_packets"));
  }
  EXPECT_EQ(qa, want_default);
  EXPECT_EQ(qb, want);
  std::string plain;
  for (uint8_t k : key) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02x", k);
    plain += byte;
  }
  EXPECT_EQ(jb.at("config").at("nic.rss_key"), plain) << "kept as lower-case hex digits, first byte first";
  EXPECT_EQ(jb.at("app").at("messages"), 50u);
}

TEST(cli, malformed_scenario_names_file_and_line) {
  const auto path = scratch("bad.yaml");
  write(path, "traffic:\n  rate_gbps: 1\n   frame_bytes: [\n");
  const auto o = run_cli("run " + path);
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.output.find(path), std::string::npos) << o.output;
}

TEST(cli, scenario_unknown_nested_key_names_file_and_dotted_key) {
  const auto path = scratch("unknown.yaml");
  write(path, "nic:\n  coalesce:\n    rx_usec: 10\n");
  const auto o = run_cli("run " + path);
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.output.find(path + ": unknown key 'nic.coalesce.rx_usec'"), std::string::npos) << o.output;
}

TEST(cli, missing_scenario_file_is_bad_input) {
  const auto o = run_cli("run /nonexistent/scenario.yaml");
  EXPECT_EQ(o.status, 2);
}

TEST(cli, bad_input_leaves_no_json_behind) {
  const auto path = scratch("never.json");
  std::remove(path.c_str());
  const auto o = run_cli("run --json " + path + " --set app.readers=0");
  EXPECT_EQ(o.status, 2);
  std::ifstream in(path);
  EXPECT_FALSE(in.good());
}

TEST(cli, scenario_file_values_apply_and_set_overrides_them) {
  const auto path = scratch("scenario.yaml");
  const auto out = scratch("scenario.json");
  write(path, "sim:\n  duration_us: 300\ntraffic:\n  frame_bytes: 1024\n  rate_gbps: 2\n");
  const auto o = run_cli("run " + path + " --quiet --json " + out + " --set traffic.rate_gbps=4");
  ASSERT_EQ(o.status, 0) << o.output;
  const auto j = read_json(out);
  EXPECT_EQ(j.at("sim").at("sim_time_ns"), 300000);
  EXPECT_EQ(j.at("config").at("traffic.frame_bytes"), "1024");
  EXPECT_EQ(j.at("config").at("traffic.rate_gbps"), "4");
}

TEST(cli, same_config_and_seed_give_same_results) {
  const auto a = scratch("seed_a.json"), b = scratch("seed_b.json"), c = scratch("seed_c.json");
  const std::string args =
      " --quiet --set traffic.pattern=poisson --set traffic.rate_gbps=3 --set sim.duration_us=2000";
  ASSERT_EQ(run_cli("run --json " + a + args + " --set sim.seed=7").status, 0);
  ASSERT_EQ(run_cli("run --json " + b + args + " --set sim.seed=7").status, 0);
  ASSERT_EQ(run_cli("run --json " + c + args + " --set sim.seed=8").status, 0);
  const auto ja = nicsim::test::simulated_results(a), jb = nicsim::test::simulated_results(b),
             jc = nicsim::test::simulated_results(c);
  EXPECT_EQ(ja, jb);
  EXPECT_NE(ja.at("wire"), jc.at("wire"));  // the seed does drive the Poisson arrivals
}

TEST(cli, multi_queue_runs_with_free_readers_are_deterministic) {
  // Four queues and CPUs, readers the scheduler moves around: the busiest scheduling paths
  // (wake-ups across CPUs, load balancing, IPIs) must still repeat exactly.
  const auto a = scratch("mq_a.json"), b = scratch("mq_b.json");
  const std::string args =
      " --quiet --set host.cpus=4 --set nic.rx_queues=4 --set nic.rx_flow_hash_udp4=sdfn --set "
      "traffic.flows=8"
      " --set app.sockets=8 --set app.pinned=false --set traffic.pattern=poisson --set traffic.rate_gbps=6"
      " --set sim.duration_us=3000";
  ASSERT_EQ(run_cli("run --json " + a + args).status, 0);
  ASSERT_EQ(run_cli("run --json " + b + args).status, 0);
  const auto ja = nicsim::test::simulated_results(a), jb = nicsim::test::simulated_results(b);
  EXPECT_EQ(ja, jb);
  EXPECT_GT(ja.at("host").at("per_cpu")[3].at("context_switches").get<uint64_t>(), 0u);
}

TEST(cli, costs_prints_the_documented_table) {
  const auto o = run_cli("costs");
  EXPECT_EQ(o.status, 0);
  EXPECT_NE(o.output.find("context_switch"), std::string::npos);
  EXPECT_NE(o.output.find("[lat]"), std::string::npos);  // sources travel with the numbers
}

TEST(cli, shipped_scenarios_load_and_run_with_conservation) {
  for (const char* name : {"default", "livelock", "bursts_small_ring"}) {
    const auto o = run_cli(std::string("run --quiet ") + NICSIM_SOURCE_DIR + "/tb/scenarios/" + name +
                           ".yaml --set sim.duration_us=2000");
    EXPECT_EQ(o.status, 0) << name << ": " << o.output;
  }
}

TEST(cli, results_are_the_same_with_or_without_the_rtl_front_end_for_good_frames) {
  const auto a = scratch("fe_on.json"), b = scratch("fe_off.json");
  const std::string args = " --quiet --set sim.duration_us=1000 --set traffic.rate_gbps=2";
  ASSERT_EQ(run_cli("run --json " + a + args).status, 0);
  ASSERT_EQ(run_cli("run --json " + b + args + " --set nic.rtl_frontend=false").status, 0);
  auto ja = read_json(a), jb = read_json(b);
  EXPECT_EQ(ja.at("app"), jb.at("app"));
  EXPECT_EQ(ja.at("latency_ns"), jb.at("latency_ns"));  // the check takes no simulated time either way
  EXPECT_GT(ja.at("nic").at("frontend_cycles").get<uint64_t>(), 0u);
  EXPECT_EQ(jb.at("nic").at("frontend_cycles"), 0u);
  const auto bad = run_cli("run --set nic.rtl_frontend=false --set nic.rx_csum_offload=true");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.output.find("nic.rtl_frontend"), std::string::npos) << bad.output;
}

// ---- Output files (issue 10, items 5, 6, 7 and 8): never replace a device, follow
// symlinks, leave nothing behind on a failed run, and one file per output.

namespace {
std::string out_dir(const std::string& name) { return nicsim::test::scratch_dir("out", name); }
using nicsim::test::dir_entries;
using nicsim::test::joined;
const std::string short_run = " --quiet --set sim.duration_us=200";
// "D/x" → "<dir>/x"
std::string in_dir(std::string s, const std::string& dir) {
  for (size_t at = 0; (at = s.find("D/", at)) != std::string::npos; at += dir.size())
    if (at == 0 || s[at - 1] == ' ') s.replace(at, 1, dir);
  return s;
}
}  // namespace

TEST(cli_outputs, json_onto_a_character_device_keeps_the_device) {
  // A node of our own with /dev/null's numbers: the old code, run as root,
  // replaced the real /dev/null with a regular file.
  const auto dir = out_dir("device");
  const auto null = dir + "/null";
  if (!nicsim::test::make_char_device(null, 1, 3)) GTEST_SKIP() << "mknod needs root";
  const auto o = run_cli("run --json " + null + short_run);
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_TRUE(nicsim::test::is_char_device(null, 1, 3)) << "the device node was replaced";
  EXPECT_EQ(joined(dir_entries(dir)), "null");
}

TEST(cli_outputs, a_failing_device_fails_the_run_and_stays_a_device) {
  // /dev/full's numbers: every write fails with ENOSPC. Streamed, so the failure shows.
  const auto dir = out_dir("full");
  const auto full = dir + "/full";
  if (!nicsim::test::make_char_device(full, 1, 7)) GTEST_SKIP() << "mknod needs root";
  const auto o = run_cli("run --json " + full + short_run);
  EXPECT_EQ(o.status, 1) << o.output;
  EXPECT_NE(o.output.find(full + ": write failed: No space left on device"), std::string::npos) << o.output;
  EXPECT_TRUE(nicsim::test::is_char_device(full, 1, 7));
  EXPECT_EQ(joined(dir_entries(dir)), "full");
}

TEST(cli_outputs, a_symlink_is_followed_not_replaced) {
  const auto dir = out_dir("symlink");
  std::filesystem::create_directories(dir + "/data");
  std::filesystem::create_symlink("data/stats.json",
                                  dir + "/latest.json");  // dangling: names the file to make
  std::filesystem::create_symlink(dir + "/data/old.json", dir + "/old.json");
  write(dir + "/data/old.json", "old");
  ASSERT_EQ(run_cli("run --json " + dir + "/latest.json" + short_run).status, 0);
  ASSERT_EQ(run_cli("run --json " + dir + "/old.json" + short_run).status, 0);
  EXPECT_TRUE(std::filesystem::is_symlink(dir + "/latest.json"));
  EXPECT_TRUE(std::filesystem::is_symlink(dir + "/old.json"));
  EXPECT_EQ(read_json(dir + "/data/stats.json").at("sim").at("sim_time_ns"), 200000);
  EXPECT_EQ(read_json(dir + "/data/old.json").at("sim").at("sim_time_ns"), 200000);
  EXPECT_EQ(joined(dir_entries(dir)), "data latest.json old.json");
  EXPECT_EQ(joined(dir_entries(dir + "/data")), "old.json stats.json") << "no temporaries left";
}

TEST(cli_outputs, json_into_a_fifo_is_streamed) {
  const auto dir = out_dir("fifo");
  const auto fifo = dir + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // A reader that gives up after a while, so a wrong writer cannot hang the test.
  const auto o = nicsim::test::sh("(timeout 60 cat " + fifo + " > " + dir + "/read.json &) ; " +
                                  nicsim::test::nicsim_bin() + " run --json " + fifo + short_run +
                                  "; rc=$?; sleep 0.2; exit $rc");
  EXPECT_EQ(o.status, 0) << o.output;
  struct stat st {};
  ASSERT_EQ(lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the FIFO was replaced";
  EXPECT_EQ(read_json(dir + "/read.json").at("sim").at("sim_time_ns"), 200000);
}

TEST(cli_outputs, pcap_onto_a_device_gets_no_fates_file_beside_it_unless_asked) {
  const auto dir = out_dir("pcap_device");
  const auto null = dir + "/null";
  if (!nicsim::test::make_char_device(null, 1, 3)) GTEST_SKIP() << "mknod needs root";
  const auto o = run_cli("run --pcap " + null + short_run);
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("no fates CSV"), std::string::npos) << o.output;
  EXPECT_TRUE(nicsim::test::is_char_device(null, 1, 3));
  EXPECT_EQ(joined(dir_entries(dir)), "null") << "no null.fates.csv next to a device";
  const auto asked = run_cli("run --pcap " + null + " --fates " + dir + "/fates.csv" + short_run);
  EXPECT_EQ(asked.status, 0) << asked.output;
  std::ifstream fates(dir + "/fates.csv");
  std::string header, first;
  std::getline(fates, header);
  std::getline(fates, first);
  EXPECT_EQ(header, "packet,direction,seq,fate");
  EXPECT_EQ(first, "1,in,0,delivered");
  EXPECT_EQ(run_cli("run --fates " + dir + "/alone.csv" + short_run).status, 2) << "--fates needs --pcap";
}

TEST(cli_outputs, calibrate_out_onto_a_character_device_keeps_the_device) {
  const auto dir = out_dir("calibrate_device");
  const auto null = dir + "/null";
  if (!nicsim::test::make_char_device(null, 1, 3)) GTEST_SKIP() << "mknod needs root";
  // calibrate measures this machine, and on a loaded one a measurement can fail its own sanity
  // check (exit 1, "measurement failed"); that is not what this test is about, so it tries again.
  auto o = run_cli("calibrate --seconds 0.2 --out " + null);
  for (int attempt = 1;
       attempt < 4 && o.status == 1 && o.output.find("measurement failed") != std::string::npos; ++attempt)
    o = run_cli("calibrate --seconds 0.2 --out " + null);
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_TRUE(nicsim::test::is_char_device(null, 1, 3)) << "the device node was replaced";
  EXPECT_EQ(joined(dir_entries(dir)), "null");
}

TEST(cli_outputs, every_bad_output_is_found_before_anything_is_written) {
  struct bad {
    std::string args;  // in the scratch directory D
    std::string message;
  };
  const auto dir = out_dir("exit2");
  const std::vector<bad> cases = {
      {"--waves D/w.fst --waves-from 40 --waves-to 10", "--waves-from"},
      {"--waves D/ok.fst --timeline D/nodir/t.json", "D/nodir does not exist"},
      {"--pcap D/p.pcap --json D/nodir/s.json", "D/nodir does not exist"},
      {"--waves D/ok.fst --timeline D/.", "is a directory"},
      {"--pcap D/p.pcap --waves D/w.txt", "wave files end in .fst or .vcd"},
      {"--timeline D/t.json --json D/file/x.json", "not a directory"},
  };
  write(dir + "/file", "a file, not a directory");
  for (const auto& c : cases) {
    const std::string args = in_dir(c.args, dir), message = in_dir(c.message, dir);
    const auto o = run_cli("run " + args + short_run);
    EXPECT_EQ(o.status, 2) << args << ": " << o.output;
    EXPECT_NE(o.output.find(message), std::string::npos) << args << ": " << o.output;
    EXPECT_EQ(joined(dir_entries(dir)), "file") << args << " left files behind";
  }
}

TEST(cli_outputs, two_outputs_on_one_file_are_bad_input) {
  const auto dir = out_dir("clash");
  const auto keep = dir + "/X";
  write(keep, "keep");
  std::filesystem::create_symlink("X", dir + "/alias");
  for (const char* args : {
           "--timeline D/X --pcap D/X",
           "--pcap D/p --json D/p.fates.csv",
           "--waves D/a.fst --pcap D/a.rtl.fst",
           "--json D/alias --timeline D/X",
           "--pcap D/p --fates D/X --json D/alias",
           "--waves D/sub/../X.fst --timeline D/X.fst",
       }) {
    const std::string a = in_dir(args, dir);
    std::filesystem::create_directories(dir + "/sub");
    const auto o = run_cli("run " + a + short_run);
    EXPECT_EQ(o.status, 2) << a << ": " << o.output;
    EXPECT_NE(o.output.find("are one file"), std::string::npos) << a << ": " << o.output;
    EXPECT_EQ(nicsim::test::read_file(keep), "keep") << a;
    EXPECT_EQ(joined(dir_entries(dir)), "X alias sub") << a << " left files behind";
  }
}

TEST(cli_outputs, json_on_a_full_disk_fails_and_leaves_nothing) {
  const auto dir = out_dir("full_disk_json");
  // Fill the disk, then ask for the JSON.
  const auto o =
      nicsim::test::on_small_disk(dir, "head -c 60000 /dev/zero > fill; " + nicsim::test::nicsim_bin() +
                                           " run --json j.json" + short_run + "; echo rc=$?; ls -A");
  if (o.output.rfind(nicsim::test::SMALL_DISK, 0) != 0) GTEST_SKIP() << "no tmpfs in a mount namespace here";
  EXPECT_NE(o.output.find("j.json: write failed: No space left on device"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("rc=1\nfill\n"), std::string::npos)
      << "exit 1 and only the filler left: " << o.output;
}
