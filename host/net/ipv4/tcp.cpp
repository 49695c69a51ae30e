// TCP socket calls (net/ipv4/tcp.c, inet_connection_sock.c, net/core/sock.c, v6.6):
// inet_csk_accept, tcp_recvmsg with sk_wait_data, tcp_cleanup_rbuf, and release_sock with
// __release_sock and tcp_release_cb.
#include "host/net/ipv4/tcp.h"

#include <algorithm>
#include <cstring>

#include "host/kernel/cpu.h"
#include "host/net/core/sock.h"
#include "host/net/net_namespace.h"
#include "proto/frame.h"

namespace nicsim::host {

namespace {
// lock_sock (v6.6): spin_lock_bh(&sk->sk_lock.slock) waits for softirq's bh_lock_sock, then
// the owner flag (sleeping while another task owns it).
void tcp_lock_sock(tcp_sock& sk) {
  while (sk.bh_locked) cpu::this_cpu().charge(cost::lock_sock);  // spinning on slock
  lock_sock(sk);
}
}  // namespace

// bh_lock_sock / bh_unlock_sock (include/net/sock.h, v6.6): spin_lock(&sk->sk_lock.slock).
void bh_lock_sock(tcp_sock& sk) {
  while (sk.bh_locked) cpu::this_cpu().charge(cost::lock_sock);  // another CPU holds it
  sk.bh_locked = true;
}
void bh_unlock_sock(tcp_sock& sk) { sk.bh_locked = false; }

// inet_csk_accept (net/ipv4/inet_connection_sock.c, v6.6): take the accept queue's head, or
// sleep in inet_csk_wait_for_connect (prepare_to_wait_exclusive on sk_sleep).
tcp_sock& tcp::inet_csk_accept(tcp_sock& listener) {
  cpu& c = cpu::this_cpu();
  c.charge(cost::inet_csk_accept);
  while (listener.icsk_accept_queue.empty()) {
    wait_queue_entry wait;
    init_wait(wait, c);
    prepare_to_wait_exclusive(listener.accept_wq, wait, c);
    if (listener.icsk_accept_queue.empty()) cpu::this_cpu().schedule();
    finish_wait(wait, cpu::this_cpu());
  }
  tcp_sock* sk = listener.icsk_accept_queue.front();
  listener.icsk_accept_queue.pop_front();
  return *sk;
}

// tcp_release_cb (v6.6): the delayed-ACK work a timer deferred while the socket was owned.
void tcp::tcp_release_cb(tcp_sock& sk) {
  if (sk.delack_timer_deferred) {
    sk.delack_timer_deferred = false;
    tcp_delack_timer_handler(sk);
  }
}

// __release_sock (net/core/sock.c, v6.6): the owner works off the backlog (sk_backlog_rcv:
// tcp_v4_do_rcv) batch by batch as softirq keeps adding to it; sk_backlog.len is zeroed only
// at the end, so a flooding producer cannot keep it looping. Shared by release_sock and
// __sk_flush_backlog.
void tcp::__release_sock(tcp_sock& sk) {
  cpu& c = cpu::this_cpu();
  while (!sk.sk_backlog.empty()) {
    std::deque<sk_buff*> batch;
    batch.swap(sk.sk_backlog);
    for (sk_buff* skb : batch) {
      tcp_v4_do_rcv(sk, skb);
      c.cond_resched();
    }
  }
  sk.sk_backlog_len = 0;
  sk.backlog_probe(0);
}

// release_sock → __release_sock (net/core/sock.c, v6.6): the owner works off the backlog in
// its own time (sk_backlog_rcv: tcp_v4_do_rcv), batch by batch as softirq keeps adding to it;
// sk_backlog.len is zeroed only at the end. Then tcp_release_cb, ownership dropped, a waiter
// for the lock woken.
void tcp::__release_sock_tcp(tcp_sock& sk) {
  cpu& c = cpu::this_cpu();
  waves::slice s(c.observer(), c.current() ? c.current()->track : c.track(), "release_sock");
  // release_sock holds slock from its last look at the backlog, through tcp_release_cb, to
  // the ownership drop, so that a softirq cannot add to the backlog after that look (the skb
  // would be stranded there); softirqs on other CPUs spin meanwhile. The model does not hold
  // slock across tcp_release_cb (a softirq on this CPU, run at irq_exit inside the reader's
  // charge, would spin on it for ever: the model's BH sections bracket only busy polling). It waits for a
  // softirq on another CPU that holds slock (bh_lock_sock: in tcp_add_backlog, which takes
  // time before the skb is on the backlog), looks at the backlog again after tcp_release_cb,
  // and drops ownership with no simulated time between that look and the drop.
  for (;;) {
    __release_sock(sk);
    tcp_release_cb(sk);
    while (sk.bh_locked) c.charge(cost::lock_sock);  // spin_lock_bh(&sk->sk_lock.slock)
    if (sk.sk_backlog.empty()) break;
  }
  sk.owned_by_user = false;
  sk.owned_probe(0);
  c.charge(cost::lock_sock);
  if (sk.sk_lock_wq.active()) __wake_up(sk.sk_lock_wq, 1);
}

// __sk_flush_backlog (net/core/sock.c, v6.6), from tcp_recvmsg_locked once it has copied
// enough and the backlog is not empty: spin_lock_bh(&sk->sk_lock.slock); __release_sock(sk);
// spin_unlock_bh. The socket stays owned throughout, so softirq keeps adding to the backlog
// (worked off batch by batch until it is empty); no lock waiter is woken, and v6.6 runs no
// tcp_release_cb here (v6.7's "net: call prot->release_cb() when processing backlog" adds it).
void tcp::__sk_flush_backlog(tcp_sock& sk) {
  cpu& c = cpu::this_cpu();
  waves::slice s(c.observer(), c.current() ? c.current()->track : c.track(), "__sk_flush_backlog");
  while (sk.bh_locked) c.charge(cost::lock_sock);  // spin_lock_bh(&sk->sk_lock.slock)
  c.charge(cost::lock_sock);
  __release_sock(sk);
}

// tcp_cleanup_rbuf → __tcp_cleanup_rbuf (v6.6): ACK now if an ACK is due and either more than
// one full segment is unACKed or the read emptied the queue after a pushed small segment; or
// when the window the read freed is at least twice the one advertised.
void tcp::tcp_cleanup_rbuf(tcp_sock& sk, int copied) {
  cpu::this_cpu().charge(cost::tcp_cleanup_rbuf);
  bool time_to_ack = false;
  if (sk.icsk_ack.pending & ICSK_ACK_SCHED) {
    if (sk.rcv_nxt - sk.rcv_wup > sk.icsk_ack.rcv_mss ||
        (copied > 0 &&
         ((sk.icsk_ack.pending & ICSK_ACK_PUSHED2) ||
          ((sk.icsk_ack.pending & ICSK_ACK_PUSHED) && !sk.icsk_ack.pingpong)) &&
         sk.sk_rmem_alloc == 0))
      time_to_ack = true;
  }
  if (copied > 0 && !time_to_ack && sk.state == TCP_ESTABLISHED) {
    const uint32_t rcv_window_now = tcp_receive_window(sk);
    if (2 * rcv_window_now <= sk.window_clamp) {
      const uint32_t new_window = __tcp_select_window(sk);
      if (new_window && new_window >= 2 * rcv_window_now) time_to_ack = true;
    }
  }
  if (time_to_ack) tcp_send_ack(sk);
}

// tcp_recvmsg → tcp_recvmsg_locked (v6.6), blocking, no MSG_PEEK/MSG_WAITALL: copy from the
// receive queue until len is done; below SO_RCVLOWAT (target) sleep in sk_wait_data, which
// releases the socket (so the backlog is worked off first) and waits on sk_sleep as a
// non-exclusive waiter (every sleeping reader wakes per sk_data_ready).
long tcp::tcp_recvmsg(tcp_sock& sk, uint8_t* buf, size_t len, uint64_t* stream_offset,
                      std::vector<std::pair<uint64_t, size_t>>* pieces) {
  cpu& c = cpu::this_cpu();
  waves::slice s(c.observer(), c.current() ? c.current()->track : c.track(), "tcp_recvmsg");
  c.charge(cost::tcp_recvmsg);
  tcp_lock_sock(sk);
  const size_t target = std::max<size_t>(1, std::min<size_t>(sk.sk_rcvlowat, len));  // sock_rcvlowat
  size_t copied = 0;
  if (stream_offset != nullptr) *stream_offset = static_cast<uint32_t>(sk.copied_seq - sk.irs - 1);
  while (len > 0) {
    sk_buff* skb = nullptr;
    uint32_t offset = 0;
    for (sk_buff* q : sk.sk_receive_queue) {  // skb_queue_walk
      offset = sk.copied_seq - TCP_SKB_CB(q).seq;
      if (offset < q->len) {
        skb = q;
        break;
      }
    }
    if (skb == nullptr) {
      if (copied >= target && sk.sk_backlog.empty()) break;
      if (copied && sk.state == TCP_CLOSE) break;
      if (!copied && sk.state == TCP_CLOSE) break;
      if (copied >= target) {  // "Do not sleep, just process backlog."
        __sk_flush_backlog(sk);
      } else {
        tcp_cleanup_rbuf(sk, static_cast<int>(copied));
        // sk_wait_data: add_wait_queue (woken_wake_function), sk_wait_event.
        sk_buff* last = sk.sk_receive_queue.empty() ? nullptr : sk.sk_receive_queue.back();
        const uint32_t last_end = last ? TCP_SKB_CB(last).end_seq : 0;
        auto arrived = [&] {
          sk_buff* t = sk.sk_receive_queue.empty() ? nullptr : sk.sk_receive_queue.back();
          return t != last || (t && TCP_SKB_CB(t).end_seq != last_end) || sk.state == TCP_CLOSE;
        };
        wait_queue_entry wait;
        init_wait(wait, c);
        add_wait_queue(sk.sk_wq, wait);
        __release_sock_tcp(sk);
        cpu& me = cpu::this_cpu();
        if (!arrived()) {
          me.current()->state = task_struct::TASK_INTERRUPTIBLE;  // wait_woken
          if (!arrived()) me.schedule();
          me.current()->state = task_struct::TASK_RUNNING;
        }
        remove_wait_queue(wait);
        tcp_lock_sock(sk);
      }
      continue;
    }
    // found_ok_skb: skb_copy_datagram_msg. The first byte's offset is taken here, not at entry:
    // while this reader slept in sk_wait_data another reader of the socket may have read.
    const uint32_t at = sk.copied_seq - sk.irs - 1;
    if (copied == 0 && stream_offset != nullptr) *stream_offset = at;
    if (pieces != nullptr) {
      if (!pieces->empty() && static_cast<uint32_t>(pieces->back().first + pieces->back().second) == at)
        pieces->back().second += std::min<size_t>(skb->len - offset, len);
      else
        pieces->emplace_back(at, std::min<size_t>(skb->len - offset, len));
    }
    const uint32_t used = static_cast<uint32_t>(std::min<size_t>(skb->len - offset, len));
    const int track = c.current() ? c.current()->track : c.track();
    if (offset == 0) tcp_trace_frames(*skb, waves::frame_stage::socket_dequeue, track);
    cpu::this_cpu().charge(cost::copy_to_user, used);
    skb_copy_bits(*skb, offset, buf + copied, used);
    sk.copied_seq += used;
    copied += used;
    len -= used;
    tcp_rcv_space_adjust(sk);
    if (used + offset < skb->len) continue;
    // tcp_eat_recv_skb: the skb is done
    sk.sk_receive_queue.erase(std::find(sk.sk_receive_queue.begin(), sk.sk_receive_queue.end(), skb));
    sk.sk_rmem_alloc -= skb->truesize;
    cpu::this_cpu().charge(cost::kfree_skb);
    tcp_consume(skb, track);
    if (auto* o = cpu::this_cpu().observer()) {
      (void)o;
      sk.queue_probe(sk.rcv_nxt - sk.copied_seq);
    }
  }
  tcp_cleanup_rbuf(sk, static_cast<int>(copied));
  __release_sock_tcp(sk);
  return static_cast<long>(copied);
}

}  // namespace nicsim::host
