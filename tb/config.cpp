#include "tb/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "host/yaml_input.h"
#include "tb/knobs.h"
#include "tb/traffic_source.h"

namespace nicsim::tb {

// Every knob from its one declaration (tb/knobs.cpp), at its default.
config::config() {
  for (const auto& k : knob_table())
    add(k.key, k.type, k.min, k.max, knob_default(k), k.unit, k.help, k.choices);
}

void config::add(const std::string& key, kind type, double min, double max, const std::string& def,
                 const std::string& unit, const std::string& help, std::vector<std::string> choices) {
  knob k{key, type, min, max, std::move(choices), "", help, unit};
  m_knobs.emplace(key, k);
  store(key, def, "default");
  m_defaults[key] = m_knobs.at(key).value;
}

void config::set(const std::string& key, const std::string& value, const std::string& origin) {
  store(key, value, origin);
  m_explicit.insert(key);
  apply_profiles();
}

// Every knob nobody set goes back to its default, then takes the value its profile knobs
// (nic.model, host.kernel) give it: a model's defaults, overridden knob by knob.
void config::apply_profiles() {
  for (auto& [key, k] : m_knobs)
    if (!m_explicit.count(key)) k.value = m_defaults.at(key);
  for (const auto& profile : profile_knobs()) {
    const std::string& chosen = m_knobs.at(profile).value;
    for (const auto& [key, value] : profile_defaults(profile, chosen))
      if (!m_explicit.count(key)) store(key, value, profile + " = " + chosen);
  }
}

void config::store(const std::string& key, const std::string& value, const std::string& origin) {
  auto it = m_knobs.find(key);
  if (it == m_knobs.end()) {
    const std::string close = suggest_key(key);
    throw config_error(origin + ": unknown key '" + key + "'" +
                       (close.empty() ? std::string() : "; did you mean " + close + "?"));
  }
  knob& k = it->second;
  if (k.type == kind::choice) {
    for (const auto& c : k.choices)
      if (c == value) {
        k.value = value;
        return;
      }
    std::string all;
    for (const auto& c : k.choices) all += (all.empty() ? "" : "|") + c;
    throw config_error(origin + ": " + key + " = '" + value + "' is not one of " + all);
  }
  if (k.type == kind::path) {  // a file name, read when the run starts (empty: none)
    if (value.find('\0') != std::string::npos || value.find('\n') != std::string::npos)
      throw config_error(origin + ": " + key + " = '" + value + "' is not a file name");
    k.value = value;
    return;
  }
  if (k.type == kind::hex) {
    // ethtool's aa:bb:... or plain hex digits; kept as lowercase digits without colons.
    std::string digits;
    for (char c : value) {
      if (c == ':') continue;
      if (!std::isxdigit(static_cast<unsigned char>(c)))
        throw config_error(origin + ": " + key + " = '" + value + "' is not hex bytes (e.g. 6d:5a:56:...)");
      digits += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (digits.size() != 2 * static_cast<size_t>(k.min))
      throw config_error(origin + ": " + key + " has " + std::to_string(digits.size() / 2) +
                         (digits.size() % 2 ? ".5" : "") + " bytes, needs exactly " +
                         std::to_string(static_cast<int>(k.min)));
    k.value = digits;
    return;
  }
  if (k.type == kind::triple) {
    // min,default,max: three whole numbers in range, each at least the one before.
    const std::string what = origin + ": " + key + " = '" + value + "' ";
    std::vector<long long> v;
    std::string canon;
    size_t at = 0;
    for (;;) {
      const size_t comma = value.find(',', at);
      const std::string item = value.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
      char* end = nullptr;
      errno = 0;
      const long long n = std::strtoll(item.c_str(), &end, 10);
      if (item.empty() || end != item.c_str() + item.size() || errno == ERANGE ||
          !std::isdigit(static_cast<unsigned char>(item[0])))
        throw config_error(what + "is not three integers min,default,max");
      v.push_back(n);
      canon += (canon.empty() ? "" : ",") + std::to_string(n);
      if (comma == std::string::npos) break;
      at = comma + 1;
    }
    if (v.size() != 3) throw config_error(what + "is not three integers min,default,max");
    for (long long n : v)
      if (static_cast<double>(n) < k.min || static_cast<double>(n) > k.max)
        throw config_error(what + "has " + std::to_string(n) + ", out of range " + range_text(k));
    if (v[0] > v[1] || v[1] > v[2]) throw config_error(what + "is not ascending (min <= default <= max)");
    k.value = canon;
    return;
  }
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(value.c_str(), &end);
  bool parsed = !value.empty() && end != value.c_str() && *end == '\0';
  // YAML spells infinity .inf, which strtod does not know: a number, outside any range.
  const std::string unsigned_value =
      !value.empty() && (value[0] == '-' || value[0] == '+') ? value.substr(1) : value;
  if (!parsed && (unsigned_value == ".inf" || unsigned_value == ".Inf" || unsigned_value == ".INF")) {
    v = value[0] == '-' ? -HUGE_VAL : HUGE_VAL;
    parsed = true;
  }
  if (!parsed || std::isnan(v))
    throw config_error(origin + ": " + key + " = '" + value + "' is not a number");
  // strtod says ERANGE for magnitudes beyond a double (v is then +-inf) and for
  // ones below the smallest normal double (v is then tiny or 0): both are real
  // numbers, so they meet the range check, not "not a number".
  const bool underflow = errno == ERANGE && std::isfinite(v);
  if (k.type == kind::integer && std::isfinite(v) && (std::floor(v) != v || underflow))
    throw config_error(origin + ": " + key + " = '" + value + "' must be an integer");
  if (!(v >= k.min && v <= k.max))
    throw config_error(origin + ": " + key + " = " + value + " is out of range " + range_text(k));
  std::ostringstream canon;
  canon.precision(17);
  canon << v;
  k.value = canon.str();
}

// The aliases are declared with their knobs (.aka in tb/knobs.cpp), listed in table order.
const std::vector<key_alias>& key_aliases() {
  static const std::vector<key_alias> aliases = [] {
    std::vector<key_alias> all;
    for (const auto& k : knob_table())
      if (!k.alias.empty()) all.push_back({k.alias.c_str(), k.key.c_str()});
    return all;
  }();
  return aliases;
}

std::string resolve_key(const std::string& name) {
  for (const auto& a : key_aliases())
    if (name == a.alias) return a.key;
  return name;
}

namespace {
// Damerau-Levenshtein distance (optimal string alignment: insertions, deletions,
// substitutions and swaps of two neighbours, each 1).
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}
}  // namespace

std::string suggest_key(const std::string& name) {
  // Close means at most 2 edits and at most a third of the name: "traffic.rate_gpbs" is
  // traffic.rate_gbps, "rx" is nothing in particular.
  const size_t limit = std::min<size_t>(2, name.size() / 3);
  std::string best;
  size_t best_d = limit + 1;
  auto consider = [&](const std::string& candidate) {
    const size_t d = edit_distance(name, candidate);
    if (d < best_d) {
      best_d = d;
      best = candidate;
    }
  };
  for (const auto& k : knob_table()) consider(k.key);
  for (const auto& a : key_aliases()) consider(a.alias);
  return best_d <= limit ? best : std::string();
}

std::string short_name(const std::string& key) {
  for (const auto& a : key_aliases())
    if (key == a.key) return a.alias;
  return key;
}

void config::set_assignment(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw config_error("--set '" + assignment + "': expected KEY=VALUE");
  set(resolve_key(assignment.substr(0, eq)), assignment.substr(eq + 1), "--set");
}

std::string config::format_number(double v) {
  // Whole numbers up to 2^53 are exact in a double: print every digit.
  if (std::isfinite(v) && std::floor(v) == v && std::fabs(v) <= 9007199254740992.0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string config::range_text(const knob& k) {
  return "[" + format_number(k.min) + ", " + format_number(k.max) + "]";
}

namespace {

namespace yaml_input = host::yaml_input;

// Sets the knobs of a scenario's YAML map. A key is a dotted path, whether it
// is written nested (sim: {seed: 1}) or dotted (sim.seed: 1); each may be given once.
class yaml_knob_reader {
 public:
  yaml_knob_reader(const std::string& origin, config& cfg) : m_origin(origin), m_cfg(cfg) {}

  void read(const YAML::Node& root) {
    for (const auto& kv : root) {
      const auto& key = kv.first.Scalar();  // keys are scalars: yaml_input::load checked
      if (key == "sweep") continue;         // a study's sweep: section is for `nicsim sweep`
      flatten(kv.second, key, kv.first.Mark());
    }
  }

 private:
  // The first knobs under `prefix`, for a section given no keys: "sim.duration_us, sim.seed",
  // "host.cpu_ghz, host.cpus, host.gro_flush_timeout_ns, ...".
  std::string keys_under(const std::string& prefix) const {
    std::string keys;
    size_t n = 0;
    for (const auto& [k, knob] : m_cfg.knobs())
      if (k.rfind(prefix + ".", 0) == 0 && ++n <= 4)
        keys += (keys.empty() ? "" : ", ") + (n == 4 ? "..." : k);
    return keys;
  }

  void flatten(const YAML::Node& node, const std::string& key, const YAML::Mark& mark) {
    if (node.IsMap()) {
      for (const auto& kv : node) flatten(kv.second, key + "." + kv.first.Scalar(), kv.first.Mark());
      return;
    }
    const std::string where = yaml_input::at(m_origin, mark);
    const auto [it, fresh] = m_seen.emplace(key, mark);
    if (!fresh)
      throw config_error(where + ": " + key + " is given a second time (first at " +
                         yaml_input::line_of(it->second) + "); give each key once, nested or dotted");
    if (node.IsScalar()) {
      m_cfg.set(key, node.Scalar(), m_origin);
      return;
    }
    if (!m_cfg.has(key)) {
      const auto under = keys_under(key);
      if (under.empty()) m_cfg.set(key, "", m_origin);  // throws: unknown key
      throw config_error(where + ": " + key + (node.IsSequence() ? " is a list" : " is empty") +
                         "; it is a section, so give keys under it (" + under + ")" +
                         (node.IsSequence() ? "" : " or remove it"));
    }
    throw config_error(where + ": " + key +
                       (node.IsSequence() ? " must be a single value, not a list" : " has no value"));
  }

  const std::string& m_origin;
  config& m_cfg;
  std::map<std::string, YAML::Mark> m_seen;
};

}  // namespace

void config::load_yaml_text(const std::string& text, const std::string& origin) {
  YAML::Node root;
  try {
    root = yaml_input::load(text, origin);
  } catch (const std::invalid_argument& e) {
    throw config_error(e.what());
  }
  if (root.IsNull()) return;  // an empty scenario keeps the defaults
  if (!root.IsMap()) throw config_error(origin + ": a scenario is a map of keys");
  yaml_knob_reader(origin, *this).read(root);
}

void config::load_file(const std::string& path) {
  load_yaml_text(read_input_file(path, "scenario file"), path);
}

std::string read_input_file(const std::string& path, const std::string& what) {
  const std::string limit = "at most " + std::to_string(max_input_file_bytes / 1024 / 1024) + " MiB";
  // stat first: opening a device or a fifo can block or act on the device.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw config_error(path + ": cannot read the " + what + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    throw config_error(path + ": the " + what + " is not a regular file" +
                       (S_ISDIR(st.st_mode) ? " (a directory)" : ""));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) throw config_error(path + ": cannot read the " + what + ": " + std::strerror(errno));
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } close_on_return{fd};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))  // replaced since the stat
    throw config_error(path + ": the " + what + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_input_file_bytes)
    throw config_error(path + ": the " + what + " is " + std::to_string(st.st_size) +
                       " bytes; input files are " + limit);
  // Read to the end, never past the limit (files in /proc say size 0 and may
  // still hold more, or fail to read: /proc/self/mem).
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw config_error(path + ": cannot read the " + what + ": " + std::strerror(errno));
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > max_input_file_bytes)
      throw config_error(path + ": the " + what + " is larger than " + std::to_string(max_input_file_bytes) +
                         " bytes; input files are " + limit);
  }
  return text;
}

