#include "tb/config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace nicsim::tb {

config::config() {
  add("sim.duration_us", kind::number, 1, 1e7, "1000", "us", "simulated time to run");
  add("sim.seed", kind::integer, 0, 4294967295.0, "1", "",
      "seed of every random choice (same seed, same run)");
  add("traffic.rate_gbps", kind::number, 1e-6, 400, "1", "Gb/s",
      "offered load in bits on the wire, preamble and inter-frame gap included");
  add("traffic.frame_bytes", kind::integer, 64, 1518, "512", "B", "Ethernet frame size, FCS included");
  add("traffic.pattern", kind::choice, 0, 0, "constant", "", "departure process",
      {"constant", "poisson", "burst"});
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
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || end == value.c_str() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
    throw config_error(origin + ": " + key + " = '" + value + "' is not a number");
  if (k.type == kind::integer && std::floor(v) != v)
    throw config_error(origin + ": " + key + " = '" + value + "' must be an integer");
  if (v < k.min || v > k.max) {
    std::ostringstream os;
    os << origin << ": " << key << " = " << value << " is out of range [" << k.min << ", " << k.max << "]";
    throw config_error(os.str());
  }
  std::ostringstream canon;
  canon.precision(17);
  canon << v;
  k.value = canon.str();
}

void config::set_assignment(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw config_error("--set '" + assignment + "': expected KEY=VALUE");
  set(assignment.substr(0, eq), assignment.substr(eq + 1), "--set");
}

namespace {
void flatten(const YAML::Node& node, const std::string& prefix, const std::string& origin, config& cfg) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      const auto key = kv.first.as<std::string>();
      flatten(kv.second, prefix.empty() ? key : prefix + "." + key, origin, cfg);
    }
    return;
  }
  if (!node.IsScalar()) throw config_error(origin + ": " + prefix + " must be a single value");
  cfg.set(prefix, node.Scalar(), origin);
}
}  // namespace

void config::load_yaml_text(const std::string& text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw config_error(origin + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (root.IsNull()) return;  // an empty scenario keeps the defaults
  if (!root.IsMap()) throw config_error(origin + ": a scenario is a map of keys");
  // A study's `sweep:` section is for `nicsim sweep`; `run` takes the file's base point.
  YAML::Node knobs = YAML::Clone(root);
  knobs.remove("sweep");
  flatten(knobs, "", origin, *this);
}

void config::load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw config_error(path + ": cannot read the scenario file");
  std::stringstream ss;
  ss << in.rdbuf();
  load_yaml_text(ss.str(), path);
}

double config::number(const std::string& key) const {
  return std::strtod(m_knobs.at(key).value.c_str(), nullptr);
}
int64_t config::integer(const std::string& key) const { return static_cast<int64_t>(number(key)); }
const std::string& config::text(const std::string& key) const { return m_knobs.at(key).value; }

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
}

}  // namespace nicsim::tb
