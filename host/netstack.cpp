#include "host/netstack.h"

#include <algorithm>
#include <cstring>

#include "proto/checksum.h"
#include "proto/frame.h"

namespace nicsim::host {

using sc_core::sc_time;
using sc_core::sc_time_stamp;
using sc_core::SC_ZERO_TIME;

netstack::netstack(const std::vector<cpu*>& cpus, skb_cache& skbs, rx_buffer_pool& buffers,
                   const netstack_params& params)
    : m_skbs(skbs), m_buffers(buffers), m_params(params), m_icmp_credit(params.icmp_msgs_burst) {
  for (cpu* c : cpus) {
    auto sd = std::make_unique<softnet_data>();
    sd->backlog.name = "backlog" + std::to_string(c->id());
    sd->backlog.poll_name = "process_backlog";
    sd->backlog.weight = params.dev_weight;
    sd->backlog.poll = [this](napi_struct& n, int quota) { return process_backlog(n, quota); };
    c->open_softirq(NET_RX_SOFTIRQ, [this] { net_rx_action(); });
    m_sd.push_back(std::move(sd));
  }
  for (auto& sd : m_sd) napi_observe(sd->backlog);
}

softnet_data netstack::softnet_total() const {
  softnet_data t;
  for (const auto& sd : m_sd) {
    t.processed += sd->processed;
    t.dropped += sd->dropped;
    t.time_squeeze += sd->time_squeeze;
  }
  return t;
}

// ------------------------------------------------------------------ NAPI

void netstack::napi_observe(napi_struct& n) {
  n.state_probe.attach(cpu::this_cpu().observer(), "host.napi." + n.name, 1);
  n.state_probe(n.sched);
}

bool netstack::napi_schedule_prep(napi_struct& n) {
  if (n.sched) {
    n.missed = true;  // NAPIF_STATE_MISSED: poll again before completing
    return false;
  }
  n.sched = true;
  n.state_probe(1);
  return true;
}

void netstack::__napi_schedule(napi_struct& n) {
  cpu::this_cpu().charge(cost::napi_schedule);
  sd().poll_list.push_back(&n);
  cpu::this_cpu().raise_softirq(NET_RX_SOFTIRQ);
}

void netstack::napi_watchdog(napi_struct& n) {
  if (n.sched) return;  // polled meanwhile
  ++m_watchdog_polls;
  napi_schedule_prep(n);
  __napi_schedule(n);
}

bool netstack::napi_complete_done(napi_struct& n, int work_done) {
  if (n.in_busy_poll) return false;  // the busy poller owns it; interrupts stay off
  // napi_defer_hard_irqs: after work, keep interrupts off for that many empty
  // polls, each started by a gro_flush_timeout timer instead of the device.
  bool ret = true;
  sc_time timeout = SC_ZERO_TIME;
  if (work_done) n.defer_hard_irqs_count = m_params.napi_defer_hard_irqs;
  if (n.defer_hard_irqs_count > 0) {
    --n.defer_hard_irqs_count;
    timeout = m_params.gro_flush_timeout;
    if (timeout > SC_ZERO_TIME) ret = false;
  }
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

int netstack::napi_poll(napi_struct& n, std::deque<napi_struct*>& repoll) {
  cpu::this_cpu().charge(cost::napi_poll);
  ++n.polls;
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), n.poll_name);
  const int work = n.poll(n, n.weight);
  if (work < n.weight) return work;
  // The driver consumed its whole weight and did not complete: net_rx_action owns it still.
  repoll.push_back(&n);
  return work;
}

void netstack::net_rx_action() {
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), "net_rx_action");
  cpu::this_cpu().charge(cost::net_rx_action);
  cpu& c = cpu::this_cpu();
  const double hz = static_cast<double>(c.usecs_to_jiffies(1e6));
  const double budget_usecs = m_params.netdev_budget_usecs ? m_params.netdev_budget_usecs : 2e6 / hz;
  const uint64_t time_limit = c.jiffies() + c.usecs_to_jiffies(budget_usecs);
  int budget = m_params.netdev_budget;
  std::deque<napi_struct*> list;
  std::deque<napi_struct*> repoll;
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

// ------------------------------------------------------------------ skb life