double config::number(const std::string& key) const {
  return std::strtod(m_knobs.at(key).value.c_str(), nullptr);
}
int64_t config::integer(const std::string& key) const { return static_cast<int64_t>(number(key)); }
const std::string& config::text(const std::string& key) const { return m_knobs.at(key).value; }

std::string config::markdown_table() const {
  // A cell never holds '|' (it would end the cell): choices are listed with commas.
  const auto cell = [](std::string text) {
    for (auto at = text.find('|'); at != std::string::npos; at = text.find('|', at + 2))
      text.replace(at, 1, "\\|");
    return text;
  };
  std::string out = "| key | default | unit | range | meaning |\n| --- | --- | --- | --- | --- |\n";
  for (const auto& [key, k] : m_knobs) {
    std::string range;
    if (k.type == kind::choice) {
      for (const auto& c : k.choices) range += (range.empty() ? "" : ", ") + ("`" + c + "`");
    } else if (k.type == kind::hex) {
      range = format_number(k.min) + " bytes, hex";
    } else if (k.type == kind::triple) {
      range = "min,default,max, ascending, each in " + range_text(k);
    } else if (k.type == kind::path) {
      range = "a file";
    } else {
      range = range_text(k);
    }
    out += "| `" + key + "` | " + (k.value.empty() ? "" : "`" + k.value + "`") + " | " + cell(k.unit) +
           " | " + range + " | " + cell(k.help) + " |\n";
  }
  return out;
}

