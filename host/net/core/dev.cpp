// The device layer (net/core/dev.c, v6.x): NAPI, net_rx_action, the per-CPU backlog
// (netif_rx, process_backlog), netif_receive_skb and busy polling (napi_busy_loop).
#include "host/net/core/dev.h"

#include "host/net/core/sock.h"
#include "host/net/net_namespace.h"
#include "tlm/local_time.h"

namespace nicsim::host {

using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

netdev_core::netdev_core(const std::vector<cpu*>& cpus, struct net& net, skb_allocator& skbs,
                         const netstack_params& params)
    : m_net(net), m_skbs(skbs), m_params(params), m_gro_normal_batch(params.gro_normal_batch) {
  for (cpu* c : cpus) {
    auto sd = std::make_unique<softnet_data>();
    sd->backlog.name = "backlog" + std::to_string(c->id());
    sd->backlog.poll_name = "process_backlog";
    sd->backlog.weight = params.dev_weight;
    sd->backlog.poll = [this](napi_struct& n, int quota) { return process_backlog(n, quota); };
    c->open_softirq(NET_RX_SOFTIRQ, [this] { net_rx_action(); });
    c->open_softirq(NET_TX_SOFTIRQ, [this] { net_tx_action(); });
    m_sd.push_back(std::move(sd));
  }
  for (auto& sd : m_sd) napi_observe(sd->backlog, false);  // process_backlog: no GRO
}

softnet_data netdev_core::softnet_total() const {
  softnet_data t;
  for (const auto& sd : m_sd) {
    t.processed += sd->processed;
    t.dropped += sd->dropped;
    t.time_squeeze += sd->time_squeeze;
  }
  return t;
}

// ------------------------------------------------------------------ NAPI

void netdev_core::napi_observe(napi_struct& n, bool gro) {
  n.state_probe.attach(cpu::this_cpu().observer(), "host.napi." + n.name, 1);
  n.state_probe(n.sched);
  if (!gro) return;
  n.gro_probe.attach(cpu::this_cpu().observer(), "host.napi." + n.name + ".gro_held", 8);
  n.gro_probe(0);
}

void netdev_core::qdisc_observe(Qdisc& q, const std::string& name) {
  q.backlog_probe.attach(cpu::this_cpu().observer(), "host.qdisc." + name, 32);
  q.note_backlog();
}

bool netdev_core::napi_schedule_prep(napi_struct& n) {
  if (n.sched) {
    n.missed = true;  // NAPIF_STATE_MISSED: poll again before completing
    return false;
  }
  n.sched = true;
  n.state_probe(1);
  return true;
}

void netdev_core::__napi_schedule(napi_struct& n) {
  cpu::this_cpu().charge(cost::napi_schedule);
  sd().poll_list.push_back(&n);
  cpu::this_cpu().raise_softirq(NET_RX_SOFTIRQ);
}

void netdev_core::napi_watchdog(napi_struct& n) {
  if (n.sched) return;  // polled meanwhile
  ++m_watchdog_polls;
  napi_schedule_prep(n);
  __napi_schedule(n);
}

// napi_complete_done (net/core/dev.c, v6.6).
bool netdev_core::napi_complete_done(napi_struct& n, int work_done) {
  if (n.in_busy_poll) return false;  // the busy poller owns it; interrupts stay off
  // napi_defer_hard_irqs: after work, keep interrupts off for that many empty
  // polls, each started by a gro_flush_timeout timer instead of the device.
  bool ret = true;
  sc_time timeout = SC_ZERO_TIME;
  if (work_done) {
    // Packets held in GRO: the gro_flush_timeout timer (if set) flushes them later.
    if (n.gro_bitmask) timeout = m_params.gro_flush_timeout;
    n.defer_hard_irqs_count = m_params.napi_defer_hard_irqs;
  }
  if (n.defer_hard_irqs_count > 0) {
    --n.defer_hard_irqs_count;
    timeout = m_params.gro_flush_timeout;
    if (timeout > SC_ZERO_TIME) ret = false;
  }
  // With a timer pending, only packets held since before this jiffy leave: the timer bounds
  // how long the others stay.
  if (n.gro_bitmask) napi_gro_flush(n, timeout > SC_ZERO_TIME);
  gro_normal_list(n);
  if (n.missed) {
    // An interrupt came while polling: stay scheduled and poll again.
    n.missed = false;
    sd().poll_list.push_back(&n);
    cpu::this_cpu().raise_softirq(NET_RX_SOFTIRQ);
    return false;
  }
  n.sched = false;
  n.state_probe(0);
  if (timeout > SC_ZERO_TIME) cpu::this_cpu().hrtimer_start(timeout, [this, &n] { napi_watchdog(n); });
  return ret;
}

int netdev_core::napi_poll(napi_struct& n, std::deque<napi_struct*>& repoll) {
  cpu::this_cpu().charge(cost::napi_poll);
  ++n.polls;
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), n.poll_name);
  const int work = n.poll(n, n.weight);
  if (work < n.weight) return work;
  // __napi_poll (v6.6): the driver consumed its whole weight and did not complete:
  // net_rx_action owns it still. GRO lets go of packets held before this jiffy (all of them
  // when HZ < 1000) and the batched ones go up.
  if (n.gro_bitmask) napi_gro_flush(n, cpu::this_cpu().usecs_to_jiffies(1e6) >= 1000);
  gro_normal_list(n);
  repoll.push_back(&n);
  return work;
}

