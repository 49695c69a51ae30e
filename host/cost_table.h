#pragma once
// One table of what each step of the receive path costs the CPU
// (host/costs.yaml documents every default and where it comes from).
#include <array>
#include <cstdint>
#include <string>
#include <systemc>

namespace nicsim::host {

enum class cost : unsigned {
  irq_entry,
  e1000_intr,
  mmio_write,
  napi_schedule,
  softirq_entry,
  net_rx_action,
  napi_poll,
  clean_rx_desc,
  build_skb,
  eth_type_trans,
  alloc_rx_buffer,
  netif_receive_skb,
  netif_rx,
  ip_rcv,
  udp_rcv,
  csum,
  udp_enqueue,
  sock_def_readable,
  ttwu,
  ipi_send,
  ipi_delivery,
  context_switch,
  syscall,
  recvmsg,
  copy_to_user,
  kfree_skb,
  busy_poll_relax,
  lock_sock,
  icmp_send,
  ksoftirqd_loop,
  // transmit
  udp_sendmsg,
  alloc_tx_skb,
  copy_from_user,
  udp_send_skb,
  ip_make_skb,
  ip_output,
  neigh_output,
  dev_queue_xmit,
  qdisc_enqueue,
  qdisc_restart,
  net_tx_action,
  e1000_xmit_frame,
  clean_tx_desc,
  sock_wfree,
  // GRO (net/core/gro.c)
  napi_gro_receive,
  skb_gro_receive,
  napi_gro_complete,
  gro_normal_list,
  // timers and TCP
  run_timer_softirq,
  call_timer_fn,
  tcp_v4_rcv,
  sk_filter,
  tcp_add_backlog,
  tcp_rcv_established,
  tcp_rcv_slow_path,
  tcp_ack,
  tcp_data_queue,
  tcp_data_queue_ofo,
  tcp_try_coalesce,
  tcp_prune_queue,
  tcp_ack_snd_check,
  tcp_send_ack,
  tcp_transmit_skb,
  tcp_delack_timer,
  tcp_recvmsg,
  tcp_cleanup_rbuf,
  tcp_rcv_space_adjust,
  tcp_conn_request,
  tcp_synack,
  tcp_check_req,
  inet_csk_accept,
  tcp_v4_send_reset,
  e1000_copybreak,
  // socket memory (issue 14)
  udp_rmem_release,
  count_
};
inline constexpr size_t cost_count = static_cast<size_t>(cost::count_);
const char* cost_name(cost c);

class cost_table {
 public:
  struct entry {
    double cycles = 0;
    double per_byte = 0;
  };
  // The built-in table (host/costs.yaml, compiled in).
  static cost_table defaults(double cpu_ghz);
  // Bounds of an entry's fields: far above any real step (a context switch is
  // some 10^4 cycles), low enough that a charge stays a finite time SystemC holds.
  static constexpr double max_cycles = 1e9;
  static constexpr double max_per_byte = 1e6;
  // A complete table from YAML text; `origin` names it in errors. Unknown,
  // missing, non-numeric or out-of-bounds entries throw std::invalid_argument
  // naming the key and the bounds; a malformed document (two documents, a
  // key given twice, a complex key) names the line and column.
  static cost_table parse(const std::string& yaml_text, const std::string& origin, double cpu_ghz);
  static const std::string& default_yaml();

  sc_core::sc_time operator()(cost c, uint64_t bytes = 0) const {
    const entry& e = m_entries[static_cast<size_t>(c)];
    return sc_core::sc_time((e.cycles + e.per_byte * static_cast<double>(bytes)) * m_ns_per_cycle,
                            sc_core::SC_NS);
  }
  const entry& at(cost c) const { return m_entries[static_cast<size_t>(c)]; }
  double cpu_ghz() const { return 1.0 / m_ns_per_cycle; }

 private:
  std::array<entry, cost_count> m_entries{};
  double m_ns_per_cycle = 1.0 / 3.0;
};

}  // namespace nicsim::host
