#pragma once
// struct sock (include/net/sock.h, v6.x): the parts every socket type shares — the receive
// queue and its memory accounting, the wait queue, the socket lock with its backlog and the
// protocol's sk_backlog_rcv, busy polling, the send buffer — and the functions of
// net/core/sock.c that work on any socket: lock_sock, release_sock, sock_def_readable,
// sock_alloc_send_skb. The protocols' socket types (inet_sock, udp_sock) extend it.
#include <cstdint>
#include <deque>
#include <functional>
#include <systemc>

#include "host/kernel/sched/wait.h"
#include "host/net/core/skbuff.h"
#include "waves/observer.h"

namespace nicsim::host {

struct napi_struct;
class skb_allocator;

// The errnos the socket calls return (include/uapi/asm-generic/errno*.h), negated.
inline constexpr long EAGAIN_ = -11;
inline constexpr long ENOBUFS_ = -105;

// struct sockaddr_in, host byte order.
struct sockaddr_in {
  uint32_t addr = 0;
  uint16_t port = 0;
};

// SOCK_MIN_RCVBUF (include/net/sock.h, v6.6): 2 * TCP_SKB_MIN_TRUESIZE, with
// TCP_SKB_MIN_TRUESIZE = 2048 + SKB_DATA_ALIGN(sizeof(struct sk_buff)) = 2304 on x86-64.
inline constexpr uint64_t SOCK_MIN_RCVBUF = 2 * (2048 + 256);

struct sock {
  std::deque<sk_buff*> sk_receive_queue;
  uint64_t sk_rmem_alloc = 0;
  uint64_t sk_rcvbuf = 0;  // what getsockopt(SO_RCVBUF) returns
  // Not a kernel field: the highest sk_rmem_alloc the socket reached (the run's JSON).
  uint64_t sk_rmem_alloc_max = 0;
  uint64_t sk_drops = 0;
  wait_queue_head sk_wq;
  // The socket lock's owner flag (lock_sock) and the backlog softirq uses while it is owned,
  // worked off by release_sock through the protocol's sk_backlog_rcv.
  bool owned_by_user = false;
  wait_queue_head sk_lock_wq;
  std::deque<sk_buff*> sk_backlog;
  uint64_t sk_backlog_len = 0;
  uint64_t sk_backlogged = 0;  // skbs that went through the backlog
  std::function<void(sock&, sk_buff*)> sk_backlog_rcv;
  sc_core::sc_time busy_poll{sc_core::SC_ZERO_TIME};  // SO_BUSY_POLL
  napi_struct* napi = nullptr;                        // sk_napi_id: where its packets come from
  waves::probe queue_probe;                           // receive queue length
  waves::probe backlog_probe;                         // sk_backlog.len (bytes)
  waves::probe owned_probe;                           // sock_owned_by_user
  // Transmit: the send buffer (SO_SNDBUF) and the bytes of skbs not yet freed by the driver
  // (sk_wmem_alloc). Writers wait on sk_wmem_wq: the kernel's sk_sleep queue, which readers
  // share, woken with EPOLLOUT that receiver_wake_function ignores; kept apart here.
  uint64_t sk_sndbuf = 212992;
  uint64_t sk_wmem_alloc = 0;
  wait_queue_head sk_wmem_wq;
};

// sock_init_data (net/core/sock.c, v6.6): a new socket's sk_rcvbuf is net.core.rmem_default.
void sock_init_rcvbuf(sock& sk, uint64_t rmem_default);
// setsockopt(SOL_SOCKET, SO_RCVBUF, val): sk_setsockopt (net/core/sock.c, v6.6) caps val at
// net.core.rmem_max (min_t(u32, val, sysctl_rmem_max): a negative int is a huge u32), then
// __sock_set_rcvbuf doubles it (to account for struct sk_buff and other overheads) with
// SOCK_MIN_RCVBUF as the floor. getsockopt returns the doubled value.
void sock_setsockopt_rcvbuf(sock& sk, int val, uint64_t rmem_max);
// The sk_rcvbuf that setsockopt(SO_RCVBUF, val) leaves under rmem_max.
uint64_t sock_rcvbuf_from(int val, uint64_t rmem_max);
// sock_def_readable: wake a reader sleeping on the socket.
void sock_def_readable(sock& sk);
// lock_sock: take the socket's owner lock, sleeping while another task holds it.
void lock_sock(sock& sk);
// release_sock: work off the backlog (sk_backlog_rcv), drop ownership, wake a waiter.
void release_sock(sock& sk);
// sock_alloc_send_skb: an skb from the transmit pool charged to sk's sk_wmem_alloc; waits for
// room unless dontwait. *err: EAGAIN_ or ENOBUFS_ when it returns nullptr.
sk_buff* sock_alloc_send_skb(sock& sk, skb_allocator& skbs, unsigned size, bool dontwait, long* err);

}  // namespace nicsim::host
