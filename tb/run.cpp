#include "tb/run.h"

#include <pthread.h>
#include <sys/statvfs.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "tb/calibrate.h"
#include "tb/run_internal.h"
#include "tb/system_top.h"
#include "tb/trace_hub.h"
#include "tb/version.h"
#include "waves/output_file.h"

namespace nicsim::tb {

config load_config(const std::string& scenario_path, const std::vector<std::string>& sets) {
  config cfg;
  if (!scenario_path.empty()) cfg.load_file(scenario_path);
  for (const auto& s : sets) cfg.set_assignment(s);
  cfg.validate();
  return cfg;
}

nlohmann::ordered_json run_simulation(const config& cfg) { return run_simulation(cfg, trace_options{}); }

namespace {

host::cost_table load_costs(const std::string& path, double cpu_ghz) {
  if (path.empty()) return host::cost_table::defaults(cpu_ghz);
  const std::string text = read_input_file(path, "cost table");
  host::cost_table t;
  try {
    t = host::cost_table::parse(text, path, cpu_ghz);
  } catch (const std::invalid_argument& e) {
    throw config_error(e.what());
  }
  // Cycles measured at one clock and charged at another scale every cost.
  const double calibrated = calibrated_cpu_ghz(text);
  if (calibrated > 0 && std::abs(calibrated / cpu_ghz - 1) > 0.01)
    std::cerr << "nicsim: warning: " << path << " was calibrated at cpu_ghz " << calibrated
              << " but host.cpu_ghz is " << cpu_ghz << "; add --set host.cpu_ghz=" << calibrated << "\n";
  return t;
}

// SystemC runs its threads on stacks of its own and does not tell AddressSanitizer
// when it switches; afterwards ASan's idea of the current stack is wrong, and an
// exception thrown then (a failed write) leaves stale poison that later shows as
// false stack-buffer-overflows. Announcing a switch onto the main stack, from the
// main stack, sets it right. Nothing in builds without ASan.
void sanitizer_back_on_main_stack() {
#if defined(__SANITIZE_ADDRESS__)
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
  void* bottom = nullptr;
  size_t size = 0;
  pthread_attr_getstack(&attr, &bottom, &size);
  pthread_attr_destroy(&attr);
  __sanitizer_start_switch_fiber(nullptr, bottom, size);
  __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string directory_of(const std::string& path) { return path.substr(0, path.find_last_of('/')); }

}  // namespace

// A progress line on stderr: a thread of its own wakes now and then in simulated time and,
// at most four times a wall second, rewrites the line (\r) with the simulated time, the rate
// and the time left; the line is cleared at the end. It only waits and reads the clocks,
// so the model's processes run in the same order with it or without it; its wakes do bound
// how far a CPU runs on without waiting (tlm/local_time.h), which can reorder events at the
// same picosecond on several CPUs (README, model limits). Its step in simulated time adapts
// to about 20 wakes per wall second.
class progress_line {
 public:
  progress_line(sc_core::sc_time duration, std::chrono::steady_clock::time_point t0)
      : m_duration(duration), m_t0(t0), m_last(t0) {
    sc_core::sc_spawn_options opts;
    sc_core::sc_spawn([this] { run(); }, sc_core::sc_gen_unique_name("progress"), &opts);
  }
  ~progress_line() {
    m_done = true;
    if (m_shown) std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;

 private:
  void run() {
    sc_core::sc_time step(1, sc_core::SC_US);
    const sc_core::sc_time max_step = m_duration / 100 > step ? m_duration / 100 : step;
    while (!m_done) {
      sc_core::wait(step);
      const auto now = std::chrono::steady_clock::now();
      const double wall = std::chrono::duration<double>(now - m_t0).count();
      const double sim_s = sc_core::sc_time_stamp().to_seconds();
      if (wall > 0 && sim_s > 0) {
        const double next = 0.05 * sim_s / wall;  // simulated seconds per 50 ms of wall time
        step = std::max(sc_core::sc_time(1, sc_core::SC_US),
                        std::min(max_step, sc_core::sc_time(next, sc_core::SC_SEC)));
      }
      // The first line after half a second (short runs stay silent), then four a second.
      if (wall < 0.5 || std::chrono::duration<double>(now - m_last).count() < 0.25) continue;
      m_last = now;
      const double total = m_duration.to_seconds();
      const double rate = sim_s / wall;  // simulated seconds per wall second
      const double eta = rate > 0 ? (total - sim_s) / rate : 0;
      std::fprintf(
          stderr,
          "\rnicsim: %.1f of %.1f ms simulated (%.0f%%), %.3g ms per wall second, about %.0f s left\033[K",
          sim_s * 1e3, total * 1e3, 100 * sim_s / total, rate * 1e3, eta);
      std::fflush(stderr);
      m_shown = true;
    }
  }

  sc_core::sc_time m_duration;
  std::chrono::steady_clock::time_point m_t0, m_last;
  bool m_done = false, m_shown = false;
};

// ------------------------------------------------------------------ run_outputs

run_outputs::run_outputs(const trace_options& trace, const std::string& json_path)
    : m_set(std::make_unique<waves::output_set>()) {
  try {
    if (!trace.waves.empty()) {
      m_waves_ext = ends_with(trace.waves, ".vcd") ? ".vcd" : ".fst";
      if (!ends_with(trace.waves, ".fst") && !ends_with(trace.waves, ".vcd"))
        throw output_error("--waves " + trace.waves + ": wave files end in .fst or .vcd");
      if (trace.waves_from_ps >= trace.waves_to_ps)
        throw output_error("--waves-from must be before --waves-to");
      m_waves = m_set->add(trace.waves, "--waves");
      const auto& w = m_set->target(m_waves);
      // The RTL companion goes next to the wave file, and both need a file.
      if (w.stream)
        throw output_error("--waves " + trace.waves +
                           ": is a device or FIFO; waves need a file (FST seeks in it, and its RTL "
                           "companion goes next to it)");
      m_companion = m_set->add(rtl_companion_path(w.target), "--waves (its RTL companion)");
      if (m_set->target(m_companion).stream)
        throw output_error("--waves (its RTL companion) " + m_set->target(m_companion).path +
                           ": is a device or FIFO; the RTL companion needs a file");
    }
    if (!trace.timeline.empty()) m_timeline = m_set->add(trace.timeline, "--timeline");
    if (!trace.pcap.empty()) {
      m_pcap = m_set->add(trace.pcap, "--pcap");
      const auto& p = m_set->target(m_pcap);
      if (!trace.fates.empty())
        m_fates = m_set->add(trace.fates, "--fates");
      else if (!p.stream)
        m_fates = m_set->add(p.target + ".fates.csv", "--pcap (its fates CSV)");
      else
        m_notes.push_back("--pcap " + trace.pcap +
                          " is a device or FIFO, so no fates CSV goes next to it (--fates FILE writes one)");
    } else if (!trace.fates.empty()) {
      throw output_error("--fates " + trace.fates + ": needs --pcap (it gives each pcap packet's fate)");
    }
    if (!trace.frames.empty()) m_frames = m_set->add(trace.frames, "--frames");
    if (!json_path.empty()) m_json = m_set->add(json_path, "--json");
  } catch (const waves::output_path_error& e) {
    throw output_error(e.what());
  }
}

run_outputs::~run_outputs() = default;

trace_options run_outputs::open(const trace_options& trace) {
  try {
    m_set->open();
  } catch (const waves::output_path_error& e) {
    throw output_error(e.what());
  }
  trace_options t = trace;
  auto staged = [this](size_t i) { return i == NONE ? std::string() : m_set->write_path(i); };
  if (m_waves != NONE) {
    // The format follows the name given; the Verilated block's tracer writes its
    // companion under a name it derives from the wave file's (rtl_companion_path).
    const std::string w = directory_of(m_set->write_path(m_waves)) + "/waves" + m_waves_ext;
    m_set->set_write_path(m_waves, w);
    m_set->set_write_path(m_companion, rtl_companion_path(w));
  }
  t.waves = staged(m_waves);
  t.timeline = staged(m_timeline);
  t.pcap = staged(m_pcap);
  t.fates = staged(m_fates);
  t.frames = staged(m_frames);
  t.names.frames = trace.frames;
  t.names.waves = trace.waves;
  t.names.timeline = trace.timeline;
  t.names.pcap = trace.pcap;
  t.names.fates = m_fates == NONE ? std::string() : m_set->target(m_fates).path;
  return t;
}

void run_outputs::write_json(const std::string& text) {
  if (m_json != NONE) m_set->write_text(m_json, text);
}

void run_outputs::commit() { m_set->commit(); }

// ------------------------------------------------------------------ running

nlohmann::ordered_json run_simulation(const config& cfg, const trace_options& trace,
                                      const std::string& costs_path, run_outputs* outputs) {
  const system_params params = make_system_params(cfg);
  const auto costs = load_costs(costs_path, params.host.cpu_ghz);
  std::unique_ptr<run_outputs> own;
  if (outputs == nullptr) {
    own = std::make_unique<run_outputs>(trace, std::string());
    outputs = own.get();
  }
  trace_options staged = outputs->open(trace);
  std::unique_ptr<trace_hub> hub_ptr;
  try {
    hub_ptr = std::make_unique<trace_hub>(staged);
  } catch (const std::runtime_error& e) {
    throw output_error(e.what());
  }
  trace_hub& hub = *hub_ptr;
  auto top = std::make_unique<system_top>("top", params, costs, &hub);
  if (!hub.failure().empty()) throw std::runtime_error(hub.failure());
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<progress_line> progress;
  if (trace.progress) progress = std::make_unique<progress_line>(params.duration, t0);
  top->run();
  progress.reset();
  sanitizer_back_on_main_stack();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // A failed write paused the simulation early: nothing of this run is kept.
  if (!hub.failure().empty()) {
    unwind_threads();
    sanitizer_back_on_main_stack();
    throw std::runtime_error(hub.failure());
  }
  auto j = top->results(wall);
  j["latency_stages_ns"] = hub.stage_latency();
  unwind_threads();
  sanitizer_back_on_main_stack();
  const uint64_t end_ps = sc_core::sc_time_stamp().value();
  hub.finish(end_ps);
  // The Verilated block writes and closes its own wave file when it is destroyed.
  top.reset();
  if (!staged.waves.empty()) {
    std::string why;
    const std::string rtl = rtl_companion_path(staged.waves);
    if (!waves::fst_file_complete(rtl, &why))
      throw std::runtime_error(rtl_companion_path(trace.waves) +
                               ": write failed: the file did not come out whole (" + why + ")");
  }
  add_run_record(j, cfg, trace, hub, costs_path);
  if (own) own->commit();
  return j;
}

void add_run_record(nlohmann::ordered_json& j, const config& cfg, const trace_options& trace,
                    const trace_hub& hub, const std::string& costs_path) {
  if (trace.max_output_bytes != 0) {
    const bool stopped = hub.stopped_at_ps() != UINT64_MAX;
    nlohmann::ordered_json rec;
    rec["max_output_mb"] = trace.max_output_bytes / 1000000;
    rec["output_bytes"] = hub.output_bytes();
    rec["stopped"] = stopped;
    rec["stopped_at_ns"] =
        stopped ? nlohmann::ordered_json(hub.stopped_at_ps() / 1000) : nlohmann::ordered_json();
    j["recording"] = rec;
  }
  nlohmann::ordered_json knobs;
  for (const auto& [k, v] : cfg.knobs()) knobs[k] = v.value;
  j["config"] = knobs;
  // Only when there is something to say, so that runs of the generic device keep their shape.
  if (const auto warnings = cfg.model_warnings(); !warnings.empty()) j["model_warnings"] = warnings;
  j["costs"] = costs_path.empty() ? std::string("built-in") : costs_path;
}

// ------------------------------------------------------------------ meta

nlohmann::ordered_json run_meta(const config& cfg, const std::vector<std::string>& command_line,
                                const std::string& scenario_path, const std::string& costs_path) {
  nlohmann::ordered_json m;
  m["nicsim_version"] = nicsim_version();
  m["git_revision"] = nicsim_git_revision();
  m["command_line"] = command_line;
  m["scenario"] =
      scenario_path.empty() ? nlohmann::ordered_json("built-in") : nlohmann::ordered_json(scenario_path);
  m["costs"] = costs_path.empty() ? std::string("built-in") : costs_path;
  nlohmann::ordered_json knobs = nlohmann::ordered_json::object();
  for (const auto& [key, k] : cfg.knobs()) {
    const std::string& v = k.value;
    char* end = nullptr;
    const double d = std::strtod(v.c_str(), &end);
    const bool numeric_text = !v.empty() && end != v.c_str() && *end == '\0';
    if (k.type == config::kind::integer ||
        (k.type == config::kind::choice && numeric_text && std::floor(d) == d)) {
      knobs[key] = static_cast<int64_t>(d);
    } else if (k.type == config::kind::number) {
      knobs[key] = d;
    } else if (k.type == config::kind::choice && (v == "true" || v == "false")) {
      knobs[key] = v == "true";
    } else {
      knobs[key] = v;
    }
  }
  m["config"] = knobs;
  return m;
}

host::cost_table load_cost_table(const std::string& path, double cpu_ghz) {
  return load_costs(path, cpu_ghz);
}

void back_on_main_stack() { sanitizer_back_on_main_stack(); }

// ------------------------------------------------------------------ size estimate

std::string output_size_warning(const config& cfg, const trace_options& trace) {
  // Frames on the wire: offered load over the run, preamble and inter-frame gap included.
  const double run_s = std::max(0.0, cfg.number("sim.duration_us") - cfg.number("traffic.start_us")) * 1e-6;
  const double frame_bytes = static_cast<double>(cfg.integer("traffic.frame_bytes"));
  double frames = cfg.number("traffic.rate_gbps") * 1e9 * run_s / ((frame_bytes + 20) * 8);
  if (cfg.integer("traffic.count") > 0)
    frames = std::min(frames, static_cast<double>(cfg.integer("traffic.count")));
  // Bytes per wire frame, measured on the shipped scenarios and the README's set-ups
  // (about the heaviest seen: the timeline takes 250 to 1600, VCD 100 to 720, FST
  // 7 to 20 and its RTL companion 1 to 12; the pcapng its frames and up to 47 bytes each, twice
  // when the host answers every frame).
  struct part {
    std::string name, path;
    double bytes;
  };
  std::vector<part> parts;
  if (!trace.waves.empty()) {
    const double window_s = (std::min(static_cast<double>(trace.waves_to_ps), run_s * 1e12) -
                             static_cast<double>(trace.waves_from_ps)) *
                            1e-12;
    const double share = run_s > 0 ? std::clamp(window_s / run_s, 0.0, 1.0) : 0.0;
    const double per_frame = ends_with(trace.waves, ".vcd") ? 750 : 25;
    parts.push_back({"waves", trace.waves, frames * share * per_frame + frames * 15});
  }
  if (!trace.timeline.empty()) parts.push_back({"timeline", trace.timeline, frames * 1600});
  if (!trace.pcap.empty())
    parts.push_back(
        {"pcap", trace.pcap,
         (cfg.text("app.role") == "echo" ? 2 : 1) * frames * (47 + frame_bytes - 4 + 40)});  // + fates
  // What goes to a device or FIFO takes no disk.
  struct disk {
    unsigned long fsid;
    std::string dir;
    double free_bytes, bytes;
  };
  std::vector<disk> disks;
  double total = 0;
  std::vector<const part*> on_disk;
  for (const auto& p : parts) {
    waves::output_target t;
    try {
      t = waves::resolve_output(p.path, "");
    } catch (const waves::output_path_error&) {
      continue;  // reported as bad input before this matters
    }
    if (t.stream) continue;
    total += p.bytes;
    on_disk.push_back(&p);
    const std::string dir = directory_of(t.target).empty() ? "/" : directory_of(t.target);
    struct statvfs vfs {};
    if (::statvfs(dir.c_str(), &vfs) != 0) continue;
    auto it =
        std::find_if(disks.begin(), disks.end(), [&vfs](const disk& d) { return d.fsid == vfs.f_fsid; });
    if (it == disks.end())
      it = disks.insert(
          disks.end(),
          {vfs.f_fsid, dir, static_cast<double>(vfs.f_bavail) * static_cast<double>(vfs.f_frsize), 0.0});
    it->bytes += p.bytes;
  }
  const disk* short_of_space = nullptr;
  for (const auto& d : disks)
    if (d.bytes >= d.free_bytes) short_of_space = &d;
  if (total < 1e9 && short_of_space == nullptr) return {};
  auto size = [](double b) {
    char buf[32];
    if (b >= 1e9)
      std::snprintf(buf, sizeof buf, "%.1f GB", b / 1e9);
    else if (b >= 1e6)
      std::snprintf(buf, sizeof buf, "%.0f MB", b / 1e6);
    else
      std::snprintf(buf, sizeof buf, "%.0f kB", b / 1e3);
    return std::string(buf);
  };
  std::string msg = "the trace outputs may take about " + size(total) + " (";
  for (size_t i = 0; i < on_disk.size(); ++i)
    msg += (i ? ", " : "") + on_disk[i]->name + " " + size(on_disk[i]->bytes);
  msg += ")";
  if (short_of_space != nullptr)
    msg += ", more than the " + size(short_of_space->free_bytes) + " free in " + short_of_space->dir;
  if (trace.max_output_bytes != 0 && static_cast<double>(trace.max_output_bytes) < total)
    msg += "; --max-output-mb " + std::to_string(trace.max_output_bytes / 1000000) + " stops recording there";
  else
    msg += "; --max-output-mb N stops recording cleanly at N MB, --waves-from/--waves-to narrow the waves";
  return msg;
}

void write_file_atomic(const std::string& path, const std::string& text) {
  try {
    waves::write_output_file(path, text);
  } catch (const waves::output_path_error& e) {
    throw output_error(e.what());
  }
}

}  // namespace nicsim::tb