void netdev_core::net_rx_action() {
  softnet_data& q = sd();
  if (q.in_rx_action) {
    // Run again inside itself: softirqs do not nest, but a caller outside softirq context (a
    // test's task) can be interrupted by an IRQ whose exit runs the softirqs.
    std::deque<napi_struct*> list, repoll;
    net_rx_action(list, repoll);
    return;
  }
  struct leave {
    softnet_data& q;
    ~leave() {
      q.rx_action_list.clear();
      q.rx_action_repoll.clear();
      q.in_rx_action = false;
    }
  } on_exit{q};
  q.in_rx_action = true;
  net_rx_action(q.rx_action_list, q.rx_action_repoll);
}

void netdev_core::net_rx_action(std::deque<napi_struct*>& list, std::deque<napi_struct*>& repoll) {
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), "net_rx_action");
  cpu::this_cpu().charge(cost::net_rx_action);
  cpu& c = cpu::this_cpu();
  const double hz = static_cast<double>(c.usecs_to_jiffies(1e6));
  const double budget_usecs = m_params.netdev_budget_usecs ? m_params.netdev_budget_usecs : 2e6 / hz;
  const uint64_t time_limit = c.jiffies() + c.usecs_to_jiffies(budget_usecs);
  int budget = m_params.netdev_budget;
  list.swap(sd().poll_list);
  for (;;) {
    if (list.empty()) {
      if (repoll.empty() && sd().poll_list.empty()) return;
      if (repoll.empty()) {  // scheduled again while we ran: start over
        list.swap(sd().poll_list);
        continue;
      }
      break;
    }
    napi_struct* n = list.front();
    list.pop_front();
    budget -= napi_poll(*n, repoll);
    if (budget <= 0 || c.jiffies() >= time_limit) {
      ++sd().time_squeeze;
      break;
    }
  }
  // list_splice_tail_init(&sd->poll_list, &list); list_splice_tail(&repoll, &list); list_splice(&list,
  // &sd->poll_list)
  for (napi_struct* n : sd().poll_list) list.push_back(n);
  for (napi_struct* n : repoll) list.push_back(n);
  sd().poll_list.swap(list);
  if (!sd().poll_list.empty()) cpu::this_cpu().raise_softirq(NET_RX_SOFTIRQ);
}

// ------------------------------------------------------------------ receive

void netdev_core::netif_receive_skb(sk_buff* skb) {
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), "netif_receive_skb");
  __netif_receive_skb_core(skb);
}

