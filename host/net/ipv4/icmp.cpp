// ICMP (net/ipv4/icmp.c, v6.x): icmp_send with its global and per-destination rate limits.
#include "host/net/ipv4/icmp.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "host/net/net_namespace.h"
#include "proto/checksum.h"
#include "proto/frame.h"
#include "tlm/local_time.h"

namespace nicsim::host {

using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

// ------------------------------------------------------------------ ICMP

// icmp_rcv (v6.x): the host consumes every ICMP message it is sent (InMsgs); no reply.
void icmp::icmp_rcv(sk_buff* skb) {
  ++m_net.mib.icmp_statistics.InMsgs;
  m_skbs.kfree_skb(skb, skb_drop_reason::ICMP_CONSUMED);
}

// icmp_init / icmp_sk_init (v6.x): one ICMP socket per CPU, and the global bucket starts full
// (icmp_global_allow's credit starts at net.ipv4.icmp_msgs_burst). inet_init registers
// icmp_protocol (af_inet.cpp).
icmp::icmp(size_t cpus, struct net& net, ip& ip, skb_allocator& skbs, const netstack_params& params)
    : m_net(net), m_ip(ip), m_skbs(skbs), m_params(params) {
  for (size_t i = 0; i < cpus; ++i) {
    m_icmp_sk.push_back(std::make_unique<inet_sock>());
    m_icmp_sk.back()->sk_sndbuf = params.icmp_sndbuf;
  }
  m_net.ipv4.icmp_global_credit = m_params.icmp_msgs_burst;
  m_protocol.handler = [this](sk_buff* skb) { icmp_rcv(skb); };
}

// icmp_global_allow (v6.x): a token bucket refilled at icmp_msgs_per_sec. consume = false is
// v6.12's icmp_global_allow, which only checks for credit; icmp_global_consume takes it later.
bool icmp::icmp_global_allow(bool consume) {
  const sc_time now = tlm::local_now();
  const double delta_s = std::min((now - m_net.ipv4.icmp_global_stamp).to_seconds(), 1.0);
  if (delta_s >= 0.02) {  // HZ / 50
    const double incr = std::floor(m_params.icmp_msgs_per_sec * delta_s);
    if (incr > 0) m_net.ipv4.icmp_global_stamp = now;
    m_net.ipv4.icmp_global_credit =
        std::min(m_net.ipv4.icmp_global_credit + incr, static_cast<double>(m_params.icmp_msgs_burst));
  }
  if (m_net.ipv4.icmp_global_credit < 1) return false;
  if (consume) icmp_global_consume();
  return true;
}

void icmp::icmp_global_consume() {
  m_net.ipv4.icmp_global_credit -= 1;  // the kernel subtracts a random 0..2 (mean 1); the model uses the mean
}

bool icmp::icmpv4_xrlim_allow(uint32_t daddr) {
  constexpr int XRLIM_BURST_FACTOR = 6;
  const sc_time now = tlm::local_now();
  auto [it, fresh] = m_net.ipv4.peers.try_emplace(daddr);
  inet_peer& p = it->second;
  if (fresh) {  // inet_getpeer: rate_last = jiffies - 60 * HZ
    p.rate_last = now;
    p.rate_tokens = sc_time(60, sc_core::SC_SEC);
  }
  sc_time token = p.rate_tokens + (now - p.rate_last);
  p.rate_last = now;
  token = std::min(token, XRLIM_BURST_FACTOR * m_params.icmp_ratelimit);
  bool ok = false;
  if (token >= m_params.icmp_ratelimit) {
    token -= m_params.icmp_ratelimit;
    ok = true;
  }
  p.rate_tokens = token;
  return ok;
}

// __icmp_send (net/ipv4/icmp.c, v6.6) for an skb being received: the global limit, the route
// back (on-link), the per-destination limit, then icmp_push_reply: ip_append_data copies the
// offending datagram behind the ICMP header into an skb of the per-CPU ICMP socket
// (MSG_DONTWAIT: no send buffer is OutErrors), the checksum over the message, and
// ip_push_pending_frames → ip_send_skb. As the kernel, it quotes as much of the datagram as
// fits in 576 bytes (RFC 1812), not just the IP header and 8 bytes (RFC 792's minimum).
void icmp::icmp_send(const sk_buff* skb_in, uint8_t type, uint8_t code) {
  const uint8_t* iph = skb_in->head + skb_in->network_header;
  // Up to v6.11 the global bucket is charged first, so a destination over its own limit
  // still spends global credit; v6.12 ("icmp: change the order of rate limits") checks the
  // global credit, then the destination's limit, and charges the global bucket only for a
  // message that passes both (icmp_global_consume).
  const bool host_first = m_params.icmp_host_limit_first;
  if (!icmp_global_allow(!host_first)) {
    ++m_net.mib.icmp_statistics.OutRateLimitGlobal;
    return;
  }
  const uint32_t saddr = proto::get_be32(iph + 16);  // the address the datagram was sent to
  const uint32_t daddr = proto::get_be32(iph + 12);
  if (!icmpv4_xrlim_allow(daddr)) {
    ++m_net.mib.icmp_statistics.OutRateLimitHost;
    return;
  }
  if (host_first) icmp_global_consume();
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), "icmp_send");
  cpu::this_cpu().charge(cost::icmp_send);
  // icmp_param.data_len: from the network header to the end of the datagram, at most room.
  constexpr unsigned ICMP_HLEN = 8;
  constexpr unsigned room = 576 - proto::IPV4_HLEN - ICMP_HLEN;
  const unsigned in_len = skb_in->data + skb_in->len - skb_in->network_header;
  const unsigned data_len = std::min(in_len, room);
  // icmp_push_reply → ip_append_data on the per-CPU ICMP socket, MSG_DONTWAIT.
  inet_sock& sk = *m_icmp_sk.at(static_cast<size_t>(cpu::this_cpu().id()));
  long err = 0;
  sk_buff* skb = sock_alloc_send_skb(sk, m_skbs, ICMP_HLEN + data_len, true, &err);
  if (skb == nullptr) {
    ++m_net.mib.icmp_statistics.OutErrors;
    return;
  }
  uint8_t* icmph = skb->data_ptr();
  icmph[0] = type;
  icmph[1] = code;
  proto::put_be16(icmph + 2, 0);
  proto::put_be32(icmph + 4, 0);  // unused (no next-hop MTU for a port unreachable)
  std::memcpy(icmph + ICMP_HLEN, iph, data_len);
  skb->len = ICMP_HLEN + data_len;
  skb->transport_header = skb->data;
  cpu::this_cpu().charge(cost::csum, skb->len);  // csum_partial_copy_nocheck + the quoted data's csum
  proto::put_be16(icmph + 2, proto::csum_fold(proto::csum_partial(icmph, skb->len)));
  skb->hash = (saddr ^ daddr) * 0x9E3779B9u;
  // ip_push_pending_frames → __ip_make_skb (tos: the datagram's TOS | IPTOS_PREC_INTERNETCONTROL)
  m_ip.__ip_make_skb(
      skb, ip_cork{saddr, daddr, proto::IPPROTO_ICMP, static_cast<uint8_t>((iph[1] & 0x1E) | 0xC0), 64});
  m_ip.ip_send_skb(skb);
}
}  // namespace nicsim::host
