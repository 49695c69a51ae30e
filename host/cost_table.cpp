#include "host/cost_table.h"

#include <yaml-cpp/yaml.h>

#include <stdexcept>

namespace nicsim::host {
namespace {
constexpr std::array<const char*, cost_count> names = {
    "irq_entry",      "e1000_intr",      "mmio_write",
    "napi_schedule",  "softirq_entry",   "net_rx_action",
    "napi_poll",      "clean_rx_desc",   "build_skb",
    "eth_type_trans", "alloc_rx_buffer", "netif_receive_skb",
    "netif_rx",       "ip_rcv",          "udp_rcv",
    "csum",           "udp_enqueue",     "sock_def_readable",
    "ttwu",           "ipi_send",        "ipi_delivery",
    "context_switch", "syscall",         "recvmsg",
    "copy_to_user",   "kfree_skb",       "busy_poll_relax",
    "lock_sock",      "icmp_send",       "ksoftirqd_loop"};
}  // namespace

extern const char* const costs_yaml_text;  // generated from host/costs.yaml

const char* cost_name(cost c) { return names[static_cast<size_t>(c)]; }

const std::string& cost_table::default_yaml() {
  static const std::string text = costs_yaml_text;
  return text;
}

cost_table cost_table::defaults(double cpu_ghz) {
  return parse(default_yaml(), "built-in costs.yaml", cpu_ghz);
}

cost_table cost_table::parse(const std::string& yaml_text, const std::string& origin, double cpu_ghz) {
  if (!(cpu_ghz > 0)) throw std::invalid_argument(origin + ": cpu_ghz must be positive");
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument(origin + ": " + e.what());
  }
  if (!root.IsMap()) throw std::invalid_argument(origin + ": expected a map of cost entries");
  cost_table t;
  t.m_ns_per_cycle = 1.0 / cpu_ghz;
  std::array<bool, cost_count> seen{};
  for (const auto& kv : root) {
    const auto key = kv.first.as<std::string>();
    size_t i = 0;
    while (i < cost_count && key != names[i]) ++i;
    if (i == cost_count) throw std::invalid_argument(origin + ": unknown cost entry '" + key + "'");
    const YAML::Node& v = kv.second;
    if (!v.IsMap() || !v["cycles"])
      throw std::invalid_argument(origin + ": entry '" + key + "' needs {cycles: N}");
    for (const auto& f : v) {
      const auto field = f.first.as<std::string>();
      if (field != "cycles" && field != "per_byte")
        throw std::invalid_argument(origin + ": entry '" + key + "' has unknown field '" + field + "'");
    }
    try {
      t.m_entries[i].cycles = v["cycles"].as<double>();
      t.m_entries[i].per_byte = v["per_byte"] ? v["per_byte"].as<double>() : 0.0;
    } catch (const YAML::Exception&) {
      throw std::invalid_argument(origin + ": entry '" + key + "' must hold numbers");
    }
    if (t.m_entries[i].cycles < 0 || t.m_entries[i].per_byte < 0)
      throw std::invalid_argument(origin + ": entry '" + key + "' is negative");
    seen[i] = true;
  }
  for (size_t i = 0; i < cost_count; ++i)
    if (!seen[i])
      throw std::invalid_argument(origin + ": missing cost entry '" + std::string(names[i]) + "'");
  return t;
}

}  // namespace nicsim::host
