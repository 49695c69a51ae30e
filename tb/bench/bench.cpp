// nicsim_bench: simulated frames per wall-clock second and the slowdown
// against real time for fixed workloads. Each workload runs in its own
// process (SystemC elaborates once per process, and the peak resident set and
// CPU time come from that process alone, through wait4); run without arguments
// for the table, `--repeat N` for medians of N runs each, `--json FILE` to also
// write the results as JSON (`rtl_floor_ns_per_frame`, `workloads`), or with a
// workload name for one JSON line; `memory` gives the peak resident set of the
// default scenario at two run lengths (it must not grow with them). The last
// workloads repeat each of the others ten times longer (NAME_200ms, or NAME_10ms for
// the 1 ms line-rate ones) for the memory check: peak RSS must not follow the length.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <systemc>
#include <utility>
#include <vector>

#include "hw/rx_frontend_rtl.h"
#include "proto/frame.h"
#include "tb/run.h"
#include "tb/trace_hub.h"
#include "tlm/local_time.h"

namespace {

struct workload {
  const char* name;
  const char* what;
  std::vector<std::string> sets;
  bool record = false;              // waves + timeline + pcap into a scratch folder
  const char* longer_of = nullptr;  // the workload this one repeats ten times longer (memory check)
};

const std::vector<workload>& workloads() {
  static const std::vector<workload> w = {
      {"default", "default scenario (1 Gb/s of 512 B UDP), 20 ms", {"sim.duration_us=20000"}},
      {"udp64_linerate",
       "64 B frames at 10 Gb/s line rate, ring 1024, 1 ms (most frames dropped)",
       {"traffic.frame_bytes=64", "traffic.rate_gbps=10", "nic.rx_ring_size=1024", "sim.duration_us=1000"}},
      {"udp1518_linerate",
       "1518 B frames at 10 Gb/s line rate, ring 1024, 1 ms",
       {"traffic.frame_bytes=1518", "traffic.rate_gbps=10", "nic.rx_ring_size=1024", "sim.duration_us=1000"}},
      {"default_recorded",
       "the default workload with --waves, --timeline and --pcap",
       {"sim.duration_us=20000"},
       true},
      {"idle_100ms", "one frame, then 100 ms of idle link", {"traffic.count=1", "sim.duration_us=100000"}},
      {"rss4_8gbps",
       "4 RX queues on 4 CPUs, 8 UDP flows of 512 B at 8 Gb/s, 20 ms",
       {"host.cpus=4", "nic.rx_queues=4", "nic.rx_flow_hash_udp4=sdfn", "traffic.flows=8", "app.sockets=8",
        "app.pinned=false", "traffic.rate_gbps=8", "sim.duration_us=20000"}},
      {"udp_rr",
       "netperf UDP_RR: echo, 1 request outstanding, 512 B both ways, 20 ms (frames: requests)",
       {"app.role=echo", "traffic.pattern=rr", "traffic.rr_outstanding=1", "sim.duration_us=20000"}},
      // The memory check: every workload again, ten times longer (peak RSS must not follow).
      {"default_200ms", "default, 200 ms (memory check)", {"sim.duration_us=200000"}, false, "default"},
      {"udp64_linerate_10ms",
       "udp64_linerate, 10 ms (memory check)",
       {"traffic.frame_bytes=64", "traffic.rate_gbps=10", "nic.rx_ring_size=1024", "sim.duration_us=10000"},
       false,
       "udp64_linerate"},
      {"udp1518_linerate_10ms",
       "udp1518_linerate, 10 ms (memory check)",
       {"traffic.frame_bytes=1518", "traffic.rate_gbps=10", "nic.rx_ring_size=1024", "sim.duration_us=10000"},
       false,
       "udp1518_linerate"},
      {"default_recorded_200ms",
       "default_recorded, 200 ms (memory check)",
       {"sim.duration_us=200000"},
       true,
       "default_recorded"},
      {"idle_1000ms",
       "idle_100ms, 1 s (memory check)",
       {"traffic.count=1", "sim.duration_us=1000000"},
       false,
       "idle_100ms"},
      {"rss4_8gbps_200ms",
       "rss4_8gbps, 200 ms (memory check)",
       {"host.cpus=4", "nic.rx_queues=4", "nic.rx_flow_hash_udp4=sdfn", "traffic.flows=8", "app.sockets=8",
        "app.pinned=false", "traffic.rate_gbps=8", "sim.duration_us=200000"},
       false,
       "rss4_8gbps"},
      {"udp_rr_200ms",
       "udp_rr, 200 ms (memory check)",
       {"app.role=echo", "traffic.pattern=rr", "traffic.rr_outstanding=1", "sim.duration_us=200000"},
       false,
       "udp_rr"},
  };
  return w;
}

int run_one(const workload& w) {
  const auto cfg = nicsim::tb::load_config("", w.sets);
  nicsim::tb::trace_options trace;
  if (w.record) {
    const std::string dir =
        std::filesystem::temp_directory_path() / ("nicsim_bench_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    trace.waves = dir + "/run.fst";
    trace.timeline = dir + "/run.json";
    trace.pcap = dir + "/run.pcap";
  }
  const auto j = nicsim::tb::run_simulation(cfg, trace);
  if (w.record) std::filesystem::remove_all(std::filesystem::path(trace.waves).parent_path());
  nlohmann::ordered_json out = {{"workload", w.name},
                                {"sim_ns", j["sim"]["sim_time_ns"]},
                                {"wall_s", j["sim"]["wall_s"]},
                                {"frames", j["wire"]["frames"]},
                                {"frames_per_wall_s", j["sim"]["frames_per_wall_s"]},
                                {"slowdown", j["sim"]["slowdown"]},
                                {"delivered", j["app"]["messages"]},
                                {"moderation_evaluations", j["nic"]["moderation_evaluations"]},
                                {"charges_deferred", nicsim::tlm::decoupling::deferred},
                                {"charge_waits", nicsim::tlm::decoupling::waited}};
  std::cout << out.dump() << std::endl;
  return 0;
}

// One run of the default scenario for duration_us (a child of `memory`): prints its frames.
int run_length(const std::string& duration_us) {
  const auto cfg = nicsim::tb::load_config("", {"sim.duration_us=" + duration_us});
  const auto j = nicsim::tb::run_simulation(cfg);
  std::cout << j["app"]["messages"].get<uint64_t>() << std::endl;
  return 0;
}

// Peak RSS of the default scenario at two run lengths, each in its own process.
int memory_table() {
  std::printf("%-12s %12s %14s\n", "duration_ms", "delivered", "peak_rss_MiB");
  struct point {
    uint64_t delivered;
    double rss_mib;
  };
  std::vector<point> points;
  for (const char* us : {"50000", "500000"}) {
    int fd[2];
    if (pipe(fd) != 0) return 1;
    const pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      dup2(fd[1], STDOUT_FILENO);
      close(fd[0]);
      close(fd[1]);
      const std::string self = "/proc/" + std::to_string(getppid()) + "/exe";
      execl(self.c_str(), self.c_str(), "length", us, static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fd[1]);
    std::string out;
    std::array<char, 256> buf{};
    ssize_t n;
    while ((n = read(fd[0], buf.data(), buf.size())) > 0) out.append(buf.data(), static_cast<size_t>(n));
    close(fd[0]);
    int status = 0;
    rusage u{};
    if (wait4(pid, &status, 0, &u) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::cerr << "nicsim_bench: the " << us << " us run failed\n";
      return 1;
    }
    points.push_back({std::stoull(out), static_cast<double>(u.ru_maxrss) / 1024.0});
    std::printf("%-12.0f %12llu %14.1f\n", std::stod(us) / 1000.0,
                static_cast<unsigned long long>(points.back().delivered), points.back().rss_mib);
  }
  const double frames = static_cast<double>(points[1].delivered - points[0].delivered);
  std::printf("growth: %.1f bytes of peak RSS per delivered frame\n",
              frames > 0 ? (points[1].rss_mib - points[0].rss_mib) * 1048576.0 / frames : 0.0);
  return 0;
}

}  // namespace

// Wall time the verilated RX front end alone spends per frame (no SystemC).
double frontend_ns_per_frame(size_t frame_bytes) {
  nicsim::hw::rx_frontend_rtl fe(512);
  fe.set_rx_csum(true);
  const auto frame = nicsim::proto::build_udp_frame(nicsim::proto::udp_flow{}, frame_bytes, {});
  constexpr int N = 200000;
  unsigned ok = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < N; ++i) ok += fe.check(frame).fcs_ok;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (ok != N) std::fprintf(stderr, "nicsim_bench: front end rejected a good frame\n");
  return s * 1e9 / N;
}

