#include "tb/run.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "tb/calibrate.h"
#include "tb/system_top.h"
#include "tb/trace_hub.h"

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

}  // namespace

nlohmann::ordered_json run_simulation(const config& cfg, const trace_options& trace,
                                      const std::string& costs_path) {
  const system_params params = make_system_params(cfg);
  const auto costs = load_costs(costs_path, params.host.cpu_ghz);
  std::unique_ptr<trace_hub> hub_ptr;
  try {
    hub_ptr = std::make_unique<trace_hub>(trace);
  } catch (const std::runtime_error& e) {
    throw output_error(e.what());
  }
  trace_hub& hub = *hub_ptr;
  system_top top("top", params, costs, &hub);
  const auto t0 = std::chrono::steady_clock::now();
  top.run();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto j = top.results(wall);
  j["latency_stages_ns"] = hub.stage_latency();
  unwind_threads();
  hub.finish(sc_core::sc_time_stamp().value());
  nlohmann::ordered_json knobs;
  for (const auto& [k, v] : cfg.knobs()) knobs[k] = v.value;
  j["config"] = knobs;
  j["costs"] = costs_path.empty() ? std::string("built-in") : costs_path;
  return j;
}

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(path + ": cannot write");
    out << text;
    out.flush();
    if (!out) throw std::runtime_error(path + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error(path + ": cannot rename the finished file into place");
  }
}

}  // namespace nicsim::tb
