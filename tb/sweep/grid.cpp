// Sweep grids: grid specs, the plan of a sweep and its points, shards.
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

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const auto pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) return out;
    start = pos + 1;
  }
}

bool parse_double(const std::string& text, double& v) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  v = std::strtod(text.c_str(), &end);
  return end != text.c_str() && *end == '\0' && errno != ERANGE && std::isfinite(v);
}

// Grid values as a person would write them: 20, 0.3, 1000000 (not 1e+06 or 0.30000000000000004).
std::string format_number(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

// Derived rates in results.csv: six significant digits, whole numbers from a million up.
std::string format_derived(double v) {
  if (std::fabs(v) >= 1e6) return std::to_string(std::llround(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

double round12(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return std::strtod(buf, nullptr);
}

std::string describe(const assignment& values) {
  std::string s;
  for (const auto& [k, v] : values) s += (s.empty() ? "" : " ") + short_name(k) + "=" + v;
  return s.empty() ? "(base)" : s;
}

std::string alias_list() {
  std::string s;
  for (const auto& a : key_aliases()) s += (s.empty() ? "" : ", ") + std::string(a.alias);
  return s;
}

[[noreturn]] void bad_input(const std::string& message) { throw config_error(message); }

const config& default_config() {
  static const config defaults;
  return defaults;
}

std::vector<double> expand_range(const std::string& item, const std::string& key, bool integral,
                                 const std::string& origin) {
  const auto parts = split(item, ':');
  const std::string where = origin + ": " + key + " range '" + item + "'";
  double a = 0, b = 0;
  if (parts.size() < 2 || parts.size() > 3 || !parse_double(trim(parts[0]), a) ||
      !parse_double(trim(parts[1]), b))
    bad_input(where + ": expected A:B, A:B:STEP, A:B:logN or A:B:*F");
  if (a > b) bad_input(where + ": the range must go upwards (A <= B)");
  std::vector<double> vs;
  const std::string step = parts.size() == 3 ? trim(parts[2]) : "1";
  if (step.rfind("log", 0) == 0) {
    double n = 0;
    if (!parse_double(step.substr(3), n) || n < 2 || std::floor(n) != n)
      bad_input(where + ": logN needs a whole number of points N >= 2");
    if (a <= 0) bad_input(where + ": a log range needs A > 0");
    if (n > static_cast<double>(MAX_VALUES_PER_GRID)) bad_input(where + ": too many values");
    const auto count = static_cast<size_t>(n);
    for (size_t i = 0; i < count; ++i) {
      double v = i + 1 == count ? b : a * std::pow(b / a, static_cast<double>(i) / (n - 1));
      vs.push_back(integral ? std::round(v) : round12(v));
    }
  } else if (step.rfind('*', 0) == 0) {
    double f = 0;
    if (!parse_double(step.substr(1), f) || f <= 1) bad_input(where + ": *F needs a factor F > 1");
    if (a <= 0) bad_input(where + ": a geometric range needs A > 0");
    for (double v = a; v <= b * (1 + 1e-12); v *= f) {
      vs.push_back(integral ? std::round(v) : round12(v));
      if (vs.size() > MAX_VALUES_PER_GRID) bad_input(where + ": too many values");
    }
  } else {
    double s = 0;
    if (!parse_double(step, s) || s <= 0) bad_input(where + ": the step must be a number > 0");
    const double n = std::floor((b - a) / s + 1e-9) + 1;
    if (n > static_cast<double>(MAX_VALUES_PER_GRID)) bad_input(where + ": too many values");
    for (size_t i = 0; i < static_cast<size_t>(n); ++i) vs.push_back(round12(a + static_cast<double>(i) * s));
  }
  return vs;
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (const unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

config point_config(const sweep_plan& plan, const sweep_point& p) {
  config c;
  for (const auto& [k, v] : plan.base) c.set(k, v, "sweep.json");
  for (const auto& [k, v] : p.values) c.set(k, v, "grid");
  return c;
}

// sweep.choose: the setting a user runs the study for, which the report marks:
//   choose: {minimize: COLUMN, where: {COLUMN: "<= 50000", ...}, per: GRIDKEY, label: TEXT}
// COLUMN is a results.csv column or cpu_busy_pct (the share of CPU time not idle); `per` (a grid
// key) makes one choice per value of it. Checked against the columns here, against the grids later.
ordered_json parse_choose(const YAML::Node& node, const std::string& path) {
  const auto where = [&path](const YAML::Node& n) { return host::yaml_input::at(path, n.Mark()); };
  const auto column = [&where](const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) bad_input(where(n) + ": sweep.choose." + what + " must be a results.csv column");
    const auto& c = result_columns();
    const auto name = n.Scalar();
    if (name == "cpu_busy_pct" || std::find(c.begin(), c.end(), name) != c.end()) return name;
    return resolve_key(name);  // a grid key; checked once the grids are known
  };
  if (!node.IsMap())
    bad_input(where(node) + ": sweep.choose must be a map: {minimize: COLUMN, where: {COLUMN: \"<= V\"}}");
  ordered_json c;
  for (const auto& kv : node) {
    const auto& key = kv.first.Scalar();
    if (key == "minimize") {
      c["minimize"] = column(kv.second, "minimize");
    } else if (key == "per") {
      if (!kv.second.IsScalar()) bad_input(where(kv.second) + ": sweep.choose.per must be a grid key");
      c["per"] = resolve_key(kv.second.Scalar());
    } else if (key == "label") {
      if (!kv.second.IsScalar()) bad_input(where(kv.second) + ": sweep.choose.label must be text");
      c["label"] = kv.second.Scalar();
    } else if (key == "where") {
      if (!kv.second.IsMap())
        bad_input(where(kv.second) + ": sweep.choose.where must map columns to limits (\"<= 50000\")");
      c["where"] = ordered_json::array();
      for (const auto& lim : kv.second) {
        const auto col = column(lim.first, "where");
        const auto text = lim.second.IsScalar() ? trim(lim.second.Scalar()) : std::string();
        std::string op;
        for (const char* o : {"<=", ">=", "<", ">"})
          if (op.empty() && text.rfind(o, 0) == 0) op = o;
        double v = 0;
        if (op.empty() || !parse_double(trim(text.substr(op.size())), v))
          bad_input(where(lim.second) + ": sweep.choose.where." + col +
                    " must be a limit such as \"<= 50000\"");
        c["where"].push_back({{"column", col}, {"op", op}, {"value", v}});
      }
    } else {
      bad_input(where(kv.first) + ": unknown key 'sweep.choose." + key + "' (minimize, where, per, label)");
    }
  }
  if (!c.contains("minimize")) bad_input(where(node) + ": sweep.choose needs minimize: COLUMN");
  return c;
}

void load_scenario(const std::string& path, config& cfg, std::vector<grid_axis>& grids, std::string& title,
                   ordered_json& choose) {
  const std::string text = read_input_file(path, "scenario file");
  // The knobs first: that also checks the whole document, sweep: included (one
  // YAML document, every key a plain name given once).
  cfg.load_yaml_text(text, path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    bad_input(host::yaml_input::at(path, e.mark) + ": " + e.msg);
  }
  const YAML::Node& croot = root;
  if (!root.IsMap() || !croot["sweep"]) return;
  const YAML::Node sw = croot["sweep"];
  const auto where = [&path](const YAML::Node& n) { return host::yaml_input::at(path, n.Mark()); };
  if (!sw.IsMap()) bad_input(where(sw) + ": sweep must be a map with grid:, title: and choose:");
  for (const auto& kv : sw) {
    const auto& key = kv.first.Scalar();  // a plain name: load_yaml_text checked
    if (key == "title") {
      if (!kv.second.IsScalar()) bad_input(where(kv.second) + ": sweep.title must be a single line of text");
      title = kv.second.Scalar();
    } else if (key == "grid") {
      if (!kv.second.IsMap())
        bad_input(where(kv.second) + ": sweep.grid must be a map of KEY: SPEC (e.g. rate: 1:10:1)");
      for (const auto& g : kv.second) {
        const auto& name = g.first.Scalar();
        std::string spec;
        if (g.second.IsScalar()) {
          spec = g.second.Scalar();
        } else if (g.second.IsSequence()) {
          for (const auto& v : g.second) {
            if (!v.IsScalar()) bad_input(where(v) + ": sweep.grid." + name + " must list single values");
            // A value with commas in it (a sysctl triple such as host.tcp_rmem) makes the
            // list ';'-separated, the separator such knobs take in a spec.
            spec += (spec.empty() ? "" : "\x1f") + v.Scalar();
          }
        } else {
          bad_input(where(g.first) + ": sweep.grid." + name + " must be a spec (1:10:1) or a list of values");
        }
        const char sep = spec.find(',') != std::string::npos ? ';' : ',';
        std::replace(spec.begin(), spec.end(), '\x1f', sep);
        grids.push_back({name, spec, {}});
      }
    } else if (key == "choose") {
      choose = parse_choose(kv.second, path);
    } else {
      bad_input(where(kv.first) + ": unknown key 'sweep." + key +
                "' (a sweep section has grid:, title: and choose:)");
    }
  }
}

}  // namespace sweep_internal

std::vector<std::string> expand_grid_values(const config& scratch, const std::string& key,
                                            const std::string& spec, const std::string& origin) {
  const auto it = scratch.knobs().find(key);
  if (it == scratch.knobs().end())
    bad_input(origin + ": unknown key '" + key + "' (aliases: " + alias_list() +
              "; `nicsim knobs` lists every key)");
  const bool numeric = it->second.type == config::kind::number || it->second.type == config::kind::integer;
  const bool integral = it->second.type == config::kind::integer;
  if (trim(spec).empty()) bad_input(origin + ": " + key + " has no values");
  std::vector<std::string> out;
  std::set<std::string> seen;
  // A triple's value holds commas (4096,131072,6291456): its values are separated by ';'.
  const char sep = it->second.type == config::kind::triple ? ';' : ',';
  for (const auto& raw : split(spec, sep)) {
    const auto item = trim(raw);
    if (item.empty()) bad_input(origin + ": " + key + " = '" + spec + "' has an empty value");
    std::vector<std::string> texts;
    if (it->second.type == config::kind::hex || it->second.type == config::kind::triple) {
      texts.push_back(item);  // ethtool's aa:bb:... is a value here, not a range
    } else if (item.find(':') != std::string::npos) {
      if (!numeric) bad_input(origin + ": " + key + " is not numeric; list its values (a,b,c), not a range");
      for (const double v : expand_range(item, key, integral, origin)) texts.push_back(format_number(v));
    } else {
      double v = 0;
      texts.push_back(numeric && parse_double(item, v) ? format_number(v) : item);
    }
    for (const auto& t : texts) {
      config probe = scratch;
      probe.set(key, t, origin);  // type and range, with the key and value in the message
      // One spelling per value (hex keys in any case or with colons are the same key).
      const std::string canonical = it->second.type == config::kind::hex ? probe.text(key) : t;
      if (seen.insert(canonical).second) out.push_back(canonical);
    }
    if (out.size() > MAX_VALUES_PER_GRID) bad_input(origin + ": " + key + " has too many values");
  }
  return out;
}

size_t sweep_plan::size() const {
  size_t n = 1;
  for (const auto& g : grids) n *= g.values.size();
  return n;
}

sweep_point sweep_plan::point(size_t index) const {
  sweep_point p{index, "", assignment(grids.size())};
  size_t rest = index;
  for (size_t g = grids.size(); g-- > 0;) {
    const auto& vals = grids[g].values;
    p.values[g] = {grids[g].key, vals[rest % vals.size()]};
    rest /= vals.size();
  }
  p.id = point_id(index, size(), p.values);
  return p;
}

std::string sweep_plan::difference(const sweep_plan& other) const {
  auto grid_text = [](const std::vector<grid_axis>& axes) {
    std::string s;
    for (const auto& g : axes) {
      std::string vals;
      for (const auto& v : g.values) vals += (vals.empty() ? "" : ",") + v;
      s += (s.empty() ? "" : " ") + (g.seeds ? std::string("--seeds ") : std::string()) + g.key + "=" + vals;
    }
    return s.empty() ? std::string("(no grid)") : s;
  };
  bool same_grid = grids.size() == other.grids.size();
  for (size_t i = 0; same_grid && i < grids.size(); ++i)
    same_grid = grids[i].key == other.grids[i].key && grids[i].values == other.grids[i].values &&
                grids[i].seeds == other.grids[i].seeds;
  if (!same_grid) return "this grid is " + grid_text(grids) + ", that one is " + grid_text(other.grids);
  for (const auto& [k, v] : base) {
    const auto it = other.base.find(k);
    if (it == other.base.end()) return "knob " + k + " is missing there (made by another nicsim version)";
    if (it->second != v) return "knob " + k + " is " + v + " here and " + it->second + " there";
  }
  for (const auto& [k, v] : other.base)
    if (base.count(k) == 0) return "it has knob " + k + ", unknown to this nicsim";
  return "";
}

ordered_json sweep_plan::to_json() const {
  ordered_json j;
  j["format"] = SWEEP_FORMAT;
  j["scenario"] = scenario;
  j["title"] = title;
  j["sets"] = ordered_json::array();
  for (const auto& [k, v] : sets) j["sets"].push_back(k + "=" + v);
  j["grid"] = ordered_json::array();
  for (const auto& g : grids) {
    j["grid"].push_back({{"key", g.key}, {"spec", g.spec}, {"values", g.values}});
    if (g.seeds) j["grid"].back()["seeds"] = true;
  }
  if (!choose.is_null()) j["choose"] = choose;
  j["points"] = size();
  j["base"] = ordered_json::object();
  for (const auto& [k, v] : base) j["base"][k] = v;
  return j;
}

std::string point_id(size_t index, size_t total, const assignment& values) {
  std::string text;
  for (const auto& [k, v] : values) text += k + "=" + v + "\n";
  const uint64_t h = fnv1a(text);
  const auto folded = static_cast<unsigned>((h ^ (h >> 32)) & 0xffffffffu);
  size_t width = 4;
  for (size_t n = total > 0 ? total - 1 : 0; n >= 10000; n /= 10) ++width;
  char buf[64];
  std::snprintf(buf, sizeof buf, "p%0*zu-%08x", static_cast<int>(width), index, folded);
  return buf;
}

sweep_plan make_sweep_plan(const std::string& scenario, const std::vector<std::string>& grid_args,
                           const std::vector<std::string>& set_args, unsigned seeds) {
  sweep_plan plan;
  plan.scenario = scenario;
  config cfg;
  std::vector<grid_axis> file_grids;
  if (!scenario.empty()) load_scenario(scenario, cfg, file_grids, plan.title, plan.choose);
  for (const auto& s : set_args) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) bad_input("--set '" + s + "': expected KEY=VALUE");
    const auto key = resolve_key(s.substr(0, eq));
    cfg.set(key, s.substr(eq + 1), "--set");
    plan.sets.emplace_back(key, s.substr(eq + 1));
  }
  // The scenario's grids first, in file order; a --grid on the same key replaces it.
  std::vector<std::pair<grid_axis, std::string>> axes;  // axis, origin
  for (auto& g : file_grids) {
    const auto origin = scenario + ": sweep.grid." + g.key;
    g.key = resolve_key(g.key);
    for (const auto& [a, o] : axes)
      if (a.key == g.key) bad_input(origin + ": " + g.key + " is already a grid of this scenario");
    axes.emplace_back(g, origin);
  }
  std::set<std::string> from_command_line;
  for (const auto& arg : grid_args) {
    const auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0)
      bad_input("--grid '" + arg + "': expected KEY=V1,V2,... or KEY=A:B:STEP");
    const auto name = arg.substr(0, eq);
    grid_axis g{resolve_key(name), arg.substr(eq + 1), {}};
    const auto origin = "--grid " + name;
    if (!from_command_line.insert(g.key).second) bad_input(origin + ": " + g.key + " has two --grid options");
    bool replaced = false;
    for (auto& [a, o] : axes)
      if (a.key == g.key) {
        a = g;
        o = origin;
        replaced = true;
      }
    if (!replaced) axes.emplace_back(g, origin);
  }
  for (auto& [g, origin] : axes) {
    for (const auto& [k, v] : plan.sets)
      if (k == g.key)
        bad_input("--set " + k + " and a grid over " + k +
                  " both given; to pin a grid to one value, use --grid " + short_name(k) + "=VALUE");
    if (seeds > 0 && g.key == "sim.seed")
      bad_input(origin + ": --seeds " + std::to_string(seeds) +
                " and a grid over sim.seed both vary the seed; use one or the other (--set seed=S with "
                "--seeds K runs seeds S..S+K-1)");
    g.values = expand_grid_values(cfg, g.key, g.spec, origin);
    plan.grids.push_back(g);
  }
  // --seeds K: sim.seed S, S+1, ..., S+K-1 for every point, S being the scenario's or --set's seed.
  if (seeds > 0) {
    grid_axis g{"sim.seed", "--seeds " + std::to_string(seeds), {}, true};
    const auto first = std::stoull(cfg.text("sim.seed"));
    for (unsigned i = 0; i < seeds; ++i) {
      const auto v = std::to_string(first + i);
      config probe = cfg;
      probe.set("sim.seed", v, "--seeds " + std::to_string(seeds) + " from seed " + cfg.text("sim.seed"));
      g.values.push_back(v);
    }
    plan.grids.push_back(g);
  }
  if (!plan.choose.is_null()) {
    const auto is_grid = [&plan](const std::string& k) {
      for (const auto& g : plan.grids)
        if (g.key == k && !g.seeds) return true;
      return false;
    };
    const auto& c = result_columns();
    const auto check = [&](const std::string& col, const std::string& what) {
      if (col != "cpu_busy_pct" && std::find(c.begin(), c.end(), col) == c.end() && !is_grid(col))
        bad_input(scenario + ": sweep.choose." + what + ": " + col +
                  " is neither a results.csv column nor a grid key of this sweep");
    };
    check(plan.choose.at("minimize").get<std::string>(), "minimize");
    for (const auto& w : plan.choose.value("where", ordered_json::array()))
      check(w.at("column").get<std::string>(), "where");
    if (plan.choose.contains("per") && !is_grid(plan.choose.at("per").get<std::string>()))
      bad_input(scenario + ": sweep.choose.per: " + plan.choose.at("per").get<std::string>() +
                " is not a grid key of this sweep");
  }
  size_t total = 1;
  for (const auto& g : plan.grids) {
    total *= g.values.size();
    if (total > MAX_POINTS)
      bad_input("the grid has more than " + std::to_string(MAX_POINTS) +
                " points; split it into several sweeps");
  }
  const auto& defaults = default_config();
  for (const auto& [k, knob] : cfg.knobs()) {
    plan.base[k] = knob.value;
    bool is_grid = false;
    for (const auto& g : plan.grids) is_grid = is_grid || g.key == k;
    if (!is_grid && defaults.text(k) != knob.value) plan.child_sets.push_back(k + "=" + knob.value);
  }
  // Every point must be a valid run before the first one starts.
  for (size_t i = 0; i < total; ++i) {
    const auto p = plan.point(i);
    config c = cfg;
    for (const auto& [k, v] : p.values) c.set(k, v, "grid");
    try {
      c.validate();
    } catch (const config_error& e) {
      bad_input("point " + std::to_string(i) + " (" + describe(p.values) + "): " + e.what());
    }
  }
  return plan;
}

sweep_plan load_sweep_plan(const std::string& sweep_json_path) {
  std::string text;
  if (!read_text(sweep_json_path, text))
    bad_input(sweep_json_path + ": cannot read (is this a sweep directory?)");
  const auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != SWEEP_FORMAT || !j.contains("base") ||
      !j["base"].is_object() || !j.contains("grid"))
    bad_input(sweep_json_path + ": not a nicsim sweep description");
  sweep_plan plan;
  const auto& defaults = default_config();
  try {
    plan.scenario = j.value("scenario", "");
    plan.title = j.value("title", "");
    for (const auto& s : j.value("sets", json::array())) {
      const auto text_set = s.get<std::string>();
      const auto eq = text_set.find('=');
      plan.sets.emplace_back(text_set.substr(0, eq), eq == std::string::npos ? "" : text_set.substr(eq + 1));
    }
    for (const auto& g : j.at("grid"))
      plan.grids.push_back({g.at("key").get<std::string>(), g.value("spec", ""),
                            g.at("values").get<std::vector<std::string>>(), g.value("seeds", false)});
    if (j.contains("choose")) plan.choose = j.at("choose");
    for (const auto& [k, v] : j.at("base").items()) plan.base[k] = v.get<std::string>();
  } catch (const json::exception& e) {
    bad_input(sweep_json_path + ": not a nicsim sweep description (" + e.what() + ")");
  }
  for (const auto& g : plan.grids)
    if (!defaults.has(g.key) || g.values.empty())
      bad_input(sweep_json_path + ": grid key " + g.key + " is unknown");
  for (const auto& [k, value] : plan.base) {
    if (!defaults.has(k)) bad_input(sweep_json_path + ": knob " + k + " is unknown to this nicsim");
    bool is_grid = false;
    for (const auto& g : plan.grids) is_grid = is_grid || g.key == k;
    if (!is_grid && defaults.text(k) != value) plan.child_sets.push_back(k + "=" + value);
  }
  return plan;
}

shard_spec parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  double k = 0, n = 0;
  if (slash == std::string::npos || !parse_double(text.substr(0, slash), k) ||
      !parse_double(text.substr(slash + 1), n) || std::floor(k) != k || std::floor(n) != n || n < 1 ||
      k < 1 || k > n || n > 1e6)
    bad_input("--shard '" + text + "': expected K/N with 1 <= K <= N (e.g. --shard 3/8)");
  return {static_cast<size_t>(k), static_cast<size_t>(n)};
}

}  // namespace nicsim::tb