// The frame's fate is recorded and its memory released before the time is
// charged, so a run that ends mid-charge still counts every frame once.
void netstack::kfree_skb(sk_buff* skb, skb_drop_reason reason) {
  ++m_drops[static_cast<size_t>(reason)];
  if (auto* o = cpu::this_cpu().observer()) {
    const int64_t seq = skb_frame_seq(*skb);
    if (seq >= 0) o->frame_dropped(static_cast<uint64_t>(seq), skb_drop_reason_counter(reason));
  }
  m_buffers.free(skb->buf_addr);
  m_skbs.free(skb);
  cpu::this_cpu().charge(cost::kfree_skb);
}

// ------------------------------------------------------------------ receive

void netstack::netif_receive_skb(sk_buff* skb) {
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), "netif_receive_skb");
  cpu::this_cpu().charge(cost::netif_receive_skb);
  ++sd().processed;  // __netif_receive_skb_core
  skb->network_header = skb->data;
  if (skb->protocol == proto::ETH_P_IP) {
    ip_rcv(skb);
    return;
  }
  kfree_skb(skb, skb_drop_reason::UNHANDLED_PROTO);
}

void netstack::netif_rx(sk_buff* skb) {
  cpu::this_cpu().charge(cost::netif_rx);
  // enqueue_to_backlog
  softnet_data& q = sd();
  if (q.input_pkt_queue.size() > m_params.netdev_max_backlog) {
    ++sd().dropped;
    kfree_skb(skb, skb_drop_reason::CPU_BACKLOG);
    return;
  }
  q.input_pkt_queue.push_back(skb);
  if (q.input_pkt_queue.size() == 1 && napi_schedule_prep(q.backlog)) {
    q.poll_list.push_back(&q.backlog);  // ____napi_schedule
    cpu::this_cpu().raise_softirq(NET_RX_SOFTIRQ);
  }
}

int netstack::process_backlog(napi_struct& n, int quota) {
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

void netstack::ip_rcv(sk_buff* skb) {
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), "ip_rcv");
  cpu::this_cpu().charge(cost::ip_rcv);
  ++m_ip.InReceives;
  const uint8_t* iph = skb->data_ptr();
  if (skb->len < proto::IPV4_HLEN || (iph[0] >> 4) != 4 || (iph[0] & 0xF) < 5 ||
      skb->len < (iph[0] & 0xFu) * 4u) {
    ++m_ip.InHdrErrors;
    kfree_skb(skb, skb_drop_reason::IP_INHDR);
    return;
  }
  const unsigned ihl = (iph[0] & 0xFu) * 4u;
  cpu::this_cpu().charge(cost::csum, ihl);
  if (proto::csum_fold(proto::csum_partial(iph, ihl)) != 0) {  // ip_fast_csum
    ++m_ip.InCsumErrors;
    ++m_ip.InHdrErrors;
    kfree_skb(skb, skb_drop_reason::IP_CSUM);
    return;
  }
  const unsigned tot_len = proto::get_be16(iph + 2);
  if (skb->len < tot_len || tot_len < ihl) {
    ++m_ip.InHdrErrors;
    kfree_skb(skb, skb_drop_reason::IP_INHDR);
    return;
  }
  skb->len = tot_len;  // pskb_trim_rcsum: drop Ethernet padding
  if (proto::get_be32(iph + 16) != m_params.local_ip) {
    ++m_ip.InAddrErrors;  // not ours and forwarding is off
    kfree_skb(skb, skb_drop_reason::IP_INADDRERRORS);
    return;
  }
  skb->pull(ihl);
  skb->transport_header = skb->data;
  ip_local_deliver(skb, iph[9]);
}

void netstack::ip_local_deliver(sk_buff* skb, uint8_t protocol) {
  if (protocol == proto::IPPROTO_UDP) {
    ++m_ip.InDelivers;
    udp_rcv(skb);
    return;
  }
  if (protocol == proto::IPPROTO_ICMP) {
    ++m_ip.InDelivers;
    ++m_icmp.InMsgs;
    kfree_skb(skb, skb_drop_reason::ICMP_CONSUMED);
    return;
  }
  ++m_ip.InUnknownProtos;
  kfree_skb(skb, skb_drop_reason::IP_NOPROTO);
}

