#include "tb/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "host/yaml_input.h"

namespace nicsim::tb {

config::config() {
  add("sim.duration_us", kind::number, 1, 1e7, "1000", "us", "simulated time to run");
  add("sim.seed", kind::integer, 0, 4294967295.0, "1", "",
      "seed of every random choice (same seed, same run)");
  add("traffic.rate_gbps", kind::number, 1e-6, 400, "1", "Gb/s",
      "offered load in bits on the wire, preamble and inter-frame gap included");
  add("traffic.frame_bytes", kind::integer, 64, 1518, "512", "B", "Ethernet frame size, FCS included");
  add("traffic.pattern", kind::choice, 0, 0, "constant", "",
      "departure process; rr: netperf UDP_RR, requests answered by the host's echo (not paced by rate_gbps)",
      {"constant", "poisson", "burst", "rr"});
  add("traffic.burst_frames", kind::integer, 1, 1000000, "32", "frames",
      "frames per back-to-back burst (burst)");
  add("traffic.dst_port", kind::integer, 1, 65535, "9000", "", "UDP destination port");
  add("traffic.flows", kind::integer, 1, 1024, "1", "flows",
      "UDP flows, round robin: frame i belongs to flow k = i % flows, from src_port + k to dst_port + k");
  add("traffic.corrupt", kind::choice, 0, 0, "none", "",
      "damage every corrupt_every-th frame: its FCS, IPv4 header checksum or UDP checksum",
      {"none", "fcs", "ip_csum", "udp_csum"});
  add("traffic.corrupt_every", kind::integer, 0, 1e9, "0", "frames",
      "how often traffic.corrupt applies (0: never)");
  add("traffic.src_port", kind::integer, 1, 65535, "40000", "", "UDP source port");
  add("traffic.count", kind::integer, 0, 1e12, "0", "frames",
      "stop after this many frames (0: until the end)");
  add("traffic.start_us", kind::number, 0, 1e7, "0", "us", "first frame this long after the link is up");
  add("nic.line_rate_gbps", kind::number, 0.001, 400, "10", "Gb/s", "MAC line rate");
  add("nic.rx_ring_size", kind::integer, 8, 4096, "256", "descriptors",
      "RX descriptors (ethtool -G rx), a multiple of 8");
  add("nic.rx_fifo_bytes", kind::integer, 2048, 16 * 1024 * 1024, "65536", "B", "RX packet buffer");
  add("nic.desc_fetch_batch", kind::integer, 1, 64, "4", "descriptors", "descriptors fetched per read");
  add("nic.desc_prefetch_threshold", kind::integer, 0, 64, "0", "descriptors",
      "RXDCTL.PTHRESH: prefetch while the on-chip cache holds fewer (0: fetch only when empty)");
  add("nic.desc_wb_batch", kind::integer, 1, 64, "1", "descriptors",
      "RXDCTL.WTHRESH: descriptors written back per burst while frames keep coming");
  add("nic.rx_queues", kind::integer, 1, 8, "1", "queues",
      "RX queues, each with a ring, an MSI-X vector and a NAPI instance (ethtool -L rx); "
      "more than 1 turns on RSS (igb spreads RSS over at most 8 queues on the 82576)");
  add("nic.rss_key", kind::hex, 40, 40,
      "6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa", "",
      "Toeplitz RSS key, 40 bytes (ethtool -X hkey); the default is Microsoft's verification key");
  add("nic.rx_flow_hash_udp4", kind::choice, 0, 0, "sd", "",
      "fields RSS hashes for UDP/IPv4 (ethtool -N rx-flow-hash udp4): sd = addresses only, "
      "as igb does by default; sdfn = addresses and ports",
      {"sd", "sdfn"});
  add("nic.rx_csum_offload", kind::choice, 0, 0, "false", "",
      "ethtool -K rx: the RTL front end verifies TCP/UDP checksums and the host skips them",
      {"false", "true"});
  add("nic.rtl_frontend", kind::choice, 0, 0, "true", "",
      "run every frame through the verilated RX front end; false: FCS only, in C++ (about 4x faster runs)",
      {"true", "false"});
  add("nic.coalesce.rx_usecs", kind::integer, 0, 65535, "20", "us", "ethtool -C rx-usecs");
  add("nic.coalesce.rx_frames", kind::integer, 0, 65535, "0", "frames", "ethtool -C rx-frames");
  add("nic.coalesce.mode", kind::choice, 0, 0, "ethtool", "",
      "interrupt moderation: ethtool (rx_usecs/rx_frames), e1000 (itr/rdtr/radv), "
      "arm (auto-mask, re-armed by the driver, min_interval_ns apart)",
      {"ethtool", "e1000", "arm"});
  add("nic.coalesce.itr", kind::integer, 0, 65535, "0", "256 ns",
      "e1000 ITR: minimum gap between interrupts (0: no limit)");
  add("nic.coalesce.rdtr", kind::integer, 0, 65535, "0", "1.024 us",
      "e1000 RDTR: interrupt when no frame came for this long (0: per frame)");
  add("nic.coalesce.radv", kind::integer, 0, 65535, "0", "1.024 us",
      "e1000 RADV: interrupt at most this long after the first pending frame (0: off)");
  add("nic.coalesce.min_interval_ns", kind::integer, 0, 4294967295.0, "0", "ns",
      "arm: minimum gap between interrupts");
  add("pcie.gbps", kind::number, 0.1, 2000, "63", "Gb/s", "PCIe data rate per direction");
  add("pcie.latency_ns", kind::number, 0, 100000, "250", "ns", "PCIe one-way latency");
  add("pcie.mps", kind::integer, 128, 4096, "256", "B", "max payload size of a TLP");
  add("host.cpu_ghz", kind::number, 0.1, 10, "3", "GHz", "CPU clock the cost table's cycles run at");
  add("host.napi_weight", kind::integer, 1, 4096, "64", "packets", "NAPI weight per poll");
  add("host.netdev_budget", kind::integer, 1, 1000000, "300", "packets", "net.core.netdev_budget");
  add("host.napi", kind::choice, 0, 0, "true", "",
      "NAPI polling; false: the pre-NAPI driver (netif_rx per frame in hard IRQ)", {"true", "false"});
  add("host.netdev_max_backlog", kind::integer, 1, 1000000, "1000", "packets",
      "net.core.netdev_max_backlog (non-NAPI path)");
  add("host.netdev_budget_usecs", kind::integer, 0, 1000000, "0", "us",
      "net.core.netdev_budget_usecs; 0: the kernel's default of 2 jiffies (2000 at HZ=1000)");
  add("host.cpus", kind::integer, 1, 64, "1", "CPUs", "CPUs of the host");
  add("host.hz", kind::choice, 0, 0, "1000", "", "CONFIG_HZ: scheduler tick and jiffies",
      {"100", "250", "300", "1000"});
  add("host.irq_cpu", kind::integer, 0, 63, "0", "", "CPU the NIC's interrupt is routed to (smp_affinity)");
  add("app.cpu", kind::integer, 0, 63, "0", "", "CPU the readers start on");
  add("app.sockets", kind::integer, 1, 1024, "1", "sockets",
      "applications, one socket each, bound to app.port, app.port + 1, ...");
  add("app.mode", kind::choice, 0, 0, "blocking", "",
      "blocking: recvfrom sleeps when empty; nonblocking: a busy loop of recvfrom (EAGAIN)",
      {"blocking", "nonblocking"});
  add("app.busy_poll_us", kind::integer, 0, 100000, "0", "us",
      "SO_BUSY_POLL: poll the NIC from recvfrom before sleeping");
  add("host.napi_defer_hard_irqs", kind::integer, 0, 1000000, "0", "polls",
      "napi_defer_hard_irqs: empty polls before the device interrupts again (needs gro_flush_timeout)");
  add("host.gro_flush_timeout_ns", kind::integer, 0, 1e9, "0", "ns",
      "gro_flush_timeout: the timer that polls again while interrupts are deferred");
  add("host.udp_backlog", kind::choice, 0, 0, "false", "",
      "true: the seed's kernels, softirq backlogs UDP while a reader owns the socket", {"true", "false"});
  add("app.pinned", kind::choice, 0, 0, "true", "",
      "readers pinned to app.cpu; false: the scheduler places them", {"true", "false"});
  add("app.port", kind::integer, 1, 65535, "9000", "", "UDP port the application binds");
  add("app.readers", kind::integer, 1, 64, "1", "tasks", "reader tasks blocked in recvfrom on the socket");
  add("app.rcvbuf_bytes", kind::integer, 256, 2147483647.0, "212992", "B",
      "socket receive buffer (SO_RCVBUF)");
  add("app.work_ns", kind::number, 0, 1e9, "500", "ns", "user-mode work per message");
  // The wire and the link partner's request/response mode (issue 12).
  add("link.delay_ns", kind::number, 0, 1e9, "0", "ns",
      "one-way propagation delay of the Ethernet link, both directions");
  add("traffic.rr_outstanding", kind::integer, 1, 1024, "1", "requests",
      "rr: requests in flight (netperf UDP_RR burst + 1); the next goes out as a response "
      "arrives, whatever traffic.rate_gbps says");
  add("traffic.response_bytes", kind::integer, 0, 1518, "0", "B",
      "rr: response frame size, FCS included (64..1518); 0: the request's size");
}

void config::add(const std::string& key, kind type, double min, double max, const std::string& def,
                 const std::string& unit, const std::string& help, std::vector<std::string> choices) {
  knob k{key, type, min, max, std::move(choices), "", help, unit};
  m_knobs.emplace(key, k);
  set(key, def, "default");
}

void config::set(const std::string& key, const std::string& value, const std::string& origin) {
  auto it = m_knobs.find(key);
  if (it == m_knobs.end()) throw config_error(origin + ": unknown key '" + key + "'");
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

const std::vector<key_alias>& key_aliases() {
  static const std::vector<key_alias> aliases{
      {"rx-usecs", "nic.coalesce.rx_usecs"},  // ethtool -C
      {"rx-frames", "nic.coalesce.rx_frames"},
      {"rx", "nic.rx_ring_size"},  // ethtool -G
      {"rate", "traffic.rate_gbps"},
      {"frame", "traffic.frame_bytes"},
      {"pattern", "traffic.pattern"},
      {"burst", "traffic.burst_frames"},
      {"napi", "host.napi"},
      {"weight", "host.napi_weight"},
      {"budget", "host.netdev_budget"},
      {"cpus", "host.cpus"},
      {"duration", "sim.duration_us"},
      {"seed", "sim.seed"},
  };
  return aliases;
}

std::string resolve_key(const std::string& name) {
  for (const auto& a : key_aliases())
    if (name == a.alias) return a.key;
  return name;
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
  if (integer("nic.rx_fifo_bytes") < integer("traffic.frame_bytes"))
    throw config_error("nic.rx_fifo_bytes = " + text("nic.rx_fifo_bytes") + " cannot hold one frame of " +
                       text("traffic.frame_bytes") + " bytes");
  // The wire and the link partner's request/response mode (issue 12).
  const int64_t response = integer("traffic.response_bytes");
  if (response != 0 && response < 64)
    throw config_error("traffic.response_bytes = " + text("traffic.response_bytes") +
                       " is out of range: 0 (the request's size) or [64, 1518]");
  if (text("traffic.pattern") == "rr" && has("app.role") && text("app.role") == "reader")
    throw config_error("traffic.pattern=rr needs app.role=echo (nobody answers)");
}

}  // namespace nicsim::tb
