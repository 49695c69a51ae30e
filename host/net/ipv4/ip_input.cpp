// IPv4 receive (net/ipv4/ip_input.c, v6.x): ip_rcv and ip_local_deliver.
#include "host/net/ipv4/ip.h"
#include "host/net/net_namespace.h"
#include "proto/checksum.h"
#include "proto/frame.h"

namespace nicsim::host {

ip::ip(struct net& net, netdev_core& dev, skb_allocator& skbs, const netstack_params& params)
    : m_net(net), m_dev(dev), m_skbs(skbs), m_params(params) {}

void ip::ip_rcv(sk_buff* skb) {
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), "ip_rcv");
  cpu::this_cpu().charge(cost::ip_rcv);
  // ip_rcv_core (net/ipv4/ip_input.c, v6.6): "When the interface is in promisc. mode, drop all
  // the crap that it receives": a frame for another host is dropped before the IP MIB counts
  // it, in dev_core_stats_rx_otherhost_dropped (ip -s -s link: otherhost).
  if (skb->pkt_type == PACKET_OTHERHOST) {
    m_skbs.kfree_skb(skb, skb_drop_reason::OTHERHOST);
    return;
  }
  ++m_net.mib.ip_statistics.InReceives;
  const uint8_t* iph = skb->data_ptr();
  if (skb->len < proto::IPV4_HLEN || (iph[0] >> 4) != 4 || (iph[0] & 0xF) < 5 ||
      skb->len < (iph[0] & 0xFu) * 4u) {
    ++m_net.mib.ip_statistics.InHdrErrors;
    m_skbs.kfree_skb(skb, skb_drop_reason::IP_INHDR);
    return;
  }
  const unsigned ihl = (iph[0] & 0xFu) * 4u;
  cpu::this_cpu().charge(cost::csum, ihl);
  if (proto::csum_fold(proto::csum_partial(iph, ihl)) != 0) {  // ip_fast_csum
    ++m_net.mib.ip_statistics.InCsumErrors;
    ++m_net.mib.ip_statistics.InHdrErrors;
    m_skbs.kfree_skb(skb, skb_drop_reason::IP_CSUM);
    return;
  }
  const unsigned tot_len = proto::get_be16(iph + 2);
  if (skb->len < tot_len || tot_len < ihl) {
    ++m_net.mib.ip_statistics.InHdrErrors;
    m_skbs.kfree_skb(skb, skb_drop_reason::IP_INHDR);
    return;
  }
  skb->len = tot_len;  // pskb_trim_rcsum: drop Ethernet padding
  if (proto::get_be32(iph + 16) != m_params.local_ip) {
    ++m_net.mib.ip_statistics.InAddrErrors;  // not ours and forwarding is off
    m_skbs.kfree_skb(skb, skb_drop_reason::IP_INADDRERRORS);
    return;
  }
  skb->pull(ihl);
  skb->transport_header = skb->data;
  ip_local_deliver(skb, iph[9]);
}

// ip_protocol_deliver_rcu (v6.x): the handler inet_protos[] holds for the protocol, or
// InUnknownProtos (and, in the kernel, a protocol unreachable the model does not send).
void ip::ip_local_deliver(sk_buff* skb, uint8_t protocol) {
  if (const net_protocol* ipprot = m_inet_protos[protocol]) {
    ++m_net.mib.ip_statistics.InDelivers;
    ipprot->handler(skb);
    return;
  }
  ++m_net.mib.ip_statistics.InUnknownProtos;
  m_skbs.kfree_skb(skb, skb_drop_reason::IP_NOPROTO);
}

// ip_init / inet_init's dev_add_pack(&ip_packet_type): IPv4 frames go to ip_rcv.
// And ipv4_offload_init's dev_add_offload(&ip_packet_offload): IPv4's GRO callbacks.
void ip::ip_init() {
  m_dev.dev_add_pack(packet_type{proto::ETH_P_IP, [this](sk_buff* skb) { ip_rcv(skb); }});
  m_dev.dev_add_offload(
      packet_offload{proto::ETH_P_IP,
                     {[this](gro_list& head, sk_buff* skb) { return inet_gro_receive(head, skb); },
                      [this](sk_buff* skb, unsigned nhoff) { return inet_gro_complete(skb, nhoff); }}});
}
}  // namespace nicsim::host