void config::validate() const {
  if (number("traffic.rate_gbps") > number("nic.line_rate_gbps"))
    throw config_error("traffic.rate_gbps = " + text("traffic.rate_gbps") +
                       " exceeds nic.line_rate_gbps = " + text("nic.line_rate_gbps"));
  if (integer("host.irq_cpu") >= integer("host.cpus"))
    throw config_error("host.irq_cpu = " + text("host.irq_cpu") +
                       " but the host has host.cpus = " + text("host.cpus"));
  if (integer("app.cpu") >= integer("host.cpus"))
    throw config_error("app.cpu = " + text("app.cpu") + " but the host has host.cpus = " + text("host.cpus"));
  if (text("nic.rx_csum_offload") == "true" && text("nic.rtl_frontend") == "false")
    throw config_error(
        "nic.rx_csum_offload = true needs nic.rtl_frontend = true (the front end does the checking)");
  for (const char* port : {"traffic.src_port", "traffic.dst_port"})
    if (integer(port) + integer("traffic.flows") - 1 > 65535)
      throw config_error(std::string(port) + " = " + text(port) +
                         " with traffic.flows = " + text("traffic.flows") + " runs past port 65535");
  if (integer("app.port") + integer("app.sockets") - 1 > 65535)
    throw config_error("app.port = " + text("app.port") + " with app.sockets = " + text("app.sockets") +
                       " runs past port 65535 (socket i binds app.port + i)");
  // Each reader is a SystemC thread with a stack of its own: past this many the stacks alone
  // take gigabytes of address space, so the model refuses rather than fail to allocate them.
  if (integer("app.sockets") * integer("app.readers") > max_reader_tasks)
    throw config_error("app.sockets = " + text("app.sockets") + " with app.readers = " + text("app.readers") +
                       " makes " + std::to_string(integer("app.sockets") * integer("app.readers")) +
                       " reader tasks; the model runs at most " + std::to_string(max_reader_tasks) +
                       " (each is a SystemC thread with its own stack)");
  if (integer("nic.rx_queues") > 1 && text("nic.rtl_frontend") == "false")
    throw config_error("nic.rx_queues = " + text("nic.rx_queues") +
                       " needs nic.rtl_frontend = true (the front end computes the RSS hash)");
  if (integer("nic.rx_queues") > 1 && text("host.napi") == "false")
    throw config_error("nic.rx_queues = " + text("nic.rx_queues") +
                       " needs host.napi = true (the multi-queue driver is igb's, which is NAPI only)");
  if (integer("nic.rx_ring_size") % 8 != 0)
    throw config_error("nic.rx_ring_size = " + text("nic.rx_ring_size") +
                       " must be a multiple of 8 (RDLEN is 128-byte aligned)");
  if (integer("nic.tx_ring_size") % 8 != 0)
    throw config_error("nic.tx_ring_size = " + text("nic.tx_ring_size") +
                       " must be a multiple of 8 (TDLEN is 128-byte aligned)");
  if (integer("nic.rx_fifo_bytes") < integer("traffic.frame_bytes"))
    throw config_error("nic.rx_fifo_bytes = " + text("nic.rx_fifo_bytes") + " cannot hold one frame of " +
                       text("traffic.frame_bytes") + " bytes");
  // The wire and the link partner's request/response mode (issue 12).
  const int64_t response = integer("traffic.response_bytes");
  if (response != 0 && response < 64)
    throw config_error("traffic.response_bytes = " + text("traffic.response_bytes") +
                       " is out of range: 0 (the request's size) or [64, 1518]");
  if (text("traffic.pattern") == "rr" && text("app.role") == "reader")
    throw config_error("traffic.pattern=rr needs app.role=echo (nobody answers)");
  // The TCP sender (issue 13).
  if (text("traffic.proto") == "tcp") {
    if (text("traffic.pattern") == "rr")
      throw config_error(
          "traffic.pattern=rr is UDP only (netperf UDP_RR); traffic.proto=tcp takes "
          "constant, poisson or burst");
    if (text("traffic.corrupt") == "udp_csum")
      throw config_error(
          "traffic.corrupt=udp_csum is UDP only; traffic.proto=tcp takes none, fcs or ip_csum");
    // The receiving side: one listener and its readers (host/apps/tcp_app.h).
    if (text("app.role") != "reader")
      throw config_error("app.role = " + text("app.role") +
                         " is UDP only; traffic.proto=tcp takes app.role=reader");
    if (text("app.mode") != "blocking")
      throw config_error("app.mode = " + text("app.mode") +
                         " is UDP only; traffic.proto=tcp readers block in recv (app.mode=blocking)");
    if (integer("app.busy_poll_us") != 0)
      throw config_error("app.busy_poll_us = " + text("app.busy_poll_us") +
                         " is UDP only; traffic.proto=tcp takes app.busy_poll_us=0");
    if (integer("app.sockets") != 1)
      throw config_error("app.sockets = " + text("app.sockets") +
                         " is UDP only; traffic.proto=tcp has one listener on app.port (traffic.flows "
                         "connections to it)");
    if (integer("traffic.response_bytes") != 0)
      throw config_error("traffic.response_bytes = " + text("traffic.response_bytes") +
                         " is UDP only (rr); traffic.proto=tcp takes 0");
    if (integer("traffic.flows") * integer("app.readers") > max_reader_tasks)
      throw config_error("traffic.flows = " + text("traffic.flows") +
                         " with app.readers = " + text("app.readers") + " makes " +
                         std::to_string(integer("traffic.flows") * integer("app.readers")) +
                         " reader tasks with traffic.proto=tcp (app.readers per connection); the model "
                         "runs at most " +
                         std::to_string(max_reader_tasks));
    // Each reader has its recv buffer of app.read_bytes (host/apps/tcp_app.cpp).
    const double buffers = static_cast<double>(integer("traffic.flows")) *
                           static_cast<double>(integer("app.readers")) *
                           static_cast<double>(integer("app.read_bytes"));
    if (buffers > static_cast<double>(max_tcp_read_buffer_bytes))
      throw config_error("app.read_bytes = " + text("app.read_bytes") + " for each of " +
                         std::to_string(integer("traffic.flows") * integer("app.readers")) +
                         " TCP readers (traffic.flows x app.readers) is " +
                         std::to_string(static_cast<uint64_t>(buffers / (1 << 20))) +
                         " MiB of recv buffers; the model allows at most " +
                         std::to_string(max_tcp_read_buffer_bytes >> 20) + " MiB");
    if (integer("traffic.frame_bytes") < static_cast<int64_t>(TCP_MIN_FRAME_BYTES))
      throw config_error("traffic.frame_bytes = " + text("traffic.frame_bytes") + " leaves an MSS of " +
                         std::to_string(integer("traffic.frame_bytes") - 58) +
                         " with traffic.proto=tcp; TCP needs at least " +
                         std::to_string(partner::TCP_MIN_MSS) +
                         " (TCP_MIN_MSS), so traffic.frame_bytes >= " + std::to_string(TCP_MIN_FRAME_BYTES));
  }
  validate_model();
}

