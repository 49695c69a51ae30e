#pragma once
// The IPv4 protocols' GRO callbacks (include/net/protocol.h struct net_offload,
// net/ipv4/tcp_offload.c, net/ipv4/udp_offload.c, v6.6); inet_gro_receive and
// inet_gro_complete, which dispatch to them through inet_offloads[], are the ip class's
// (net/ipv4/af_inet.c; host/net/ipv4/ip.h). inet_init registers them (af_inet.cpp).
#include <cstdint>

#include "host/net/core/gro.h"

namespace nicsim::host {

// TCP flag bits of tcp_flag_word (include/net/tcp.h): the 32-bit word at offset 12 of the
// TCP header (data offset, flags and window), as a number in host order.
inline constexpr uint32_t TCP_FLAG_CWR = 0x00800000;
inline constexpr uint32_t TCP_FLAG_ECE = 0x00400000;
inline constexpr uint32_t TCP_FLAG_URG = 0x00200000;
inline constexpr uint32_t TCP_FLAG_ACK = 0x00100000;
inline constexpr uint32_t TCP_FLAG_PSH = 0x00080000;
inline constexpr uint32_t TCP_FLAG_RST = 0x00040000;
inline constexpr uint32_t TCP_FLAG_SYN = 0x00020000;
inline constexpr uint32_t TCP_FLAG_FIN = 0x00010000;

// tcpv4_offload (net/ipv4/tcp_offload.c, v6.6): tcp4_gro_receive, tcp4_gro_complete.
const net_offload& tcpv4_offload();
// udpv4_offload (net/ipv4/udp_offload.c, v6.6): udp4_gro_receive (checksum, then no merge:
// no socket asks for UDP_GRO); no gro_complete is ever needed (no UDP skb is held).
const net_offload& udpv4_offload();

sk_buff* tcp4_gro_receive(gro_list& head, sk_buff* skb);
sk_buff* tcp_gro_receive(gro_list& head, sk_buff* skb, uint8_t* th);
int tcp4_gro_complete(sk_buff* skb, unsigned thoff);
void tcp_gro_complete(sk_buff* skb);
sk_buff* udp4_gro_receive(gro_list& head, sk_buff* skb);

}  // namespace nicsim::host
