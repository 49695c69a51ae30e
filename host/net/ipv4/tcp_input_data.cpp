// TCP input, the data side (net/ipv4/tcp_input.c, v6.6; the kernel keeps all of it in that one
// file, the model splits it): tcp_data_queue and the receive queue (tcp_queue_rcv,
// tcp_try_coalesce), the out-of-order queue (tcp_data_queue_ofo, tcp_ofo_queue), the SACK blocks
// the receiver's ACKs carry (tcp_sack_new_ofo_skb, tcp_sack_remove), receive-memory pruning
// (tcp_try_rmem_schedule, tcp_prune_queue, tcp_prune_ofo_queue, tcp_clamp_window) and
// tcp_data_ready. The ACK/window side is in tcp_input.cpp.
// Left out: D-SACK, tcp_collapse (pruning drops instead of compacting), urgent data, FIN.
#include <algorithm>
#include <vector>

#include "host/kernel/cpu.h"
#include "host/net/core/sock.h"
#include "host/net/ipv4/tcp.h"
#include "host/net/net_namespace.h"

namespace nicsim::host {

namespace {
bool before(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
bool after(uint32_t a, uint32_t b) { return before(b, a); }
uint64_t seq64(const tcp_sock& sk, uint32_t seq) {
  return sk.rcv_nxt64 + static_cast<int64_t>(static_cast<int32_t>(seq - sk.rcv_nxt));
}
constexpr unsigned TCP_MAX_QUICKACKS = 16;
}  // namespace

// tcp_data_ready (v6.6): wake readers once SO_RCVLOWAT is met, memory is short or the window
// is about to close (tcp_epollin_ready).
void tcp::tcp_data_ready(tcp_sock& sk) {
  const int32_t avail = static_cast<int32_t>(sk.rcv_nxt - sk.copied_seq);
  if (avail <= 0) return;
  const uint64_t threshold = sk.sk_rcvbuf - (sk.sk_rcvbuf >> 3);  // tcp_rmem_pressure
  if (static_cast<uint64_t>(avail) >= sk.sk_rcvlowat || sk.sk_rmem_alloc > threshold ||
      tcp_receive_window(sk) <= sk.icsk_ack.rcv_mss) {
    sock_def_readable(sk);
  }
}

// tcp_data_queue (v6.6).
void tcp::tcp_data_queue(tcp_sock& sk, sk_buff* skb) {
  cpu& c = cpu::this_cpu();
  tcp_skb_cb& cb = TCP_SKB_CB(skb);
  if (cb.seq == cb.end_seq) {  // no data (a pure ACK on the slow path)
    tcp_consume(skb);
    return;
  }
  c.charge(cost::tcp_data_queue);
  skb->pull((skb->data_ptr()[12] >> 4) * 4u);
  skb_drop_reason reason = skb_drop_reason::NOT_SPECIFIED;
  if (cb.seq == sk.rcv_nxt) {
    if (tcp_receive_window(sk) == 0) {
      reason = skb_drop_reason::TCP_ZEROWINDOW;
      ++m_net.mib.net_statistics.TCPZeroWindowDrop;
      goto out_of_window;
    }
  queue_and_out:
    if (tcp_try_rmem_schedule(sk, skb, skb->truesize)) {
      sk.icsk_ack.pending |= ICSK_ACK_NOW | ICSK_ACK_SCHED;
      sock_def_readable(sk);  // sk->sk_data_ready
      if (!sk.sk_receive_queue.empty()) {
        ++m_net.mib.net_statistics.TCPRcvQDrop;
        tcp_drop_reason(&sk, skb, skb_drop_reason::PROTO_MEM);
        return;
      }
      // sk_forced_mem_schedule: an empty queue takes it anyway.
    }
    {
      sk.bytes_received += static_cast<uint32_t>(cb.end_seq - sk.rcv_nxt);
      sk_buff copy_for_event;
      copy_for_event.len = skb->len;
      copy_for_event.truesize = skb->truesize;
      copy_for_event.gso_size = skb->gso_size;
      TCP_SKB_CB(&copy_for_event) = cb;
      tcp_queue_rcv(sk, skb);
      if (copy_for_event.len) tcp_event_data_recv(sk, &copy_for_event);
      if (!sk.out_of_order_queue.empty()) {
        tcp_ofo_queue(sk);
        if (sk.out_of_order_queue.empty()) sk.icsk_ack.pending |= ICSK_ACK_NOW;  // RFC 5681 4.2
      }
      if (sk.rx_opt.num_sacks) tcp_sack_remove(sk);
      tcp_fast_path_check(sk);
      tcp_data_ready(sk);
      return;
    }
  }
  if (!after(cb.end_seq, sk.rcv_nxt)) {
    // A retransmit: force an immediate ACK (DelayedACKLost; D-SACK left out).
    reason = skb_drop_reason::TCP_OLD_DATA;
    ++m_net.mib.net_statistics.DelayedACKLost;
    goto out_of_window;
  }
  if (!before(cb.seq, sk.rcv_nxt + tcp_receive_window(sk))) {
    reason = skb_drop_reason::TCP_OVERWINDOW;
    goto out_of_window;
  }
  if (before(cb.seq, sk.rcv_nxt)) {  // partial: seq < rcv_nxt < end_seq
    if (!tcp_receive_window(sk)) {
      reason = skb_drop_reason::TCP_ZEROWINDOW;
      ++m_net.mib.net_statistics.TCPZeroWindowDrop;
      goto out_of_window;
    }
    goto queue_and_out;
  }
  tcp_data_queue_ofo(sk, skb);
  return;
out_of_window:
  tcp_enter_quickack_mode(sk, TCP_MAX_QUICKACKS);
  sk.icsk_ack.pending |= ICSK_ACK_SCHED;
  tcp_drop_reason(&sk, skb, reason);
}

// tcp_try_coalesce → skb_try_coalesce (net/core/skbuff.c, v6.6) and kfree_skb_partial: from's
// linear bytes become a frag of `to` (its buffer with them), its frags follow; from's sk_buff
// is freed (head stolen). No frag_list on either side; at most MAX_SKB_FRAGS frags. The
// "fits in to's tailroom: copy" case is left out (build_skb'd receive buffers have little).
bool tcp::tcp_try_coalesce(tcp_sock& sk, sk_buff* to, sk_buff* from) {
  tcp_skb_cb& tcb = TCP_SKB_CB(to);
  tcp_skb_cb& fcb = TCP_SKB_CB(from);
  if (fcb.seq != tcb.end_seq) return false;
  if (to->frag_list != nullptr || from->frag_list != nullptr) return false;
  const bool has_head = from->headlen() != 0;
  if (to->nr_frags + from->nr_frags + (has_head ? 1u : 0u) > MAX_SKB_FRAGS) return false;
  cpu::this_cpu().charge(cost::tcp_try_coalesce);
  const unsigned delta = has_head ? from->truesize - 256 : from->truesize - 256 - 320;
  if (has_head)
    to->frags[to->nr_frags++] = skb_frag_t{from->buf_addr, from->head, from->data, from->headlen()};
  for (unsigned i = 0; i < from->nr_frags; ++i) to->frags[to->nr_frags++] = from->frags[i];
  to->truesize += delta;
  to->len += from->len;
  to->data_len += from->len;
  sk.sk_rmem_alloc += delta;
  ++m_net.mib.net_statistics.TCPRcvCoalesce;
  tcb.end_seq = fcb.end_seq;
  tcb.ack_seq = fcb.ack_seq;
  tcb.tcp_flags |= fcb.tcp_flags;
  from->nr_frags = 0;
  if (has_head) {
    m_skbs.kfree_skb_head_stolen(from);
  } else {
    from->len = from->data_len = 0;
    tcp_consume(from);  // a header-only head: its frame is settled
  }
  return true;
}

// tcp_queue_rcv (v6.6): coalesce into the receive queue's tail or append (skb_set_owner_r).
// True when the skb was coalesced (and is freed).
bool tcp::tcp_queue_rcv(tcp_sock& sk, sk_buff* skb) {
  tcp_trace_frames(*skb, waves::frame_stage::socket_enqueue, cpu::this_cpu().track());
  const uint32_t end_seq = TCP_SKB_CB(skb).end_seq;
  const bool eaten = !sk.sk_receive_queue.empty() && tcp_try_coalesce(sk, sk.sk_receive_queue.back(), skb);
  // tcp_rcv_nxt_update
  sk.rcv_nxt64 += static_cast<uint32_t>(end_seq - sk.rcv_nxt);
  sk.rcv_nxt = end_seq;
  if (!eaten) {
    sk.sk_receive_queue.push_back(skb);
    sk.sk_rmem_alloc += skb->truesize;
  }
  if (auto* o = cpu::this_cpu().observer()) {
    (void)o;
    sk.queue_probe(sk.rcv_nxt - sk.copied_seq);
  }
  return eaten;
}

// tcp_ofo_queue (v6.6): move what the hole's filling made in-order to the receive queue.
void tcp::tcp_ofo_queue(tcp_sock& sk) {
  while (!sk.out_of_order_queue.empty()) {
    auto it = sk.out_of_order_queue.begin();
    sk_buff* skb = it->second;
    tcp_skb_cb& cb = TCP_SKB_CB(skb);
    if (after(cb.seq, sk.rcv_nxt)) break;
    sk.out_of_order_queue.erase(it);
    if (!after(cb.end_seq, sk.rcv_nxt)) {
      sk.sk_rmem_alloc -= skb->truesize;
      tcp_drop_reason(&sk, skb, skb_drop_reason::TCP_OFO_DROP);
      continue;
    }
    sk.sk_rmem_alloc -= skb->truesize;  // re-charged by tcp_queue_rcv (or by the coalesce delta)
    sk.bytes_received += static_cast<uint32_t>(cb.end_seq - sk.rcv_nxt);
    tcp_queue_rcv(sk, skb);
  }
  if (!sk.out_of_order_queue.empty()) sk.ooo_last = sk.out_of_order_queue.rbegin()->first;
}

// tcp_data_queue_ofo (v6.6): insert into the OFO queue, coalescing with a neighbour, dropping
// what is already there (TCPOFOMerge), removing what the new segment covers; SACK blocks.
void tcp::tcp_data_queue_ofo(tcp_sock& sk, sk_buff* skb) {
  cpu::this_cpu().charge(cost::tcp_data_queue_ofo);
  if (tcp_try_rmem_schedule(sk, skb, skb->truesize)) {
    ++m_net.mib.net_statistics.TCPOFODrop;
    sock_def_readable(sk);
    tcp_drop_reason(&sk, skb, skb_drop_reason::TCP_OFO_DROP);
    return;
  }
  sk.pred_flags = 0;
  sk.icsk_ack.pending |= ICSK_ACK_SCHED;
  ++m_net.mib.net_statistics.TCPOFOQueue;
  tcp_skb_cb& cb = TCP_SKB_CB(skb);
  const uint32_t seq = cb.seq, end_seq = cb.end_seq;
  const uint64_t key = seq64(sk, seq), end_key = seq64(sk, end_seq);
  auto& q = sk.out_of_order_queue;
  // Coalesce onto the segment that ends where this one starts (the typical tail append).
  for (auto it = q.begin(); it != q.end(); ++it) {
    tcp_skb_cb& pcb = TCP_SKB_CB(it->second);
    if (pcb.end_seq == seq) {
      const unsigned truesize = skb->truesize;
      if (tcp_try_coalesce(sk, it->second, skb)) {  // tcp_ooo_try_coalesce
        sk_buff* to = it->second;
        to->gso_segs = static_cast<uint16_t>(std::min(0xFFFFu, std::max<unsigned>(1, to->gso_segs) + 1));
        sk_buff stand_in;
        stand_in.len = end_seq - seq;
        stand_in.truesize = truesize;
        if (sk.rx_opt.sack_ok) tcp_grow_window(sk, &stand_in);
        tcp_sack_new_ofo_skb(sk, seq, end_seq);
        // Coalescing may join two queued segments' ranges: merge the next one too.
        return;
      }
    }
  }
  // Overlaps: a segment that starts at or before ours and covers all of it: drop ours.
  auto next = q.upper_bound(key);
  if (next != q.begin()) {
    auto prev = std::prev(next);
    const uint64_t pend = seq64(sk, TCP_SKB_CB(prev->second).end_seq);
    if (pend >= end_key) {
      ++m_net.mib.net_statistics.TCPOFOMerge;
      tcp_drop_reason(&sk, skb, skb_drop_reason::TCP_OFOMERGE);
      tcp_sack_new_ofo_skb(sk, seq, end_seq);
      return;
    }
    if (prev->first == key) {  // same start, ours covers it: replace
      sk_buff* old = prev->second;
      q.erase(prev);
      sk.sk_rmem_alloc -= old->truesize;
      ++m_net.mib.net_statistics.TCPOFOMerge;
      tcp_drop_reason(&sk, old, skb_drop_reason::TCP_OFOMERGE);
    }
  }
  q[key] = skb;
  sk.sk_rmem_alloc += skb->truesize;  // skb_set_owner_r
  // merge_right: remove the segments ours covers.
  for (auto it = q.upper_bound(key); it != q.end();) {
    const tcp_skb_cb& ncb = TCP_SKB_CB(it->second);
    if (!after(end_seq, ncb.seq)) break;
    if (before(end_seq, ncb.end_seq)) break;
    sk_buff* old = it->second;
    it = q.erase(it);
    sk.sk_rmem_alloc -= old->truesize;
    ++m_net.mib.net_statistics.TCPOFOMerge;
    tcp_drop_reason(&sk, old, skb_drop_reason::TCP_OFOMERGE);
  }
  sk.ooo_last = q.rbegin()->first;
  tcp_sack_new_ofo_skb(sk, seq, end_seq);
  if (sk.rx_opt.sack_ok) tcp_grow_window(sk, skb);
}

// The SACK blocks the next ACK carries (tcp_sack_new_ofo_skb, tcp_sack_remove, v6.6): the
// model rebuilds them from the OFO queue's contiguous ranges, the one holding the newest
// arrival first (RFC 2018), at most 4 (3 fit beside timestamps).
void tcp::tcp_sack_new_ofo_skb(tcp_sock& sk, uint32_t seq, uint32_t end_seq) {
  if (!sk.rx_opt.sack_ok) return;
  std::vector<tcp_sack_block> ranges;
  for (const auto& [k, skb] : sk.out_of_order_queue) {
    const tcp_skb_cb& cb = TCP_SKB_CB(skb);
    if (!ranges.empty() && !after(cb.seq, ranges.back().end_seq)) {
      if (after(cb.end_seq, ranges.back().end_seq)) ranges.back().end_seq = cb.end_seq;
    } else {
      ranges.push_back({cb.seq, cb.end_seq});
    }
  }
  std::stable_partition(ranges.begin(), ranges.end(), [&](const tcp_sack_block& b) {
    return !before(seq, b.start_seq) && !after(end_seq, b.end_seq);
  });
  sk.rx_opt.num_sacks = static_cast<uint8_t>(std::min<size_t>(ranges.size(), 4));
  for (unsigned i = 0; i < sk.rx_opt.num_sacks; ++i) sk.selective_acks[i] = ranges[i];
}

void tcp::tcp_sack_remove(tcp_sock& sk) {
  if (sk.out_of_order_queue.empty()) {
    sk.rx_opt.num_sacks = 0;
    return;
  }
  unsigned n = 0;
  for (unsigned i = 0; i < sk.rx_opt.num_sacks; ++i)
    if (after(sk.selective_acks[i].end_seq, sk.rcv_nxt)) sk.selective_acks[n++] = sk.selective_acks[i];
  sk.rx_opt.num_sacks = static_cast<uint8_t>(n);
}

// tcp_try_rmem_schedule (v6.6) with no global memory pressure (sk_rmem_schedule succeeds):
// over sk_rcvbuf, prune; 0: go ahead.
int tcp::tcp_try_rmem_schedule(tcp_sock& sk, sk_buff* skb, unsigned /*size*/) {
  if (sk.sk_rmem_alloc > sk.sk_rcvbuf) {
    if (tcp_prune_queue(sk, skb) < 0) return -1;
  }
  return 0;
}

// tcp_clamp_window (v6.6).
void tcp::tcp_clamp_window(tcp_sock& sk) {
  sk.icsk_ack.quick = 0;
  const uint64_t rmem2 = m_params.tcp_rmem[2];
  if (sk.sk_rcvbuf < rmem2) sk.sk_rcvbuf = std::min<uint64_t>(sk.sk_rmem_alloc, rmem2);
  if (sk.sk_rmem_alloc > sk.sk_rcvbuf) sk.rcv_ssthresh = std::min(sk.window_clamp, 2u * sk.advmss);
}

// tcp_prune_queue (v6.6) without tcp_collapse/tcp_collapse_ofo_queue (the model does not
// compact queued skbs): clamp the window, then drop from the OFO queue; -1 when that
// was not enough (RcvPruned).
int tcp::tcp_prune_queue(tcp_sock& sk, sk_buff* in_skb) {
  cpu::this_cpu().charge(cost::tcp_prune_queue);
  ++m_net.mib.net_statistics.PruneCalled;
  if (sk.sk_rmem_alloc >= sk.sk_rcvbuf) tcp_clamp_window(sk);
  if (sk.sk_rmem_alloc <= sk.sk_rcvbuf) return 0;
  tcp_prune_ofo_queue(sk, in_skb);
  if (sk.sk_rmem_alloc <= sk.sk_rcvbuf) return 0;
  ++m_net.mib.net_statistics.RcvPruned;
  sk.pred_flags = 0;
  return -1;
}

// tcp_prune_ofo_queue (v6.6): drop from the OFO queue's far end, in steps of rcvbuf / 8,
// until memory fits; never what the incoming segment would land after.
bool tcp::tcp_prune_ofo_queue(tcp_sock& sk, sk_buff* in_skb) {
  auto& q = sk.out_of_order_queue;
  if (q.empty()) return false;
  int64_t goal = static_cast<int64_t>(sk.sk_rcvbuf >> 3);
  bool pruned = false;
  const uint64_t in_key = seq64(sk, TCP_SKB_CB(in_skb).seq);
  while (!q.empty()) {
    auto last = std::prev(q.end());
    if (in_key > last->first) break;
    pruned = true;
    sk_buff* skb = last->second;
    q.erase(last);
    goal -= skb->truesize;
    sk.sk_rmem_alloc -= skb->truesize;
    tcp_drop_reason(&sk, skb, skb_drop_reason::TCP_OFO_QUEUE_PRUNE);
    if (q.empty() || goal <= 0) {
      if (sk.sk_rmem_alloc <= sk.sk_rcvbuf) break;
      goal = static_cast<int64_t>(sk.sk_rcvbuf >> 3);
    }
  }
  if (pruned) {
    ++m_net.mib.net_statistics.OfoPruned;
    sk.rx_opt.num_sacks = 0;  // tcp_sack_reset
  }
  if (!q.empty()) sk.ooo_last = q.rbegin()->first;
  return pruned;
}

}  // namespace nicsim::host