// netif_receive_skb_list_internal → __netif_receive_skb_list → __netif_receive_skb_list_core
// (v6.6): each skb through __netif_receive_skb_core, then the sublists of skbs with the same
// packet_type to its list_func (ip_list_rcv), which runs ip_rcv_core, the route lookup and
// the local delivery per skb. The model delivers each skb through the per-skb path in list
// order at the per-skb costs: the list's saving is the kernel's instruction-cache locality,
// which Edward Cree's measurements of listified GRO_NORMAL receive ("net: batched receive in
// GRO path", netdev, 2019) put within noise for unmerged TCP (-5%..+4% throughput, p > 0.1);
// the list's own walk is charged once per list (cost::gro_normal_list). No RPS in the model.
void netdev_core::netif_receive_skb_list_internal(std::vector<sk_buff*>& list) {
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), "netif_receive_skb_list_internal");
  for (sk_buff* skb : list) __netif_receive_skb_core(skb);
}

void netdev_core::__netif_receive_skb_core(sk_buff* skb) {
  cpu::this_cpu().charge(cost::netif_receive_skb);
  ++sd().processed;  // __netif_receive_skb_core
  skb->network_header = skb->data;
  // deliver_ptype_list_skb over ptype_base: the handler dev_add_pack registered for the type.
  for (const packet_type& pt : m_ptype_base) {
    if (pt.type != skb->protocol) continue;
    pt.func(skb);
    return;
  }
  m_skbs.kfree_skb(skb, skb_drop_reason::UNHANDLED_PROTO);
}

void netdev_core::netif_rx(sk_buff* skb) {
  cpu::this_cpu().charge(cost::netif_rx);
  // enqueue_to_backlog
  softnet_data& q = sd();
  if (q.input_pkt_queue.size() > m_params.netdev_max_backlog) {
    ++sd().dropped;
    m_skbs.kfree_skb(skb, skb_drop_reason::CPU_BACKLOG);
    return;
  }
  q.input_pkt_queue.push_back(skb);
  if (q.input_pkt_queue.size() == 1 && napi_schedule_prep(q.backlog)) {
    q.poll_list.push_back(&q.backlog);  // ____napi_schedule
    cpu::this_cpu().raise_softirq(NET_RX_SOFTIRQ);
  }
}

int netdev_core::process_backlog(napi_struct& n, int quota) {
  int work = 0;
  while (work < quota) {
    if (sd().input_pkt_queue.empty()) {
      n.sched = false;  // napi->state = 0: the backlog completes without napi_complete
      n.missed = false;
      n.state_probe(0);
      break;
    }
    sk_buff* skb = sd().input_pkt_queue.front();
    sd().input_pkt_queue.pop_front();
    netif_receive_skb(skb);
    ++work;
  }
  return work;
}

// napi_busy_loop (net/core/dev.c, v6.6) as sk_busy_loop calls it (budget BUSY_POLL_BUDGET, no
// prefer_busy_poll): each round polls with BH disabled (softirqs raised meanwhile, by an
// interrupt or by the poll, run at local_bh_enable in this task's context); the instance is
// taken only when softirq does not have it.
void netdev_core::napi_busy_loop(sock& sk, napi_struct& n, sc_time end) {
  constexpr int BUSY_POLL_BUDGET = 8;  // include/net/busy_poll.h
  cpu& c = cpu::this_cpu();
  bool owned = false;
  for (;;) {
    c.local_bh_disable();
    if (!owned && !n.sched) {  // take the instance unless softirq has it
      n.sched = true;
      n.in_busy_poll = true;
      owned = true;
    }
    if (owned) {
      c.charge(cost::napi_poll);
      const int work = n.poll(n, BUSY_POLL_BUDGET);
      gro_normal_list(n);  // napi_busy_loop (v6.6): what GRO let go goes up now
      // LINUX_MIB_BUSYPOLLRXPACKETS counts what the poll did (work), whichever socket the
      // packets were for; busy_poll_stop's last poll is not counted.
      if (work > 0) m_net.mib.net_statistics.BusyPollRxPackets += static_cast<uint64_t>(work);
    }
    c.local_bh_enable();
    if (!sk.sk_receive_queue.empty() || tlm::local_now() >= end || c.need_resched()) break;
    c.charge(cost::busy_poll_relax);
  }
  if (owned) busy_poll_stop(n, BUSY_POLL_BUDGET);
}

