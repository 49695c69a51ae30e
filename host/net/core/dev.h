#pragma once
// The device layer's types (include/linux/netdevice.h, v6.x): a NAPI instance, the
// per-CPU softnet_data, and the packet_type handlers netif_receive_skb dispatches to
// (ptype_base, filled by dev_add_pack).
#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "host/net/core/skbuff.h"
#include "waves/observer.h"

namespace nicsim::host {

struct Qdisc;

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

}  // namespace nicsim::host
