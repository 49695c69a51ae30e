#pragma once
// struct net (include/net/net_namespace.h, v6.x): what the kernel keeps per network
// namespace — the SNMP MIBs (netns_mib, with LINUX_MIB's busy-poll count), the UDP socket table
// (net->ipv4.udp_table), the inet_peer tree (net->ipv4.peers) and the ICMP global rate limit's token bucket
// (net->ipv4.icmp_global_credit/stamp, per netns since v6.11). The model has one.
#include <cstdint>
#include <map>
#include <memory>
#include <systemc>

#include "host/net/ipv4/inet_sock.h"

namespace nicsim::host {

// The MIB counters (include/uapi/linux/snmp.h) the model keeps, by name.
struct ip_mib {  // netstat -s: Ip
  uint64_t InReceives = 0, InHdrErrors = 0, InAddrErrors = 0, InUnknownProtos = 0, InDelivers = 0,
           InCsumErrors = 0;
  uint64_t OutRequests = 0, OutDiscards = 0, OutNoRoutes = 0;  // transmit (ip_output, ip_send_skb)
};
struct udp_mib {  // netstat -su: Udp
  uint64_t InDatagrams = 0, NoPorts = 0, InErrors = 0, RcvbufErrors = 0, InCsumErrors = 0;
  uint64_t OutDatagrams = 0, SndbufErrors = 0;  // udp_send_skb
};
struct icmp_mib {  // netstat -s: Icmp
  uint64_t InMsgs = 0, OutMsgs = 0, OutDestUnreachs = 0, OutRateLimitGlobal = 0, OutRateLimitHost = 0;
  uint64_t OutErrors = 0;  // icmp_push_reply: ip_append_data failed (no send buffer)
};

struct tcp_mib {  // netstat -s: Tcp (TCP_MIB_*)
  uint64_t ActiveOpens = 0, PassiveOpens = 0, AttemptFails = 0, EstabResets = 0, CurrEstab = 0, InSegs = 0,
           OutSegs = 0, RetransSegs = 0, InErrs = 0, OutRsts = 0, InCsumErrors = 0;
};

struct linux_mib {                 // netstat -s: TcpExt (/proc/net/netstat)
  uint64_t BusyPollRxPackets = 0;  // LINUX_MIB_BUSYPOLLRXPACKETS: napi_busy_loop's packets
  // TCP's (LINUX_MIB_TCP*, LINUX_MIB_DELAYED*, ...), named as nstat prints them.
  uint64_t TCPHPHits = 0, TCPPureAcks = 0, TCPHPAcks = 0, DelayedACKs = 0, DelayedACKLocked = 0,
           DelayedACKLost = 0, TCPBacklogDrop = 0, TCPBacklogCoalesce = 0, TCPRcvQDrop = 0, TCPOFOQueue = 0,
           TCPOFODrop = 0, TCPOFOMerge = 0, OfoPruned = 0, TCPRcvCoalesce = 0, PruneCalled = 0, RcvPruned = 0,
           TCPToZeroWindowAdv = 0, TCPFromZeroWindowAdv = 0, TCPZeroWindowDrop = 0, TCPWantZeroWindowAdv = 0,
           ListenOverflows = 0, ListenDrops = 0, PAWSEstabRejected = 0, TCPSynRetrans = 0;
};

struct netns_mib {
  linux_mib net_statistics;
  ip_mib ip_statistics;
  udp_mib udp_statistics;
  icmp_mib icmp_statistics;
  tcp_mib tcp_statistics;
};

// struct inet_peer (include/net/inetpeer.h): per-destination state; here the ICMP
// rate limit's token bucket (rate_last, rate_tokens).
struct inet_peer {
  sc_core::sc_time rate_last{sc_core::SC_ZERO_TIME};
  sc_core::sc_time rate_tokens{sc_core::SC_ZERO_TIME};
};

struct netns_ipv4 {
  std::map<uint16_t, std::unique_ptr<udp_sock>> udp_table;  // bound sockets by local port
  std::map<uint32_t, inet_peer> peers;                      // inet_peer_base, by daddr
  double icmp_global_credit = 0;                            // icmp_global_allow's bucket
  sc_core::sc_time icmp_global_stamp{sc_core::SC_ZERO_TIME};
  uint16_t ip_id = 0;  // ip_select_ident's counter (one for all destinations here)
};

struct net {
  netns_mib mib;
  netns_ipv4 ipv4;
};

}  // namespace nicsim::host
