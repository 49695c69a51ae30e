// ICMP (net/ipv4/icmp.c, v6.x): icmp_send with its global and per-destination rate limits.
#include <algorithm>
#include <cmath>

#include "host/net/netstack.h"

namespace nicsim::host {

using sc_core::sc_time;
using sc_core::sc_time_stamp;
using sc_core::SC_ZERO_TIME;

// ------------------------------------------------------------------ ICMP

bool netstack::icmp_global_allow() {
  const sc_time now = sc_time_stamp();
  const double delta_s = std::min((now - m_icmp_stamp).to_seconds(), 1.0);
  if (delta_s >= 0.02) {  // HZ / 50
    const double incr = std::floor(m_params.icmp_msgs_per_sec * delta_s);
    if (incr > 0) m_icmp_stamp = now;
    m_icmp_credit = std::min(m_icmp_credit + incr, static_cast<double>(m_params.icmp_msgs_burst));
  }
  if (m_icmp_credit < 1) return false;
  m_icmp_credit -= 1;  // the kernel subtracts a random 0..2 (mean 1); the model uses the mean
  return true;
}

bool netstack::icmpv4_xrlim_allow(uint32_t daddr) {
  constexpr int XRLIM_BURST_FACTOR = 6;
  const sc_time now = sc_time_stamp();
  auto [it, fresh] = m_peers.try_emplace(daddr);
  peer& p = it->second;
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
    ++m_icmp.OutRateLimitGlobal;
    return;
  }
  if (!icmpv4_xrlim_allow(daddr)) {
    ++m_icmp.OutRateLimitHost;
    return;
  }
  cpu::this_cpu().charge(cost::icmp_send);
  ++m_icmp.OutMsgs;
  ++m_icmp.OutDestUnreachs;
}
}  // namespace nicsim::host
