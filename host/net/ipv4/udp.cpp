// UDP (net/ipv4/udp.c, v6.x): udp_rcv, the socket lookup, queueing and udp_recvmsg.
#include "host/net/ipv4/udp.h"

#include <algorithm>
#include <cstring>

#include "host/net/net_namespace.h"
#include "proto/checksum.h"
#include "proto/frame.h"
#include "tlm/local_time.h"

namespace nicsim::host {

using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

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

// udp_protocol (net/ipv4/af_inet.c: inet_init's inet_add_protocol(&udp_protocol, IPPROTO_UDP)
// registers it; see af_inet.cpp).
udp::udp(struct net& net, netdev_core& dev, ip& ip, icmp& icmp, skb_allocator& skbs,
         const netstack_params& params)
    : m_net(net), m_dev(dev), m_ip(ip), m_icmp(icmp), m_skbs(skbs), m_params(params) {
  m_protocol.handler = [this](sk_buff* skb) { udp_rcv(skb); };
}

// udp_rcv → __udp4_lib_rcv (v6.x).
void udp::udp_rcv(sk_buff* skb) {
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), "udp_rcv");
  cpu::this_cpu().charge(cost::udp_rcv);
  if (skb->len < proto::UDP_HLEN) {
    ++m_net.mib.udp_statistics.InErrors;
    m_skbs.kfree_skb(skb, skb_drop_reason::PKT_TOO_SMALL);
    return;
  }
  const uint8_t* uh = skb->data_ptr();
  const unsigned ulen = proto::get_be16(uh + 4);
  if (ulen > skb->len || ulen < proto::UDP_HLEN) {
    ++m_net.mib.udp_statistics.InErrors;
    m_skbs.kfree_skb(skb, skb_drop_reason::PKT_TOO_SMALL);
    return;
  }
  skb->len = ulen;
  auto it = m_net.ipv4.udp_table.find(proto::get_be16(uh + 2));  // __udp4_lib_lookup_skb
  if (it != m_net.ipv4.udp_table.end()) {
    udp_sock& sk = *it->second;
    sk.napi = skb->napi;  // sk_mark_napi_id
    if (m_params.udp_backlog && sk.owned_by_user) {
      // sk_add_backlog: the owner processes it at release_sock.
      if (sk.sk_backlog_len + sk.sk_rmem_alloc > sk.sk_rcvbuf) {
        ++sk.sk_drops;
        ++m_net.mib.udp_statistics.InErrors;
        m_skbs.kfree_skb(skb, skb_drop_reason::SOCKET_BACKLOG);
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
      ++m_net.mib.udp_statistics.InCsumErrors;
      ++m_net.mib.udp_statistics.InErrors;
      m_skbs.kfree_skb(skb, skb_drop_reason::UDP_CSUM);
      return;
    }
  }
  ++m_net.mib.udp_statistics.NoPorts;
  m_icmp.icmp_send(skb, 3, 3);  // ICMP_DEST_UNREACH, ICMP_PORT_UNREACH
  m_skbs.kfree_skb(skb, skb_drop_reason::NO_SOCKET);
}

