// inet_init (net/ipv4/af_inet.c, v6.x): the IPv4 protocols register their receive
// handlers (inet_add_protocol), then IPv4 itself registers with the device layer
// (dev_add_pack). A new protocol is a new type whose net_protocol is added here.
#include <stdexcept>

#include "host/net/ipv4/inet_offload.h"
#include "host/net/netstack.h"
#include "proto/checksum.h"
#include "proto/frame.h"

namespace nicsim::host {

netstack::netstack(const std::vector<cpu*>& cpus, skb_cache& skbs, rx_buffer_pool& buffers,
                   rx_buffer_pool* tx_buffers, const netstack_params& params)
    : m_params(params),
      m_skb(skbs, buffers, tx_buffers),
      m_core(cpus, m_net, m_skb, m_params),
      m_ip(m_net, m_core, m_skb, m_params),
      m_icmp(cpus.size(), m_net, m_ip, m_skb, m_params),
      m_udp(m_net, m_core, m_ip, m_icmp, m_skb, m_params),
      m_tcp(m_net, m_ip, m_skb, m_params) {
  inet_init();
}

void netstack::inet_init() {
  // "inet_init: Cannot add ICMP/UDP protocol"
  if (!m_ip.inet_add_protocol(m_icmp.protocol(), proto::IPPROTO_ICMP))
    throw std::logic_error("inet_init: cannot add ICMP protocol");
  if (!m_ip.inet_add_protocol(m_udp.protocol(), proto::IPPROTO_UDP))
    throw std::logic_error("inet_init: cannot add UDP protocol");
  // tcpv4_offload_init, udpv4_offload_init (inet_init → ipv4_offload_init, v6.6).
  if (!m_ip.inet_add_offload(&tcpv4_offload(), proto::IPPROTO_TCP) ||
      !m_ip.inet_add_offload(&udpv4_offload(), proto::IPPROTO_UDP))
    throw std::logic_error("inet_init: cannot add TCP/UDP offload");
  if (!m_ip.inet_add_protocol(m_tcp.protocol(), proto::IPPROTO_TCP))
    throw std::logic_error("inet_init: cannot add TCP protocol");
  m_ip.ip_init();  // dev_add_pack(&ip_packet_type)
}

}  // namespace nicsim::host

namespace nicsim::host {

namespace {
constexpr uint16_t IP_DF = 0x4000;
constexpr uint16_t IP_MF = 0x2000;
constexpr uint16_t IP_OFFSET = 0x1FFF;
}  // namespace

// inet_gro_receive (net/ipv4/af_inet.c, v6.6).
sk_buff* ip::inet_gro_receive(gro_list& head, sk_buff* skb) {
  sk_buff* pp = nullptr;
  int flush = 1;
  const unsigned off = skb_gro_offset(*skb);
  do {                                                // goto out
    if (skb_gro_len(*skb) < proto::IPV4_HLEN) break;  // skb_gro_header
    const uint8_t* iph = skb_gro_header(*skb);
    const uint8_t protocol = iph[9];
    const net_offload* ops = m_inet_offloads[protocol];
    if (ops == nullptr || !ops->callbacks.gro_receive) break;
    if (iph[0] != 0x45) break;  // IPv4 without options only
    const uint16_t frag_off = proto::get_be16(iph + 6);
    if (frag_off & (IP_MF | IP_OFFSET)) break;                                     // ip_is_fragment
    if (proto::csum_fold(proto::csum_partial(iph, proto::IPV4_HLEN)) != 0) break;  // ip_fast_csum
    skb->gro.proto = protocol;
    uint32_t id = proto::get_be32(iph + 4);  // id << 16 | frag_off
    // tot_len must be all the skb holds (no Ethernet padding), and no flag but DF.
    flush = static_cast<uint16_t>((proto::get_be32(iph) ^ skb_gro_len(*skb)) | (id & ~uint32_t{IP_DF}));
    id >>= 16;
    for (auto it = head.list.rbegin(); it != head.list.rend(); ++it) {  // youngest first
      sk_buff* p = *it;
      if (!p->gro.same_flow) continue;
      const uint8_t* iph2 = p->data_ptr() + off;
      if (protocol != iph2[9] || proto::get_be32(iph + 12) != proto::get_be32(iph2 + 12) ||
          proto::get_be32(iph + 16) != proto::get_be32(iph2 + 16)) {
        p->gro.same_flow = false;
        continue;
      }
      // All fields must match except length and checksum.
      p->gro.flush |= static_cast<uint16_t>((iph[8] ^ iph2[8]) | (iph[1] ^ iph2[1]) |
                                            ((frag_off ^ proto::get_be16(iph2 + 6)) & IP_DF));
      p->gro.flush |= static_cast<uint16_t>(flush);
      // The IP ID check, kept for the transport layer to include once it knows the flow:
      // an atomic (DF) flow's ID may be anything, otherwise it must grow by one per segment.
      uint16_t flush_id = static_cast<uint16_t>(id - proto::get_be16(iph2 + 4));
      if (!p->gro.is_atomic || !(frag_off & IP_DF)) {
        flush_id ^= p->gro.count;
        flush_id = flush_id ? 0xFFFF : 0;
      }
      // If the previous IP ID value was based on an atomic datagram, overwrite it.
      if (skb->gro.is_atomic)
        p->gro.flush_id = flush_id;
      else
        p->gro.flush_id |= flush_id;
    }
    skb->gro.is_atomic = (frag_off & IP_DF) != 0;
    skb->gro.flush |= static_cast<uint16_t>(flush);
    skb->network_header = skb->data + off;
    skb_gro_pull(*skb, proto::IPV4_HLEN);
    skb->transport_header = skb->data + skb_gro_offset(*skb);
    pp = ops->callbacks.gro_receive(head, skb);
  } while (false);
  // out:
  skb_gro_flush_final(skb, flush);
  return pp;
}

// inet_gro_complete (net/ipv4/af_inet.c, v6.6): the merged datagram's tot_len, its header
// checksum updated for it (csum_replace2), then the protocol's gro_complete.
int ip::inet_gro_complete(sk_buff* skb, unsigned nhoff) {
  uint8_t* iph = skb->data_ptr() + nhoff;
  const uint16_t old_len = proto::get_be16(iph + 2);
  const uint16_t new_len = static_cast<uint16_t>(skb->len - nhoff);  // iph_set_totlen
  proto::put_be16(iph + 2, new_len);
  // csum_replace2 (RFC 1624 eqn. 3): HC' = ~(~HC + ~m + m').
  uint32_t sum = static_cast<uint16_t>(~proto::get_be16(iph + 10));
  sum += static_cast<uint16_t>(~old_len);
  sum += new_len;
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  proto::put_be16(iph + 10, static_cast<uint16_t>(~sum));
  const net_offload* ops = m_inet_offloads[iph[9]];
  if (ops == nullptr || !ops->callbacks.gro_complete) return -38;  // WARN_ON, -ENOSYS
  return ops->callbacks.gro_complete(skb, nhoff + proto::IPV4_HLEN);
}

}  // namespace nicsim::host
