// The generic packet scheduler (net/sched/sch_generic.c, v6.6): pfifo_fast, the default
// qdisc of a device's transmit queue, and the loop that drains a qdisc into the driver
// (__qdisc_run → qdisc_restart → sch_direct_xmit → dev_hard_start_xmit), with
// dev_requeue_skb for an skb the driver refused (NETDEV_TX_BUSY).
#include "host/net/core/dev.h"

namespace nicsim::host {

// pfifo_fast_enqueue: the band of skb->priority; a full band (tx_queue_len skbs) drops it
// (qdisc_drop_cpu: tc's "dropped").
int netdev_core::pfifo_fast_enqueue(sk_buff* skb, Qdisc& q) {
  cpu::this_cpu().charge(cost::qdisc_enqueue);
  auto& band = q.bands[sch_default_prio2band[skb->priority & TC_PRIO_MAX]];
  if (band.size() >= q.limit) {
    ++q.stats.drops;
    m_skbs.kfree_skb_tx(skb, skb_drop_reason::QDISC_DROP);
    return NET_XMIT_DROP;
  }
  band.push_back(skb);
  q.stats.backlog += skb->len;  // qdisc_update_stats_at_enqueue
  ++q.stats.qlen;
  return NET_XMIT_SUCCESS;
}

// pfifo_fast_dequeue: the first skb of the lowest non-empty band; counted as sent
// (qdisc_update_stats_at_dequeue, bstats).
sk_buff* netdev_core::pfifo_fast_dequeue(Qdisc& q) {
  for (auto& band : q.bands) {
    if (band.empty()) continue;
    sk_buff* skb = band.front();
    band.pop_front();
    q.stats.backlog -= skb->len;
    --q.stats.qlen;
    q.stats.bytes += skb->len;
    ++q.stats.packets;
    return skb;
  }
  return nullptr;
}

// dequeue_skb (v6.6): a requeued skb first, unless the queue is stopped; nothing from a
// stopped queue (TCQ_F_ONETXQUEUE). No bulk dequeue (try_bulk_dequeue_skb): the model's
// driver takes one skb per call, as without xmit_more.
sk_buff* netdev_core::dequeue_skb(Qdisc& q) {
  netdev_queue& txq = *q.dev_queue;
  if (!q.gso_skb.empty()) {
    if (txq.xmit_stopped()) return nullptr;
    sk_buff* skb = q.gso_skb.front();
    q.gso_skb.pop_front();
    q.stats.backlog -= skb->len;  // qdisc_qstats_backlog_dec, q->q.qlen--
    --q.stats.qlen;
    return skb;
  }
  if (txq.xmit_stopped()) return nullptr;
  return pfifo_fast_dequeue(q);
}

// dev_requeue_skb (v6.6): the skb goes back to the head (q->gso_skb), counted as a requeue,
// and the qdisc is rescheduled to try again from NET_TX_SOFTIRQ.
void netdev_core::dev_requeue_skb(sk_buff* skb, Qdisc& q) {
  q.gso_skb.push_back(skb);
  ++q.stats.requeues;
  q.stats.backlog += skb->len;
  ++q.stats.qlen;
  __netif_schedule(q);
}

// sch_direct_xmit (v6.6): hand one skb to the driver unless the queue is stopped; an skb
// the driver refused, or could not be offered, is requeued. True: the qdisc may go on.
bool netdev_core::sch_direct_xmit(sk_buff* skb, Qdisc& q, netdev_queue& txq) {
  cpu::this_cpu().charge(cost::qdisc_restart);  // validate_xmit_skb, HARD_TX_LOCK
  netdev_tx_t ret = NETDEV_TX_BUSY;
  if (!txq.xmit_stopped()) ret = dev_hard_start_xmit(skb, txq);
  if (ret != NETDEV_TX_OK) {
    dev_requeue_skb(skb, q);
    return false;
  }
  return true;
}

// qdisc_restart: one skb from the qdisc to the driver.
bool netdev_core::qdisc_restart(Qdisc& q) {
  sk_buff* skb = dequeue_skb(q);
  if (skb == nullptr) return false;
  return sch_direct_xmit(skb, q, *q.dev_queue);
}

// __qdisc_run (v6.6): restart until the qdisc is empty, the queue stops or the quota
// (dev_tx_weight, 64) is spent; then the rest waits for NET_TX_SOFTIRQ (MISSED for a
// lockless qdisc, seen at qdisc_run_end).
void netdev_core::__qdisc_run(Qdisc& q) {
  int quota = m_params.dev_tx_weight;
  while (qdisc_restart(q)) {
    if (--quota <= 0) {
      q.missed = true;
      break;
    }
  }
}

}  // namespace nicsim::host