// __udp_enqueue_schedule_skb (net/ipv4/udp.c, v6.6; unchanged in 6.1 and 6.12): the check
// comes before the charge ("always allow at least a packet"), so a socket may overshoot
// sk_rcvbuf by one skb. Over half of sk_rcvbuf the kernel calls skb_condense, which resets
// truesize to SKB_TRUESIZE(skb_end_offset) after pulling frags into the head: the model's
// skbs are linear and already charged that (build_skb / napi_alloc_skb), so it changes
// nothing here. No global udp_mem pressure (udp_rmem_schedule always succeeds).
void udp::__udp_enqueue_schedule_skb(udp_sock& sk, sk_buff* skb) {
  cpu::this_cpu().charge(cost::udp_enqueue);
  if (sk.sk_rmem_alloc > sk.sk_rcvbuf) {
    ++sk.sk_drops;
    ++m_net.mib.udp_statistics.RcvbufErrors;  // __udp_queue_rcv_skb: -ENOMEM is charged twice
    ++m_net.mib.udp_statistics.InErrors;
    m_skbs.kfree_skb(skb, skb_drop_reason::SOCKET_RCVBUFF);
    return;
  }
  sk.sk_rmem_alloc += skb->truesize;
  sk.sk_rmem_alloc_max = std::max(sk.sk_rmem_alloc_max, sk.sk_rmem_alloc);
  sk.sk_receive_queue.push_back(skb);
  if (auto* o = cpu::this_cpu().observer()) {
    const int64_t seq = skb_frame_seq(*skb);
    if (seq >= 0)
      o->frame(static_cast<uint64_t>(seq), waves::frame_stage::socket_enqueue, cpu::this_cpu().track());
    sk.queue_probe(sk.queued());
  }
  sock_def_readable(sk);
}

udp_sock& udp::udp_bind(uint16_t port, uint64_t rcvbuf) {
  auto& slot = m_net.ipv4.udp_table[port];
  if (!slot) {
    slot = std::make_unique<udp_sock>();
    slot->port = port;
    sock_init_rcvbuf(*slot, m_params.rmem_default);                    // sock_init_data
    slot->forward_threshold = static_cast<int>(slot->sk_rcvbuf >> 2);  // udp_lib_init_sock (v6.6)
    // sk_backlog_rcv = udp_prot.backlog_rcv (__udp_queue_rcv_skb): release_sock's work.
    slot->sk_backlog_rcv = [this](sock& sk, sk_buff* skb) {
      __udp_enqueue_schedule_skb(static_cast<udp_sock&>(sk), skb);
    };
    slot->queue_probe.attach(cpu::this_cpu().observer(),
                             "host.sock.udp_" + std::to_string(port) + ".rx_queue", 16);
    slot->queue_probe(0);
    if (rcvbuf != 0) udp_setsockopt_rcvbuf(*slot, static_cast<int>(std::min<uint64_t>(rcvbuf, INT32_MAX)));
  }
  return *slot;
}

// udp_lib_setsockopt (net/ipv4/udp.c, v6.6), level SOL_SOCKET: sk_setsockopt, then
// WRITE_ONCE(up->forward_threshold, sk->sk_rcvbuf >> 2). (Kernels before "udp: track the
// forward memory release threshold in an hot cacheline" read sk_rcvbuf >> 2 in
// udp_rmem_release itself: the same rule.)
void udp::udp_setsockopt_rcvbuf(udp_sock& sk, int val) {
  sock_setsockopt_rcvbuf(sk, val, m_params.rmem_max);
  sk.forward_threshold = static_cast<int>(sk.sk_rcvbuf >> 2);
}

// udp_rmem_release (net/ipv4/udp.c, v6.6) as udp_skb_destructor calls it on dequeue
// (partial = 1): the released bytes pile up in forward_deficit and go back to sk_rmem_alloc
// only once they reach forward_threshold (sk_rcvbuf / 4) or the reader queue is empty; the
// release splices whatever softirq queued since into the reader queue. (The page-granular
// sk_forward_alloc / udp_memory_allocated bookkeeping beside it is not modelled: no global
// memory pressure.)
void udp::udp_rmem_release(udp_sock& sk, int size) {
  sk.forward_deficit += size;
  size = sk.forward_deficit;
  if (size < sk.forward_threshold && !sk.reader_queue.empty()) return;
  sk.forward_deficit = 0;
  cpu::this_cpu().charge(cost::udp_rmem_release);
  sk.sk_rmem_alloc -= static_cast<uint64_t>(size);
  // skb_queue_splice_tail_init(sk_queue, &up->reader_queue)
  sk.reader_queue.insert(sk.reader_queue.end(), sk.sk_receive_queue.begin(), sk.sk_receive_queue.end());
  sk.sk_receive_queue.clear();
}

