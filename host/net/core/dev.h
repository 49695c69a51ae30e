#pragma once
// The device layer (include/linux/netdevice.h, net/core/dev.c, v6.x): a NAPI instance, the
// per-CPU softnet_data, the packet_type handlers netif_receive_skb dispatches to (ptype_base,
// filled by dev_add_pack), and netdev_core, which owns them: NAPI and net_rx_action, the
// backlog (netif_rx, process_backlog), busy polling, packet_type dispatch, and the transmit
// entry (dev_queue_xmit, the qdisc run of net/sched/sch_generic.c, net_tx_action). Its member
// functions are defined in net/core/dev.cpp and net/sched/sch_generic.cpp.
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "host/kernel/cpu.h"
#include "host/net/core/netdevice.h"
#include "host/net/core/skbuff.h"
#include "host/net/netstack_params.h"
#include "waves/observer.h"

namespace nicsim::host {

struct Qdisc;
struct net;
struct sock;

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
  std::deque<Qdisc*> output_queue;       // qdiscs __netif_schedule left for net_tx_action
};

// struct packet_type (include/linux/netdevice.h): a handler for one ethertype, added
// to ptype_base by dev_add_pack (net/core/dev.c) and called by __netif_receive_skb_core.
struct packet_type {
  uint16_t type = 0;  // ETH_P_*, host order
  std::function<void(sk_buff*)> func;
};

class netdev_core {
 public:
  // One softnet_data per CPU, NET_RX/NET_TX softirqs opened on each. net is the device's
  // namespace (dev_net: busy polling counts into its MIB); skbs frees what the layer drops.
  netdev_core(const std::vector<cpu*>& cpus, struct net& net, skb_allocator& skbs,
              const netstack_params& params);
  netdev_core(const netdev_core&) = delete;  // the softirq handlers point back at it
  netdev_core& operator=(const netdev_core&) = delete;

  // ---- NAPI
  bool napi_schedule_prep(napi_struct& n);
  void __napi_schedule(napi_struct& n);
  bool napi_complete_done(napi_struct& n, int work_done);
  // Shows n's scheduled state in the waves as host.napi.<name>.
  void napi_observe(napi_struct& n);
  void net_rx_action();
  // napi_busy_loop (v6.x): a reader polls n from process context until sk has data, end
  // passes or it must reschedule.
  void napi_busy_loop(sock& sk, napi_struct& n, sc_core::sc_time end);

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
  // dev_add_pack (net/core/dev.c): a handler for an ethertype.
  void dev_add_pack(packet_type pt) { m_ptype_base.push_back(std::move(pt)); }

  const softnet_data& softnet(int cpu) const { return *m_sd.at(static_cast<size_t>(cpu)); }
  softnet_data softnet_total() const;  // counters summed over CPUs
  size_t cpus() const { return m_sd.size(); }
  uint64_t napi_watchdog_polls() const { return m_watchdog_polls; }

  // ---- transmit (net/core/dev.c, net/sched/sch_generic.c, include/linux/netdevice.h, v6.6)
  // The device transmit goes to.
  void register_netdev(net_device& dev) { m_dev = &dev; }
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
  void __netif_schedule(Qdisc& q);

 private:
  int napi_poll(napi_struct& n, std::deque<napi_struct*>& repoll);
  int process_backlog(napi_struct& n, int quota);
  void napi_watchdog(napi_struct& n);
  netdev_queue& netdev_pick_tx(sk_buff* skb);
  int __dev_xmit_skb(sk_buff* skb, Qdisc& q, netdev_queue& txq);
  netdev_tx_t dev_hard_start_xmit(sk_buff* skb, netdev_queue& txq);
  void net_tx_action();
  // net/sched/sch_generic.c
  bool sch_direct_xmit(sk_buff* skb, Qdisc& q, netdev_queue& txq);
  sk_buff* dequeue_skb(Qdisc& q);
  bool qdisc_restart(Qdisc& q);
  void __qdisc_run(Qdisc& q);
  void qdisc_run(Qdisc& q);
  int pfifo_fast_enqueue(sk_buff* skb, Qdisc& q);
  sk_buff* pfifo_fast_dequeue(Qdisc& q);
  void dev_requeue_skb(sk_buff* skb, Qdisc& q);

  softnet_data& sd() { return *m_sd[static_cast<size_t>(cpu::this_cpu().id())]; }

  struct net& m_net;
  skb_allocator& m_skbs;
  const netstack_params& m_params;
  std::vector<std::unique_ptr<softnet_data>> m_sd;  // per CPU
  std::vector<packet_type> m_ptype_base;            // ptype_base (one list: the model has few types)
  net_device* m_dev = nullptr;
  uint64_t m_watchdog_polls = 0;  // NAPIs rescheduled by their gro_flush_timeout timer
};

}  // namespace nicsim::host