namespace {
// udp_lib_checksum_complete over the pseudo header and the datagram.
bool udp_checksum_ok(const sk_buff& skb) {
  const uint8_t* iph = skb.head + skb.network_header;
  const uint8_t* uh = skb.data_ptr();
  if (proto::get_be16(uh + 6) == 0) return true;  // sender did not compute one
  const uint32_t sum = proto::csum_tcpudp_nofold(proto::get_be32(iph + 12), proto::get_be32(iph + 16),
                                                 static_cast<uint16_t>(skb.len), proto::IPPROTO_UDP,
                                                 proto::csum_partial(uh, skb.len));
  return proto::csum_fold(sum) == 0;
}
}  // namespace

void netstack::udp_rcv(sk_buff* skb) {
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), "udp_rcv");
  cpu::this_cpu().charge(cost::udp_rcv);
  if (skb->len < proto::UDP_HLEN) {
    ++m_udp.InErrors;
    kfree_skb(skb, skb_drop_reason::PKT_TOO_SMALL);
    return;
  }
  const uint8_t* uh = skb->data_ptr();
  const unsigned ulen = proto::get_be16(uh + 4);
  if (ulen > skb->len || ulen < proto::UDP_HLEN) {
    ++m_udp.InErrors;
    kfree_skb(skb, skb_drop_reason::PKT_TOO_SMALL);
    return;
  }
  skb->len = ulen;
  auto it = m_udp_table.find(proto::get_be16(uh + 2));  // __udp4_lib_lookup_skb
  if (it != m_udp_table.end()) {
    udp_sock& sk = *it->second;
    sk.napi = skb->napi;  // sk_mark_napi_id
    if (m_params.udp_backlog && sk.owned_by_user) {
      // sk_add_backlog: the owner processes it at release_sock.
      if (sk.sk_backlog_len + sk.sk_rmem_alloc > sk.sk_rcvbuf) {
        ++sk.sk_drops;
        ++m_udp.InErrors;
        kfree_skb(skb, skb_drop_reason::SOCKET_BACKLOG);
        return;
      }
      sk.sk_backlog.push_back(skb);
      sk.sk_backlog_len += skb->truesize;
      ++sk.sk_backlogged;
      return;
    }
    __udp_enqueue_schedule_skb(sk, skb);
    return;
  }
  // No socket: drop silently if the checksum is wrong, else answer port unreachable.
  if (skb->ip_summed != CHECKSUM_UNNECESSARY) {
    cpu::this_cpu().charge(cost::csum, skb->len);
    if (!udp_checksum_ok(*skb)) {
      ++m_udp.InCsumErrors;
      ++m_udp.InErrors;
      kfree_skb(skb, skb_drop_reason::UDP_CSUM);
      return;
    }
  }
  ++m_udp.NoPorts;
  icmp_send_port_unreach(proto::get_be32(skb->head + skb->network_header + 12));
  kfree_skb(skb, skb_drop_reason::NO_SOCKET);
}

void netstack::__udp_enqueue_schedule_skb(udp_sock& sk, sk_buff* skb) {
  cpu::this_cpu().charge(cost::udp_enqueue);
  // The check comes before the charge, so a socket may overshoot by one skb, as in the kernel.
  if (sk.sk_rmem_alloc > sk.sk_rcvbuf) {
    ++sk.sk_drops;
    ++m_udp.RcvbufErrors;
    ++m_udp.InErrors;
    kfree_skb(skb, skb_drop_reason::SOCKET_RCVBUFF);
    return;
  }
  sk.sk_rmem_alloc += skb->truesize;
  sk.sk_receive_queue.push_back(skb);
  if (auto* o = cpu::this_cpu().observer()) {
    const int64_t seq = skb_frame_seq(*skb);
    if (seq >= 0)
      o->frame(static_cast<uint64_t>(seq), waves::frame_stage::socket_enqueue, cpu::this_cpu().track());
    sk.queue_probe(sk.sk_receive_queue.size());
  }
  sock_def_readable(sk);
}

void netstack::sock_def_readable(udp_sock& sk) {
  cpu::this_cpu().charge(cost::sock_def_readable);
  if (sk.sk_wq.active()) __wake_up(sk.sk_wq, 1);  // wake_up_interruptible_sync_poll
}

