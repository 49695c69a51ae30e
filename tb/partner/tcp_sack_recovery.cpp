// The partner's SACK scoreboard and loss recovery (tb/partner/tcp_sender.h), from
// net/ipv4/tcp_input.c, Linux v6.6: tcp_sacktag_write_queue, the RFC 6675 lost marks
// (tcp_update_scoreboard, tcp_mark_head_lost), tcp_enter_recovery, tcp_enter_loss and
// Proportional Rate Reduction (tcp_cwnd_reduction). RACK is in tcp_rack.cpp.
#include <algorithm>

#include "tb/partner/tcp_sender.h"

namespace nicsim::tb::partner {

// tcp_sacktag_write_queue (tcp_input.c): marks the segments a valid SACK block covers whole.
// Returns the packets newly SACKed. Each newly SACKed segment advances RACK (tcp_sacktag_one:
// tcp_rack_advance); one never retransmitted below the highest SACKed before this ACK
// (prior_fack) arrived out of order: reordering (tcp_check_sack_reordering, reord_seen).
int tcp_sender::sacktag(const proto::tcp_header& h, uint64_t ack, uint64_t prior_fack, uint64_t now_ns) {
  bool reordered = false;
  int newly = 0;
  for (unsigned i = 0; i < h.opt.sack_count; ++i) {
    ++m_stats.sack_blocks_received;
    const int64_t start = unwrap(h.opt.sack[i].start), end = unwrap(h.opt.sack[i].end);
    // tcp_is_sackblock_valid: in order, not beyond snd_nxt, not older than a window.
    if (end <= start || end > static_cast<int64_t>(m_snd_nxt) ||
        start < static_cast<int64_t>(m_snd_una) - static_cast<int64_t>(m_max_window)) {
      ++m_stats.sack_blocks_invalid;
      continue;
    }
    if (end <= static_cast<int64_t>(ack)) continue;  // a D-SACK or stale block: nothing to mark
    for (seg& s : m_rtx) {
      if (static_cast<int64_t>(s.end) > end) break;
      if (s.sacked || static_cast<int64_t>(s.start) < start) continue;
      rack_advance(s.ever_retrans || s.retrans, s.end, s.sent_ns, now_ns);
      if (!s.ever_retrans && s.start < prior_fack) reordered = true;
      s.sacked = true;
      ++m_sacked_out;
      ++newly;
      if (s.lost) s.lost = false, --m_lost_out;
      if (s.retrans) s.retrans = false, --m_retrans_out;
    }
  }
  if (reordered) ++m_stats.sack_reorder;
  return newly;
}

// RFC 6675 IsLost with DupThresh = net.ipv4.tcp_reordering (3): a segment not SACKed with
// at least three SACKed segments above it is lost (tcp_update_scoreboard's rule).
void tcp_sender::update_lost_marks() {
  unsigned sacked_above = 0;
  for (auto it = m_rtx.rbegin(); it != m_rtx.rend(); ++it) {
    if (it->sacked) {
      ++sacked_above;
    } else if (sacked_above >= TCP_REORDERING && !it->lost) {
      it->lost = true;
      ++m_lost_out;
      ++m_newly_lost;
    }
  }
}

void tcp_sender::mark_head_lost() {
  for (seg& s : m_rtx) {
    if (s.sacked) continue;
    if (!s.lost) {
      s.lost = true;
      ++m_lost_out;
      ++m_newly_lost;
    }
    return;
  }
}

// tcp_enter_recovery / tcp_init_cwnd_reduction.
void tcp_sender::enter_recovery() {
  ++m_stats.recoveries;
  m_high_seq = m_snd_nxt;
  m_cwnd_cnt = 0;
  m_prior_cwnd = m_cwnd;
  m_prr_delivered = 0;
  m_prr_out = 0;
  m_ssthresh = cc_ssthresh();
  m_tlp_high_seq_set = false;
  m_ca = ca_state::recovery;
}

// tcp_enter_loss (tcp_input.c, v6.6) on a retransmission timeout.
void tcp_sender::enter_loss(uint64_t now_ns) {
  if (m_ca == ca_state::open || m_ca == ca_state::disorder || m_high_seq <= m_snd_una ||
      (m_ca == ca_state::loss && m_retransmits == 0)) {
    m_prior_cwnd = m_cwnd;
    m_ssthresh = cc_ssthresh();
  }
  // tcp_timeout_mark_lost: everything not SACKed is lost, retransmissions included; with RACK
  // the head and what RACK finds overdue only (recently sent ones are not lost yet).
  m_reno_sacked = 0;
  for (seg& s : m_rtx) {
    if (s.sacked) continue;
    if (rack_on() && &s != &m_rtx.front() && !rack_timed_out(s, now_ns)) continue;
    if (s.retrans) s.retrans = false, --m_retrans_out;
    if (!s.lost) s.lost = true, ++m_lost_out;
  }
  m_cwnd_cnt = 0;
  set_cwnd(packets_in_flight() + 1, now_ns);
  m_high_seq = m_snd_nxt;
  m_ca = ca_state::loss;
  if (m_cfg.cc == tcp_cc::cubic) m_cubic = cubic_state{};  // cubictcp_state(TCP_CA_Loss): bictcp_reset
}

// tcp_cwnd_reduction (tcp_input.c, v6.6): Proportional Rate Reduction, RFC 6937.
void tcp_sender::cwnd_reduction(int newly_acked_sacked, bool una_adv) {
  if (newly_acked_sacked <= 0 || m_prior_cwnd == 0) return;
  const auto in_flight = static_cast<int64_t>(packets_in_flight());
  m_prr_delivered += static_cast<uint32_t>(newly_acked_sacked);
  const int64_t delta = static_cast<int64_t>(m_ssthresh) - in_flight;
  int64_t sndcnt;
  if (delta < 0) {
    const uint64_t dividend = uint64_t{m_ssthresh} * m_prr_delivered + m_prior_cwnd - 1;
    sndcnt = static_cast<int64_t>(dividend / m_prior_cwnd) - m_prr_out;
  } else {
    sndcnt = std::max<int64_t>(int64_t{m_prr_delivered} - m_prr_out, newly_acked_sacked);
    if (una_adv && m_newly_lost == 0) ++sndcnt;
    sndcnt = std::min(delta, sndcnt);
  }
  sndcnt = std::max<int64_t>(sndcnt, m_prr_out != 0 ? 0 : 1);
  set_cwnd(static_cast<uint32_t>(in_flight + sndcnt), m_now);
}
}  // namespace nicsim::tb::partner
