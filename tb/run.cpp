#include "tb/run.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>

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

nlohmann::ordered_json run_simulation(const config& cfg, const trace_options& trace) {
  const system_params params = make_system_params(cfg);
  const auto costs = host::cost_table::defaults(params.host.cpu_ghz);
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
