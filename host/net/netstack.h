#pragma once
// The kernel's receive path above the driver: NAPI and net_rx_action
// (net/core/dev.c), ip_rcv (net/ipv4/ip_input.c), udp_rcv and the UDP socket
// receive queue (net/ipv4/udp.c), icmp_send with its rate limits
// (net/ipv4/icmp.c), and the blocking recvfrom of a reader.
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
#include "host/net/core/skbuff.h"

namespace nicsim::host {

struct napi_struct {
  std::string name;
  const char* poll_name = "napi_poll";  // the driver's poll function, for the timeline
  std::function<int(napi_struct&, int budget)> poll;
  int weight = 64;      // NAPI_POLL_WEIGHT
  bool sched = false;   // NAPI_STATE_SCHED
  bool missed = false;  // NAPI_STATE_MISSED
  bool in_busy_poll = false;
  int defer_hard_irqs_count = 0;  // polls left before interrupts come back (napi_defer_hard_irqs)  //
                                  // NAPI_STATE_IN_BUSY_POLL: a reader polls it from process context
  waves::probe state_probe;       // NAPI_STATE_SCHED as a wave
  uint64_t polls = 0;
};

struct softnet_data {  // per CPU; the counters are /proc/net/softnet_stat's
  std::deque<napi_struct*> poll_list;
  uint64_t processed = 0;
  uint64_t dropped = 0;
  uint64_t time_squeeze = 0;
  napi_struct backlog;                   // the non-NAPI path's instance
  std::deque<sk_buff*> input_pkt_queue;  // netif_rx's per-CPU queue
};

struct ip_mib {  // netstat -s: Ip
  uint64_t InReceives = 0, InHdrErrors = 0, InAddrErrors = 0, InUnknownProtos = 0, InDelivers = 0,
           InCsumErrors = 0;
};
struct udp_mib {  // netstat -su: Udp
  uint64_t InDatagrams = 0, NoPorts = 0, InErrors = 0, RcvbufErrors = 0, InCsumErrors = 0;
};
struct icmp_mib {  // netstat -s: Icmp
  uint64_t InMsgs = 0, OutMsgs = 0, OutDestUnreachs = 0, OutRateLimitGlobal = 0, OutRateLimitHost = 0;
};

struct udp_sock {
  uint16_t port = 0;
  std::deque<sk_buff*> sk_receive_queue;
  uint64_t sk_rmem_alloc = 0;
  uint64_t sk_rcvbuf = 0;
  uint64_t sk_drops = 0;
  wait_queue_head sk_wq;
  // The socket lock's owner flag (lock_sock) and the backlog softirq uses while it is owned.
  bool owned_by_user = false;
  wait_queue_head sk_lock_wq;
  std::deque<sk_buff*> sk_backlog;
  uint64_t sk_backlog_len = 0;
  uint64_t sk_backlogged = 0;                         // skbs that went through the backlog
  sc_core::sc_time busy_poll{sc_core::SC_ZERO_TIME};  // SO_BUSY_POLL
  napi_struct* napi = nullptr;                        // sk_napi_id: where its packets come from
  waves::probe queue_probe;                           // receive queue length
};

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
  const ip_mib& ip() const { return m_ip; }
  const udp_mib& udp() const { return m_udp; }
  const icmp_mib& icmp() const { return m_icmp; }
  const std::array<uint64_t, skb_drop_reason_count>& drops() const { return m_drops; }

 private:
  int napi_poll(napi_struct& n, std::deque<napi_struct*>& repoll);
  int process_backlog(napi_struct& n, int quota);
  void ip_rcv(sk_buff* skb);
  void ip_local_deliver(sk_buff* skb, uint8_t protocol);
  void udp_rcv(sk_buff* skb);
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
  ip_mib m_ip;
  udp_mib m_udp;
  icmp_mib m_icmp;
  std::array<uint64_t, skb_drop_reason_count> m_drops{};
  std::map<uint16_t, std::unique_ptr<udp_sock>> m_udp_table;
  // icmp_global: a token bucket refilled at icmp_msgs_per_sec.
  double m_icmp_credit;
  sc_core::sc_time m_icmp_stamp{sc_core::SC_ZERO_TIME};
  struct peer {
    sc_core::sc_time rate_last{sc_core::SC_ZERO_TIME};
    sc_core::sc_time rate_tokens{sc_core::SC_ZERO_TIME};
  };
  std::map<uint32_t, peer> m_peers;  // inet_peer per destination
  uint64_t m_busy_poll_rx = 0;       // LINUX_MIB_BUSYPOLLRXPACKETS
  uint64_t m_watchdog_polls = 0;     // NAPIs rescheduled by their gro_flush_timeout timer
  unsigned m_returning = 0;          // datagrams copied out while their reader still holds the socket
};

}  // namespace nicsim::host