// __skb_recv_udp (net/ipv4/udp.c, v6.6) without MSG_PEEK, one pass: take the reader queue's
// head (__skb_try_recv_from_queue unlinks it, then udp_skb_destructor releases its
// memory); when the reader queue is empty, splice all of sk_receive_queue into it under
// both locks and take the head of that (udp_skb_dtor_locked).
sk_buff* udp::__skb_try_recv_udp(udp_sock& sk) {
  if (sk.reader_queue.empty()) {
    if (sk.sk_receive_queue.empty()) return nullptr;
    sk.reader_queue.swap(sk.sk_receive_queue);  // skb_queue_splice_tail_init into an empty queue
  }
  sk_buff* skb = sk.reader_queue.front();
  sk.reader_queue.pop_front();
  udp_rmem_release(sk, static_cast<int>(skb->truesize));  // udp_skb_truesize
  return skb;
}

long udp::udp_recvmsg(udp_sock& sk, uint8_t* buf, size_t len, bool dontwait, sockaddr_in* from) {
  cpu::this_cpu().charge(cost::recvmsg);
  for (;;) {  // try_again
    // __skb_recv_udp: the reader queue, then sk_receive_queue; busy_check: sk_can_busy_loop +
    // sk_busy_loop, only when the socket's last skb came from a NAPI instance (sk_napi_id >=
    // MIN_NAPI_ID; netif_rx'd skbs leave it without one); then sleep on the socket's wait
    // queue (__skb_wait_for_more_packets) until softirq queues one.
    sk_buff* skb = __skb_try_recv_udp(sk);
    if (skb == nullptr && sk.busy_poll > SC_ZERO_TIME && sk.napi != nullptr) {
      m_dev.napi_busy_loop(sk, *sk.napi, tlm::local_now() + sk.busy_poll);
      skb = __skb_try_recv_udp(sk);
    }
    if (skb == nullptr && dontwait) return EAGAIN_;
    while (skb == nullptr) {
      while (sk.sk_receive_queue.empty()) {
        wait_queue_entry wait;  // DEFINE_WAIT_FUNC(wait, receiver_wake_function)
        init_wait(wait, cpu::this_cpu());
        prepare_to_wait_exclusive(sk.sk_wq, wait, cpu::this_cpu());
        if (sk.sk_receive_queue.empty()) cpu::this_cpu().schedule();
        finish_wait(wait, cpu::this_cpu());  // maybe another CPU than the one it slept on
      }
      skb = __skb_try_recv_udp(sk);
    }
    if (auto* o = cpu::this_cpu().observer()) {
      const int64_t seq = skb_frame_seq(*skb);
      if (seq >= 0)
        o->frame(static_cast<uint64_t>(seq), waves::frame_stage::socket_dequeue,
                 cpu::this_cpu().current()->track);
      sk.queue_probe(sk.queued());
    }
    const size_t ulen = skb->len - proto::UDP_HLEN;
    const size_t copied = std::min(len, ulen);
    const uint8_t* payload = skb->data_ptr() + proto::UDP_HLEN;
    if (skb->ip_summed != CHECKSUM_UNNECESSARY) {
      cpu::this_cpu().charge(cost::csum, skb->len);  // skb_copy_and_csum_datagram_msg
      if (!udp_checksum_ok(*skb)) {
        ++m_net.mib.udp_statistics.InCsumErrors;
        ++m_net.mib.udp_statistics.InErrors;  // csum_copy_err: its memory went at dequeue
        m_skbs.kfree_skb(skb, skb_drop_reason::UDP_CSUM);
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
    if (from != nullptr) {  // msg_name: the sender's address and port
      from->addr = proto::get_be32(skb->head + skb->network_header + 12);
      from->port = proto::get_be16(skb->data_ptr());
    }
    ++m_net.mib.udp_statistics.InDatagrams;
    m_skbs.__consume_stateless_skb(skb);  // skb_consume_udp (its memory went at dequeue)
    if (m_params.udp_backlog) {
      ++m_returning;  // the datagram is the reader's while it works off the backlog
      release_sock(sk);
      --m_returning;
    }
    return static_cast<long>(copied);
  }
}

// ------------------------------------------------------------------ transmit

namespace {
// The flow hash skb_get_hash would give (see netdev_pick_tx): a mix of the flow's keys.
uint32_t flow_hash(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport, uint8_t protocol) {
  uint64_t h = (uint64_t{saddr} << 32 | daddr) * 0x9E3779B97F4A7C15ull;
  h ^= (uint64_t{sport} << 24 | uint64_t{dport} << 8 | protocol) * 0xC2B2AE3D27D4EB4Full;
  return static_cast<uint32_t>(h >> 32);
}
constexpr long EMSGSIZE_ = -90;
}  // namespace

// udp_sendmsg (net/ipv4/udp.c, v6.6) on the uncorked path: ip_make_skb with the payload
// copied from user memory (ip_generic_getfrag), then udp_send_skb. The route is the
// connected subnet's and cached; no fragmentation (a datagram beyond the MTU: EMSGSIZE).
long udp::udp_sendmsg(udp_sock& sk, const uint8_t* buf, size_t len, const sockaddr_in& to, bool dontwait) {
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), "udp_sendmsg");
  cpu::this_cpu().charge(cost::udp_sendmsg);
  constexpr size_t MTU = 1500;
  if (len > MTU - proto::IPV4_HLEN - proto::UDP_HLEN) return EMSGSIZE_;
  long err = 0;
  sk_buff* skb = sock_alloc_send_skb(sk, m_skbs, static_cast<unsigned>(len), dontwait, &err);
  if (skb == nullptr) {
    if (err == ENOBUFS_) ++m_net.mib.udp_statistics.SndbufErrors;
    return err;
  }
  cpu::this_cpu().charge(cost::copy_from_user, len);
  std::memcpy(skb->data_ptr(), buf, len);
  skb->len = static_cast<unsigned>(len);
  const int rc = udp_send_skb(skb, sk, to);
  return rc != 0 ? rc : static_cast<long>(len);
}

