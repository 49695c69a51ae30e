#pragma once
// One simulation per process: configure, elaborate, run, report.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "tb/config.h"

namespace nicsim::waves {
class output_set;
}

namespace nicsim::tb {

// Reads the scenario (or the built-in default) and applies --set assignments.
config load_config(const std::string& scenario_path, const std::vector<std::string>& sets);
struct trace_options;
// An output file (waves, timeline, pcap, JSON) cannot be written: bad input, named.
struct output_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The output files of one run, checked before anything is simulated or created:
// each path (symlinks followed; a missing or unwritable directory, a directory, a
// device where a file is needed are output_errors), two outputs on one file
// (derived names included: the waves' .rtl.fst companion, the pcap's .fates.csv),
// the wave window and format. Outputs are then written under staged names (or
// straight into a device or FIFO) and put in place together by commit(); a run
// that fails before commit() leaves nothing behind.
class run_outputs {
 public:
  // trace holds the paths as the user gave them. Throws output_error.
  run_outputs(const trace_options& trace, const std::string& json_path);
  ~run_outputs();
  run_outputs(const run_outputs&) = delete;
  run_outputs& operator=(const run_outputs&) = delete;

  // What the user should know before the run (say, a pcap on a device gets no fates CSV).
  const std::vector<std::string>& notes() const { return m_notes; }
  // Creates the staging and returns trace with the paths the writers use.
  trace_options open(const trace_options& trace);
  // Writes the statistics to the JSON output (staged, or into its device).
  void write_json(const std::string& text);
  void commit();

 private:
  std::unique_ptr<waves::output_set> m_set;
  static constexpr size_t NONE = SIZE_MAX;
  size_t m_waves = NONE, m_companion = NONE, m_timeline = NONE, m_pcap = NONE, m_fates = NONE,
         m_frames = NONE, m_json = NONE;
  std::string m_waves_ext;
  std::vector<std::string> m_notes;
};

// Elaborates and runs the system; returns the statistics document. Waves,
// timeline and pcap are written as trace asks, through outputs when given (the
// caller commits them), else through outputs of its own that it commits.
// costs_path names a cost table in the format of host/costs.yaml that replaces
// the built-in one (empty: the built-in one); a file that cannot be read or
// parsed is a config_error. A failed write is a std::runtime_error naming the file.
// The JSON's "meta": nicsim's version and git revision, the command line, the scenario
// ("" : the built-in default), the cost table (its path or "built-in") and every knob's
// effective value, typed (numbers as numbers, true/false as booleans, the rest as text).
nlohmann::ordered_json run_meta(const config& cfg, const std::vector<std::string>& command_line,
                                const std::string& scenario_path, const std::string& costs_path);

nlohmann::ordered_json run_simulation(const config& cfg, const trace_options& trace,
                                      const std::string& costs_path = {}, run_outputs* outputs = nullptr);
nlohmann::ordered_json run_simulation(const config& cfg);

// What the trace outputs of this run may take, as a warning to print before it
// starts; empty when that is small (under 1 GB and under the space left).
std::string output_size_warning(const config& cfg, const trace_options& trace);

// Writes text to path, never half-written and never replacing what is not a
// regular file: a symlink is followed, a character device or FIFO is written in
// place, anything else goes through a temporary next to the target and a rename.
// Throws output_error for a path that cannot be an output, std::runtime_error
// when writing fails (nothing is left behind then).
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace nicsim::tb
