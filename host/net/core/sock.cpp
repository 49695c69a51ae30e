// Socket locking and wake-ups (net/core/sock.c, v6.x): lock_sock, release_sock,
// sock_def_readable.
#include "host/net/netstack.h"

namespace nicsim::host {

void netstack::sock_def_readable(udp_sock& sk) {
  cpu::this_cpu().charge(cost::sock_def_readable);
  if (sk.sk_wq.active()) __wake_up(sk.sk_wq, 1);  // wake_up_interruptible_sync_poll
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
}  // namespace nicsim::host
