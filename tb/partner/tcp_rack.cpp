// The partner's RACK-TLP loss detection (tb/partner/tcp_sender.h): RACK as net/ipv4/tcp_recovery.c
// has it, the tail loss probe of net/ipv4/tcp_output.c, and their parts of tcp_ack and
// tcp_fastretrans_alert (net/ipv4/tcp_input.c), Linux v6.6, RFC 8985. Times: the kernel keeps
// transmit stamps in us (tcp_clock_us); so does this, from the ns every call carries. Timers
// are in whole jiffies (HZ = 1000) as the kernel's are.
#include <algorithm>

#include "tb/partner/tcp_sender.h"

namespace nicsim::tb::partner {

namespace {
constexpr uint64_t MS = TCP_NS_PER_JIFFY;
uint64_t usecs_to_jiffies(uint64_t us) { return (us * 1000 + TCP_NS_PER_JIFFY - 1) / TCP_NS_PER_JIFFY; }
// tcp_skb_sent_after (include/net/tcp.h): later in time, or at the same time further on.
bool sent_after(uint64_t t1, uint64_t t2, uint64_t end1, uint64_t end2) {
  return t1 > t2 || (t1 == t2 && end1 > end2);
}
constexpr uint32_t TCP_MIN_RTT_WLEN_J = 300 * 1000;  // net.ipv4.tcp_min_rtt_wlen (300 s) * HZ
}  // namespace

// tcp_update_rtt_min (tcp_input.c): minmax_running_min (lib/minmax.c) over tcp_min_rtt_wlen; a
// sample of 0 counts as one jiffy.
void tcp_sender::update_rtt_min(int64_t rtt_us, uint64_t now_ns) {
  auto& m = m_rtt_min;
  const uint32_t win = TCP_MIN_RTT_WLEN_J;
  const minmax_sample val{jiffies(now_ns), rtt_us > 0 ? static_cast<uint32_t>(rtt_us) : 1000u};
  if (val.v <= m[0].v || val.t - m[0].t > win) {  // a new minimum, or nothing left in the window
    m[0] = m[1] = m[2] = val;
    return;
  }
  if (val.v <= m[1].v)
    m[2] = m[1] = val;
  else if (val.v <= m[2].v)
    m[2] = val;
  // minmax_subwin_update
  const uint32_t dt = val.t - m[0].t;
  if (dt > win) {
    m[0] = m[1];
    m[1] = m[2];
    m[2] = val;
    if (val.t - m[0].t > win) {
      m[0] = m[1];
      m[1] = m[2];
      m[2] = val;
    }
  } else if (m[1].t == m[0].t && dt > win / 4) {
    m[2] = m[1] = val;
  } else if (m[2].t == m[1].t && dt > win / 2) {
    m[2] = val;
  }
}

// tcp_rack_advance (tcp_recovery.c, v6.6): a delivered segment; RACK remembers the most
// recently sent one. A retransmission delivered sooner than min_rtt after it went may be the
// original's delivery: not taken.
void tcp_sender::rack_advance(bool retrans, uint64_t end, uint64_t xmit_ns, uint64_t now_ns) {
  const uint64_t xmit_us = xmit_ns / 1000;
  const auto rtt_us = static_cast<uint32_t>(now_ns / 1000 - xmit_us);
  if (rtt_us < m_rtt_min[0].v && retrans) return;
  m_rack.advanced = true;
  m_rack.rtt_us = rtt_us;
  if (sent_after(xmit_us, m_rack.mstamp_us, end, m_rack.end)) {
    m_rack.mstamp_us = xmit_us;
    m_rack.end = end;
  }
}

// tcp_rack_reo_wnd (tcp_recovery.c, v6.6): until reordering is seen, none in Recovery or Loss
// or once tcp_reordering segments are SACKed (the dupthresh still counts); otherwise min_rtt / 4
// times reo_wnd_steps, at most srtt.
uint32_t tcp_sender::rack_reo_wnd() const {
  if (m_stats.sack_reorder == 0) {
    if (m_ca == ca_state::recovery || m_ca == ca_state::loss) return 0;
    if (m_sacked_out >= TCP_REORDERING) return 0;
  }
  return static_cast<uint32_t>(
      std::min<uint64_t>(uint64_t{m_rtt_min[0].v >> 2} * RACK_REO_WND_STEPS, m_srtt_us >> 3));
}

// tcp_mark_skb_lost (tcp_input.c, v6.6): a retransmission lost again is counted
// (TCPLostRetransmit) and may go once more.
void tcp_sender::mark_skb_lost(seg& s) {
  if (s.sacked) return;
  if (s.lost) {
    if (s.retrans) {
      s.retrans = false;
      --m_retrans_out;
      ++m_stats.lost_retransmit;
      ++m_newly_lost;
    }
  } else {
    s.lost = true;
    ++m_lost_out;
    ++m_newly_lost;
  }
}

// tcp_rack_detect_loss (tcp_recovery.c, v6.6): every segment sent before RACK's (not SACKed,
// not waiting lost for its retransmission) is lost once RACK.rtt + reo_wnd has passed since it
// went; returns the longest wait left of the others (us), 0 if none. The kernel walks its
// time-sorted list and stops at the first segment sent after RACK's; walking the queue in
// sequence order and skipping those marks the same segments.
uint32_t tcp_sender::rack_detect_loss(uint64_t now_ns) {
  const uint64_t now_us = now_ns / 1000;
  const int64_t reo_wnd = rack_reo_wnd();
  uint32_t reo_timeout = 0;
  for (seg& s : m_rtx) {
    if (s.sacked || (s.lost && !s.retrans)) continue;
    const uint64_t sent_us = s.sent_ns / 1000;
    if (!sent_after(m_rack.mstamp_us, sent_us, m_rack.end, s.end)) continue;
    // tcp_rack_skb_timeout
    const int64_t remaining = int64_t{m_rack.rtt_us} + reo_wnd - static_cast<int64_t>(now_us - sent_us);
    if (remaining <= 0) {
      mark_skb_lost(s);
      ++m_stats.rack_lost;
    } else {
      reo_timeout = std::max(reo_timeout, static_cast<uint32_t>(remaining));
    }
  }
  return reo_timeout;
}

// tcp_rack_skb_timeout(skb, 0) <= 0: tcp_timeout_mark_lost's test for all but the head.
bool tcp_sender::rack_timed_out(const seg& s, uint64_t now_ns) const {
  return int64_t{m_rack.rtt_us} - static_cast<int64_t>(now_ns / 1000 - s.sent_ns / 1000) <= 0;
}

// tcp_rack_mark_lost (tcp_recovery.c, v6.6): when RACK moved; what must still wait arms the
// reorder timer, usecs_to_jiffies(wait) + TCP_TIMEOUT_MIN, at most the RTO
// (inet_csk_reset_xmit_timer's max_when), in place of the RTO. True when it armed it.
bool tcp_sender::rack_mark_lost(uint64_t now_ns) {
  if (!m_rack.advanced) return false;
  m_rack.advanced = false;
  const uint32_t timeout = rack_detect_loss(now_ns);
  if (timeout == 0) return false;
  const uint64_t j =
      std::min(usecs_to_jiffies(timeout) + TCP_TIMEOUT_MIN_NS / MS, m_rto_ns / TCP_NS_PER_JIFFY);
  m_pending = xmit_timer::reo_timeout;
  m_rto_at = now_ns + j * MS;
  return true;
}

// tcp_rack_reo_timeout (tcp_recovery.c, v6.6): the reorder timer fired: mark what is overdue
// now, enter Recovery if that lost something (one PRR step), retransmit (next_segment does),
// and the RTO takes the timer back for what is left of the head's.
void tcp_sender::rack_reo_timeout(uint64_t now_ns) {
  ++m_stats.rack_reo_timeouts;
  const uint32_t prior_inflight = packets_in_flight();
  m_newly_lost = 0;
  rack_detect_loss(now_ns);
  if (prior_inflight != packets_in_flight() && m_ca != ca_state::recovery) {
    enter_recovery();
    cwnd_reduction(1, false);
  }
  rearm_rto(now_ns);  // icsk_pending is still ICSK_TIME_REO_TIMEOUT
}

// tcp_highest_sack_seq (include/net/tcp.h): where the highest SACKed segment ends; snd_una
// with nothing SACKed.
uint64_t tcp_sender::highest_sack_seq() const {
  if (m_sacked_out == 0) return m_snd_una;
  for (auto it = m_rtx.rbegin(); it != m_rtx.rend(); ++it)
    if (it->sacked) return it->end;
  return m_snd_una;
}

// tcp_try_keep_open (tcp_input.c, v6.6): Disorder while anything is SACKed, lost or was
// retransmitted, else Open.
void tcp_sender::try_keep_open() {
  const bool any_retrans = m_retrans_out > 0 || (!m_rtx.empty() && m_rtx.front().ever_retrans);
  const ca_state st = m_sacked_out + m_lost_out > 0 || any_retrans ? ca_state::disorder : ca_state::open;
  if (m_ca != st) {
    m_ca = st;
    m_high_seq = m_snd_nxt;
  }
}

// tcp_fastretrans_alert (tcp_input.c, v6.6) with RACK, for a SACK connection, without undo,
// ECN or MTU probing: called for a dubious ACK (tcp_ack_is_dubious: a duplicate, one that
// SACKs, or any ACK outside Open). Losses are what RACK marks (tcp_identify_packet_loss);
// Recovery starts when something is lost (tcp_time_to_recover), from Loss too when a
// retransmission was lost again. True when RACK armed the reorder timer.
bool tcp_sender::rack_fastretrans_alert(bool not_dup, bool data_sacked, uint64_t now_ns) {
  if (not_dup && !data_sacked && m_ca == ca_state::open) return false;
  bool armed = false, lost_retrans = false;
  auto identify_packet_loss = [&] {
    if (m_rtx.empty()) return;
    const uint32_t prior_retrans = m_retrans_out;
    if (rack_mark_lost(now_ns)) armed = true;
    if (prior_retrans > m_retrans_out) lost_retrans = true;  // FLAG_LOST_RETRANS
  };
  if (m_ca == ca_state::recovery && m_snd_una >= m_high_seq) {
    // tcp_try_undo_recovery (nothing to undo: Open) and tcp_end_cwnd_reduction.
    m_ca = ca_state::open;
    m_reno_sacked = 0;
    if (m_ssthresh < TCP_INFINITE_SSTHRESH) set_cwnd(m_ssthresh, now_ns);
    m_cwnd_cnt = 0;
  }
  switch (m_ca) {
    case ca_state::recovery:
      identify_packet_loss();
      return armed;
    case ca_state::loss:
      if (m_snd_una >= m_high_seq) m_ca = ca_state::open;  // tcp_process_loss: recovered
      identify_packet_loss();
      if (!(m_ca == ca_state::open || lost_retrans)) return armed;
      [[fallthrough]];
    case ca_state::open:
    case ca_state::disorder:
      identify_packet_loss();
      if (m_lost_out == 0) {
        try_keep_open();  // tcp_try_to_open
        return armed;
      }
      enter_recovery();
      return armed;
  }
  return armed;
}

// tcp_rto_delta_us (include/net/tcp.h): what is left of the head's RTO (us; may be negative).
int64_t tcp_sender::rto_delta_us(uint64_t now_ns) const {
  const seg& head = m_rtx.front();
  return static_cast<int64_t>(head.sent_ns / 1000 + m_rto_ns / 1000) - static_cast<int64_t>(now_ns / 1000);
}

// tcp_schedule_loss_probe (tcp_output.c, v6.6), tcp_early_retrans = 3: in Open (or CWR) with
// SACK and data out, the probe timeout is 2 srtt + TCP_TIMEOUT_MIN (2 ms), or + TCP_RTO_MIN
// with one segment out (its ACK may be delayed), 1 s without an RTT; at most the RTO (from now
// when an ACK advanced it, else what is left of the head's). It takes the timer.
bool tcp_sender::schedule_loss_probe(uint64_t now_ns, bool advancing_rto) {
  if (!rack_on() || m_rtx.empty() || m_ca != ca_state::open) return false;
  uint64_t j;
  if (m_srtt_us != 0) {
    j = usecs_to_jiffies(m_srtt_us >> 2);  // srtt_us is 8 srtt: >> 2 is 2 srtt
    j += (packets_out() == 1 ? TCP_RTO_MIN_NS : TCP_TIMEOUT_MIN_NS) / MS;
  } else {
    j = TCP_TIMEOUT_INIT_NS / MS;
  }
  const int64_t rto_delta = advancing_rto ? static_cast<int64_t>(m_rto_ns / 1000) : rto_delta_us(now_ns);
  if (rto_delta > 0) j = std::min(j, usecs_to_jiffies(static_cast<uint64_t>(rto_delta)));
  m_pending = xmit_timer::loss_probe;
  m_rto_at = now_ns + j * MS;
  return true;
}

// The loss probe timer fired (tcp_write_timer_handler, ICSK_TIME_LOSS_PROBE). With a probe
// outstanding no other goes (the rest of the head's RTO instead); else the probe is due and
// goes at the next "may I send" (send_loss_probe), the timer meanwhile the rest of the RTO.
void tcp_sender::loss_probe_timer(uint64_t now_ns) {
  if (!m_tlp_high_seq_set) m_tlp_due = true;
  rearm_rto(now_ns);
}

// tcp_send_loss_probe (tcp_output.c, v6.6): a new segment if the receive window takes it
// (tcp_write_xmit with push_one = 2: cwnd and Nagle do not apply), else the last segment again
// (__tcp_retransmit_skb: not marked as a retransmission in flight, so retrans_out does not count
// it); tlp_high_seq = snd_nxt; TCPLossProbes; the RTO restarts from now.
bool tcp_sender::send_loss_probe(uint64_t now_ns, tcp_segment_out* out) {
  if (m_state != state::established || m_rtx.empty() || m_tlp_high_seq_set) return false;
  m_tlp_retrans = false;
  const uint64_t end = app_end();
  bool sent = false;
  if (end > m_snd_nxt && m_snd_nxt + std::min<uint64_t>(m_mss, end - m_snd_nxt) <= m_snd_una + m_snd_wnd) {
    if (!send_new_data(now_ns, out, true)) return false;
    sent = true;
  }
  if (!sent) {
    seg& s = m_rtx.back();
    const uint64_t start = std::max(s.start, m_snd_una);
    if (start != m_snd_una && start >= m_snd_una + m_snd_wnd) return false;  // outside the window
    s.ever_retrans = true;
    s.sent_ns = now_ns;
    fill_header(out, now_ns, proto::TCP_ACK);
    out->hdr.seq = wire_seq(start);
    out->stream_offset = start;
    out->payload_len = static_cast<uint32_t>(s.end - start);
    out->retransmission = true;
    count_sent(*out);
    m_tlp_retrans = true;
  }
  m_tlp_high_seq = m_snd_nxt;
  m_tlp_high_seq_set = true;
  ++m_stats.loss_probes;
  m_pending = xmit_timer::retrans;  // icsk_pending = 0: tcp_rearm_rto from now
  rearm_rto(now_ns);
  return true;
}

// tcp_process_tlp_ack (tcp_input.c, v6.6): an ACK at or beyond tlp_high_seq ends the episode.
// A probe of new data needs nothing more; an ACK beyond a retransmitted probe means it repaired
// a loss: a cwnd reduction (tcp_init_cwnd_reduction, CWR, tcp_end_cwnd_reduction: cwnd =
// ssthresh at once) and back to Open or Disorder (tcp_try_keep_open), TCPLossProbeRecovery; a
// pure duplicate ACK means both copies arrived (no D-SACK here to say so otherwise).
void tcp_sender::process_tlp_ack(uint64_t ack, bool una_adv, bool not_dup, bool data_sacked,
                                 uint64_t now_ns) {
  if (!m_tlp_high_seq_set || ack < m_tlp_high_seq) return;
  if (!m_tlp_retrans) {
    m_tlp_high_seq_set = false;
  } else if (ack > m_tlp_high_seq) {
    m_high_seq = m_snd_nxt;
    m_tlp_high_seq_set = false;
    m_cwnd_cnt = 0;
    m_prior_cwnd = m_cwnd;
    m_prr_delivered = m_prr_out = 0;
    m_ssthresh = cc_ssthresh();
    if (m_ssthresh < TCP_INFINITE_SSTHRESH) set_cwnd(m_ssthresh, now_ns);
    try_keep_open();
    ++m_stats.loss_probe_recovery;
  } else if (!(una_adv || not_dup || data_sacked)) {
    m_tlp_high_seq_set = false;
  }
}

}  // namespace nicsim::tb::partner