// ------------------------------------------------------------------ ICMP

bool netstack::icmp_global_allow() {
  const sc_time now = sc_time_stamp();
  const double delta_s = std::min((now - m_icmp_stamp).to_seconds(), 1.0);
  if (delta_s >= 0.02) {  // HZ / 50
    const double incr = std::floor(m_params.icmp_msgs_per_sec * delta_s);
    if (incr > 0) m_icmp_stamp = now;
    m_icmp_credit = std::min(m_icmp_credit + incr, static_cast<double>(m_params.icmp_msgs_burst));
  }
  if (m_icmp_credit < 1) return false;
  m_icmp_credit -= 1;  // the kernel subtracts a random 0..2 (mean 1); the model uses the mean
  return true;
}

bool netstack::icmpv4_xrlim_allow(uint32_t daddr) {
  constexpr int XRLIM_BURST_FACTOR = 6;
  const sc_time now = sc_time_stamp();
  auto [it, fresh] = m_peers.try_emplace(daddr);
  peer& p = it->second;
  if (fresh) {  // inet_getpeer: rate_last = jiffies - 60 * HZ
    p.rate_last = now;
    p.rate_tokens = sc_time(60, sc_core::SC_SEC);
  }
  sc_time token = p.rate_tokens + (now - p.rate_last);
  p.rate_last = now;
  token = std::min(token, XRLIM_BURST_FACTOR * m_params.icmp_ratelimit);
  bool ok = false;
  if (token >= m_params.icmp_ratelimit) {
    token -= m_params.icmp_ratelimit;
    ok = true;
  }
  p.rate_tokens = token;
  return ok;
}

void netstack::icmp_send_port_unreach(uint32_t daddr) {
  if (!icmp_global_allow()) {
    ++m_icmp.OutRateLimitGlobal;
    return;
  }
  if (!icmpv4_xrlim_allow(daddr)) {
    ++m_icmp.OutRateLimitHost;
    return;
  }
  cpu::this_cpu().charge(cost::icmp_send);
  ++m_icmp.OutMsgs;
  ++m_icmp.OutDestUnreachs;
}

// ------------------------------------------------------------------ sockets

udp_sock& netstack::udp_bind(uint16_t port, uint64_t rcvbuf) {
  auto& slot = m_udp_table[port];
  if (!slot) {
    slot = std::make_unique<udp_sock>();
    slot->port = port;
    slot->sk_rcvbuf = rcvbuf;
    slot->queue_probe.attach(cpu::this_cpu().observer(),
                             "host.sock.udp_" + std::to_string(port) + ".rx_queue", 16);
    slot->queue_probe(0);
  }
  return *slot;
}

void netstack::lock_sock(udp_sock& sk) {
  cpu::this_cpu().charge(cost::lock_sock);
  while (sk.owned_by_user) {  // __lock_sock: sleep until the owner releases it
    wait_queue_entry wait;
    init_wait(wait, cpu::this_cpu());
    prepare_to_wait_exclusive(sk.sk_lock_wq, wait, cpu::this_cpu());
    if (sk.owned_by_user) cpu::this_cpu().schedule();
    finish_wait(wait, cpu::this_cpu());
  }
  sk.owned_by_user = true;
}

void netstack::release_sock(udp_sock& sk) {
  // __release_sock: the owner does the softirq's deferred work, in its own time.
  while (!sk.sk_backlog.empty()) {
    sk_buff* skb = sk.sk_backlog.front();
    sk.sk_backlog.pop_front();
    sk.sk_backlog_len -= skb->truesize;
    __udp_enqueue_schedule_skb(sk, skb);  // sk_backlog_rcv → __udp_queue_rcv_skb
  }
  sk.owned_by_user = false;
  cpu::this_cpu().charge(cost::lock_sock);
  if (sk.sk_lock_wq.active()) __wake_up(sk.sk_lock_wq, 1);  // wake_up
}

