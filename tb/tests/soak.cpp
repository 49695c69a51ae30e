// Seeded random-configuration soak: draws configurations from the knob table's
// own types and ranges (tb::config), runs each briefly as its own
// `nicsim run` process with a timeout and a memory limit, and fails on any
// signal, timeout or exit 1, and on exit 2 for a configuration that
// tb::config::validate() accepts. Every failure is printed as a command line
// that reproduces it.
//
// Environment (all optional):
//   NICSIM_SOAK_RUNS=400         configurations to run
//   NICSIM_SOAK_SEED=1           seed of the draw (same seed, same configurations)
//   NICSIM_SOAK_JOBS=2           runs at a time
//   NICSIM_SOAK_TIMEOUT_S=30     wall-time limit of one run
//   NICSIM_SOAK_MAX_US=5000      longest sim.duration_us drawn (log-uniform from 100)
//   NICSIM_SOAK_MEMORY_MB=1024   resident memory one run may use (it is killed above it; its
//                                address space is capped at four times this as a safety net)
//   NICSIM_SOAK_INVALID_PCT=5    share of draws left invalid by cross-knob rules (exit 2 expected)
//   NICSIM_SOAK_KEEP=1           keep every run's JSON (in BUILD/soak_seed<SEED>/)
//   NICSIM_BIN=...               the nicsim binary (default: the one built beside this test)
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tb/config.h"

namespace {

namespace fs = std::filesystem;
using nicsim::tb::config;
using nicsim::tb::config_error;

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v, &end, 10);
  if (*end != '\0') {
    std::cerr << "soak: " << name << "=" << v << " is not a whole number\n";
    std::exit(2);
  }
  return n;
}

std::string format_value(double v, bool integral) {
  std::ostringstream os;
  os.precision(integral ? 17 : 6);
  os << v;
  return os.str();
}

// One value of a numeric knob: its default (often, so that a failure has few
// suspects), an edge of its range, or log-uniform across the range.
std::string draw_numeric(const config::knob& k, std::mt19937_64& rng) {
  const bool integral = k.type == config::kind::integer;
  const double r = std::uniform_real_distribution<double>(0, 1)(rng);
  if (r < 0.50) return k.value;  // the default
  if (r < 0.55) return format_value(k.min, integral);
  if (r < 0.60) return format_value(k.max, integral);
  const double lo = std::max(k.min, integral ? 1.0 : std::max(k.min, 1e-3));
  if (lo >= k.max) return format_value(k.max, integral);
  double v = std::exp(std::uniform_real_distribution<double>(std::log(lo), std::log(k.max))(rng));
  if (integral) v = std::floor(v);
  return format_value(std::clamp(v, k.min, k.max), integral);
}

std::string draw_value(const config::knob& k, std::mt19937_64& rng) {
  switch (k.type) {
    case config::kind::choice:
      return k.choices[std::uniform_int_distribution<size_t>(0, k.choices.size() - 1)(rng)];
    case config::kind::hex: {
      if (std::uniform_int_distribution<int>(0, 1)(rng) == 0) return k.value;
      std::string hex;
      for (int i = 0; i < static_cast<int>(k.min); ++i) {
        char b[3];
        std::snprintf(b, sizeof b, "%02x", std::uniform_int_distribution<unsigned>(0, 255)(rng));
        hex += b;
      }
      return hex;
    }
    case config::kind::number:
    case config::kind::integer:
      return draw_numeric(k, rng);
    case config::kind::triple: {  // three ascending values, each drawn as an integer knob's
      if (std::uniform_int_distribution<int>(0, 1)(rng) == 0) return k.value;
      config::knob one = k;
      one.type = config::kind::integer;
      one.value = format_value(k.min, true);
      std::vector<double> v;
      for (int i = 0; i < 3; ++i) v.push_back(std::strtod(draw_numeric(one, rng).c_str(), nullptr));
      std::sort(v.begin(), v.end());
      return format_value(v[0], true) + "," + format_value(v[1], true) + "," + format_value(v[2], true);
    }
    case config::kind::path:  // a file to read (traffic.pcap): the soak draws none
      return k.value;
  }
  return k.value;
}

double num(const config& c, const std::string& key) { return c.number(key); }
std::string text(double v) { return format_value(v, true); }