// busy_poll_stop (net/core/dev.c, v6.6, no prefer_busy_poll): clear NAPI_STATE_MISSED and
// IN_BUSY_POLL, then with BH disabled one last poll with the busy-poll budget, which completes
// the instance (and re-enables the device's interrupt) when it finds less than the budget;
// a full budget means more is waiting: __busy_poll_stop hands the instance to softirq
// (gro_normal_list, __napi_schedule), and the NET_RX softirq that raises runs at once at
// local_bh_enable, in this task's context.
void netdev_core::busy_poll_stop(napi_struct& n, int budget) {
  cpu& c = cpu::this_cpu();
  n.missed = false;
  n.in_busy_poll = false;
  c.local_bh_disable();
  c.charge(cost::napi_poll);
  if (n.poll(n, budget) == budget) {
    gro_normal_list(n);
    __napi_schedule(n);
  }
  c.local_bh_enable();
}

// ------------------------------------------------------------------ transmit

// netdev_pick_tx (net/core/dev.c, v6.6) without XPS (igb sets none): skb_tx_hash, which
// scales the flow hash onto the real queues (reciprocal_scale). The kernel's flow hash is
// siphash over the flow keys with a seed drawn at boot, so any fixed mix of the same keys
// spreads flows as faithfully; the model's is a multiplicative mix of them.
netdev_queue& netdev_core::netdev_pick_tx(sk_buff* skb) {
  auto& txqs = m_dev->tx;
  if (txqs.size() > 1) {
    const uint64_t scaled = uint64_t{skb->hash} * txqs.size();
    skb->queue_mapping = static_cast<uint16_t>(scaled >> 32);  // reciprocal_scale
  } else {
    skb->queue_mapping = 0;
  }
  return *txqs[skb->queue_mapping];
}

// __dev_queue_xmit (v6.6): pick the queue and hand the skb to its qdisc. A device whose
// transmit side is not up drops it (dev_core_stats_tx_dropped_inc, -ENETDOWN).
int netdev_core::dev_queue_xmit(sk_buff* skb) {
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), "dev_queue_xmit");
  cpu::this_cpu().charge(cost::dev_queue_xmit);
  if (m_dev == nullptr || !m_dev->up || m_dev->tx.empty()) {
    if (m_dev) ++m_dev->tx_dropped;
    m_skbs.kfree_skb_tx(skb, skb_drop_reason::DEV_READY);
    return ENETDOWN_;
  }
  netdev_queue& txq = netdev_pick_tx(skb);
  return __dev_xmit_skb(skb, txq.qdisc, txq);
}

// __dev_xmit_skb for a TCQ_F_NOLOCK | TCQ_F_CAN_BYPASS qdisc (pfifo_fast, v6.6): an empty
// qdisc that nobody runs is bypassed (sch_direct_xmit straight away, counted as sent by the
// qdisc); otherwise enqueue and qdisc_run. A qdisc another CPU runs gets the skb enqueued
// and that CPU sends it (qdisc_run_begin fails, MISSED is set).
int netdev_core::__dev_xmit_skb(sk_buff* skb, Qdisc& q, netdev_queue& txq) {
  if (q.empty() && !q.running) {
    q.running = true;           // qdisc_run_begin
    q.stats.bytes += skb->len;  // qdisc_bstats_cpu_update
    ++q.stats.packets;
    if (sch_direct_xmit(skb, q, txq) && !q.empty()) __qdisc_run(q);
    q.running = false;  // qdisc_run_end
    if (q.missed && !q.empty()) __netif_schedule(q);
    q.missed = false;
    return NET_XMIT_SUCCESS;
  }
  const int rc = pfifo_fast_enqueue(skb, q);
  qdisc_run(q);
  return rc;
}

