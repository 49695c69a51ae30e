// The partner's congestion control (tb/partner/tcp_sender.h): tcp_slow_start and
// tcp_cong_avoid_ai (net/ipv4/tcp_cong.c), Reno (tcp_reno_cong_avoid, tcp_reno_ssthresh) and
// CUBIC (net/ipv4/tcp_cubic.c: bictcp_update, cubictcp_recalc_ssthresh, cubic_root), and the
// cwnd-limited tracking (tcp_cwnd_validate, net/ipv4/tcp_output.c; tcp_is_cwnd_limited,
// include/net/tcp.h), Linux v6.6. Split out of tcp_sender.cpp; PRR (tcp_cwnd_reduction) is with
// recovery in tcp_sack_recovery.cpp.
#include <algorithm>

#include "tb/partner/tcp_sender.h"

namespace nicsim::tb::partner {

namespace {
// CUBIC's constants as cubictcp_register computes them (tcp_cubic.c, v6.6): beta 717/1024,
// bic_scale 41 (C = 0.4 = 41 * 10 / 1024), BICTCP_HZ 10.
constexpr uint32_t BICTCP_BETA_SCALE = 1024, CUBIC_BETA = 717, BIC_SCALE = 41, BICTCP_HZ = 10;
constexpr uint32_t CUBIC_HZ = 1000;  // the partner's jiffies per second
constexpr uint32_t beta_scale = 8 * (BICTCP_BETA_SCALE + CUBIC_BETA) / 3 / (BICTCP_BETA_SCALE - CUBIC_BETA);
constexpr uint32_t cube_rtt_scale = BIC_SCALE * 10;
constexpr uint64_t cube_factor = (uint64_t{1} << (10 + 3 * BICTCP_HZ)) / (BIC_SCALE * 10);

int fls64(uint64_t x) { return x == 0 ? 0 : 64 - __builtin_clzll(x); }
}  // namespace

// cubic_root (tcp_cubic.c, v6.6): a table look-up and one Newton-Raphson step.
uint32_t tcp_sender::cubic_root(uint64_t a) {
  static const uint8_t v[] = {
      0,   54,  54,  54,  118, 118, 118, 118, 123, 129, 134, 138, 143, 147, 151, 156,
      157, 161, 164, 168, 170, 173, 176, 179, 181, 185, 187, 190, 192, 194, 197, 199,
      200, 202, 204, 206, 209, 211, 213, 215, 217, 219, 221, 222, 224, 225, 227, 229,
      231, 232, 234, 236, 237, 239, 240, 242, 244, 245, 246, 248, 250, 251, 252, 254,
  };
  uint32_t b = static_cast<uint32_t>(fls64(a));
  if (b < 7) return (static_cast<uint32_t>(v[static_cast<uint32_t>(a)]) + 35) >> 6;
  b = ((b * 84) >> 8) - 1;
  const auto shift = static_cast<uint32_t>(a >> (b * 3));
  uint32_t x = (static_cast<uint32_t>(v[shift]) + 10) << b >> 6;
  x = 2 * x + static_cast<uint32_t>(a / (uint64_t{x} * (uint64_t{x} - 1)));
  x = (x * 341) >> 10;
  return x;
}

void tcp_sender::set_cwnd(uint32_t c, uint64_t now_ns) {
  m_cwnd = std::max<uint32_t>(c, 1);
  if (m_state == state::established) m_cwnd_tw.set(now_ns, m_cwnd);
}

// tcp_cwnd_validate (tcp_output.c, v6.6): whether the window was used to the full.
void tcp_sender::cwnd_validate(bool cwnd_limited) {
  if (m_snd_una >= m_cwnd_usage_seq || cwnd_limited ||
      (!m_is_cwnd_limited && packets_out() > m_max_packets_out)) {
    m_is_cwnd_limited = cwnd_limited;
    m_max_packets_out = packets_out();
    m_cwnd_usage_seq = m_snd_nxt;
  }
}

// tcp_is_cwnd_limited (include/net/tcp.h, v6.6).
bool tcp_sender::is_cwnd_limited() const {
  if (m_is_cwnd_limited) return true;
  if (m_cwnd < m_ssthresh) return m_cwnd < 2 * m_max_packets_out;
  return false;
}

uint32_t tcp_sender::cc_ssthresh() {
  if (m_cfg.cc == tcp_cc::reno) return std::max<uint32_t>(m_cwnd >> 1, 2);  // tcp_reno_ssthresh
  // cubictcp_recalc_ssthresh: W_max with fast convergence, then cwnd * beta.
  m_cubic.epoch_start = 0;
  if (m_cwnd < m_cubic.last_max_cwnd)
    m_cubic.last_max_cwnd = m_cwnd * (BICTCP_BETA_SCALE + CUBIC_BETA) / (2 * BICTCP_BETA_SCALE);
  else
    m_cubic.last_max_cwnd = m_cwnd;
  return std::max<uint32_t>(m_cwnd * CUBIC_BETA / BICTCP_BETA_SCALE, 2);
}

// tcp_reno_cong_avoid / cubictcp_cong_avoid with tcp_slow_start and tcp_cong_avoid_ai
// (tcp_cong.c, tcp_cubic.c, v6.6).
void tcp_sender::cong_avoid(uint32_t acked, uint64_t now_ns) {
  if (!is_cwnd_limited()) return;
  uint32_t cwnd = m_cwnd;
  if (cwnd < m_ssthresh) {  // tcp_slow_start
    const uint32_t c = std::min(cwnd + acked, m_ssthresh);
    acked -= c - cwnd;
    cwnd = c;
    set_cwnd(cwnd, now_ns);
    if (acked == 0) return;
  }
  uint32_t w = cwnd;
  if (m_cfg.cc == tcp_cc::cubic) {
    cubic_update(acked, now_ns);
    w = m_cubic.cnt;
  }
  // tcp_cong_avoid_ai
  if (m_cwnd_cnt >= w) {
    m_cwnd_cnt = 0;
    ++cwnd;
  }
  m_cwnd_cnt += acked;
  if (m_cwnd_cnt >= w) {
    const uint32_t delta = m_cwnd_cnt / w;
    m_cwnd_cnt -= delta * w;
    cwnd += delta;
  }
  set_cwnd(cwnd, now_ns);
}

// bictcp_update (tcp_cubic.c, v6.6), with the partner's jiffies (HZ = 1000).
void tcp_sender::cubic_update(uint32_t acked, uint64_t now_ns) {
  cubic_state& ca = m_cubic;
  const uint32_t cwnd = m_cwnd;
  const uint32_t now = jiffies(now_ns);
  ca.ack_cnt += acked;
  if (ca.last_cwnd == cwnd && static_cast<int32_t>(now - ca.last_time) <= static_cast<int32_t>(CUBIC_HZ / 32))
    return;
  if (!(ca.epoch_start != 0 && now == ca.last_time)) {
    ca.last_cwnd = cwnd;
    ca.last_time = now;
    if (ca.epoch_start == 0) {
      ca.epoch_start = now == 0 ? 1 : now;  // 0 means "no epoch" (jiffies start far from 0 in Linux)
      ca.ack_cnt = acked;
      ca.tcp_cwnd = cwnd;
      if (ca.last_max_cwnd <= cwnd) {
        ca.bic_K = 0;
        ca.bic_origin_point = cwnd;
      } else {
        ca.bic_K = cubic_root(cube_factor * (ca.last_max_cwnd - cwnd));
        ca.bic_origin_point = ca.last_max_cwnd;
      }
    }
    uint64_t t = static_cast<uint64_t>(static_cast<int32_t>(now - ca.epoch_start));
    t += (uint64_t{ca.delay_min} * 1000 + TCP_NS_PER_JIFFY - 1) / TCP_NS_PER_JIFFY;  // usecs_to_jiffies
    t <<= BICTCP_HZ;
    t /= CUBIC_HZ;
    const uint64_t offs = t < ca.bic_K ? ca.bic_K - t : t - ca.bic_K;
    const auto delta = static_cast<uint32_t>((cube_rtt_scale * offs * offs * offs) >> (10 + 3 * BICTCP_HZ));
    const uint32_t bic_target = t < ca.bic_K ? ca.bic_origin_point - delta : ca.bic_origin_point + delta;
    ca.cnt = bic_target > cwnd ? cwnd / (bic_target - cwnd) : 100 * cwnd;
    if (ca.last_max_cwnd == 0 && ca.cnt > 20) ca.cnt = 20;
  }
  // tcp_friendliness
  {
    uint32_t delta = (cwnd * beta_scale) >> 3;
    if (delta == 0) delta = 1;
    while (ca.ack_cnt > delta) {
      ca.ack_cnt -= delta;
      ++ca.tcp_cwnd;
    }
    if (ca.tcp_cwnd > cwnd) {
      const uint32_t max_cnt = cwnd / (ca.tcp_cwnd - cwnd);
      if (ca.cnt > max_cnt) ca.cnt = max_cnt;
    }
  }
  ca.cnt = std::max<uint32_t>(ca.cnt, 2);
}
}  // namespace nicsim::tb::partner
