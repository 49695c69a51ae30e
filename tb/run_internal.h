#pragma once
// What run_simulation (tb/run.cpp) and the testbench (tb/testbench.cpp) share, so that a
// testbench's results are the CLI's. Not installed.
#include <nlohmann/json.hpp>
#include <string>

#include "host/cost_table.h"
#include "tb/config.h"
#include "tb/trace_hub.h"

namespace nicsim::tb {

// The built-in cost table (empty path) or the one in the file; config_error when it cannot be read.
host::cost_table load_cost_table(const std::string& path, double cpu_ghz);
// What a run's document holds besides system_top::results() and the stage latencies, after the
// run: the recording (with an output cap), every knob's value, the cost table's name.
void add_run_record(nlohmann::ordered_json& j, const config& cfg, const trace_options& trace,
                    const trace_hub& hub, const std::string& costs_path);
// Sets AddressSanitizer's idea of the current stack right after SystemC's threads ran (run.cpp).
void back_on_main_stack();

}  // namespace nicsim::tb
