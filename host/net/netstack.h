#pragma once
// The network stack as one host has it: a thin owner of the parts, each a type of its own
// along the kernel's boundaries, and the wiring inet_init does (net/ipv4/af_inet.c).
//   skb_allocator  host/net/core/skbuff.h   net/core/skbuff.c   alloc/free, the drop ledger
//   netdev_core    host/net/core/dev.h      net/core/dev.c, net/sched/sch_generic.c
//                                           NAPI, softnet, backlog, busy poll, ptype_base,
//                                           dev_queue_xmit, qdisc run, NET_TX
//   sock           host/net/core/sock.h     net/core/sock.c     lock_sock, release_sock, ...
//   ip             host/net/ipv4/ip.h       net/ipv4/ip_input.c, ip_output.c, protocol.c
//   icmp           host/net/ipv4/icmp.h     net/ipv4/icmp.c
//   udp            host/net/ipv4/udp.h      net/ipv4/udp.c
//   tcp            host/net/ipv4/tcp.h      net/ipv4/tcp*.c, inet_connection_sock.c
//   struct net     host/net/net_namespace.h the per-namespace state: MIBs, udp_table,
//                                           inet_peer, the ICMP rate limit's bucket
// Each part gets what it needs at construction (its struct net, the CPUs, the skb
// allocator, the parts below it); none points back up. A new protocol is a new type that
// takes those, and one inet_add_protocol line in inet_init (af_inet.cpp).
#include <cstdint>
#include <vector>

#include "host/kernel/cpu.h"
#include "host/net/core/dev.h"
#include "host/net/core/netdevice.h"
#include "host/net/core/skbuff.h"
#include "host/net/core/sock.h"
#include "host/net/ipv4/icmp.h"
#include "host/net/ipv4/inet_sock.h"
#include "host/net/ipv4/ip.h"
#include "host/net/ipv4/protocol.h"
#include "host/net/ipv4/tcp.h"
#include "host/net/ipv4/udp.h"
#include "host/net/net_namespace.h"
#include "host/net/netstack_params.h"

namespace nicsim::host {

class netstack {
 public:
  // cpus: the host's CPUs (one softnet_data and ICMP socket each). skbs and buffers: the
  // skb heads and the receive pool the driver fills; tx_buffers: the transmit data pool
  // (nullptr: the host cannot transmit).
  netstack(const std::vector<cpu*>& cpus, skb_cache& skbs, rx_buffer_pool& buffers,
           rx_buffer_pool* tx_buffers, const netstack_params& params);
  netstack(const netstack&) = delete;  // the parts hold references to each other
  netstack& operator=(const netstack&) = delete;

  skb_allocator& skb() { return m_skb; }
  const skb_allocator& skb() const { return m_skb; }
  netdev_core& core() { return m_core; }
  const netdev_core& core() const { return m_core; }
  host::ip& ip() { return m_ip; }
  host::icmp& icmp() { return m_icmp; }
  host::udp& udp() { return m_udp; }
  const host::udp& udp() const { return m_udp; }
  host::tcp& tcp() { return m_tcp; }
  const host::tcp& tcp() const { return m_tcp; }
  // init_net: the namespace's state (MIBs, socket table, inet_peer, ICMP rate limit).
  const struct net& init_net() const { return m_net; }
  const netstack_params& params() const { return m_params; }

 private:
  // inet_init (net/ipv4/af_inet.c): the protocols register with IPv4, IPv4 with the device.
  void inet_init();

  netstack_params m_params;  // first: every part holds a reference to it
  struct net m_net;          // init_net: the one namespace
  skb_allocator m_skb;
  netdev_core m_core;
  host::ip m_ip;
  host::icmp m_icmp;
  host::udp m_udp;
  host::tcp m_tcp;
};

}  // namespace nicsim::host
