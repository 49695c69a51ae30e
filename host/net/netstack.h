#pragma once
// The kernel's receive path above the driver: NAPI and net_rx_action
// (net/core/dev.c), ip_rcv (net/ipv4/ip_input.c), udp_rcv and the UDP socket
// receive queue (net/ipv4/udp.c), icmp_send with its rate limits
// (net/ipv4/icmp.c), and the blocking recvfrom of a reader. Its member functions are
// defined in the files of the kernel's tree that have them (net/core/, net/ipv4/);
// netif_receive_skb and ip_local_deliver dispatch through the ptype_base and
// inet_protos[] tables that inet_init fills.
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "host/kernel/cpu.h"
#include "host/kernel/sched/wait.h"
#include "host/net/core/dev.h"
#include "host/net/core/skbuff.h"
#include "host/net/core/sock.h"
#include "host/net/ipv4/protocol.h"
#include "host/net/net_namespace.h"

namespace nicsim::host {

struct netstack_params {
  int netdev_budget = 300;
  unsigned netdev_max_backlog = 1000;  // net.core.netdev_max_backlog
  int dev_weight = 64;                 // net.core.dev_weight: the backlog's NAPI weight
  unsigned netdev_budget_usecs = 0;    // 0: the kernel's default, 2 * USEC_PER_SEC / HZ
  uint32_t local_ip = 0x0A000002;
  int napi_defer_hard_irqs = 0;                               // /sys/class/net/<dev>/napi_defer_hard_irqs
  sc_core::sc_time gro_flush_timeout{sc_core::SC_ZERO_TIME};  // /sys/class/net/<dev>/gro_flush_timeout
  bool udp_backlog = false;      // the seed's kernels: softirq backlogs UDP while the reader owns the socket
  int icmp_msgs_per_sec = 1000;  // net.ipv4.icmp_msgs_per_sec
  int icmp_msgs_burst = 50;      // net.ipv4.icmp_msgs_burst
  sc_core::sc_time icmp_ratelimit{1000, sc_core::SC_MS};  // net.ipv4.icmp_ratelimit, per destination
};

class netstack {
 public:
  netstack(const std::vector<cpu*>& cpus, skb_cache& skbs, rx_buffer_pool& buffers,
           const netstack_params& params);
  netstack(const netstack&) = delete;  // its registered handlers point back at it
  netstack& operator=(const netstack&) = delete;

  // ---- NAPI
  bool napi_schedule_prep(napi_struct& n);
  void __napi_schedule(napi_struct& n);
  bool napi_complete_done(napi_struct& n, int work_done);
  // Shows n's scheduled state in the waves as host.napi.<name>.
  void napi_observe(napi_struct& n);
  void net_rx_action();

  // ---- receive
  // napi_gro_receive (net/core/gro.c, v6.x): skb_mark_napi_id, then up the stack (no GRO
  // aggregation for UDP here). Only skbs received this way carry an instance for busy polling.
  void napi_gro_receive(napi_struct& napi, sk_buff* skb) {
    skb_mark_napi_id(skb, &napi);
    netif_receive_skb(skb);
  }
  void netif_receive_skb(sk_buff* skb);
  // The pre-NAPI entry: queue to this CPU's backlog, processed by process_backlog in softirq.
  void netif_rx(sk_buff* skb);
  void kfree_skb(sk_buff* skb, skb_drop_reason reason);

  // ---- sockets and syscalls
  udp_sock& udp_bind(uint16_t port, uint64_t rcvbuf);
  // recvfrom on sk from the current task: the bytes copied into buf, or EAGAIN_
  // when dontwait (MSG_DONTWAIT / O_NONBLOCK) and nothing is queued.
  static constexpr long EAGAIN_ = -11;
  long udp_recvmsg(udp_sock& sk, uint8_t* buf, size_t len, bool dontwait = false);
  uint64_t busy_poll_rx_packets() const { return m_busy_poll_rx; }
  uint64_t napi_watchdog_polls() const { return m_watchdog_polls; }
  // Datagrams copied to a reader that has not left recvmsg yet (for the frame ledger).
  unsigned returning() const { return m_returning; }

  const softnet_data& softnet(int cpu) const { return *m_sd.at(static_cast<size_t>(cpu)); }
  softnet_data softnet_total() const;  // counters summed over CPUs
  size_t cpus() const { return m_sd.size(); }
  const ip_mib& ip() const { return m_net.mib.ip_statistics; }
  const udp_mib& udp() const { return m_net.mib.udp_statistics; }
  const icmp_mib& icmp() const { return m_net.mib.icmp_statistics; }
  // The namespace's state (MIBs, socket table, inet_peer, ICMP rate limit).
  const struct net& init_net() const { return m_net; }

  // ---- registration (net/core/dev.c, net/ipv4/protocol.c)
  void dev_add_pack(packet_type pt) { m_ptype_base.push_back(std::move(pt)); }
  bool inet_add_protocol(const net_protocol* prot, uint8_t protocol) {
    return host::inet_add_protocol(m_inet_protos, prot, protocol);
  }
  const std::array<uint64_t, skb_drop_reason_count>& drops() const { return m_drops; }

 private:
  int napi_poll(napi_struct& n, std::deque<napi_struct*>& repoll);
  int process_backlog(napi_struct& n, int quota);
  // inet_init (net/ipv4/af_inet.c): each protocol registers itself.
  void inet_init();
  void ip_init();    // dev_add_pack(&ip_packet_type)
  void udp_init();   // inet_add_protocol(&udp_protocol, IPPROTO_UDP)
  void icmp_init();  // inet_add_protocol(&icmp_protocol, IPPROTO_ICMP)
  void ip_rcv(sk_buff* skb);
  void ip_local_deliver(sk_buff* skb, uint8_t protocol);
  void udp_rcv(sk_buff* skb);
  void icmp_rcv(sk_buff* skb);
  void __udp_enqueue_schedule_skb(udp_sock& sk, sk_buff* skb);
  void sock_def_readable(udp_sock& sk);
  void lock_sock(udp_sock& sk);
  void release_sock(udp_sock& sk);
  void napi_busy_loop(udp_sock& sk, napi_struct& n, sc_core::sc_time end);
  void napi_watchdog(napi_struct& n);
  void icmp_send_port_unreach(uint32_t daddr);
  bool icmp_global_allow();
  bool icmpv4_xrlim_allow(uint32_t daddr);

  skb_cache& m_skbs;
  rx_buffer_pool& m_buffers;
  netstack_params m_params;
  softnet_data& sd() { return *m_sd[static_cast<size_t>(cpu::this_cpu().id())]; }
  std::vector<std::unique_ptr<softnet_data>> m_sd;  // per CPU
  struct net m_net;                                 // init_net: the one namespace
  std::vector<packet_type> m_ptype_base;            // ptype_base (one list: the model has few types)
  inet_protos_table m_inet_protos{};                // inet_protos[]
  net_protocol m_udp_protocol, m_icmp_protocol;
  std::array<uint64_t, skb_drop_reason_count> m_drops{};
  uint64_t m_busy_poll_rx = 0;    // LINUX_MIB_BUSYPOLLRXPACKETS
  uint64_t m_watchdog_polls = 0;  // NAPIs rescheduled by their gro_flush_timeout timer
  unsigned m_returning = 0;       // datagrams copied out while their reader still holds the socket
};

}  // namespace nicsim::host