// qdisc_run (include/net/pkt_sched.h): run the qdisc unless someone else is.
void netdev_core::qdisc_run(Qdisc& q) {
  if (q.running) {
    q.missed = true;  // the runner sees MISSED at qdisc_run_end and reschedules
    return;
  }
  q.running = true;
  __qdisc_run(q);
  q.running = false;
  if (q.missed && !q.empty()) __netif_schedule(q);
  q.missed = false;
}

// dev_hard_start_xmit → xmit_one → netdev_start_xmit (v6.6): the driver's ndo_start_xmit,
// and txq_trans_update when it took the skb.
netdev_tx_t netdev_core::dev_hard_start_xmit(sk_buff* skb, netdev_queue& txq) {
  const netdev_tx_t rc = m_dev->ndo_start_xmit(skb);
  if (rc == NETDEV_TX_OK) txq.trans_start = cpu::this_cpu().jiffies();
  return rc;
}

// __netif_schedule (v6.6): put the qdisc on this CPU's output_queue once
// (__QDISC_STATE_SCHED) and raise NET_TX_SOFTIRQ.
void netdev_core::__netif_schedule(Qdisc& q) {
  if (q.sched) return;
  q.sched = true;
  sd().output_queue.push_back(&q);
  cpu::this_cpu().raise_softirq(NET_TX_SOFTIRQ);
}

// net_tx_action (v6.6; the completion queue is empty: drivers free with napi_consume_skb):
// run every qdisc scheduled on this CPU.
void netdev_core::net_tx_action() {
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), "net_tx_action");
  cpu::this_cpu().charge(cost::net_tx_action);
  std::deque<Qdisc*> head;
  head.swap(sd().output_queue);
  for (Qdisc* q : head) {
    q->sched = false;  // clear_bit(__QDISC_STATE_SCHED) before running it
    qdisc_run(*q);
  }
}

// netif_tx_wake_queue: clear DRV_XOFF and, if it was set, schedule the qdisc.
void netdev_core::netif_tx_wake_queue(netdev_queue& q) {
  if (!q.drv_xoff) return;
  q.drv_xoff = false;
  __netif_schedule(q.qdisc);
}

// netdev_tx_sent_queue (include/linux/netdevice.h, v6.6): BQL counts the bytes and stops the
// queue (STACK_XOFF) when over its limit.
void netdev_core::netdev_tx_sent_queue(netdev_queue& q, unsigned bytes) {
  if (!m_dev->bql) return;
  dql_queued(q.dql, bytes);
  if (dql_avail(q.dql) >= 0) return;
  q.stack_xoff = true;
}

// netdev_tx_completed_queue (v6.6): completed bytes move the limit; a queue BQL stopped
// restarts once there is room again (netif_schedule_queue).
void netdev_core::netdev_tx_completed_queue(netdev_queue& q, unsigned /*pkts*/, unsigned bytes) {
  if (!m_dev->bql || bytes == 0) return;
  dql_completed(q.dql, bytes, cpu::this_cpu().jiffies());
  if (dql_avail(q.dql) < 0) return;
  if (q.stack_xoff) {
    q.stack_xoff = false;
    if (!q.xmit_stopped()) __netif_schedule(q.qdisc);
  }
}

// netdev_tx_reset_queue; the first one also does netdev_init_one_queue's dql_init(HZ): the
// queue is made before any CPU runs, and the slack hold time is a second in jiffies.
void netdev_core::netdev_tx_reset_queue(netdev_queue& q) {
  q.stack_xoff = false;
  cpu& c = cpu::this_cpu();
  if (q.dql.max_limit == 0) dql_init(q.dql, c.usecs_to_jiffies(1e6), c.jiffies());
  dql_reset(q.dql, c.jiffies());
}
}  // namespace nicsim::host
