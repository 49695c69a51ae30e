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
  // netif_napi_add's napi->dev: its features (NETIF_F_GRO) and gro_ipv4_max_size; nullptr: a
  // device with the defaults (GRO on).
  net_device* dev = nullptr;
  // GRO (include/linux/netdevice.h, v6.6: gro_bitmask, gro_hash, rx_list, rx_count).
  unsigned long gro_bitmask = 0;  // buckets holding skbs
  std::array<gro_list, GRO_HASH_BUCKETS> gro_hash;
  std::vector<sk_buff*> rx_list;        // GRO_NORMAL skbs waiting for netif_receive_skb_list_internal
  std::vector<sk_buff*> rx_list_spare;  // gro_normal_list's emptied list, its room kept
  int rx_count = 0;                     // the segments on rx_list
  waves::probe gro_probe;               // host.napi.<name>.gro_held: skbs held in gro_hash
  gro_stats gro;
  unsigned gro_held() const {
    unsigned n = 0;
    for (const gro_list& l : gro_hash) n += l.count;
    return n;
  }
};

struct softnet_data {  // per CPU; the counters are /proc/net/softnet_stat's
  std::deque<napi_struct*> poll_list;
  // net_rx_action's local lists (list, repoll), kept between its runs so that a run allocates
  // nothing (a std::deque allocates when it is constructed); empty outside it.
  std::deque<napi_struct*> rx_action_list, rx_action_repoll;
  bool in_rx_action = false;
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
  // Shows n's scheduled state in the waves as host.napi.<name> and, for a driver's instance
  // (gro), the skbs GRO holds as host.napi.<name>.gro_held.
  void napi_observe(napi_struct& n, bool gro = true);
  // Shows q's backlog (skbs queued) in the waves as host.qdisc.<name>.
  void qdisc_observe(Qdisc& q, const std::string& name);
  void net_rx_action();
  // napi_busy_loop (v6.x): a reader polls n from process context until sk has data, end
  // passes or it must reschedule.
  void napi_busy_loop(sock& sk, napi_struct& n, sc_core::sc_time end);
  // busy_poll_stop (v6.6): the last poll with budget, handing the instance back.
  void busy_poll_stop(napi_struct& n, int budget);

  // ---- receive
  // ---- GRO (net/core/gro.c, v6.6; defined in gro.cpp, see gro.h)
  // napi_gro_receive: skb_mark_napi_id (only skbs received this way carry an instance for
  // busy polling), dev_gro_receive, napi_skb_finish.
  gro_result napi_gro_receive(napi_struct& napi, sk_buff* skb);
  // napi_gro_flush: complete the held skbs (flush_old: only those held before this jiffy).
  void napi_gro_flush(napi_struct& napi, bool flush_old);
  // gro_normal_list (include/net/gro.h): deliver napi->rx_list.
  void gro_normal_list(napi_struct& napi);
  // dev_add_offload: GRO callbacks for an ethertype.
  void dev_add_offload(packet_offload po) { m_offload_base.push_back(std::move(po)); }
  // GRO's counters summed over the NAPI instances that used it.
  gro_stats gro_totals() const;
  // net.core.gro_normal_batch (a test may change it).
  void set_gro_normal_batch(int batch) { m_gro_normal_batch = batch; }

  void netif_receive_skb(sk_buff* skb);
  // netif_receive_skb_list_internal (v6.6): the listified receive of GRO's output.
  void netif_receive_skb_list_internal(std::vector<sk_buff*>& list);
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
  // net_rx_action's body, with its local lists.
  void net_rx_action(std::deque<napi_struct*>& list, std::deque<napi_struct*>& repoll);
  void __netif_receive_skb_core(sk_buff* skb);
  // gro.cpp
  gro_result dev_gro_receive(napi_struct& napi, sk_buff* skb);
  void gro_list_prepare(const gro_list& head, const sk_buff* skb);
  void napi_gro_complete(napi_struct& napi, sk_buff* skb);
  void __napi_gro_flush_chain(napi_struct& napi, unsigned index, bool flush_old);
  void gro_flush_oldest(napi_struct& napi, gro_list& head);
  void gro_normal_one(napi_struct& napi, sk_buff* skb, int segs);
  gro_result napi_skb_finish(napi_struct& napi, sk_buff* skb, gro_result ret);
  void note_gro_held(napi_struct& napi);
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
  uint64_t m_watchdog_polls = 0;               // NAPIs rescheduled by their gro_flush_timeout timer
  std::vector<packet_offload> m_offload_base;  // offload_base
  std::vector<napi_struct*> m_gro_napis;       // instances that used GRO (for gro_totals)
  int m_gro_normal_batch;
};

}  // namespace nicsim::host
