#pragma once
// UDP (net/ipv4/udp.c, v6.x): udp_rcv, the socket lookup and queueing (with the socket
// backlog while a reader owns the socket), udp_recvmsg and udp_sendmsg. Its own state is its
// net_protocol and the count of datagrams a reader holds while working off the backlog; the
// socket table (udp_table) and the MIB are the namespace's (struct net).
#include <cstddef>
#include <cstdint>

#include "host/net/core/dev.h"
#include "host/net/core/skbuff.h"
#include "host/net/ipv4/icmp.h"
#include "host/net/ipv4/inet_sock.h"
#include "host/net/ipv4/ip.h"
#include "host/net/ipv4/protocol.h"
#include "host/net/netstack_params.h"

namespace nicsim::host {

struct net;

class udp {
 public:
  // dev: busy polling; ip: output; icmp: port unreachables.
  udp(struct net& net, netdev_core& dev, ip& ip, icmp& icmp, skb_allocator& skbs,
      const netstack_params& params);
  udp(const udp&) = delete;  // its net_protocol handler and its sockets point back at it
  udp& operator=(const udp&) = delete;

  // udp_protocol, for inet_init's inet_add_protocol(&udp_protocol, IPPROTO_UDP).
  const net_protocol* protocol() const { return &m_protocol; }

  // socket(2) and bind(2) on port (the socket made if the port has none yet, its sk_rcvbuf
  // net.core.rmem_default), then setsockopt(SO_RCVBUF, rcvbuf) unless rcvbuf is 0 (the
  // application does not call it).
  udp_sock& udp_bind(uint16_t port, uint64_t rcvbuf);
  // setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &val): udp_lib_setsockopt (net/ipv4/udp.c, v6.6)
  // passes it to sk_setsockopt (sk_rcvbuf = 2 * min(val, rmem_max)) and follows the new
  // sk_rcvbuf with forward_threshold = sk_rcvbuf >> 2.
  void udp_setsockopt_rcvbuf(udp_sock& sk, int val);
  // recvfrom on sk from the current task: the bytes copied into buf, or EAGAIN_
  // when dontwait (MSG_DONTWAIT / O_NONBLOCK) and nothing is queued.
  long udp_recvmsg(udp_sock& sk, uint8_t* buf, size_t len, bool dontwait = false) {
    return udp_recvmsg(sk, buf, len, dontwait, nullptr);
  }
  // recvfrom with the sender's address (msg_name) filled in.
  long udp_recvmsg(udp_sock& sk, uint8_t* buf, size_t len, bool dontwait, sockaddr_in* from);
  // sendto(fd, buf, len, 0, to) on sk from the current task (udp_sendmsg): the bytes sent,
  // or a negative errno (EAGAIN_ when dontwait and the send buffer is full, ENOBUFS_ when no
  // transmit buffer is left in host memory).
  long udp_sendmsg(udp_sock& sk, const uint8_t* buf, size_t len, const sockaddr_in& to,
                   bool dontwait = false);
  // Datagrams copied to a reader that has not left recvmsg yet (for the frame ledger).
  unsigned returning() const { return m_returning; }

 private:
  void udp_rcv(sk_buff* skb);
  void __udp_enqueue_schedule_skb(udp_sock& sk, sk_buff* skb);
  // __skb_recv_udp (v6.6): the next datagram of the reader queue, refilled from
  // sk_receive_queue when empty; its memory goes to udp_rmem_release. nullptr: both empty.
  sk_buff* __skb_try_recv_udp(udp_sock& sk);
  // udp_rmem_release (v6.6) with partial = 1: batch the release of size bytes.
  void udp_rmem_release(udp_sock& sk, int size);
  int udp_send_skb(sk_buff* skb, udp_sock& sk, const sockaddr_in& to);

  struct net& m_net;
  netdev_core& m_dev;
  ip& m_ip;
  icmp& m_icmp;
  skb_allocator& m_skbs;
  const netstack_params& m_params;
  net_protocol m_protocol;
  unsigned m_returning = 0;  // datagrams copied out while their reader still holds the socket
};

}  // namespace nicsim::host