// One workload in a child process (this program again, with the workload's name): its
// JSON line plus the child's own CPU time and peak resident set from wait4.
struct measured {
  nlohmann::json line;
  double cpu_s = 0;
  long max_rss_kib = 0;
};

bool measure(const workload& w, measured& m) {
  int fd[2];
  if (pipe(fd) != 0) return false;
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    dup2(fd[1], STDOUT_FILENO);
    close(fd[0]);
    close(fd[1]);
    const std::string self = "/proc/" + std::to_string(getppid()) + "/exe";
    execl(self.c_str(), self.c_str(), w.name, static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fd[1]);
  std::string out;
  std::array<char, 4096> buf{};
  ssize_t n;
  while ((n = read(fd[0], buf.data(), buf.size())) > 0) out.append(buf.data(), static_cast<size_t>(n));
  close(fd[0]);
  int status = 0;
  rusage u{};
  if (wait4(pid, &status, 0, &u) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return false;
  m.line = nlohmann::json::parse(out);
  m.cpu_s = static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
            static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
  m.max_rss_kib = u.ru_maxrss;  // Linux: KiB
  return true;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t k = v.size() / 2;
  return v.size() % 2 != 0 ? v[k] : (v[k - 1] + v[k]) / 2;
}

// The table (and --json FILE): every workload --repeat N times (default 1), medians of
// wall, CPU and peak RSS; then the verilated front end's own cost per frame (the floor).
int table(int argc, char* argv[]) {
  std::string json_path;
  int repeat = 1;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if (arg == "--json" && a + 1 < argc) {
      json_path = argv[++a];
    } else if (arg == "--repeat" && a + 1 < argc) {
      repeat = std::atoi(argv[++a]);
      if (repeat < 1 || repeat > 99) {
        std::cerr << "nicsim_bench: --repeat takes 1..99\n";
        return 2;
      }
    } else {
      std::cerr << "nicsim_bench: usage: nicsim_bench [--repeat N] [--json FILE] | WORKLOAD | rtl | memory\n";
      return 2;
    }
  }
  std::printf("%-22s %10s %9s %8s %9s %14s %10s %10s %11s %12s  %s\n", "workload", "sim_ms", "wall_s",
              "cpu_s", "frames", "frames/wall_s", "slowdown", "mod_evals", "waits/frame", "max_rss_MiB",
              "what");
  std::fflush(stdout);
  nlohmann::ordered_json doc;
  doc["repeat"] = repeat;
  nlohmann::ordered_json jw = nlohmann::ordered_json::object();
  for (const auto& w : workloads()) {
    std::vector<double> wall, cpu, rss;
    measured m;
    for (int r = 0; r < repeat; ++r) {
      if (!measure(w, m)) {
        std::cerr << "nicsim_bench: workload " << w.name << " failed\n";
        return 1;
      }
      wall.push_back(m.line.at("wall_s").get<double>());
      cpu.push_back(m.cpu_s);
      rss.push_back(static_cast<double>(m.max_rss_kib));
    }
    const auto& j = m.line;  // the simulated numbers are the same in every run
    const double sim_s = j.at("sim_ns").get<double>() * 1e-9;
    const auto frames = j.at("frames").get<uint64_t>();
    const double wall_s = median(wall), cpu_s = median(cpu), rss_kib = median(rss);
    const auto deferred = j.at("charges_deferred").get<uint64_t>(),
               waits = j.at("charge_waits").get<uint64_t>();
    const auto per_frame = [frames](uint64_t n) {
      return frames > 0 ? static_cast<double>(n) / static_cast<double>(frames) : 0.0;
    };
    std::printf("%-22s %10.1f %9.3f %8.3f %9llu %14.0f %10.2f %10llu %11.2f %12.1f  %s\n", w.name,
                sim_s * 1e3, wall_s, cpu_s, static_cast<unsigned long long>(frames),
                wall_s > 0 ? static_cast<double>(frames) / wall_s : 0.0, sim_s > 0 ? wall_s / sim_s : 0.0,
                static_cast<unsigned long long>(j.at("moderation_evaluations").get<uint64_t>()),
                per_frame(waits), rss_kib / 1024.0, w.what);
    std::fflush(stdout);
    jw[w.name] = {{"sim_ms", sim_s * 1e3},
                  {"wall_s", wall_s},
                  {"cpu_s", cpu_s},
                  {"frames", frames},
                  {"ns_per_frame", frames > 0 ? wall_s * 1e9 / static_cast<double>(frames) : 0.0},
                  {"cpu_ns_per_frame", frames > 0 ? cpu_s * 1e9 / static_cast<double>(frames) : 0.0},
                  {"max_rss_kib", static_cast<long>(rss_kib)},
                  {"charges_deferred_per_frame", per_frame(deferred)},
                  {"charge_waits_per_frame", per_frame(waits)}};
  }
  // The front end's floor, measured here after the children (this process ran no simulation).
  nlohmann::ordered_json floor;
  for (size_t bytes : {size_t{64}, size_t{1518}}) {
    std::vector<double> v;
    for (int r = 0; r < repeat; ++r) v.push_back(frontend_ns_per_frame(bytes));
    floor[std::to_string(bytes)] = median(v);
    std::printf("rtl rx_frontend (512-bit beats): %4zu B frame  %7.1f ns wall per frame\n", bytes, median(v));
  }
  // The line-rate goals (issue 15: 2x at 64 B, 3x at 1518 B) from pairs measured back to back:
  // the front end alone, then the 10 ms line-rate run, --repeat times, and the median of the
  // pairs' ratios. On a shared machine whose speed drifts over a minute, the floor above and
  // the table's runs are minutes apart; the two halves of a pair are not.
  // The same pairs also give each half's minimum: noise on a shared machine only adds time, so
  // the fastest front end and the fastest run are the two halves' own costs, and their ratio
  // (line_rate_over_floor_min) is the steadier estimate of the two.
  nlohmann::ordered_json paired = nlohmann::ordered_json::object();
  nlohmann::ordered_json paired_min = nlohmann::ordered_json::object();
  for (const auto& [bytes, name] : {std::pair<size_t, std::string>{64, "udp64_linerate_10ms"},
                                    std::pair<size_t, std::string>{1518, "udp1518_linerate_10ms"}}) {
    const auto it = std::find_if(workloads().begin(), workloads().end(),
                                 [&name = name](const workload& w) { return name == w.name; });
    if (it == workloads().end()) continue;
    std::vector<double> ratios, fes, runs;
    measured m;
    for (int r = 0; r < repeat; ++r) {
      const double fe = frontend_ns_per_frame(bytes);
      if (!measure(*it, m)) {
        std::cerr << "nicsim_bench: workload " << name << " failed\n";
        return 1;
      }
      const auto frames = m.line.at("frames").get<double>();
      if (fe > 0 && frames > 0) {
        const double run = m.line.at("wall_s").get<double>() * 1e9 / frames;
        ratios.push_back(run / fe);
        fes.push_back(fe);
        runs.push_back(run);
      }
    }
    if (ratios.empty()) continue;
    const double min_ratio =
        *std::min_element(runs.begin(), runs.end()) / *std::min_element(fes.begin(), fes.end());
    paired[std::to_string(bytes)] = median(ratios);
    paired_min[std::to_string(bytes)] = min_ratio;
    std::printf(
        "line rate over the front end alone, %4zu B: %.2fx (median of %zu back-to-back pairs), %.2fx "
        "(fastest run over fastest front end)\n",
        bytes, median(ratios), ratios.size(), min_ratio);
  }
  // Peak RSS of each ten-times-longer variant over its workload: the memory goal is <= 1.3.
  nlohmann::ordered_json ratio = nlohmann::ordered_json::object();
  for (const auto& w : workloads()) {
    if (w.longer_of == nullptr || !jw.contains(w.longer_of)) continue;
    const double r =
        jw.at(w.name).at("max_rss_kib").get<double>() / jw.at(w.longer_of).at("max_rss_kib").get<double>();
    ratio[w.longer_of] = r;
    std::printf("max RSS 10x run length / 1x: %-22s %5.2f\n", w.longer_of, r);
  }
  doc["rtl_floor_ns_per_frame"] = floor;
  doc["line_rate_over_floor"] = paired;
  doc["line_rate_over_floor_min"] = paired_min;
  doc["workloads"] = jw;
  doc["max_rss_ratio_200ms_20ms"] = ratio;
  if (!json_path.empty()) {
    std::ofstream f(json_path);
    f << doc.dump(2) << '\n';
    if (!f) {
      std::cerr << "nicsim_bench: cannot write " << json_path << "\n";
      return 1;
    }
  }
  return 0;
}

int sc_main(int argc, char* argv[]) {
  if (argc == 2 && std::string(argv[1]) == "rtl") {
    for (size_t bytes : {size_t{64}, size_t{1518}})
      std::printf("rtl rx_frontend (512-bit beats): %4zu B frame  %7.1f ns wall per frame\n", bytes,
                  frontend_ns_per_frame(bytes));
    return 0;
  }
  if (argc == 2 && std::string(argv[1]) == "memory") return memory_table();
  if (argc == 3 && std::string(argv[1]) == "length") return run_length(argv[2]);
  if (argc == 2 && argv[1][0] != '-') {
    for (const auto& w : workloads())
      if (w.name == std::string(argv[1])) return run_one(w);
    std::cerr << "nicsim_bench: unknown workload '" << argv[1] << "'\n";
    return 2;
  }
  return table(argc, argv);
}

int main(int argc, char* argv[]) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
