// Results of a sweep: results.csv, merging shards, the report.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "host/yaml_input.h"
#include "tb/run.h"
#include "tb/sweep.h"
#include "tb/sweep/sweep_internal.h"

namespace nicsim::tb {

using namespace sweep_internal;

namespace sweep_internal {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string csv_text(const sweep_plan& plan, const std::map<size_t, std::vector<std::string>>& rows) {
  std::string out = "point,id";
  for (const auto& g : plan.grids) out += "," + csv_field(g.seeds ? std::string("seed") : g.key);
  for (const auto& c : result_columns()) out += "," + c;
  out += "\n";
  for (const auto& [index, cells] : rows) {
    std::string line;
    for (const auto& c : cells) line += (line.empty() ? "" : ",") + csv_field(c);
    out += line + "\n";
  }
  return out;
}

std::vector<std::string> csv_row(const sweep_point& p, const json& j) {
  std::vector<std::string> cells{std::to_string(p.index), p.id};
  for (const auto& [k, v] : p.values) cells.push_back(v);
  for (auto& c : result_row(j)) cells.push_back(std::move(c));
  return cells;
}

// The build copies scripts/sweep_report.py next to the nicsim binary, and an installed nicsim
// (bin/nicsim) has it in share/nicsim/: it is looked up there, through /proc/self/exe
// (NICSIM_REPORT_SCRIPT overrides).
std::string report_script() {
  if (const char* s = std::getenv("NICSIM_REPORT_SCRIPT")) return s;
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  const fs::path dir = ec ? fs::path(".") : exe.parent_path();
  const fs::path installed = dir.parent_path() / "share" / "nicsim" / "sweep_report.py";
  if (!fs::exists(dir / "sweep_report.py", ec) && fs::exists(installed, ec)) return installed.string();
  return (dir / "sweep_report.py").string();
}

std::string report_python() {
  if (const char* s = std::getenv("NICSIM_PYTHON")) return s;
  return "/usr/bin/python3";
}

// Draws DIR/report.html; returns false (after saying why) when it could not.
bool draw_report(const std::string& dir) {
  const auto python = report_python();
  const auto script = report_script();
  if (::access(python.c_str(), X_OK) != 0) {
    std::cerr << "nicsim: no report: " << python << " not found (install python3-matplotlib); results are in "
              << (fs::path(dir) / "results.csv").string() << "\n";
    return false;
  }
  if (::access(script.c_str(), R_OK) != 0) {
    std::cerr << "nicsim: no report: " << script << " not found (set NICSIM_REPORT_SCRIPT); results are in "
              << (fs::path(dir) / "results.csv").string() << "\n";
    return false;
  }
  const int status = run_and_wait({python, script, dir});
  if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == REPORT_NO_MATPLOTLIB) {
    std::cerr << "nicsim: no report: matplotlib is missing for " << python
              << " (apt-get install python3-matplotlib); results are in "
              << (fs::path(dir) / "results.csv").string() << "\n";
    return false;
  }
  std::cerr << "nicsim: the report script failed (" << python << " " << script << " " << dir
            << "); results are in " << (fs::path(dir) / "results.csv").string() << "\n";
  return false;
}

// Every finished point of the plan in DIR, as results.csv rows.
std::map<size_t, std::vector<std::string>> finished_rows(const sweep_plan& plan, const std::string& dir,
                                                         std::vector<sweep_point>* mismatched) {
  std::map<size_t, std::vector<std::string>> rows;
  std::error_code ec;
  for (size_t i = 0; i < plan.size(); ++i) {
    const auto p = plan.point(i);
    const auto path = points_dir(dir) / (p.id + ".json");
    if (!fs::exists(path, ec)) continue;
    bool mismatch = false;
    const auto j = load_point_json(path, plan, p, &mismatch);
    if (!j.is_null())
      rows[i] = csv_row(p, j);
    else if (mismatched)
      mismatched->push_back(p);
  }
  return rows;
}

}  // namespace sweep_internal