// udp_send_skb (v6.6): the UDP header and its checksum in software (the model's driver
// offers no transmit checksum offload), then ip_send_skb. A qdisc drop (-ENOBUFS) is
// SndbufErrors and not an error for the caller (no IP_RECVERR).
int udp::udp_send_skb(sk_buff* skb, udp_sock& sk, const sockaddr_in& to) {
  cpu::this_cpu().charge(cost::udp_send_skb);
  const uint32_t saddr = sk.saddr != 0 ? sk.saddr : m_params.local_ip;
  uint8_t* uh = skb->push(proto::UDP_HLEN);
  skb->transport_header = skb->data;
  proto::put_be16(uh, sk.port);
  proto::put_be16(uh + 2, to.port);
  proto::put_be16(uh + 4, static_cast<uint16_t>(skb->len));
  proto::put_be16(uh + 6, 0);
  cpu::this_cpu().charge(cost::csum, skb->len);
  uint16_t csum =
      proto::csum_fold(proto::csum_tcpudp_nofold(saddr, to.addr, static_cast<uint16_t>(skb->len),
                                                 proto::IPPROTO_UDP, proto::csum_partial(uh, skb->len)));
  if (csum == 0) csum = 0xFFFF;  // CSUM_MANGLED_0
  proto::put_be16(uh + 6, csum);
  skb->hash = flow_hash(saddr, to.addr, sk.port, to.port, proto::IPPROTO_UDP);
  m_ip.__ip_make_skb(skb, ip_cork{saddr, to.addr, proto::IPPROTO_UDP, 0, 64});
  int err = m_ip.ip_send_skb(skb);
  if (err != 0) {
    if (err == ENOBUFS_) {
      ++m_net.mib.udp_statistics.SndbufErrors;
      err = 0;
    }
  } else {
    ++m_net.mib.udp_statistics.OutDatagrams;
  }
  return err;
}
}  // namespace nicsim::host
