// Socket locking, wake-ups and send-buffer allocation (net/core/sock.c, v6.x): lock_sock,
// release_sock, sock_def_readable, sock_alloc_send_skb.
#include "host/net/core/sock.h"

#include <algorithm>
#include <cstdint>

#include "host/kernel/cpu.h"

namespace nicsim::host {

namespace {
constexpr unsigned TX_HEADROOM = 128;  // NET_SKB_PAD + LL_RESERVED_SPACE + IP + UDP, rounded
}  // namespace

void sock_init_rcvbuf(sock& sk, uint64_t rmem_default) { sk.sk_rcvbuf = rmem_default; }

// sk_setsockopt's SO_RCVBUF case and __sock_set_rcvbuf (net/core/sock.c, v6.6; the same in
// 6.1 and 6.12): val = min_t(u32, val, rmem_max); val = min_t(int, val, INT_MAX / 2);
// sk_rcvbuf = max_t(int, val * 2, SOCK_MIN_RCVBUF). (sk_userlocks' SOCK_RCVBUF_LOCK only
// matters to TCP's autotuning.)
uint64_t sock_rcvbuf_from(int val, uint64_t rmem_max) {
  uint64_t v = std::min<uint64_t>(static_cast<uint32_t>(val), rmem_max);
  v = std::min<uint64_t>(v, INT32_MAX / 2);
  return std::max<uint64_t>(v * 2, SOCK_MIN_RCVBUF);
}

void sock_setsockopt_rcvbuf(sock& sk, int val, uint64_t rmem_max) {
  sk.sk_rcvbuf = sock_rcvbuf_from(val, rmem_max);
}

void sock_def_readable(sock& sk) {
  cpu::this_cpu().charge(cost::sock_def_readable);
  if (sk.sk_wq.active()) __wake_up(sk.sk_wq, 1);  // wake_up_interruptible_sync_poll
}

void lock_sock(sock& sk) {
  cpu::this_cpu().charge(cost::lock_sock);
  while (sk.owned_by_user) {  // __lock_sock: sleep until the owner releases it
    wait_queue_entry wait;
    init_wait(wait, cpu::this_cpu());
    prepare_to_wait_exclusive(sk.sk_lock_wq, wait, cpu::this_cpu());
    if (sk.owned_by_user) cpu::this_cpu().schedule();
    finish_wait(wait, cpu::this_cpu());
  }
  sk.owned_by_user = true;
  sk.owned_probe(1);
}

void release_sock(sock& sk) {
  // __release_sock: the owner does the softirq's deferred work, in its own time.
  while (!sk.sk_backlog.empty()) {
    sk_buff* skb = sk.sk_backlog.front();
    sk.sk_backlog.pop_front();
    sk.sk_backlog_len -= skb->truesize;
    sk.sk_backlog_rcv(sk, skb);  // sk_backlog_rcv: UDP's __udp_queue_rcv_skb
  }
  sk.backlog_probe(sk.sk_backlog_len);
  sk.owned_by_user = false;
  sk.owned_probe(0);
  cpu::this_cpu().charge(cost::lock_sock);
  if (sk.sk_lock_wq.active()) __wake_up(sk.sk_lock_wq, 1);  // wake_up
}

// sock_alloc_send_skb → sock_alloc_send_pskb (net/core/sock.c, v6.6): wait while the
// socket's unfreed transmit skbs fill its send buffer (sock_wait_for_wmem), then allocate and
// charge the skb to it (skb_set_owner_w).
sk_buff* sock_alloc_send_skb(sock& sk, skb_allocator& skbs, unsigned /*size*/, bool dontwait, long* err) {
  while (sk.sk_wmem_alloc >= sk.sk_sndbuf) {
    if (dontwait) {
      *err = EAGAIN_;
      return nullptr;
    }
    wait_queue_entry wait;
    init_wait(wait, cpu::this_cpu());
    prepare_to_wait(sk.sk_wmem_wq, wait, cpu::this_cpu());
    if (sk.sk_wmem_alloc >= sk.sk_sndbuf) cpu::this_cpu().schedule();
    finish_wait(wait, cpu::this_cpu());
  }
  cpu::this_cpu().charge(cost::alloc_tx_skb);
  sk_buff* skb = skbs.alloc_skb_tx(TX_HEADROOM);
  if (skb == nullptr) {
    *err = ENOBUFS_;
    return nullptr;
  }
  skb->sk = &sk;
  sk.sk_wmem_alloc += skb->truesize;
  return skb;
}

}  // namespace nicsim::host
