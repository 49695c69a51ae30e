// IPv4 output (net/ipv4/ip_output.c, v6.6): __ip_make_skb's header, ip_send_skb →
// ip_local_out → ip_output → ip_finish_output2 → neigh_output, down to dev_queue_xmit.
// Every destination is on the link (10.0.0.0/24 on eth0, no gateway), so the next hop is
// the destination itself; the neighbour table holds static entries only (no ARP): a
// destination without one is dropped (SKB_DROP_REASON_NEIGH_CREATEFAIL).
#include "host/net/core/sock.h"
#include "host/net/ipv4/ip.h"
#include "host/net/net_namespace.h"
#include "proto/checksum.h"
#include "proto/frame.h"

namespace nicsim::host {

namespace {
constexpr uint16_t IP_DF = 0x4000;
constexpr uint8_t ICMP_DEST_UNREACH = 3;
}  // namespace

// __ip_make_skb (v6.6): the IPv4 header in front of the transport header, ip_select_ident,
// ip_send_check; an ICMP message is counted here (icmp_out_count).
void ip::__ip_make_skb(sk_buff* skb, const ip_cork& cork) {
  cpu::this_cpu().charge(cost::ip_make_skb);
  uint8_t* iph = skb->push(proto::IPV4_HLEN);
  skb->network_header = skb->data;
  iph[0] = 0x45;
  iph[1] = cork.tos;
  proto::put_be16(iph + 2, static_cast<uint16_t>(skb->len));
  proto::put_be16(iph + 4, m_net.ipv4.ip_id++);
  // UDP sockets path-MTU-discover (IP_PMTUDISC_WANT: DF); the ICMP socket does not.
  proto::put_be16(iph + 6, cork.protocol == proto::IPPROTO_ICMP ? 0 : IP_DF);
  iph[8] = cork.ttl;
  iph[9] = cork.protocol;
  proto::put_be16(iph + 10, 0);
  proto::put_be32(iph + 12, cork.saddr);
  proto::put_be32(iph + 16, cork.daddr);
  proto::put_be16(iph + 10, proto::csum_fold(proto::csum_partial(iph, proto::IPV4_HLEN)));  // ip_send_check
  if (cork.protocol == proto::IPPROTO_ICMP) {                                               // icmp_out_count
    ++m_net.mib.icmp_statistics.OutMsgs;
    if (iph[proto::IPV4_HLEN] == ICMP_DEST_UNREACH) ++m_net.mib.icmp_statistics.OutDestUnreachs;
  }
}

// ip_send_skb (v6.6): a drop below (qdisc full: NET_XMIT_DROP → -ENOBUFS, or any error)
// counts OutDiscards.
int ip::ip_send_skb(sk_buff* skb) {
  int err = ip_output(skb);  // ip_local_out → __ip_local_out (no netfilter rules) → dst_output
  if (err > 0) err = err == NET_XMIT_DROP ? static_cast<int>(ENOBUFS_) : 0;  // net_xmit_errno
  if (err != 0) ++m_net.mib.ip_statistics.OutDiscards;
  return err;
}

// ip_output → ip_finish_output (v6.6): IPSTATS_MIB_OUT (netstat's OutRequests); no
// fragmentation (udp_sendmsg keeps datagrams within the MTU).
int ip::ip_output(sk_buff* skb) {
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), "ip_output");
  cpu::this_cpu().charge(cost::ip_output);
  ++m_net.mib.ip_statistics.OutRequests;
  const uint32_t daddr = proto::get_be32(skb->head + skb->network_header + 16);
  return ip_finish_output2(skb, daddr);  // rt_nexthop: on-link
}

// ip_finish_output2 (v6.6): __ipv4_neigh_lookup_noref, then neigh_output.
int ip::ip_finish_output2(sk_buff* skb, uint32_t nexthop) {
  for (const auto& n : m_params.neighbours)
    if (n.ip == nexthop) return neigh_output(skb, n);
  m_skbs.kfree_skb_tx(skb, skb_drop_reason::NEIGH_CREATEFAIL);  // "No header cache and no neighbour!"
  return -22;                                                   // -EINVAL
}

// neigh_output → neigh_hh_output (v6.6): a NUD_PERMANENT entry's cached hard header is
// copied in front of the IP header, then dev_queue_xmit.
int ip::neigh_output(sk_buff* skb, const netstack_params::neighbour& n) {
  cpu::this_cpu().charge(cost::neigh_output);
  uint8_t* eth = skb->push(proto::ETH_HLEN);
  for (size_t i = 0; i < proto::ETH_ALEN; ++i) eth[i] = n.ha[i];
  const auto src = m_dev.dev() != nullptr ? m_dev.dev()->dev_addr : std::array<uint8_t, 6>{};
  for (size_t i = 0; i < proto::ETH_ALEN; ++i) eth[proto::ETH_ALEN + i] = src[i];
  proto::put_be16(eth + 12, proto::ETH_P_IP);
  skb->protocol = proto::ETH_P_IP;
  return m_dev.dev_queue_xmit(skb);
}

}  // namespace nicsim::host