// Brings a drawn configuration within the cross-knob rules of config::validate(),
// changing the dependent knob (the CPU a reader runs on, not the CPU count). And
// mostly lets traffic reach a socket within the run: independent draws would
// send nearly every frame to a closed port, or start it after the run ends.
void repair(config& c, std::mt19937_64& rng) {
  auto set = [&c](const std::string& k, const std::string& v) { c.set(k, v, "soak"); };
  auto chance = [&rng](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  if (chance(0.9)) {
    const double port = num(c, "app.port") +
                        std::floor(std::uniform_real_distribution<double>(0, 1)(rng) * num(c, "app.sockets"));
    set("traffic.dst_port", text(std::min(port, 65535.0)));
  }
  // Timers (moderation, deferral, start, work per message) mostly well within the run, so that
  // something happens in it: the knob's unit says how long one step is.
  const double run_us = num(c, "sim.duration_us");
  const std::map<std::string, double> us_per_unit{
      {"us", 1}, {"ns", 1e-3}, {"256 ns", 0.256}, {"1.024 us", 1.024}};
  for (const auto& [key, k] : c.knobs()) {
    const auto unit = us_per_unit.find(k.unit);
    if (key == "sim.duration_us" || unit == us_per_unit.end()) continue;
    const double limit = std::min(k.max, run_us / 2 / unit->second);
    if (num(c, key) * unit->second <= run_us / 2 || limit < std::max(k.min, 1.0) || !chance(0.8)) continue;
    const double v = std::exp(
        std::uniform_real_distribution<double>(std::log(std::max(k.min, 1.0)), std::log(limit))(rng));
    set(key, k.type == config::kind::integer ? text(std::floor(v)) : format_value(v, false));
  }
  if (num(c, "traffic.rate_gbps") > num(c, "nic.line_rate_gbps"))
    set("traffic.rate_gbps", c.text("nic.line_rate_gbps"));
  const auto cpus = static_cast<unsigned>(num(c, "host.cpus"));
  for (const char* k : {"host.irq_cpu", "app.cpu"})
    if (num(c, k) >= cpus) set(k, text(std::uniform_int_distribution<unsigned>(0, cpus - 1)(rng)));
  if (c.text("nic.rx_csum_offload") == "true" || num(c, "nic.rx_queues") > 1) set("nic.rtl_frontend", "true");
  if (num(c, "nic.rx_queues") > 1) set("host.napi", "true");
  for (const char* port : {"traffic.src_port", "traffic.dst_port"})
    if (num(c, port) + num(c, "traffic.flows") - 1 > 65535) set(port, text(65536 - num(c, "traffic.flows")));
  const double ring = num(c, "nic.rx_ring_size");
  set("nic.rx_ring_size", text(std::max(8.0, std::floor(ring / 8) * 8)));
  const double tx_ring = num(c, "nic.tx_ring_size");
  set("nic.tx_ring_size", text(std::max(48.0, std::floor(tx_ring / 8) * 8)));
  // TCP (issue 13): rr and udp_csum are UDP only, and the MSS must reach TCP_MIN_MSS.
  if (c.text("traffic.proto") == "tcp") {
    if (c.text("traffic.pattern") == "rr") set("traffic.pattern", "constant");
    if (c.text("traffic.corrupt") == "udp_csum") set("traffic.corrupt", "none");
    if (num(c, "traffic.frame_bytes") < 146) set("traffic.frame_bytes", "146");
    // The receiving side is one listener with blocking readers (host/apps/tcp_app.h).
    set("app.role", "reader");
    set("app.mode", "blocking");
    set("app.busy_poll_us", "0");
    set("app.sockets", "1");
    set("traffic.response_bytes", "0");
    if (num(c, "traffic.flows") * num(c, "app.readers") > 256)
      set("app.readers", text(std::max(1.0, std::floor(256 / num(c, "traffic.flows")))));
    if (num(c, "traffic.flows") > 256) set("traffic.flows", "256");
  }
  // UDP_RR needs someone to answer.
  if (c.text("traffic.pattern") == "rr") set("app.role", "echo");
  if (num(c, "nic.rx_fifo_bytes") < num(c, "traffic.frame_bytes"))
    set("nic.rx_fifo_bytes", c.text("traffic.frame_bytes"));
  // nic.model: what the part's driver accepts (config::validate_model, issue 14).
  const std::string model = c.text("nic.model");
  const double usecs = num(c, "nic.coalesce.rx_usecs");
  if (model == "generic") {
    if (c.text("nic.coalesce.mode") == "itr" && usecs > 8191) set("nic.coalesce.rx_usecs", "8191");
    return;
  }
  set("nic.coalesce.mode", model == "e1000" ? "e1000" : "itr");
  for (const char* k : {"nic.coalesce.rx_frames", "nic.coalesce.itr", "nic.coalesce.min_interval_ns"})
    set(k, "0");
  if (model != "e1000") {
    set("nic.coalesce.rdtr", "0");
    set("nic.coalesce.radv", "0");
  }
  const bool ok_usecs = model == "ixgbe"
                            ? usecs <= 1022
                            : usecs == 0 || usecs == 1 || usecs == 3 || (model == "e1000" && usecs == 4) ||
                                  (usecs >= 10 && usecs <= 10000);
  if (!ok_usecs) set("nic.coalesce.rx_usecs", "3");
  const double max_queues = model == "e1000" ? 1 : model == "igb" ? 8 : 16;
  if (num(c, "nic.rx_queues") > max_queues) set("nic.rx_queues", text(max_queues));
}

struct drawn {
  std::vector<std::string> sets;  // KEY=VALUE for every knob off its default (or set, with a model)
  bool valid = true;
  std::string invalid_why;
};

drawn draw_config(uint64_t seed, uint64_t index, double max_us, double invalid_share) {
  std::seed_seq seq{seed, index, uint64_t{0x6e696373}};
  std::mt19937_64 rng(seq);
  const config defaults;
  config c;
  // Focused draws vary the knobs that shape the receive path, and a few others (short
  // reproducers, as a person would try them); wild draws vary every knob at once
  // (combinations nobody would think of).
  static const std::vector<std::string> shaping{
      "host.cpus", "app.cpu", "host.irq_cpu", "app.pinned", "app.readers", "app.mode", "host.napi",
      "app.busy_poll_us", "host.udp_backlog", "nic.rx_queues", "nic.coalesce.mode", "nic.coalesce.rx_usecs",
      "nic.coalesce.rx_frames", "traffic.pattern", "traffic.frame_bytes", "traffic.rate_gbps",
      // the transmit path (issue 12)
      "app.role", "traffic.rr_outstanding", "nic.tx_ring_size", "host.txqueuelen", "host.bql",
      "nic.coalesce.tx_usecs"};
  const bool focused = std::uniform_real_distribution<double>(0, 1)(rng) < 0.6;
  std::vector<const config::knob*> knobs;
  for (const auto& [key, k] : defaults.knobs())
    if (!focused || std::find(shaping.begin(), shaping.end(), key) == shaping.end()) knobs.push_back(&k);
  if (focused) {
    std::shuffle(knobs.begin(), knobs.end(), rng);
    knobs.resize(std::uniform_int_distribution<size_t>(0, 4)(rng));
    for (const auto& key : shaping) knobs.push_back(&defaults.knobs().at(key));
  }
  for (const auto* k : knobs) c.set(k->key, draw_value(*k, rng), "soak");
  const double us = std::exp(
      std::uniform_real_distribution<double>(std::log(std::min(100.0, max_us)), std::log(max_us))(rng));
  c.set("sim.duration_us", text(std::ceil(us)), "soak");
  // Half the time a load that matters (uniform up to line rate), not only the log-uniform trickle.
  if (std::uniform_int_distribution<int>(0, 1)(rng) == 0)
    c.set("traffic.rate_gbps",
          format_value(std::uniform_real_distribution<double>(0.01, 1)(rng) * num(c, "nic.line_rate_gbps"),
                       false),
          "soak");
  if (std::uniform_real_distribution<double>(0, 1)(rng) >= invalid_share) repair(c, rng);
  drawn d;
  try {
    c.validate();
  } catch (const config_error& e) {
    d.valid = false;
    d.invalid_why = e.what();
  }
  for (const auto& [key, k] : c.knobs())
    // Off its default, or set on purpose: a value equal to the generic default still has to be
    // given when nic.model would otherwise change it.
    if (k.value != defaults.text(key) || (c.is_explicit(key) && c.text("nic.model") != "generic"))
      d.sets.push_back(key + "=" + k.value);
  return d;
}

std::string shell_quote(const std::string& s) {
  if (s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-=/+:,") ==
      std::string::npos)
    return s;
  std::string q = "'";
  for (const char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

struct job {
  uint64_t index;
  drawn cfg;
  pid_t pid;
  std::chrono::steady_clock::time_point start;
  std::string output_path;
  bool timed_out = false;
  std::string command;  // reproduces the run
  std::string json_path;
  uint64_t peak_rss_mb = 0;
  bool over_memory = false;
};

// Resident memory of a process in MB (0 when it cannot be read).
uint64_t rss_mb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) / 1024;
  return 0;
}

std::string read_tail(const std::string& path, size_t max_lines) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  std::string out;
  for (size_t i = lines.size() > max_lines ? lines.size() - max_lines : 0; i < lines.size(); ++i)
    out += "      " + lines[i] + "\n";
  return out;
}

