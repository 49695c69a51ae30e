#pragma once
// One simulation per process: configure, elaborate, run, report.
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "tb/config.h"

namespace nicsim::tb {

// Reads the scenario (or the built-in default) and applies --set assignments.
config load_config(const std::string& scenario_path, const std::vector<std::string>& sets);
struct trace_options;
// An output file (waves, timeline, pcap) cannot be written: bad input, named.
struct output_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Elaborates and runs the system; returns the statistics document. Waves,
// timeline and pcap are written as trace asks. costs_path names a cost table
// in the format of host/costs.yaml that replaces the built-in one (empty: the
// built-in one); a file that cannot be read or parsed is a config_error.
nlohmann::ordered_json run_simulation(const config& cfg, const trace_options& trace,
                                      const std::string& costs_path = {});
nlohmann::ordered_json run_simulation(const config& cfg);
// Writes text to path through a temporary file and a rename: never half-written.
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace nicsim::tb
