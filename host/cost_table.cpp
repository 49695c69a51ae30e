#include "host/cost_table.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "host/yaml_input.h"

namespace nicsim::host {
namespace {
constexpr std::array<const char*, cost_count> names = {"irq_entry",
                                                       "e1000_intr",
                                                       "mmio_write",
                                                       "napi_schedule",
                                                       "softirq_entry",
                                                       "net_rx_action",
                                                       "napi_poll",
                                                       "clean_rx_desc",
                                                       "build_skb",
                                                       "eth_type_trans",
                                                       "alloc_rx_buffer",
                                                       "netif_receive_skb",
                                                       "netif_rx",
                                                       "ip_rcv",
                                                       "udp_rcv",
                                                       "csum",
                                                       "udp_enqueue",
                                                       "sock_def_readable",
                                                       "ttwu",
                                                       "ipi_send",
                                                       "ipi_delivery",
                                                       "context_switch",
                                                       "syscall",
                                                       "recvmsg",
                                                       "copy_to_user",
                                                       "kfree_skb",
                                                       "busy_poll_relax",
                                                       "lock_sock",
                                                       "icmp_send",
                                                       "ksoftirqd_loop",
                                                       "udp_sendmsg",
                                                       "alloc_tx_skb",
                                                       "copy_from_user",
                                                       "udp_send_skb",
                                                       "ip_make_skb",
                                                       "ip_output",
                                                       "neigh_output",
                                                       "dev_queue_xmit",
                                                       "qdisc_enqueue",
                                                       "qdisc_restart",
                                                       "net_tx_action",
                                                       "e1000_xmit_frame",
                                                       "clean_tx_desc",
                                                       "sock_wfree",
                                                       "napi_gro_receive",
                                                       "skb_gro_receive",
                                                       "napi_gro_complete",
                                                       "gro_normal_list",
                                                       "run_timer_softirq",
                                                       "call_timer_fn",
                                                       "tcp_v4_rcv",
                                                       "sk_filter",
                                                       "tcp_add_backlog",
                                                       "tcp_rcv_established",
                                                       "tcp_rcv_slow_path",
                                                       "tcp_ack",
                                                       "tcp_data_queue",
                                                       "tcp_data_queue_ofo",
                                                       "tcp_try_coalesce",
                                                       "tcp_prune_queue",
                                                       "tcp_ack_snd_check",
                                                       "tcp_send_ack",
                                                       "tcp_transmit_skb",
                                                       "tcp_delack_timer",
                                                       "tcp_recvmsg",
                                                       "tcp_cleanup_rbuf",
                                                       "tcp_rcv_space_adjust",
                                                       "tcp_conn_request",
                                                       "tcp_synack",
                                                       "tcp_check_req",
                                                       "inet_csk_accept",
                                                       "tcp_v4_send_reset",
                                                       "e1000_copybreak",
                                                       "udp_rmem_release"};
// 1000000000, not 1e+09.
std::string format_bound(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}
}  // namespace

extern const char* const costs_yaml_text;  // generated from host/costs.yaml
struct builtin_cost {                      // host/costs.yaml's entries, compiled in (host/CMakeLists.txt)
  const char* name;
  double cycles, per_byte;
};
extern const builtin_cost costs_builtin[];
extern const unsigned costs_builtin_count;

const char* cost_name(cost c) { return names[static_cast<size_t>(c)]; }

const std::string& cost_table::default_yaml() {
  static const std::string text = costs_yaml_text;
  return text;
}

// The built-in table comes compiled in (yaml-cpp took some 19 M instructions, about 5 ms, to
// parse costs.yaml at every start); each call only sets the clock.
cost_table cost_table::defaults(double cpu_ghz) {
  if (!(cpu_ghz > 0) || !std::isfinite(cpu_ghz))
    throw std::invalid_argument("built-in costs.yaml: cpu_ghz must be positive");
  static const cost_table compiled = [] {
    cost_table t;
    std::array<bool, cost_count> seen{};
    for (unsigned k = 0; k < costs_builtin_count; ++k) {
      size_t i = 0;
      while (i < cost_count && std::strcmp(costs_builtin[k].name, names[i]) != 0) ++i;
      if (i == cost_count || seen[i])
        throw std::logic_error(std::string("built-in costs.yaml: unknown or repeated entry ") +
                               costs_builtin[k].name);
      t.m_entries[i] = {costs_builtin[k].cycles, costs_builtin[k].per_byte};
      seen[i] = true;
    }
    for (size_t i = 0; i < cost_count; ++i)
      if (!seen[i]) throw std::logic_error(std::string("built-in costs.yaml: missing entry ") + names[i]);
    return t;
  }();
  cost_table t = compiled;
  t.m_ns_per_cycle = 1.0 / cpu_ghz;
  t.fix_times();
  return t;
}

void cost_table::fix_times() {
  for (size_t i = 0; i < cost_count; ++i)
    m_fixed[i] = sc_core::sc_time(m_entries[i].cycles * m_ns_per_cycle, sc_core::SC_NS);
}

cost_table cost_table::parse(const std::string& yaml_text, const std::string& origin, double cpu_ghz) {
  if (!(cpu_ghz > 0) || !std::isfinite(cpu_ghz))
    throw std::invalid_argument(origin + ": cpu_ghz must be positive");
  // One document, every key a plain name given once (throws naming line and column).
  const YAML::Node root = yaml_input::load(yaml_text, origin);
  if (!root.IsMap()) throw std::invalid_argument(origin + ": expected a map of cost entries");
  cost_table t;
  t.m_ns_per_cycle = 1.0 / cpu_ghz;
  std::array<bool, cost_count> seen{};
  for (const auto& kv : root) {
    const auto& key = kv.first.Scalar();
    size_t i = 0;
    while (i < cost_count && key != names[i]) ++i;
    if (i == cost_count) throw std::invalid_argument(origin + ": unknown cost entry '" + key + "'");
    const YAML::Node& v = kv.second;
    if (!v.IsMap() || !v["cycles"])
      throw std::invalid_argument(origin + ": entry '" + key + "' needs {cycles: N}");
    for (const auto& f : v) {
      const auto& field = f.first.Scalar();
      if (field != "cycles" && field != "per_byte")
        throw std::invalid_argument(origin + ": entry '" + key + "' has unknown field '" + field + "'");
      const double max = field == "cycles" ? max_cycles : max_per_byte;
      double n = 0;
      try {
        n = f.second.as<double>();
      } catch (const YAML::Exception&) {
        throw std::invalid_argument(origin + ": entry '" + key + "' must hold numbers");
      }
      // The bounds keep every charge a finite time that SystemC's integer
      // picoseconds can hold (.nan, .inf or 1e308 cycles would not).
      const std::string range = field + " must be within [0, " + format_bound(max) + "]";
      const std::string line = " (" + yaml_input::at(origin, f.second.Mark()) + ")";
      if (std::isnan(n))
        throw std::invalid_argument(origin + ": entry '" + key + "' " + field + " = " + f.second.Scalar() +
                                    " is not a number; " + range + line);
      if (n < 0)
        throw std::invalid_argument(origin + ": entry '" + key + "' is negative (" + field + " = " +
                                    f.second.Scalar() + "); " + range + line);
      if (n > max)
        throw std::invalid_argument(origin + ": entry '" + key + "' " + field + " = " + f.second.Scalar() +
                                    " is too large; " + range + line);
      (field == "cycles" ? t.m_entries[i].cycles : t.m_entries[i].per_byte) = n;
    }
    seen[i] = true;
  }
  for (size_t i = 0; i < cost_count; ++i)
    if (!seen[i])
      throw std::invalid_argument(origin + ": missing cost entry '" + std::string(names[i]) + "'");
  t.fix_times();
  return t;
}

}  // namespace nicsim::host
