// The calibrated cost table: its YAML and JSON, the summary printed, and `nicsim calibrate`.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <new>
#include <sstream>

#include "host/cost_table.h"
#include "tb/calibrate.h"
#include "tb/calibrate/calibrate_internal.h"
#include "tb/run.h"
#include "waves/output_file.h"

namespace nicsim::tb {

using calibrate_internal::median;

// ------------------------------------------------------------------ the table

namespace {

std::string fmt(double v, int precision) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(precision) << v;
  return os.str();
}

std::string fmt_rate(double dgram_s) { return fmt(dgram_s / 1000, 0) + " k/s"; }

std::string entry_key(const std::string& line) {
  size_t i = 0;
  while (i < line.size() && (std::islower(static_cast<unsigned char>(line[i])) ||
                             std::isdigit(static_cast<unsigned char>(line[i])) || line[i] == '_'))
    ++i;
  return i > 0 && i < line.size() && line[i] == ':' ? line.substr(0, i) : "";
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char s[32];
  std::strftime(s, sizeof s, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return s;
}

}  // namespace

// ------------------------------------------------------------------ public

std::string calibrated_costs_yaml(const calibration& c) {
  const double ghz = c.cpu_ghz;
  const auto defaults = host::cost_table::defaults(ghz);
  const double copy_fixed = defaults.at(host::cost::copy_to_user).cycles;
  std::ostringstream y;
  y << "# nicsim cost table calibrated on this machine by `nicsim calibrate` (" << now_utc() << ")\n"
    << "#   CPU: " << (c.cpu_model.empty() ? "unknown" : c.cpu_model) << ", " << c.cpus.size()
    << " CPUs usable; " << c.kernel << "\n"
    << "# calibrated at cpu_ghz: " << fmt(ghz, 3) << "   (" << c.cpu_ghz_source << ")\n"
    << "# Cycles are measured ns x " << fmt(ghz, 3) << ". Run the model at the same clock:\n"
    << "#   nicsim run --costs THIS_FILE --set host.cpu_ghz=" << fmt(ghz, 3) << "\n"
    << "#\n"
    << "# Entries marked MEASURED on their line were measured; how:\n"
    << "#   syscall         syscall(SYS_getppid) in a loop, median of batches of 1000 calls over "
    << c.syscall_calls << " calls: " << fmt(c.syscall_ns, 1) << " ns.\n"
    << "#   context_switch  1-byte pipe ping-pong between two processes "
    << (c.pingpong_cpu >= 0 ? "pinned to CPU " + std::to_string(c.pingpong_cpu) : std::string("(NOT pinned)"))
    << ", " << c.pingpong_round_trips << " round trips,\n"
    << "#                   median round trip " << fmt(c.pingpong_round_trip_ns, 0) << " ns ("
    << fmt(c.pingpong_switches_per_round_trip, 2) << " switches of one side per trip).\n"
    << "#                   Half a round trip (" << fmt(c.pingpong_round_trip_ns / 2, 0)
    << " ns) minus a pipe write+read that wakes nobody\n"
    << "#                   (" << fmt(c.pipe_pair_ns, 0) << " ns) minus the table's ttwu ("
    << fmt(c.ttwu_ns, 0) << " ns, charged apart by the model) = " << fmt(c.context_switch_ns, 0) << " ns"
    << (c.context_switch_floored ? " (raised to a tenth of the half trip: the difference was smaller)" : "")
    << ".\n"
    << "#   copy_to_user    per_byte: memcpy between two " << (c.copy_buffer_bytes >> 20)
    << " MiB buffers (L2 is " << (c.l2_bytes >> 10) << " KiB), median " << fmt(c.copy_gb_s, 2)
    << " GB/s = " << fmt(c.copy_ns_per_byte, 4) << " ns/B.\n"
    << "#                   The fixed " << fmt(copy_fixed, 0)
    << " cycles is the default. (A 1472-byte copy within L1 took " << fmt(c.copy_hot_1472_ns, 0) << " ns.)\n"
    << "#\n"
    << "# UDP over loopback (127.0.0.1); no table entry, docs/calibrate.md compares them with the model.\n"
    << "# Queued, then drained with non-blocking recvfrom (CPU time per datagram, no waiting or "
       "switching):\n";
  for (const auto& q : c.udp_queue)
    y << "#   " << std::setw(4) << q.payload_bytes << " B: send (TX + RX path to the socket queue) "
      << fmt(q.send_cpu_ns, 0) << " ns, recvfrom " << fmt(q.recv_cpu_ns, 0) << " ns\n";
  y << "# A sender blasting at a blocking recvfrom (load average at the start: " << c.loadavg << "):\n";
  for (const auto& r : c.udp)
    y << "#   " << std::setw(4) << r.payload_bytes << " B, " << (r.same_cpu ? "one CPU " : "two CPUs") << ": "
      << fmt_rate(r.rate_dgram_s) << " received (" << fmt_rate(r.sent_rate_dgram_s) << " sent), receiver "
      << fmt(r.receiver_cpu_ns, 0) << " ns CPU/datagram, sender " << fmt(r.sender_cpu_ns, 0)
      << " ns CPU/datagram"
      << (r.others_busy >= 0 ? ", other processes on its CPUs " + fmt(r.others_busy * 100, 0) + "%" : "")
      << "\n";
  y << "#\n# Every other entry is the built-in default (host/costs.yaml); its header and sources "
       "follow.\n#\n";

  const std::string measured_note = "  # MEASURED on this machine (see the header)";
  std::istringstream in(host::cost_table::default_yaml());
  std::string line;
  while (std::getline(in, line)) {
    const std::string key = entry_key(line);
    if (key == "syscall") {
      y << "syscall:          {cycles: " << fmt(c.syscall_ns * ghz, 0) << "}" << measured_note << ": "
        << fmt(c.syscall_ns, 1) << " ns\n";
    } else if (key == "context_switch") {
      y << "context_switch:   {cycles: " << fmt(c.context_switch_ns * ghz, 0) << "}" << measured_note << ": "
        << fmt(c.context_switch_ns, 0) << " ns\n";
    } else if (key == "copy_to_user") {
      y << "copy_to_user:     {cycles: " << fmt(copy_fixed, 0)
        << ", per_byte: " << fmt(c.copy_ns_per_byte * ghz, 4) << "}" << measured_note << ": per_byte "
        << fmt(c.copy_gb_s, 2) << " GB/s; cycles default\n";
    } else {
      y << line << "\n";
    }
  }
  return y.str();
}

nlohmann::ordered_json calibration_json(const calibration& c) {
  nlohmann::ordered_json j;
  j["cpu_ghz"] = c.cpu_ghz;
  j["cpu_ghz_source"] = c.cpu_ghz_source;
  j["cpu_model"] = c.cpu_model;
  j["kernel"] = c.kernel;
  j["cpus"] = c.cpus;
  j["loadavg"] = c.loadavg;
  j["seconds"] = c.seconds;
  j["elapsed_s"] = c.elapsed_s;
  j["syscall"] = {{"ns", c.syscall_ns}, {"calls", c.syscall_calls}};
  j["context_switch"] = {{"ns", c.context_switch_ns},
                         {"pingpong_round_trip_ns", c.pingpong_round_trip_ns},
                         {"round_trips", c.pingpong_round_trips},
                         {"pinned_cpu", c.pingpong_cpu},
                         {"switches_per_round_trip", c.pingpong_switches_per_round_trip},
                         {"pipe_write_read_ns", c.pipe_pair_ns},
                         {"ttwu_ns_subtracted", c.ttwu_ns},
                         {"floored", c.context_switch_floored}};
  j["copy"] = {{"buffer_bytes", c.copy_buffer_bytes},
               {"l2_bytes", c.l2_bytes},
               {"gb_s", c.copy_gb_s},
               {"ns_per_byte", c.copy_ns_per_byte},
               {"hot_1472_ns", c.copy_hot_1472_ns}};
  auto& queue = j["udp_queue_drain"] = nlohmann::ordered_json::array();
  for (const auto& q : c.udp_queue)
    queue.push_back({{"payload_bytes", q.payload_bytes},
                     {"cpu", q.cpu},
                     {"batch", q.batch},
                     {"rounds", q.rounds},
                     {"datagrams", q.datagrams},
                     {"lost", q.lost},
                     {"send_cpu_ns_per_dgram", q.send_cpu_ns},
                     {"recv_cpu_ns_per_dgram", q.recv_cpu_ns}});
  auto& udp = j["udp_loopback"] = nlohmann::ordered_json::array();
  for (const auto& r : c.udp)
    udp.push_back({{"payload_bytes", r.payload_bytes},
                   {"placement", r.same_cpu ? "one_cpu" : "two_cpus"},
                   {"receiver_cpu", r.receiver_cpu},
                   {"sender_cpu", r.sender_cpu},
                   {"window_s", r.window_s},
                   {"received", r.received},
                   {"sent", r.sent},
                   {"rcvbuf_errors", r.rcvbuf_errors},
                   {"rate_dgram_s", r.rate_dgram_s},
                   {"sent_rate_dgram_s", r.sent_rate_dgram_s},
                   {"receiver_cpu_ns_per_dgram", r.receiver_cpu_ns},
                   {"receiver_busy", r.receiver_busy},
                   {"sender_cpu_ns_per_dgram", r.sender_cpu_ns},
                   {"receiver_switches_per_dgram", r.receiver_switches},
                   {"proc_stat_split_order", {"user", "system", "irq", "softirq", "idle", "steal"}},
                   {"receiver_cpu_proc_stat", r.receiver_cpu_split},
                   {"sender_cpu_proc_stat", r.sender_cpu_split},
                   {"others_busy", r.others_busy}});
  const double ghz = c.cpu_ghz;
  j["entries"] = {{"syscall", {{"cycles", c.syscall_ns * ghz}}},
                  {"context_switch", {{"cycles", c.context_switch_ns * ghz}}},
                  {"copy_to_user", {{"per_byte", c.copy_ns_per_byte * ghz}}}};
  return j;
}

void print_calibration(std::ostream& os, const calibration& c) {
  const double ghz = c.cpu_ghz;
  os << "nicsim calibrate: " << (c.cpu_model.empty() ? "unknown CPU" : c.cpu_model) << ", " << c.kernel
     << ", " << c.cpus.size() << " CPUs usable, " << fmt(ghz, 3) << " GHz (" << c.cpu_ghz_source << "), "
     << fmt(c.elapsed_s, 1) << " s\n";
  auto row = [&](const std::string& what, const std::string& value, const std::string& entry) {
    os << "  " << std::left << std::setw(40) << what << std::setw(22) << value << entry << "\n";
  };
  row("syscall(SYS_getppid)", fmt(c.syscall_ns, 1) + " ns",
      "syscall " + fmt(c.syscall_ns * ghz, 0) + " cycles");
  row("pipe write+read, no waiter", fmt(c.pipe_pair_ns, 0) + " ns", "");
  row("pipe ping-pong round trip" + (c.pingpong_cpu >= 0 ? " (CPU " + std::to_string(c.pingpong_cpu) + ")"
                                                         : std::string(" (unpinned)")),
      fmt(c.pingpong_round_trip_ns, 0) + " ns", "");
  row("  - pipe work - ttwu " + fmt(c.ttwu_ns, 0) + " ns (table)", fmt(c.context_switch_ns, 0) + " ns",
      "context_switch " + fmt(c.context_switch_ns * ghz, 0) + " cycles");
  row("memcpy " + std::to_string(c.copy_buffer_bytes >> 20) + " MiB (L2 " + std::to_string(c.l2_bytes >> 10) +
          " KiB)",
      fmt(c.copy_gb_s, 2) + " GB/s", "copy_to_user.per_byte " + fmt(c.copy_ns_per_byte * ghz, 4));
  row("memcpy 1472 B within L1", fmt(c.copy_hot_1472_ns, 0) + " ns", "(not used)");
  os << "  UDP on 127.0.0.1, queued then drained with non-blocking recvfrom (CPU time, no switching):\n";
  os << "    " << std::left << std::setw(7) << "bytes" << std::right << std::setw(16) << "send ns/dgram"
     << std::setw(20) << "recvfrom ns/dgram" << std::setw(8) << "batch" << std::setw(8) << "rounds"
     << std::setw(8) << "lost"
     << "\n";
  for (const auto& q : c.udp_queue)
    os << "    " << std::left << std::setw(7) << q.payload_bytes << std::right << std::setw(16)
       << fmt(q.send_cpu_ns, 0) << std::setw(20) << fmt(q.recv_cpu_ns, 0) << std::setw(8) << q.batch
       << std::setw(8) << q.rounds << std::setw(8) << q.lost << "\n";
  os << "  UDP on 127.0.0.1, a sender blasting at a blocking recvfrom (load average " << c.loadavg << "):\n";
  os << "    " << std::left << std::setw(7) << "bytes" << std::setw(6) << "CPUs" << std::right
     << std::setw(12) << "received/s" << std::setw(10) << "sent/s" << std::setw(15) << "recv ns/dgram"
     << std::setw(11) << "recv busy" << std::setw(15) << "send ns/dgram" << std::setw(14) << "switch/dgram"
     << std::setw(14) << "RcvbufErrors" << std::setw(8) << "others"
     << "\n";
  for (const auto& r : c.udp)
    os << "    " << std::left << std::setw(7) << r.payload_bytes << std::setw(6)
       << (r.same_cpu ? "one" : "two") << std::right << std::setw(12) << fmt(r.rate_dgram_s, 0)
       << std::setw(10) << fmt(r.sent_rate_dgram_s, 0) << std::setw(15) << fmt(r.receiver_cpu_ns, 0)
       << std::setw(10) << fmt(r.receiver_busy * 100, 0) << "%" << std::setw(15) << fmt(r.sender_cpu_ns, 0)
       << std::setw(14) << fmt(r.receiver_switches, 3) << std::setw(14) << r.rcvbuf_errors << std::setw(7)
       << (r.others_busy >= 0 ? fmt(r.others_busy * 100, 0) : std::string("?")) << "%\n";
  for (const auto& r : c.udp)
    if (r.others_busy > 0.1) {
      os << "  note: other processes took " << fmt(r.others_busy * 100, 0)
         << "% of the CPUs during a loopback run; its rates are low, its CPU times per datagram less so\n";
      break;
    }
}

int calibrate_command(const calibrate_options& opt) {
  // The outputs are checked before seconds of measuring, not after; nothing is
  // created until they are written (waves/output_file.h).
  waves::output_set outputs;
  size_t out_file = SIZE_MAX, json_file = SIZE_MAX;
  try {
    if (!opt.out.empty()) out_file = outputs.add(opt.out, "--out");
    if (!opt.json.empty()) json_file = outputs.add(opt.json, "--json");
  } catch (const waves::output_path_error& e) {
    std::cerr << "nicsim calibrate: " << e.what() << "\n";
    return 2;
  }
  calibration c;
  try {
    c = measure_machine(opt);
  } catch (const calibrate_error& e) {
    std::cerr << "nicsim calibrate: measurement failed: " << e.what() << "\n";
    return 1;
  }
  const std::string yaml = calibrated_costs_yaml(c);
  try {  // the file must be one that `nicsim run --costs` takes
    host::cost_table::parse(yaml, "calibrated table", c.cpu_ghz);
  } catch (const std::invalid_argument& e) {
    std::cerr << "nicsim calibrate: internal failure: " << e.what() << "\n";
    return 1;
  }
  try {
    outputs.open();
    if (json_file != SIZE_MAX) outputs.write_text(json_file, calibration_json(c).dump(2) + "\n");
    if (out_file != SIZE_MAX) outputs.write_text(out_file, yaml);
    outputs.commit();
  } catch (const std::exception& e) {  // a full disk, say: nothing is left behind
    std::cerr << "nicsim calibrate: " << e.what() << "\n";
    return 1;
  }
  print_calibration(opt.out.empty() ? std::cerr : std::cout, c);
  if (opt.out.empty())
    std::cout << yaml;
  else
    std::cout << "  wrote " << opt.out << "; use it with: nicsim run --costs " << opt.out
              << " --set host.cpu_ghz=" << fmt(c.cpu_ghz, 3) << "\n";
  return 0;
}

}  // namespace nicsim::tb
