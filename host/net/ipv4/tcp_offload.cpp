// TCPv4 GRO (net/ipv4/tcp_offload.c, v6.6): tcp4_gro_receive, tcp_gro_receive,
// tcp4_gro_complete, tcp_gro_complete. (The fraglist GRO of later kernels, and GSO, are not
// modelled; NETIF_F_GRO_FRAGLIST is off by default.)
#include "host/net/core/dev.h"
#include "host/net/ipv4/inet_offload.h"
#include "proto/checksum.h"
#include "proto/frame.h"

namespace nicsim::host {

namespace {
constexpr unsigned TCP_HLEN = 20;  // sizeof(struct tcphdr)
uint8_t* tcp_hdr(const sk_buff& skb) { return skb.head + skb.transport_header; }
uint32_t tcp_flag_word(const uint8_t* th) { return proto::get_be32(th + 12); }
void set_tcp_flag_word(uint8_t* th, uint32_t w) { proto::put_be32(th + 12, w); }

// tcp_gro_lookup (v6.6; open-coded in tcp_gro_receive before v6.10): the youngest held skb of
// the same flow so far whose ports match too.
sk_buff* tcp_gro_lookup(gro_list& head, const uint8_t* th) {
  for (auto it = head.list.rbegin(); it != head.list.rend(); ++it) {  // youngest first
    sk_buff* p = *it;
    if (!p->gro.same_flow) continue;
    if (proto::get_be32(th) != proto::get_be32(tcp_hdr(*p))) {  // source and dest ports
      p->gro.same_flow = false;
      continue;
    }
    return p;
  }
  return nullptr;
}
}  // namespace

// tcp_gro_receive (v6.6). th: the new segment's TCP header, pulled.
sk_buff* tcp_gro_receive(gro_list& head, sk_buff* skb, uint8_t* th) {
  const unsigned thlen = (th[12] >> 4) * 4u;
  sk_buff* pp = nullptr;
  unsigned mss = 1;
  uint32_t flush = 1;
  const unsigned len = skb_gro_len(*skb);
  const uint32_t flags = tcp_flag_word(th);
  sk_buff* p = tcp_gro_lookup(head, th);
  if (p != nullptr) {
    uint8_t* th2 = tcp_hdr(*p);
    // The IP-level flush inet_gro_receive left on p, then: CWR; any difference in the flag
    // word but CWR, FIN and PSH (the data offset, the other flags and the window); the ACK
    // number; any option word (timestamps included: TSval and TSecr must match too).
    flush = p->gro.flush;
    flush |= flags & TCP_FLAG_CWR;
    flush |= (flags ^ tcp_flag_word(th2)) & ~(TCP_FLAG_CWR | TCP_FLAG_FIN | TCP_FLAG_PSH);
    flush |= proto::get_be32(th + 8) ^ proto::get_be32(th2 + 8);
    for (unsigned i = TCP_HLEN; i < thlen; i += 4)
      flush |= proto::get_be32(th + i) ^ proto::get_be32(th2 + i);
    // The second segment decides whether the flow keeps a fixed IP ID (atomic) or an
    // incrementing one; after that, inet_gro_receive's flush_id must be 0.
    if (p->gro.flush_id != 1 || p->gro.count != 1 || !p->gro.is_atomic)
      flush |= p->gro.flush_id;
    else
      p->gro.is_atomic = false;
    mss = p->gso_size;
    // A single frame longer than the flow's MSS is not merged.
    flush |= (len - 1) >= mss;
    // In order: it starts where the held skb's data ends.
    flush |= (proto::get_be32(th2 + 4) + skb_gro_len(*p)) ^ proto::get_be32(th + 4);
    const unsigned gro_max_size =
        p->napi != nullptr && p->napi->dev != nullptr ? p->napi->dev->gro_ipv4_max_size : GRO_LEGACY_MAX_SIZE;
    if (flush || skb_gro_receive(p, skb, gro_max_size)) {
      mss = 1;
    } else {
      set_tcp_flag_word(th2, tcp_flag_word(th2) | (flags & (TCP_FLAG_FIN | TCP_FLAG_PSH)));
    }
  }
  // out_check_final: a segment smaller than the MSS ends the flow's merge, as does any of
  // URG, PSH, RST, SYN, FIN (the segment itself is merged first if it could be).
  flush = len < mss;
  flush |= flags & (TCP_FLAG_URG | TCP_FLAG_PSH | TCP_FLAG_RST | TCP_FLAG_SYN | TCP_FLAG_FIN);
  if (p != nullptr && (!skb->gro.same_flow || flush)) pp = p;
  skb->gro.flush |= (flush != 0);
  return pp;
}

// tcp4_gro_receive (v6.6): the checksum (unless the skb is flushed anyway), the header.
sk_buff* tcp4_gro_receive(gro_list& head, sk_buff* skb) {
  if (skb_gro_len(*skb) < TCP_HLEN) {
    skb->gro.flush = 1;
    return nullptr;
  }
  uint8_t* th = skb_gro_header(*skb);
  if (!skb->gro.flush &&
      skb_gro_checksum_validate(skb, proto::IPPROTO_TCP, false, proto::get_be16(th + 16))) {
    skb->gro.flush = 1;
    return nullptr;
  }
  // tcp_gro_pull_header
  const unsigned thlen = (th[12] >> 4) * 4u;
  if (thlen < TCP_HLEN || skb_gro_len(*skb) < thlen) {
    skb->gro.flush = 1;
    return nullptr;
  }
  skb_gro_pull(*skb, thlen);
  return tcp_gro_receive(head, skb, th);
}

// tcp_gro_complete (v6.6): the merged skb is CHECKSUM_PARTIAL (its data was verified while
// merging), gso_segs its segments; gso_size stays the MSS dev_gro_receive recorded.
void tcp_gro_complete(sk_buff* skb) {
  skb->ip_summed = CHECKSUM_PARTIAL;  // csum_start: the TCP header, csum_offset: th->check
  skb->gso_segs = skb->gro.count;
  // th->cwr: SKB_GSO_TCP_ECN in gso_type (the model keeps no gso_type).
}

// tcp4_gro_complete (v6.6): th->check becomes the pseudo header's sum over the new length
// (~tcp_v4_check(len, saddr, daddr, 0)), as CHECKSUM_PARTIAL wants it.
int tcp4_gro_complete(sk_buff* skb, unsigned thoff) {
  const uint8_t* iph = skb->head + skb->network_header;
  uint8_t* th = skb->data_ptr() + thoff;
  const uint16_t check = proto::csum_fold(
      proto::csum_tcpudp_nofold(proto::get_be32(iph + 12), proto::get_be32(iph + 16),
                                static_cast<uint16_t>(skb->len - thoff), proto::IPPROTO_TCP, 0));
  proto::put_be16(th + 16, static_cast<uint16_t>(~check));
  // SKB_GSO_TCPV4, and SKB_GSO_TCP_FIXEDID when the flow kept a fixed IP ID (is_atomic).
  tcp_gro_complete(skb);
  return 0;
}

const net_offload& tcpv4_offload() {
  static const net_offload o{{tcp4_gro_receive, tcp4_gro_complete}};
  return o;
}

}  // namespace nicsim::host
