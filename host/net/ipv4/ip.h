#pragma once
// IPv4 (net/ipv4/ip_input.c, ip_output.c, protocol.c, v6.x): ip_rcv and ip_local_deliver,
// which dispatches through inet_protos[] to the protocols that registered with
// inet_add_protocol, and the output path from __ip_make_skb down to dev_queue_xmit. Its state
// is the inet_protos[] table; the MIBs and ip_id are the namespace's (struct net).
#include <cstdint>

#include "host/net/core/dev.h"
#include "host/net/core/gro.h"
#include "host/net/core/skbuff.h"
#include "host/net/ipv4/protocol.h"
#include "host/net/netstack_params.h"

namespace nicsim::host {

struct net;

// What ip_make_skb takes from the socket and the route (struct inet_cork).
struct ip_cork {
  uint32_t saddr = 0, daddr = 0;
  uint8_t protocol = 0;
  uint8_t tos = 0;
  uint8_t ttl = 64;  // net.ipv4.ip_default_ttl
};

class ip {
 public:
  // dev: where frames come from (dev_add_pack) and go to (dev_queue_xmit).
  ip(struct net& net, netdev_core& dev, skb_allocator& skbs, const netstack_params& params);
  ip(const ip&) = delete;  // its packet_type handler points back at it
  ip& operator=(const ip&) = delete;

  // ip_init / inet_init's dev_add_pack(&ip_packet_type): IPv4 frames go to ip_rcv.
  void ip_init();
  // inet_add_protocol (net/ipv4/protocol.c): false when the slot is taken.
  bool inet_add_protocol(const net_protocol* prot, uint8_t protocol) {
    return host::inet_add_protocol(m_inet_protos, prot, protocol);
  }

  // inet_del_protocol (net/ipv4/protocol.c): false when prot does not hold the slot.
  bool inet_del_protocol(const net_protocol* prot, uint8_t protocol) {
    if (m_inet_protos[protocol] != prot) return false;
    m_inet_protos[protocol] = nullptr;
    return true;
  }
  // inet_add_offload (net/ipv4/protocol.c): a protocol's GRO callbacks; false when taken.
  bool inet_add_offload(const net_offload* prot, uint8_t protocol) {
    if (m_inet_offloads[protocol] != nullptr) return false;
    m_inet_offloads[protocol] = prot;
    return true;
  }
  // ip_packet_offload's callbacks (net/ipv4/af_inet.c, v6.6), public for the tests.
  sk_buff* inet_gro_receive(gro_list& head, sk_buff* skb);
  int inet_gro_complete(sk_buff* skb, unsigned nhoff);

  // ---- output, for the protocols
  void __ip_make_skb(sk_buff* skb, const ip_cork& cork);
  int ip_send_skb(sk_buff* skb);

 private:
  void ip_rcv(sk_buff* skb);
  void ip_local_deliver(sk_buff* skb, uint8_t protocol);
  int ip_output(sk_buff* skb);
  int ip_finish_output2(sk_buff* skb, uint32_t nexthop);
  int neigh_output(sk_buff* skb, const netstack_params::neighbour& n);

  struct net& m_net;
  netdev_core& m_dev;
  skb_allocator& m_skbs;
  const netstack_params& m_params;
  inet_protos_table m_inet_protos{};                                  // inet_protos[]
  std::array<const net_offload*, MAX_INET_PROTOS> m_inet_offloads{};  // inet_offloads[]
};

}  // namespace nicsim::host
