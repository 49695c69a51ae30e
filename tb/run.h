#pragma once
// One simulation per process: configure, elaborate, run, report.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tb/config.h"

namespace nicsim::tb {

// Reads the scenario (or the built-in default) and applies --set assignments.
config load_config(const std::string& scenario_path, const std::vector<std::string>& sets);
// Elaborates and runs the system; returns the statistics document.
nlohmann::ordered_json run_simulation(const config& cfg);
// Writes text to path through a temporary file and a rename: never half-written.
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace nicsim::tb