// The run's error message (its first "nicsim: " line, else its last line),
// stripped of numbers that differ between runs of one bug, so failures group by kind.
std::string signature_of(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (line.rfind("nicsim: ", 0) == 0) {
      last = line;
      break;
    }
    if (!line.empty()) last = line;
  }
  std::string sig;
  for (const char ch : last.substr(0, 160)) {
    const bool digit = std::isdigit(static_cast<unsigned char>(ch)) != 0;
    if (!digit || sig.empty() || sig.back() != '#') sig += digit ? '#' : ch;
  }
  return sig;
}

}  // namespace

// libsystemc.so (linked for tb::config's defaults, tb/knobs.cpp) calls sc_main; this never simulates.
extern "C" int sc_main(int, char*[]) { return 0; }

int main() {
  const uint64_t runs = env_number("NICSIM_SOAK_RUNS", 400);
  const uint64_t seed = env_number("NICSIM_SOAK_SEED", 1);
  const uint64_t jobs = std::max<uint64_t>(1, env_number("NICSIM_SOAK_JOBS", 2));
  const uint64_t timeout_s = env_number("NICSIM_SOAK_TIMEOUT_S", 30);
  const double max_us = static_cast<double>(std::max<uint64_t>(10, env_number("NICSIM_SOAK_MAX_US", 5000)));
  const uint64_t memory_mb = env_number("NICSIM_SOAK_MEMORY_MB", 1024);
  const double invalid_share = static_cast<double>(env_number("NICSIM_SOAK_INVALID_PCT", 5)) / 100.0;
  const char* bin_env = std::getenv("NICSIM_BIN");
  const std::string bin = bin_env ? bin_env : std::string(NICSIM_BINARY_DIR) + "/tb/nicsim";
  const fs::path scratch = fs::path(NICSIM_BINARY_DIR) / ("soak_seed" + std::to_string(seed));
  fs::remove_all(scratch);
  fs::create_directories(scratch);

  std::cout << "soak: " << runs << " random configurations, seed " << seed << ", " << jobs
            << " at a time, sim.duration_us up to " << max_us << ", " << timeout_s << " s and " << memory_mb
            << " MB resident per run, " << bin << "\n"
            << std::flush;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<job> running;
  uint64_t next = 0, ok = 0, delivering = 0, invalid = 0, invalid_rejected = 0;
  std::vector<std::pair<double, std::string>> slowest;  // wall seconds, command
  struct failure {
    uint64_t index;
    std::string why, command, tail;
  };
  std::map<std::string, std::vector<failure>> by_kind;  // kind -> failures, in run order
  uint64_t failures = 0;

  auto finish = [&](job& j, int status) {
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - j.start).count();
    slowest.emplace_back(wall, j.command);
    std::sort(slowest.begin(), slowest.end(), std::greater<>());
    if (slowest.size() > 3) slowest.pop_back();
    invalid += j.cfg.valid ? 0 : 1;
    std::string why, kind;
    const bool exited = WIFEXITED(status);
    const int code = exited ? WEXITSTATUS(status) : -1;
    if (j.over_memory) {
      why = "resident memory above " + std::to_string(memory_mb) + " MB";
      kind = "memory";
    } else if (j.timed_out) {
      why = "timeout after " + std::to_string(timeout_s) + " s";
      kind = "timeout";
    } else if (WIFSIGNALED(status)) {
      why = "killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
      kind = why;
    } else if (j.cfg.valid && code == 0) {
      ++ok;
      std::ifstream in(j.json_path);
      std::stringstream text;
      text << in.rdbuf();
      const auto doc = nlohmann::json::parse(text.str(), nullptr, false);
      const nlohmann::json::json_pointer messages("/app/messages");
      if (!doc.is_discarded() && doc.contains(messages) && doc.at(messages).is_number() &&
          doc.at(messages).get<double>() > 0)
        ++delivering;
    } else if (!j.cfg.valid && code == 2) {
      ++invalid_rejected;
    } else if (!j.cfg.valid) {
      why = "exit " + std::to_string(code) + " for a configuration config::validate() rejects (" +
            j.cfg.invalid_why + "); expected exit 2";
      kind = "exit " + std::to_string(code) + " on an invalid configuration";
    } else {
      why = "exit " + std::to_string(code) +
            (code == 2 ? " (bad input) for a configuration config::validate() accepts" : "");
      kind = "exit " + std::to_string(code);
    }
    if (!why.empty()) {
      kind += ": " + signature_of(j.output_path);
      by_kind[kind].push_back({j.index, why, j.command, read_tail(j.output_path, 6)});
      ++failures;
      std::cout << "soak: run " << j.index << " failed: " << why << "\n  " << j.command << "\n" << std::flush;
    } else {
      std::error_code ec;
      fs::remove(j.output_path, ec);
      if (std::getenv("NICSIM_SOAK_KEEP") == nullptr) fs::remove(j.json_path, ec);
    }
  };

  while (next < runs || !running.empty()) {
    while (next < runs && running.size() < jobs) {
      job j{next,
            draw_config(seed, next, max_us, invalid_share),
            -1,
            std::chrono::steady_clock::now(),
            (scratch / ("run" + std::to_string(next) + ".out")).string(),
            false,
            "",
            "",
            0,
            false};
      ++next;
      std::vector<std::string> args{bin, "run", "--quiet"};
      for (const auto& s : j.cfg.sets) args.insert(args.end(), {"--set", s});
      for (const auto& a : args) j.command += (j.command.empty() ? "" : " ") + shell_quote(a);
      j.json_path = (scratch / ("run" + std::to_string(j.index) + ".json")).string();
      args.insert(args.end(), {"--json", j.json_path});
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      const int out_fd = ::open(j.output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      j.pid = fork();
      if (j.pid == 0) {
        const rlim_t bytes = static_cast<rlim_t>(4 * memory_mb) << 20;
        const rlimit as{bytes, bytes};
        setrlimit(RLIMIT_AS, &as);
        const rlimit no_core{0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        if (out_fd >= 0) {
          dup2(out_fd, STDOUT_FILENO);
          dup2(out_fd, STDERR_FILENO);
        }
        execv(argv[0], argv.data());
        _exit(127);
      }
      if (out_fd >= 0) ::close(out_fd);
      if (j.pid < 0) {
        std::cerr << "soak: fork: " << std::strerror(errno) << "\n";
        return 1;
      }
      running.push_back(std::move(j));
    }
    bool reaped = false;
    for (auto it = running.begin(); it != running.end();) {
      int status = 0;
      const pid_t r = waitpid(it->pid, &status, WNOHANG);
      if (r == it->pid) {
        finish(*it, status);
        it = running.erase(it);
        reaped = true;
        continue;
      }
      if (!it->timed_out && std::chrono::steady_clock::now() - it->start > std::chrono::seconds(timeout_s)) {
        it->timed_out = true;
        kill(it->pid, SIGKILL);
      }
      it->peak_rss_mb = std::max(it->peak_rss_mb, rss_mb(it->pid));
      if (!it->over_memory && it->peak_rss_mb > memory_mb) {
        it->over_memory = true;
        kill(it->pid, SIGKILL);
      }
      ++it;
    }
    if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "soak: " << runs << " runs in " << format_value(secs, false) << " s: " << ok
            << " ran cleanly (" << delivering << " of them delivered messages to the application), "
            << invalid_rejected << " of " << invalid << " invalid by cross-knob rules rejected with exit 2 ("
            << format_value(
                   100.0 * static_cast<double>(invalid) / static_cast<double>(std::max<uint64_t>(runs, 1)),
                   false)
            << " % of the draws), " << failures << " failed\n";
  for (const auto& [wall, command] : slowest)
    std::cout << "soak: slow: " << format_value(wall, false) << " s  " << command << "\n";
  if (failures == 0) {
    fs::remove_all(scratch);
    return 0;
  }
  std::cout
      << "\nsoak: failures by kind (the first three of each, with a command line that reproduces it):\n";
  for (const auto& [kind, list] : by_kind) {
    std::cout << "\n== " << list.size() << " x " << kind << "\n";
    for (size_t i = 0; i < list.size() && i < 3; ++i)
      std::cout << "  run " << list[i].index << ": " << list[i].why << "\n    " << list[i].command << "\n"
                << list[i].tail;
  }
  std::cout << "\nsoak: the output of every failed run is in " << scratch.string()
            << "/run<N>.out; rerun one draw with the command line above.\n";
  return 1;
}
