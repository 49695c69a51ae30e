// UDPv4 GRO (net/ipv4/udp_offload.c, v6.6): udp4_gro_receive. Without a socket that asked for
// UDP_GRO (no setsockopt in the model, so udp_encap_needed_key stays off and the socket
// lookup is skipped), with NETIF_F_GRO_FRAGLIST and NETIF_F_GRO_UDP_FWD off (the defaults),
// udp_gro_receive flushes every datagram: UDP passes through GRO unmerged. What it does
// first is v6.6's checksum validation: a CHECKSUM_NONE datagram with a checksum has it
// computed here, and leaves CHECKSUM_UNNECESSARY (so udp_recvmsg copies without summing).
#include "host/net/ipv4/inet_offload.h"
#include "proto/frame.h"

namespace nicsim::host {

// udp4_gro_receive (v6.6).
sk_buff* udp4_gro_receive(gro_list& /*head*/, sk_buff* skb) {
  // udp_gro_udphdr
  if (skb_gro_len(*skb) < proto::UDP_HLEN) {
    skb->gro.flush = 1;
    return nullptr;
  }
  const uint8_t* uh = skb_gro_header(*skb);
  // Don't bother verifying the checksum if the datagram is flushed anyway.
  if (!skb->gro.flush &&
      skb_gro_checksum_validate(skb, proto::IPPROTO_UDP, true /* zero_okay */, proto::get_be16(uh + 6))) {
    skb->gro.flush = 1;
    return nullptr;
  }
  // udp_gro_receive with sk == NULL: no GRO, "be sure flush the current packet".
  skb_gro_flush_final(skb, 1);
  return nullptr;
}

const net_offload& udpv4_offload() {
  static const net_offload o{{udp4_gro_receive, nullptr}};
  return o;
}

}  // namespace nicsim::host