const std::vector<std::string>& result_columns() {
  static const std::vector<std::string> columns{
      "sim_time_ns",
      "host.cpus",
      "offered_gbps",
      "offered_kpps",
      "wire.frames",
      "app.messages",
      "delivered_kpps",
      "delivered_pct",
      "drops",
      "nic.rx_missed",
      "nic.rx_no_buffer_count",
      "nic.rx_no_dma_resources",
      "host.softnet.dropped",
      "udp.RcvbufErrors",
      "udp.NoPorts",
      "udp.InErrors",
      "nic.interrupts",
      "interrupts_per_s",
      "host.hardirqs",
      "host.napi_polls",
      "host.softnet.time_squeeze",
      "host.ksoftirqd_wakeups",
      "host.context_switches",
      "latency_ns.p50",
      "latency_ns.p99",
      "latency_ns.p999",
      "latency_ns.max",
      "host.cpu_ns.user",
      "host.cpu_ns.system",
      "host.cpu_ns.hardirq",
      "host.cpu_ns.softirq",
      "host.cpu_ns.ksoftirqd",
      "host.cpu_ns.idle",
      "conservation.ok",
      // What the application read, as goodput, and the CPU it cost (busy CPU time, every
      // context but idle, per KiB read); then TCP's: the partner's retransmissions, RTOs and
      // smoothed RTT, the host's out-of-order queueing, GRO's merges.
      "app.bytes",
      "goodput_gbps",
      "cpu_ns_per_kib",
      "partner.tcp.retrans_segs",
      "partner.tcp.rto_count",
      "partner.tcp.srtt_us",
      "tcpext.TCPOFOQueue",
      "host.gro.merged",
  };
  return columns;
}

std::vector<std::string> result_row(const json& j) {
  auto at = [&j](const std::string& dotted) -> const json* {
    std::string ptr = "/" + dotted;
    std::replace(ptr.begin(), ptr.end(), '.', '/');
    const json::json_pointer p(ptr);
    return j.contains(p) ? &j.at(p) : nullptr;
  };
  auto num = [&at](const std::string& dotted, double& v) {
    const json* x = at(dotted);
    if (x == nullptr || !x->is_number()) return false;
    v = x->get<double>();
    return true;
  };
  double sim_ns = 0, frames = 0, messages = 0, irqs = 0;
  const bool have_time = num("sim.sim_time_ns", sim_ns) && sim_ns > 0;
  std::vector<std::string> row;
  for (const auto& c : result_columns()) {
    std::string cell;
    if (c == "sim_time_ns") {
      if (const json* x = at("sim.sim_time_ns")) cell = x->dump();
    } else if (c == "offered_gbps") {
      double v = 0;
      if (j.contains("config") && j["config"].contains("traffic.rate_gbps") &&
          parse_double(j["config"]["traffic.rate_gbps"].get<std::string>(), v))
        cell = format_derived(v);
    } else if (c == "offered_kpps") {
      if (have_time && num("wire.frames", frames)) cell = format_derived(frames * 1e6 / sim_ns);
    } else if (c == "delivered_kpps") {
      if (have_time && num("app.messages", messages)) cell = format_derived(messages * 1e6 / sim_ns);
    } else if (c == "delivered_pct") {
      if (num("wire.frames", frames) && num("app.messages", messages) && frames > 0)
        cell = format_derived(100 * messages / frames);
    } else if (c == "drops") {
      if (const json* x = at("conservation.dropped")) cell = x->dump();
    } else if (c == "goodput_gbps") {
      double bytes = 0;
      if (have_time && num("app.bytes", bytes)) cell = format_derived(bytes * 8 / sim_ns);
    } else if (c == "cpu_ns_per_kib") {
      double bytes = 0, busy = 0, v = 0;
      for (const char* k : {"user", "system", "hardirq", "softirq", "ksoftirqd"})
        if (num(std::string("host.cpu_ns.") + k, v)) busy += v;
      if (num("app.bytes", bytes) && bytes > 0) cell = format_derived(busy * 1024 / bytes);
    } else if (c == "interrupts_per_s") {
      if (have_time && num("nic.interrupts", irqs)) cell = format_derived(irqs * 1e9 / sim_ns);
    } else if (const json* x = at(c)) {
      if (x->is_boolean())
        cell = x->get<bool>() ? "true" : "false";
      else if (x->is_number_float())
        cell = format_derived(x->get<double>());
      else if (x->is_primitive() && !x->is_null())
        cell = x->is_string() ? x->get<std::string>() : x->dump();
    }
    row.push_back(cell);
  }
  return row;
}