// What a named part cannot be asked to do: rejected when its driver refuses it (ethtool's
// EINVAL / EOPNOTSUPP) or the part has no such thing; what it could be asked but does not do
// (a line rate past its PHY) is run and flagged in the summary (model_warnings).
void config::validate_model() const {
  const std::string model = text("nic.model");
  if (model == "generic") {
    if (text("nic.coalesce.mode") == "itr" && integer("nic.coalesce.rx_usecs") > 8191)
      throw config_error("nic.coalesce.rx_usecs = " + text("nic.coalesce.rx_usecs") +
                         " does not fit EITR's interval field (at most 8191 us) in nic.coalesce.mode = itr");
    return;
  }
  const std::string where = "nic.model = " + model + ": ";
  const std::string mode = text("nic.coalesce.mode");
  const std::string own_mode = model == "e1000" ? "e1000" : "itr";
  if (mode != own_mode)
    throw config_error(where + "nic.coalesce.mode = " + mode + ", but the " + model + " moderates with " +
                       (model == "e1000" ? "ITR (mode e1000)" : "EITR (mode itr)") +
                       "; other modes belong to nic.model = generic");
  if (integer("nic.coalesce.rx_frames") != 0)
    throw config_error(where + "nic.coalesce.rx_frames = " + text("nic.coalesce.rx_frames") +
                       ": the driver has no rx-frames (ethtool -C rx-frames: EOPNOTSUPP)");
  if (integer("nic.coalesce.itr") != 0 || integer("nic.coalesce.min_interval_ns") != 0)
    throw config_error(where +
                       "nic.coalesce.itr and nic.coalesce.min_interval_ns program the generic device; "
                       "the driver programs ITR/EITR from nic.coalesce.rx_usecs (ethtool -C rx-usecs)");
  if (model != "e1000" && (integer("nic.coalesce.rdtr") != 0 || integer("nic.coalesce.radv") != 0))
    throw config_error(where + "nic.coalesce.rdtr/radv are the 8254x's timers; the " + model +
                       " has EITR only");
  const int64_t usecs = integer("nic.coalesce.rx_usecs");
  if (model == "e1000" || model == "igb") {
    // e1000_set_coalesce / igb_set_coalesce (v6.6): 2, 5..9 (igb: 4..9) and above 10000 are EINVAL.
    const int64_t modes_up_to = model == "e1000" ? 4 : 3;
    if (usecs == 2 || (usecs > modes_up_to && usecs < 10) || usecs > 10000)
      throw config_error(where + "nic.coalesce.rx_usecs = " + text("nic.coalesce.rx_usecs") +
                         " is rejected by the driver (EINVAL): 0 off, 1 dynamic, 3 dynamic conservative" +
                         (model == "e1000" ? ", 4 fixed 20000 ints/s" : "") + ", or 10..10000 us");
  } else if (usecs > 1022) {  // ixgbe_set_coalesce: above IXGBE_MAX_EITR >> 2
    throw config_error(where + "nic.coalesce.rx_usecs = " + text("nic.coalesce.rx_usecs") +
                       " is rejected by the driver (EINVAL): at most 1022 us (IXGBE_MAX_EITR >> 2)");
  }
  const int64_t queues = integer("nic.rx_queues");
  const int64_t max_queues = model == "e1000" ? 1 : model == "igb" ? 8 : 16;
  if (queues > max_queues)
    throw config_error(where + "nic.rx_queues = " + text("nic.rx_queues") + ", but the " +
                       (model == "e1000" ? "82540EM has one queue (no MSI-X, no RSS)"
                        : model == "igb" ? "82576's RSS spreads over at most 8 queues"
                                         : "82599's RSS spreads over at most 16 queues"));
}

std::vector<std::string> config::model_warnings() const {
  std::vector<std::string> w;
  const std::string model = text("nic.model");
  const double link = model == "ixgbe" ? 10 : 1;
  if (model != "generic" && number("nic.line_rate_gbps") > link)
    w.push_back("nic.line_rate_gbps = " + text("nic.line_rate_gbps") + " is beyond the " + model + "'s " +
                format_number(link) + " Gb/s (" +
                (model == "e1000" ? "82540EM"
                 : model == "igb" ? "82576"
                                  : "82599") +
                "): the run goes at the rate asked, the driver still sees the part's own link speed");
  if (model == "generic" && integer("nic.rx_queues") > 8)
    w.push_back("nic.rx_queues = " + text("nic.rx_queues") +
                ": more than igb's 8 RSS queues on the generic device");
  return w;
}

}  // namespace nicsim::tb
