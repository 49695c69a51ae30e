#pragma once
// Scenario knobs: a flat registry of dotted keys (YAML nesting = dots), each
// with a type, a range, a default and a help text. Unknown keys, wrong types
// and out-of-range values are errors naming the file and key.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace nicsim::tb {

struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Every input file (scenario, cost table, sweep scenario) is a regular file of
// at most this many bytes; the largest shipped one is a few kB.
inline constexpr size_t max_input_file_bytes = 1024 * 1024;
// Reader tasks (app.sockets x app.readers) one run may have: each is a SystemC thread.
inline constexpr int64_t max_reader_tasks = 4096;
// The TCP readers' recv buffers together (traffic.flows x app.readers x app.read_bytes).
inline constexpr int64_t max_tcp_read_buffer_bytes = int64_t{1} << 30;

// The contents of an input file. Throws config_error naming the file (`what`
// says which kind, e.g. "scenario file") when it is not a regular file, is
// larger than max_input_file_bytes, or cannot be read to its end.
std::string read_input_file(const std::string& path, const std::string& what);

// The names a knob can also be given by, in `run --set` and `sweep --grid`
// alike: ethtool's where they exist (rx-usecs, rx-frames, rx), and a few short ones.
struct key_alias {
  const char* alias;
  const char* key;
};
const std::vector<key_alias>& key_aliases();
// An alias or a full key to the full key; unknown names are returned unchanged.
std::string resolve_key(const std::string& name);
// The key or alias closest to an unknown name when it is close (a typo: at most 2 edits,
// at most a third of its length); "" otherwise.
std::string suggest_key(const std::string& name);
// The alias of a full key if it has one, else the key.
std::string short_name(const std::string& key);

// Profile knobs (nic.model, host.kernel): choosing one sets the defaults of other knobs,
// each of which a scenario or --set may still override (tb/knobs.cpp has the tables).
const std::vector<std::string>& profile_knobs();
// The (key, value) defaults that `profile = choice` gives; empty for a plain choice.
const std::vector<std::pair<std::string, std::string>>& profile_defaults(const std::string& profile,
                                                                         const std::string& choice);

class config {
 public:
  // hex: exactly `min` bytes; triple: three ascending integers in [min, max], written a,b,c (a
  // sysctl's vector such as net.ipv4.tcp_rmem); path: a file, "" none.
  enum class kind { number, integer, choice, hex, triple, path };
  struct knob {
    std::string key;
    kind type;
    double min, max;
    std::vector<std::string> choices;
    std::string value;  // canonical text
    std::string help;
    std::string unit;
  };

  config();  // every knob at its default

  // A knob's bound or value as a person writes it: whole numbers in full
  // (4294967295, not 4.29497e+09), others in the fewest digits that read back.
  static std::string format_number(double v);
  // "[min, max]" of a numeric knob, exact.
  static std::string range_text(const knob& k);

  // Reads a scenario file; errors name the file and the key. The YAML must be
  // one document with each key once (nested or dotted); errors about the
  // document's shape name the line and column.
  void load_file(const std::string& path);
  void load_yaml_text(const std::string& text, const std::string& origin);
  // KEY=VALUE from the command line.
  void set_assignment(const std::string& assignment);
  void set(const std::string& key, const std::string& value, const std::string& origin);

  // Whether a scenario or the command line set the key (else: its default or its profile's).
  bool is_explicit(const std::string& key) const { return m_explicit.count(key) != 0; }

  double number(const std::string& key) const;
  int64_t integer(const std::string& key) const;
  const std::string& text(const std::string& key) const;
  bool has(const std::string& key) const { return m_knobs.count(key) != 0; }
  const std::map<std::string, knob>& knobs() const { return m_knobs; }
  // Every knob as a Markdown table (key, default, unit, range, meaning): the
  // README's knob table, printed by `nicsim knobs --markdown`.
  std::string markdown_table() const;
  // Checks that span several knobs (e.g. rate within line rate).
  void validate() const;
  // What the chosen nic.model would not do but the run does anyway (a line rate past the
  // part's): one sentence each, for the summary and the JSON.
  std::vector<std::string> model_warnings() const;

 private:
  void add(const std::string& key, kind type, double min, double max, const std::string& def,
           const std::string& unit, const std::string& help, std::vector<std::string> choices = {});
  void validate_model() const;
  void store(const std::string& key, const std::string& value, const std::string& origin);
  void apply_profiles();
  std::map<std::string, knob> m_knobs;
  std::map<std::string, std::string> m_defaults;  // each knob's default, before profiles
  std::set<std::string> m_explicit;               // keys a scenario or --set gave
};

}  // namespace nicsim::tb