std::string results_csv(const sweep_plan& plan, const std::string& dir) {
  return csv_text(plan, finished_rows(plan, dir, nullptr));
}

int merge_command(const std::string& out, const std::vector<std::string>& shard_dirs, bool report) {
  sweep_plan plan;
  std::vector<sweep_plan> plans;
  dir_lock lock;  // held until the merge returns
  try {
    if (shard_dirs.empty()) bad_input("merge: name at least one shard directory");
    for (const auto& d : shard_dirs) plans.push_back(load_sweep_plan((fs::path(d) / "sweep.json").string()));
    plan = plans.front();
    for (size_t i = 1; i < plans.size(); ++i) {
      const auto diff = plan.difference(plans[i]);
      if (!diff.empty())
        bad_input(shard_dirs[i] + " is not a shard of the same sweep as " + shard_dirs.front() + ": " + diff);
    }
    open_sweep_dir(plan, out, lock, "nicsim merge");
  } catch (const config_error& e) {
    std::cerr << "nicsim merge: " << e.what() << "\n";
    return EXIT_BAD_INPUT;
  }
  size_t copied = 0, present = 0;
  std::vector<sweep_point> missing;
  std::error_code ec;
  try {
    for (size_t i = 0; i < plan.size(); ++i) {
      const auto p = plan.point(i);
      const auto target = points_dir(out) / (p.id + ".json");
      bool have = fs::exists(target, ec) && !load_point_json(target, plan, p, nullptr).is_null();
      for (const auto& d : shard_dirs) {
        if (have) break;
        const auto source = points_dir(d) / (p.id + ".json");
        if (!fs::exists(source, ec) || fs::equivalent(source, target, ec)) continue;
        bool mismatch = false;
        if (load_point_json(source, plan, p, &mismatch).is_null()) {
          if (mismatch)
            std::cerr << "nicsim merge: " << source.string() << " does not hold point " << p.id
                      << "; skipped\n";
          continue;
        }
        std::string text;
        if (!read_text(source, text)) continue;
        write_whole_file(target, text);
        ++copied;
        have = true;
      }
      if (have)
        ++present;
      else
        missing.push_back(p);
    }
    write_whole_file(fs::path(out) / "results.csv", results_csv(plan, out));
  } catch (const std::exception& e) {
    append_log(out, "merge stopped: " + std::string(e.what()));
    std::cerr << "nicsim merge: stopped: " << e.what() << "; the points copied so far are kept in "
              << points_dir(out).string() << "; make room and run the same command again.\n";
    return EXIT_INTERNAL;
  }
  fs::remove(running_dir(out), ec);  // only when empty (a merge runs no points)
  append_log(out, "merge " + std::to_string(copied) + " points copied from " +
                      std::to_string(shard_dirs.size()) + " directories");
  std::cerr << "nicsim merge: " << present << " of " << plan.size() << " points (" << copied
            << " copied from " << shard_dirs.size() << " directories); results in "
            << (fs::path(out) / "results.csv").string() << "\n";
  if (report && !draw_report(out)) remove_leftovers(out);
  if (!missing.empty()) {
    std::cerr << "nicsim merge: " << missing.size() << " points have no result yet:\n";
    for (size_t i = 0; i < missing.size() && i < 20; ++i)
      std::cerr << "  " << missing[i].id << "  " << describe(missing[i].values) << "\n";
    if (missing.size() > 20) std::cerr << "  ...\n";
    return EXIT_INTERNAL;
  }
  return EXIT_OK;
}

int report_command(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(fs::path(dir) / "results.csv", ec)) {
    std::cerr << "nicsim report: " << (fs::path(dir) / "results.csv").string() << " does not exist\n";
    return EXIT_BAD_INPUT;
  }
  return draw_report(dir) ? EXIT_OK : EXIT_INTERNAL;
}

}  // namespace nicsim::tb
