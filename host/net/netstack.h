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
#include "host/net/core/netdevice.h"
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
  // ---- transmit
  int dev_tx_weight = 64;  // net.core.dev_weight * dev_weight_tx_bias: __qdisc_run's quota
  // The neighbour table's static entries (ip neigh add ... lladdr ... nud permanent): the
  // link partner 10.0.0.1 at 02:00:00:00:00:01, the traffic source's address.
  struct neighbour {
    uint32_t ip = 0;
    std::array<uint8_t, 6> ha{};
  };
  std::vector<neighbour> neighbours{{0x0A000001, {0x02, 0x00, 0x00, 0x00, 0x00, 0x01}}};
  uint64_t wmem_default = 212992;  // net.core.wmem_default: SO_SNDBUF of a new socket
  // The per-CPU ICMP socket's sk_sndbuf (icmp_sk_init: 2 * SKB_TRUESIZE(64 * 1024)).
  uint64_t icmp_sndbuf = 2 * (65536 + 576);
};

// struct sockaddr_in, host byte order.
struct sockaddr_in {
  uint32_t addr = 0;
  uint16_t port = 0;
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
  long udp_recvmsg(udp_sock& sk, uint8_t* buf, size_t len, bool dontwait = false) {
    return udp_recvmsg(sk, buf, len, dontwait, nullptr);
  }
  // recvfrom with the sender's address (msg_name) filled in.
  long udp_recvmsg(udp_sock& sk, uint8_t* buf, size_t len, bool dontwait, sockaddr_in* from);
  // sendto(fd, buf, len, 0, to) on sk from the current task (udp_sendmsg): the bytes sent,
  // or a negative errno (EAGAIN_ when dontwait and the send buffer is full, ENOBUFS_ when no
  // transmit buffer is left in host memory).
  static constexpr long ENOBUFS_ = -105;
  long udp_sendmsg(udp_sock& sk, const uint8_t* buf, size_t len, const sockaddr_in& to,
                   bool dontwait = false);
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

  // ---- transmit (net/core/dev.c, net/sched/sch_generic.c, include/linux/netdevice.h, v6.6)
  // The device transmit goes to, and the host-memory pool its skbs' data comes from.
  void register_netdev(net_device& dev) { m_dev = &dev; }
  void set_tx_buffers(rx_buffer_pool* pool) { m_tx_buffers = pool; }
  net_device* dev() const { return m_dev; }
  // dev_queue_xmit: NET_XMIT_SUCCESS, NET_XMIT_DROP (the qdisc dropped it) or ENETDOWN_.
  int dev_queue_xmit(sk_buff* skb);
  // Queue state, from the driver (include/linux/netdevice.h).
  void netif_tx_stop_queue(netdev_queue& q) { q.drv_xoff = true; }
  void netif_tx_start_queue(netdev_queue& q) { q.drv_xoff = false; }
  void netif_tx_wake_queue(netdev_queue& q);
  void netdev_tx_sent_queue(netdev_queue& q, unsigned bytes);
  void netdev_tx_completed_queue(netdev_queue& q, unsigned pkts, unsigned bytes);
  void netdev_tx_reset_queue(netdev_queue& q);
  // napi_consume_skb (net/core/skbuff.c): a transmitted skb freed from the poll.
  void napi_consume_skb(sk_buff* skb, int budget);
  void __netif_schedule(Qdisc& q);
  // Transmit skbs freed without being sent, by reason (not part of the receive ledger).
  const std::array<uint64_t, skb_drop_reason_count>& tx_drops() const { return m_tx_drops; }
  // Transmit skbs alive (allocated, not yet freed): in the qdisc, the ring or in flight.
  uint64_t tx_skbs_in_use() const { return m_tx_skbs; }
  // sk_buff with a data buffer from the transmit pool, headroom reserved (alloc_skb +
  // skb_reserve); nullptr when the pool is empty.
  sk_buff* alloc_skb_tx(unsigned headroom);

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
  // icmp_send (net/ipv4/icmp.c, v6.6: __icmp_send) for the skb being received.
  void icmp_send(const sk_buff* skb_in, uint8_t type, uint8_t code);
  // ---- transmit, below the protocols
  struct ip_cork {  // what ip_make_skb takes from the socket and the route (struct inet_cork)
    uint32_t saddr = 0, daddr = 0;
    uint8_t protocol = 0;
    uint8_t tos = 0;
    uint8_t ttl = 64;  // net.ipv4.ip_default_ttl
  };
  void __ip_make_skb(sk_buff* skb, const ip_cork& cork);
  int ip_send_skb(sk_buff* skb);
  int ip_output(sk_buff* skb);
  int ip_finish_output2(sk_buff* skb, uint32_t nexthop);
  int neigh_output(sk_buff* skb, const netstack_params::neighbour& n);
  netdev_queue& netdev_pick_tx(sk_buff* skb);
  int __dev_xmit_skb(sk_buff* skb, Qdisc& q, netdev_queue& txq);
  bool sch_direct_xmit(sk_buff* skb, Qdisc& q, netdev_queue& txq);
  sk_buff* dequeue_skb(Qdisc& q);
  bool qdisc_restart(Qdisc& q);
  void __qdisc_run(Qdisc& q);
  void qdisc_run(Qdisc& q);
  int pfifo_fast_enqueue(sk_buff* skb, Qdisc& q);
  sk_buff* pfifo_fast_dequeue(Qdisc& q);
  void dev_requeue_skb(sk_buff* skb, Qdisc& q);
  netdev_tx_t dev_hard_start_xmit(sk_buff* skb, netdev_queue& txq);
  void net_tx_action();
  // kfree_skb_reason for a transmit skb: counted in tx_drops, its buffer back to its pool.
  void kfree_skb_tx(sk_buff* skb, skb_drop_reason reason);
  void __kfree_skb_tx(sk_buff* skb);  // skb_release_all: sock_wfree, data, head
  // sock_alloc_send_skb (net/core/sock.c): an skb charged to sk's sk_wmem_alloc; waits for
  // room unless dontwait. *err: EAGAIN_ or ENOBUFS_ when it returns nullptr.
  sk_buff* sock_alloc_send_skb(udp_sock& sk, unsigned size, bool dontwait, long* err);
  int udp_send_skb(sk_buff* skb, udp_sock& sk, const sockaddr_in& to);
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
  net_device* m_dev = nullptr;
  rx_buffer_pool* m_tx_buffers = nullptr;
  std::array<uint64_t, skb_drop_reason_count> m_tx_drops{};
  uint64_t m_tx_skbs = 0;
  std::vector<std::unique_ptr<udp_sock>> m_icmp_sk;  // icmp_sk: one per CPU
  uint64_t m_busy_poll_rx = 0;                       // LINUX_MIB_BUSYPOLLRXPACKETS
  uint64_t m_watchdog_polls = 0;                     // NAPIs rescheduled by their gro_flush_timeout timer
  unsigned m_returning = 0;  // datagrams copied out while their reader still holds the socket
};

}  // namespace nicsim::host