void netstack::napi_busy_loop(udp_sock& sk, napi_struct& n, sc_time end) {
  constexpr int BUSY_POLL_BUDGET = 8;
  bool owned = false;
  for (;;) {
    if (!owned && !n.sched) {  // take the instance unless softirq has it
      n.sched = true;
      n.in_busy_poll = true;
      owned = true;
    }
    if (owned) {
      const size_t before = sk.sk_receive_queue.size();
      cpu::this_cpu().charge(cost::napi_poll);
      n.poll(n, BUSY_POLL_BUDGET);
      if (sk.sk_receive_queue.size() > before) m_busy_poll_rx += sk.sk_receive_queue.size() - before;
    }
    if (!sk.sk_receive_queue.empty() || sc_time_stamp() >= end || cpu::this_cpu().need_resched()) break;
    cpu::this_cpu().charge(cost::busy_poll_relax);
  }
  if (!owned) return;
  // busy_poll_stop: one last poll as softirq would, which completes and unmasks, or reschedules.
  n.in_busy_poll = false;
  cpu::this_cpu().charge(cost::napi_poll);
  if (n.poll(n, n.weight) == n.weight) __napi_schedule(n);
}

long netstack::udp_recvmsg(udp_sock& sk, uint8_t* buf, size_t len, bool dontwait) {
  cpu::this_cpu().charge(cost::recvmsg);
  for (;;) {  // try_again
    // sk_can_busy_loop + sk_busy_loop: only when the socket's last skb came from a NAPI
    // instance (sk_napi_id >= MIN_NAPI_ID); netif_rx'd skbs leave it without one.
    if (sk.sk_receive_queue.empty() && sk.busy_poll > SC_ZERO_TIME && sk.napi != nullptr)
      napi_busy_loop(sk, *sk.napi, sc_time_stamp() + sk.busy_poll);
    if (sk.sk_receive_queue.empty() && dontwait) return EAGAIN_;
    // __skb_recv_udp: take the head of the queue or sleep on the socket's wait queue.
    while (sk.sk_receive_queue.empty()) {
      wait_queue_entry wait;  // DEFINE_WAIT_FUNC(wait, receiver_wake_function)
      init_wait(wait, cpu::this_cpu());
      prepare_to_wait_exclusive(sk.sk_wq, wait, cpu::this_cpu());
      if (sk.sk_receive_queue.empty()) cpu::this_cpu().schedule();
      finish_wait(wait, cpu::this_cpu());  // maybe another CPU than the one it slept on
    }
    sk_buff* skb = sk.sk_receive_queue.front();
    sk.sk_receive_queue.pop_front();
    if (auto* o = cpu::this_cpu().observer()) {
      const int64_t seq = skb_frame_seq(*skb);
      if (seq >= 0)
        o->frame(static_cast<uint64_t>(seq), waves::frame_stage::socket_dequeue,
                 cpu::this_cpu().current()->track);
      sk.queue_probe(sk.sk_receive_queue.size());
    }
    const size_t ulen = skb->len - proto::UDP_HLEN;
    const size_t copied = std::min(len, ulen);
    const uint8_t* payload = skb->data_ptr() + proto::UDP_HLEN;
    if (skb->ip_summed != CHECKSUM_UNNECESSARY) {
      cpu::this_cpu().charge(cost::csum, skb->len);  // skb_copy_and_csum_datagram_msg
      if (!udp_checksum_ok(*skb)) {
        ++m_udp.InCsumErrors;
        ++m_udp.InErrors;
        sk.sk_rmem_alloc -= skb->truesize;
        kfree_skb(skb, skb_drop_reason::UDP_CSUM);
        cpu::this_cpu().cond_resched();
        continue;
      }
    }
    // Charge first, then hand over in zero time: the frame is in exactly one
    // place (this skb, or the caller's buffer) whenever the run may stop.
    if (m_params.udp_backlog) lock_sock(sk);  // the reader owns the socket while it copies
    cpu::this_cpu().charge(cost::copy_to_user, copied);
    cpu::this_cpu().charge(cost::kfree_skb);
    std::memcpy(buf, payload, copied);
    ++m_udp.InDatagrams;
    sk.sk_rmem_alloc -= skb->truesize;  // skb_consume_udp → udp_rmem_release
    m_buffers.free(skb->buf_addr);
    m_skbs.free(skb);
    if (m_params.udp_backlog) {
      ++m_returning;  // the datagram is the reader's while it works off the backlog
      release_sock(sk);
      --m_returning;
    }
    return static_cast<long>(copied);
  }
}

}  // namespace nicsim::host
