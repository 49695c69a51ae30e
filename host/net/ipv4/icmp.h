#pragma once
// ICMP (net/ipv4/icmp.c, v6.x): icmp_rcv, and icmp_send with its global and per-destination
// rate limits. Its own state is the per-CPU ICMP sockets (icmp_sk) and its net_protocol; the
// rate limits' tokens (icmp_global, inet_peer) and the MIB are the namespace's (struct net).
#include <cstdint>
#include <memory>
#include <vector>

#include "host/net/core/skbuff.h"
#include "host/net/ipv4/inet_sock.h"
#include "host/net/ipv4/ip.h"
#include "host/net/ipv4/protocol.h"
#include "host/net/netstack_params.h"

namespace nicsim::host {

struct net;

class icmp {
 public:
  // icmp_init / icmp_sk_init: one ICMP socket for each of cpus CPUs; the global bucket
  // starts full. ip: where its messages go out.
  icmp(size_t cpus, struct net& net, ip& ip, skb_allocator& skbs, const netstack_params& params);
  icmp(const icmp&) = delete;  // its net_protocol handler points back at it
  icmp& operator=(const icmp&) = delete;

  // icmp_protocol, for inet_init's inet_add_protocol(&icmp_protocol, IPPROTO_ICMP).
  const net_protocol* protocol() const { return &m_protocol; }
  // icmp_send (net/ipv4/icmp.c, v6.6: __icmp_send) for the skb being received.
  void icmp_send(const sk_buff* skb_in, uint8_t type, uint8_t code);

 private:
  void icmp_rcv(sk_buff* skb);
  bool icmp_global_allow(bool consume = true);
  void icmp_global_consume();
  bool icmpv4_xrlim_allow(uint32_t daddr);

  struct net& m_net;
  ip& m_ip;
  skb_allocator& m_skbs;
  const netstack_params& m_params;
  net_protocol m_protocol;
  std::vector<std::unique_ptr<inet_sock>> m_icmp_sk;  // icmp_sk: one per CPU
};

}  // namespace nicsim::host
