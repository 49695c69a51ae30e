#pragma once
// A UDP socket: the parts of struct sock (include/net/sock.h, v6.x) the receive path
// uses — the receive queue and its memory accounting, the wait queue, the socket lock
// with its backlog — and the port it is bound to (struct udp_sock, include/linux/udp.h).
#include <cstdint>
#include <deque>
#include <systemc>

#include "host/kernel/sched/wait.h"
#include "host/net/core/skbuff.h"
#include "waves/observer.h"

namespace nicsim::host {

struct napi_struct;

struct udp_sock {
  uint16_t port = 0;
  std::deque<sk_buff*> sk_receive_queue;
  uint64_t sk_rmem_alloc = 0;
  uint64_t sk_rcvbuf = 0;
  uint64_t sk_drops = 0;
  wait_queue_head sk_wq;
  // The socket lock's owner flag (lock_sock) and the backlog softirq uses while it is owned.
  bool owned_by_user = false;
  wait_queue_head sk_lock_wq;
  std::deque<sk_buff*> sk_backlog;
  uint64_t sk_backlog_len = 0;
  uint64_t sk_backlogged = 0;                         // skbs that went through the backlog
  sc_core::sc_time busy_poll{sc_core::SC_ZERO_TIME};  // SO_BUSY_POLL
  napi_struct* napi = nullptr;                        // sk_napi_id: where its packets come from
  waves::probe queue_probe;                           // receive queue length
  // Transmit: the send buffer (SO_SNDBUF) and the bytes of skbs not yet freed by the driver
  // (sk_wmem_alloc). Writers wait on sk_wmem_wq: the kernel's sk_sleep queue, which readers
  // share, woken with EPOLLOUT that receiver_wake_function ignores; kept apart here.
  uint64_t sk_sndbuf = 212992;
  uint64_t sk_wmem_alloc = 0;
  wait_queue_head sk_wmem_wq;
  uint32_t saddr = 0;  // inet_saddr: the address sendto sends from
};

}  // namespace nicsim::host
