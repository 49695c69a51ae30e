// ICMP (net/ipv4/icmp.c, v6.x): icmp_send with its global and per-destination rate limits.
#include <algorithm>
#include <cmath>

#include "host/net/netstack.h"
#include "proto/frame.h"

namespace nicsim::host {

using sc_core::sc_time;
using sc_core::sc_time_stamp;
using sc_core::SC_ZERO_TIME;

// ------------------------------------------------------------------ ICMP

// icmp_rcv (v6.x): the host consumes every ICMP message it is sent (InMsgs); no reply.
void netstack::icmp_rcv(sk_buff* skb) {
  ++m_net.mib.icmp_statistics.InMsgs;
  kfree_skb(skb, skb_drop_reason::ICMP_CONSUMED);
}

// icmp_init / inet_init: ICMP registers itself, and its global bucket starts full
// (icmp_global_allow's credit starts at net.ipv4.icmp_msgs_burst).
void netstack::icmp_init() {
  m_net.ipv4.icmp_global_credit = m_params.icmp_msgs_burst;
  m_icmp_protocol.handler = [this](sk_buff* skb) { icmp_rcv(skb); };
  inet_add_protocol(&m_icmp_protocol, proto::IPPROTO_ICMP);
}

// icmp_global_allow (v6.x): a token bucket refilled at icmp_msgs_per_sec.
bool netstack::icmp_global_allow() {
  const sc_time now = sc_time_stamp();
  const double delta_s = std::min((now - m_net.ipv4.icmp_global_stamp).to_seconds(), 1.0);
  if (delta_s >= 0.02) {  // HZ / 50
    const double incr = std::floor(m_params.icmp_msgs_per_sec * delta_s);
    if (incr > 0) m_net.ipv4.icmp_global_stamp = now;
    m_net.ipv4.icmp_global_credit =
        std::min(m_net.ipv4.icmp_global_credit + incr, static_cast<double>(m_params.icmp_msgs_burst));
  }
  if (m_net.ipv4.icmp_global_credit < 1) return false;
  m_net.ipv4.icmp_global_credit -= 1;  // the kernel subtracts a random 0..2 (mean 1); the model uses the mean
  return true;
}

bool netstack::icmpv4_xrlim_allow(uint32_t daddr) {
  constexpr int XRLIM_BURST_FACTOR = 6;
  const sc_time now = sc_time_stamp();
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

void netstack::icmp_send_port_unreach(uint32_t daddr) {
  if (!icmp_global_allow()) {
    ++m_net.mib.icmp_statistics.OutRateLimitGlobal;
    return;
  }
  if (!icmpv4_xrlim_allow(daddr)) {
    ++m_net.mib.icmp_statistics.OutRateLimitHost;
    return;
  }
  cpu::this_cpu().charge(cost::icmp_send);
  ++m_net.mib.icmp_statistics.OutMsgs;
  ++m_net.mib.icmp_statistics.OutDestUnreachs;
}
}  // namespace nicsim::host
