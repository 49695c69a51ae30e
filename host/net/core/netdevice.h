#pragma once
// The transmit side of a net_device (and its GRO features) (include/linux/netdevice.h,
// include/net/sch_generic.h, v6.6): a transmit queue (struct netdev_queue) with its state bits and its BQL
// state, the queueing discipline attached to it (pfifo_fast, net/sched/sch_generic.c) with its `tc -s qdisc`
// counters, and the device's ndo_start_xmit.
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "host/lib/dynamic_queue_limits.h"
#include "host/net/core/gro.h"
#include "host/net/core/skbuff.h"
#include "waves/observer.h"

namespace nicsim::host {

// enum netdev_tx: what ndo_start_xmit returns.
enum netdev_tx_t : int { NETDEV_TX_OK = 0x00, NETDEV_TX_BUSY = 0x10 };
// NET_XMIT_* (include/linux/netdevice.h): what dev_queue_xmit returns.
inline constexpr int NET_XMIT_SUCCESS = 0x00;
inline constexpr int NET_XMIT_DROP = 0x01;
// -ENETDOWN: the device cannot transmit (dev_queue_xmit's drop of an skb for a device that
// is not up).
inline constexpr int ENETDOWN_ = -100;

inline constexpr unsigned PFIFO_FAST_BANDS = 3;
inline constexpr unsigned TC_PRIO_MAX = 15;
// sch_generic.c sch_default_prio2band: skb->priority (TC_PRIO_*) to band; band 0 first.
inline constexpr std::array<uint8_t, TC_PRIO_MAX + 1> sch_default_prio2band = {1, 2, 2, 2, 1, 2, 0, 0,
                                                                               1, 1, 1, 1, 1, 1, 1, 1};

// struct gnet_stats_basic_sync + struct gnet_stats_queue: `tc -s qdisc show dev eth0`.
struct qdisc_stats {
  uint64_t bytes = 0;       // Sent <bytes> bytes
  uint64_t packets = 0;     // <packets> pkt
  uint64_t drops = 0;       // (dropped N,
  uint64_t overlimits = 0;  // overlimits N
  uint64_t requeues = 0;    // requeues N)
  uint64_t backlog = 0;     // backlog <bytes>b
  uint64_t qlen = 0;        // <packets>p
};

struct netdev_queue;

// struct Qdisc for pfifo_fast: three bands of skb_array, each as long as tx_queue_len
// (pfifo_fast_init), the requeued skbs (q->gso_skb, dev_requeue_skb) and the run state.
struct Qdisc {
  std::array<std::deque<sk_buff*>, PFIFO_FAST_BANDS> bands;
  std::deque<sk_buff*> gso_skb;  // requeued after NETDEV_TX_BUSY: sent first
  unsigned limit = 1000;         // qdisc_dev(qdisc)->tx_queue_len, per band
  bool running = false;          // qdisc_run_begin / qdisc_run_end (q->seqlock)
  bool sched = false;            // __QDISC_STATE_SCHED: on a softnet output_queue
  bool missed = false;           // __QDISC_STATE_MISSED
  netdev_queue* dev_queue = nullptr;
  qdisc_stats stats;
  waves::probe backlog_probe;  // host.qdisc.<dev>[-tx-<n>]: skbs queued (tc's backlog in packets)
  void note_backlog() const { backlog_probe(stats.qlen); }
  bool empty() const { return gso_skb.empty() && bands[0].empty() && bands[1].empty() && bands[2].empty(); }
};

struct net_device;

// struct netdev_queue: the driver's stop (DRV_XOFF) and BQL's stop (STACK_XOFF) bits.
struct netdev_queue {
  net_device* dev = nullptr;
  unsigned index = 0;
  bool drv_xoff = false;    // __QUEUE_STATE_DRV_XOFF: netif_tx_stop_queue
  bool stack_xoff = false;  // __QUEUE_STATE_STACK_XOFF: BQL over its limit
  struct dql dql;
  Qdisc qdisc;
  uint64_t trans_start = 0;  // txq_trans_update: jiffies of the last transmit
  // netif_xmit_stopped / netif_xmit_frozen_or_stopped (no FROZEN in the model)
  bool xmit_stopped() const { return drv_xoff || stack_xoff; }
};

// The transmit half of struct net_device the stack uses.
struct net_device {
  std::string name = "eth0";
  std::array<uint8_t, 6> dev_addr{};              // the device's MAC address
  unsigned tx_queue_len = 1000;                   // ip link set txqueuelen (DEFAULT_TX_QUEUE_LEN)
  bool bql = true;                                // CONFIG_BQL (and limit_min/limit_max left alone)
  bool up = false;                                // IFF_UP with its transmit queues started
  std::vector<std::unique_ptr<netdev_queue>> tx;  // real_num_tx_queues
  // ndo_start_xmit (e1000_xmit_frame / igb_xmit_frame) for skb on queue skb->queue_mapping.
  std::function<netdev_tx_t(sk_buff*)> ndo_start_xmit;
  uint64_t tx_dropped = 0;  // dev_core_stats_tx_dropped: ip -s link TX dropped
  // Receive: NETIF_F_GRO in dev->features (ethtool -K gro; on by default, as register_netdevice
  // sets it), and the merged skb's size limit for IPv4 (ip link set gro_ipv4_max_size).
  bool gro = true;
  unsigned gro_ipv4_max_size = GRO_LEGACY_MAX_SIZE;
};

}  // namespace nicsim::host
