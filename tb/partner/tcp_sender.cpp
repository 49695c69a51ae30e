// The partner's TCP sender (tb/partner/tcp_sender.h): the connection's state, the handshake
// (tcp_rcv_synsent_state_process), tcp_ack for a sender that receives no data, the RTT and RTO
// (tcp_rtt_estimator, tcp_set_rto, tcp_rearm_rto) and the timers, Linux v6.6. The rest is split
// as the kernel's parts are: congestion control in tcp_cong.cpp, the SACK scoreboard and
// recovery in tcp_sack_recovery.cpp, RACK-TLP in tcp_rack.cpp, segment output in tcp_output.cpp.
#include "tb/partner/tcp_sender.h"

#include <algorithm>

namespace nicsim::tb::partner {

// ------------------------------------------------------------------ time_weighted

void time_weighted::set(uint64_t now_ns, double v) {
  if (m_on) {
    m_integral += m_v * static_cast<double>(now_ns - m_since);
    m_span += now_ns - m_since;
  }
  m_on = true;
  m_since = now_ns;
  m_v = v;
  m_max = std::max(m_max, v);
}

void time_weighted::stop(uint64_t now_ns) {
  if (!m_on) return;
  set(now_ns, m_v);
  m_on = false;
}

double time_weighted::integral(uint64_t now_ns) const {
  return m_integral + (m_on && now_ns > m_since ? m_v * static_cast<double>(now_ns - m_since) : 0.0);
}

uint64_t time_weighted::span(uint64_t now_ns) const {
  return m_span + (m_on && now_ns > m_since ? now_ns - m_since : 0);
}

// ------------------------------------------------------------------ tcp_sender

namespace {
bool after32(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }
}  // namespace

tcp_sender::tcp_sender(const tcp_sender_config& cfg) : m_cfg(cfg) {}

void tcp_sender::open(uint64_t now_ns) {
  m_now = now_ns;
  m_state = state::syn_sent;
  m_syn_due = true;
  m_rto_ns = TCP_TIMEOUT_INIT_NS;
}

void tcp_sender::app_write(uint64_t bytes) { m_app_written += bytes; }

uint64_t tcp_sender::app_end() const {
  return m_app_unlimited ? std::numeric_limits<uint64_t>::max() / 2 : m_app_written;
}

int64_t tcp_sender::unwrap(uint32_t seq) const {
  return static_cast<int64_t>(m_snd_una) + static_cast<int32_t>(seq - wire_seq(m_snd_una));
}

uint32_t tcp_sender::packets_in_flight() const {
  const uint32_t left = m_sacked_out + m_reno_sacked + m_lost_out;
  const auto out = static_cast<uint32_t>(m_rtx.size());
  return (out > left ? out - left : 0) + m_retrans_out;
}

uint64_t tcp_sender::bytes_in_flight() const {
  uint64_t n = 0;
  for (const seg& s : m_rtx)
    if ((!s.sacked && !s.lost) || s.retrans) n += s.end - std::max(s.start, m_snd_una);
  return n;
}

uint64_t tcp_sender::next_timer() const { return std::min(m_rto_at, m_probe_at); }

// ------------------------------------------------------------------ receiving

void tcp_sender::on_segment(const proto::tcp_header& h, size_t payload_len, uint64_t now_ns) {
  m_now = now_ns;
  if (m_state == state::syn_sent) {
    synsent(h, now_ns);
    return;
  }
  if (m_state != state::established) return;
  // tcp_validate_incoming (tcp_input.c): a reset whose sequence number is exactly the next
  // expected one ends the connection (RFC 5961 3.2; others would get a challenge ACK).
  if (h.flags & proto::TCP_RST) {
    ++m_stats.resets_received;
    if (h.seq == m_irs + 1) {
      m_state = state::closed;
      m_stats.reset = true;
      m_rto_at = m_probe_at = UINT64_MAX;
      m_cwnd_tw.stop(now_ns);
      m_rwnd_tw.stop(now_ns);
    }
    return;
  }
  // A SYN-ACK again: our handshake ACK was lost. tcp_validate_incoming answers a SYN in
  // ESTABLISHED with an ACK (tcp_send_challenge_ack).
  if (h.flags & proto::TCP_SYN) {
    m_ack_due = true;
    return;
  }
  if (payload_len != 0 || (h.flags & proto::TCP_FIN)) ++m_stats.rx_data_ignored;
  if (!(h.flags & proto::TCP_ACK)) return;
  if (m_ts_ok && h.opt.has_timestamp) m_ts_recent = h.opt.tsval;
  established_ack(h, now_ns);
}

// tcp_rcv_synsent_state_process (tcp_input.c, v6.6).
void tcp_sender::synsent(const proto::tcp_header& h, uint64_t now_ns) {
  const bool has_ack = h.flags & proto::TCP_ACK;
  if (has_ack && h.ack != m_cfg.iss + 1) {
    // An unacceptable ACK: reset it (RFC 9293 3.10.7.3), unless it is a reset itself.
    if (!(h.flags & proto::TCP_RST)) {
      m_rst_due = true;
      m_rst_seq = h.ack;
    }
    return;
  }
  if (h.flags & proto::TCP_RST) {
    if (has_ack) {  // connection refused (ECONNREFUSED)
      ++m_stats.resets_received;
      m_stats.refused = true;
      m_state = state::closed;
      m_rto_at = UINT64_MAX;
    }
    return;
  }
  if (!(h.flags & proto::TCP_SYN) || !has_ack) return;  // a simultaneous open is not modelled
  const proto::tcp_options& o = h.opt;
  m_irs = h.seq;
  m_sack_ok = o.sack_permitted;
  m_ts_ok = o.has_timestamp;
  m_wscale_ok = o.has_wscale;
  m_snd_wscale = m_wscale_ok ? std::min(o.wscale, proto::TCP_MAX_WSCALE) : 0;
  if (m_ts_ok) m_ts_recent = o.tsval;
  // tcp_sync_mss / tcp_current_mss: the smaller of the two MSS options (536 when the peer
  // gave none, RFC 9293 3.7.1), less the timestamp option every segment then carries.
  const uint32_t clamp = std::min<uint32_t>(m_cfg.mss, o.has_mss ? o.mss : 536);
  m_mss = std::max<uint32_t>(clamp - (m_ts_ok ? proto::TCPOLEN_TSTAMP_ALIGNED : 0), 1);
  // tcp_ack_update_window: the window of a SYN is never scaled (RFC 7323 2.2).
  m_snd_wnd = h.window;
  m_max_window = m_snd_wnd;
  m_snd_wl1 = h.seq;
  // The SYN is acknowledged: an RTT sample from it unless it was retransmitted (Karn), else
  // from the timestamp echo (tcp_ack_update_rtt); none at all: the 3 s fallback of RFC 6298 5.7
  // (tcp_init_metrics).
  if (m_stats.syn_retransmits == 0) {
    rtt_estimator(static_cast<int64_t>((now_ns - m_syn_sent_ns) / 1000));
  } else if (m_ts_ok && o.tsecr != 0) {
    const uint32_t delta = tsval(now_ns) - o.tsecr;
    rtt_estimator(static_cast<int64_t>(std::max<uint32_t>(delta, 1)) * 1000);
  }
  if (m_srtt_us != 0) {
    set_rto();
    if (m_stats.syn_retransmits == 0)
      update_rtt_min(static_cast<int64_t>((now_ns - m_syn_sent_ns) / 1000), now_ns);
  } else {
    m_rto_ns = TCP_TIMEOUT_FALLBACK_NS;
  }
  m_backoff = 0;
  m_rto_at = UINT64_MAX;
  m_state = state::established;
  m_stats.established = true;
  m_ack_due = true;
  // tcp_init_transfer: IW10, or 1 when the SYN went out more than twice.
  m_cwnd = m_stats.syn_retransmits > 1 ? 1 : TCP_INIT_CWND;
  m_cwnd_tw.set(now_ns, m_cwnd);
  m_rwnd_tw.set(now_ns, static_cast<double>(m_snd_wnd));
  m_lsndtime_ns = now_ns;
}

// tcp_ack (tcp_input.c, v6.6), for an ESTABLISHED sender that receives no data.
void tcp_sender::established_ack(const proto::tcp_header& h, uint64_t now_ns) {
  ++m_stats.acks_received;
  const int64_t ack_signed = unwrap(h.ack);
  if (ack_signed > static_cast<int64_t>(m_snd_nxt)) {  // -SKB_DROP_REASON_TCP_ACK_UNSENT_DATA
    ++m_stats.acks_unsent_data;
    return;
  }
  if (ack_signed < static_cast<int64_t>(m_snd_una)) {  // old_ack: only its SACK blocks count
    ++m_stats.old_acks;
    if (m_sack_ok && h.opt.sack_count != 0) {
      const int newly = sacktag(h, m_snd_una, rack_on() ? highest_sack_seq() : 0, now_ns);
      if (rack_on()) {
        m_newly_lost = 0;
        rack_fastretrans_alert(false, newly > 0, now_ns);  // old_ack: tcp_fastretrans_alert
      } else {
        update_lost_marks();
      }
    }
    return;
  }
  const auto ack = static_cast<uint64_t>(ack_signed);
  const uint32_t prior_packets = packets_out();
  const bool una_adv = ack > m_snd_una;
  m_newly_lost = 0;

  // tcp_ack_update_window / tcp_may_update_window.
  bool win_update = false;
  const uint64_t nwin = uint64_t{h.window} << m_snd_wscale;
  if (una_adv || after32(h.seq, m_snd_wl1) || (h.seq == m_snd_wl1 && (nwin > m_snd_wnd || nwin == 0))) {
    m_snd_wl1 = h.seq;
    if (m_snd_wnd != nwin) {
      win_update = true;
      ++m_stats.window_updates;
      m_snd_wnd = nwin;
      m_rwnd_tw.set(now_ns, static_cast<double>(nwin));
    }
    m_max_window = std::max(m_max_window, nwin);
  }
  // RFC 5681 2: a duplicate ACK acknowledges nothing new, carries no data, leaves the window
  // as it was, while data is outstanding (Linux: no FLAG_NOT_DUP).
  const bool dupack = !una_adv && !win_update && prior_packets > 0;
  if (dupack) ++m_stats.dup_acks;

  const uint64_t prior_fack = rack_on() ? highest_sack_seq() : 0;
  const int newly_sacked = m_sack_ok ? sacktag(h, ack, prior_fack, now_ns) : 0;

  // tcp_clean_rtx_queue: segments acked whole leave; the RTT sample is the oldest one's,
  // only if no retransmitted segment is among them (Karn).
  uint32_t acked = 0, acked_not_sacked = 0;
  uint64_t first_ackt = 0, last_ackt = 0;
  bool retrans_acked = false, reordered = false;
  while (!m_rtx.empty() && m_rtx.front().end <= ack) {
    const seg& s = m_rtx.front();
    // tcp_clean_rtx_queue with SACK: a segment delivered now advances RACK unless the ACK
    // echoes a timestamp older than its retransmission (tcp_skb_spurious_retrans: the
    // original arrived); one never retransmitted below the highest SACKed came late.
    if (m_sack_ok && !s.sacked) {
      const bool retrans = s.ever_retrans || s.retrans;
      const bool spurious = retrans && m_ts_ok && h.opt.has_timestamp && h.opt.tsecr != 0 &&
                            after32(tsval(s.sent_ns), h.opt.tsecr);
      if (!spurious) rack_advance(retrans, s.end, s.sent_ns, now_ns);
      if (!retrans && s.start < prior_fack) reordered = true;
    }
    if (s.ever_retrans) {
      retrans_acked = true;
    } else if (!s.sacked) {
      last_ackt = s.sent_ns;
      if (first_ackt == 0) first_ackt = s.sent_ns + 1;  // +1: a send at time 0 is still a time
    }
    if (s.sacked)
      --m_sacked_out;
    else
      ++acked_not_sacked;
    if (s.lost) --m_lost_out;
    if (s.retrans) --m_retrans_out;
    ++acked;
    m_rtx.pop_front();
  }
  if (una_adv) m_snd_una = ack;
  if (reordered) ++m_stats.sack_reorder;

  // The newly delivered packets (tcp_newly_delivered): without SACK, duplicate ACKs stand
  // for SACKed packets (tcp_add_reno_sack, tcp_remove_reno_sacks, tcp_limit_reno_sacked).
  int delivered = static_cast<int>(acked_not_sacked) + newly_sacked;
  if (!m_sack_ok) {
    delivered = 0;
    if (una_adv && acked > 0) {
      delivered += static_cast<int>(std::max<int64_t>(int64_t{acked} - m_reno_sacked, 1));
      m_reno_sacked = acked - 1 >= m_reno_sacked ? 0 : m_reno_sacked - (acked - 1);
    }
    if (dupack) {
      const uint32_t prior = m_reno_sacked;
      ++m_reno_sacked;
      const uint32_t holes = std::min<uint32_t>(std::max<uint32_t>(m_lost_out, 1), packets_out());
      if (m_reno_sacked + holes > packets_out())
        m_reno_sacked = packets_out() > holes ? packets_out() - holes : 0;
      delivered += static_cast<int>(m_reno_sacked - std::min(prior, m_reno_sacked));
    }
  }

  // tcp_ack_update_rtt.
  int64_t rtt_us = -1;
  if (first_ackt != 0 && !retrans_acked) {
    rtt_us = static_cast<int64_t>((now_ns - (first_ackt - 1)) / 1000);
  } else if (m_ts_ok && h.opt.has_timestamp && h.opt.tsecr != 0 && acked > 0) {
    const uint32_t delta = std::max<uint32_t>(tsval(now_ns) - h.opt.tsecr, 1);  // tcp_rtt_tsopt_us
    rtt_us = int64_t{delta} * 1000;
    last_ackt = 0;
  }
  if (rtt_us >= 0) {
    ++m_stats.rtt_samples;
    rtt_estimator(rtt_us);
    set_rto();
    m_backoff = 0;
    // cubictcp_acked: the minimum delay, from the newest segment's sample (ca_rtt_us).
    const int64_t ca_rtt = last_ackt != 0 ? static_cast<int64_t>((now_ns - last_ackt) / 1000) : rtt_us;
    update_rtt_min(ca_rtt, now_ns);  // tcp_update_rtt_min
    if (m_cfg.cc == tcp_cc::cubic &&
        !(m_cubic.epoch_start != 0 && static_cast<int32_t>(jiffies(now_ns) - m_cubic.epoch_start) < 1000)) {
      const auto delay = static_cast<uint32_t>(std::max<int64_t>(ca_rtt, 1));
      if (m_cubic.delay_min == 0 || m_cubic.delay_min > delay) m_cubic.delay_min = delay;
    }
  }
  if (una_adv) m_retransmits = 0;

  // tcp_process_tlp_ack, then tcp_fastretrans_alert: with RACK (tcp_rack.cpp), or reduced to
  // the dupthresh rules (no undo).
  bool set_xmit_timer = acked > 0;  // FLAG_SET_XMIT_TIMER
  if (rack_on()) {
    process_tlp_ack(ack, una_adv, !dupack, newly_sacked > 0, now_ns);
    if (rack_fastretrans_alert(!dupack, newly_sacked > 0, now_ns)) set_xmit_timer = false;
  } else
    switch (m_ca) {
      case ca_state::recovery:
        if (m_snd_una >= m_high_seq) {  // the whole window acked: tcp_end_cwnd_reduction
          m_ca = ca_state::open;
          m_reno_sacked = 0;
          if (m_ssthresh < TCP_INFINITE_SSTHRESH) set_cwnd(m_ssthresh, now_ns);
          m_cwnd_cnt = 0;
          break;
        }
        if (m_sack_ok) {
          update_lost_marks();
        } else if (una_adv) {
          mark_head_lost();  // tcp_newreno_mark_lost: a partial ACK, the next hole is lost
        }
        break;
      case ca_state::loss:
        if (m_snd_una >= m_high_seq) {
          m_ca = ca_state::open;
          m_reno_sacked = 0;
        } else if (m_sack_ok) {
          update_lost_marks();
        }
        break;
      case ca_state::open:
      case ca_state::disorder:
        if (m_sack_ok) {
          update_lost_marks();
          if (m_lost_out > 0 || m_sacked_out >= TCP_REORDERING) {
            enter_recovery();
            if (m_lost_out == 0) mark_head_lost();
          } else {
            m_ca = m_sacked_out > 0 ? ca_state::disorder : ca_state::open;
          }
        } else if (m_reno_sacked >= TCP_REORDERING) {
          enter_recovery();
          mark_head_lost();
        } else {
          m_ca = m_reno_sacked > 0 ? ca_state::disorder : ca_state::open;
        }
        break;
    }

  // tcp_cong_control: PRR while in Recovery, else the congestion avoidance of the module,
  // on ACKs that deliver new data (tcp_may_raise_cwnd).
  if (m_ca == ca_state::recovery) {
    cwnd_reduction(delivered, una_adv);
  } else if (una_adv && delivered > 0) {
    cong_avoid(static_cast<uint32_t>(delivered), now_ns);
  }

  // tcp_set_xmit_timer when data was acked; the probe timer stops once the head fits the
  // window again (tcp_ack_probe).
  // With RACK-TLP: tcp_set_xmit_timer, a loss probe if one may go, else the RTO; not when the
  // reorder timer was just armed.
  if (rack_on()) {
    if (set_xmit_timer && !schedule_loss_probe(now_ns, true)) rearm_rto(now_ns);
  } else if (una_adv) {
    rearm_rto(now_ns);
  }
  if (m_probe_at != UINT64_MAX &&
      (packets_out() > 0 ||
       m_snd_nxt + std::min<uint64_t>(m_mss, app_end() - m_snd_nxt) <= m_snd_una + m_snd_wnd)) {
    m_probe_at = UINT64_MAX;
    m_probes_out = 0;
    m_backoff = 0;
  }
}

// tcp_rtt_estimator (tcp_input.c, v6.6): srtt in 1/8 us, mdev in 1/4 us, rttvar at least
// TCP_RTO_MIN, updated once per window of data.
void tcp_sender::rtt_estimator(int64_t mrtt_us) {
  int64_t m = mrtt_us;
  auto srtt = static_cast<int64_t>(m_srtt_us);
  const auto rto_min_us = static_cast<int64_t>(TCP_RTO_MIN_NS / 1000);
  if (srtt != 0) {
    m -= srtt >> 3;
    srtt += m;
    auto mdev = static_cast<int64_t>(m_mdev_us);
    if (m < 0) {
      m = -m;
      m -= mdev >> 2;
      if (m > 0) m >>= 3;
    } else {
      m -= mdev >> 2;
    }
    mdev += m;
    m_mdev_us = static_cast<uint64_t>(std::max<int64_t>(mdev, 0));
    if (m_mdev_us > m_mdev_max_us) {
      m_mdev_max_us = m_mdev_us;
      if (m_mdev_max_us > m_rttvar_us) m_rttvar_us = m_mdev_max_us;
    }
    if (m_snd_una > m_rtt_seq) {
      if (m_mdev_max_us < m_rttvar_us) m_rttvar_us -= (m_rttvar_us - m_mdev_max_us) >> 2;
      m_rtt_seq = m_snd_nxt;
      m_mdev_max_us = static_cast<uint64_t>(rto_min_us);
    }
  } else {
    srtt = m << 3;
    m_mdev_us = static_cast<uint64_t>(m << 1);
    m_rttvar_us = std::max(m_mdev_us, static_cast<uint64_t>(rto_min_us));
    m_mdev_max_us = m_rttvar_us;
    m_rtt_seq = m_snd_nxt;
  }
  m_srtt_us = static_cast<uint64_t>(std::max<int64_t>(srtt, 1));
}

// tcp_set_rto / __tcp_set_rto / tcp_bound_rto: srtt + rttvar, in whole jiffies, at most
// TCP_RTO_MAX.
void tcp_sender::set_rto() {
  const uint64_t us = (m_srtt_us >> 3) + m_rttvar_us;
  const uint64_t jiffies_up = (us * 1000 + TCP_NS_PER_JIFFY - 1) / TCP_NS_PER_JIFFY;  // usecs_to_jiffies
  m_rto_ns = std::min(jiffies_up * TCP_NS_PER_JIFFY, TCP_RTO_MAX_NS);
}

// tcp_rearm_rto (tcp_input.c, v6.6): the RTO from now; in place of a pending reorder timer or
// loss probe, what is left of the head's RTO (tcp_rto_delta_us), in whole jiffies.
void tcp_sender::rearm_rto(uint64_t now_ns) {
  if (m_rtx.empty()) {
    m_rto_at = UINT64_MAX;
    m_pending = xmit_timer::retrans;
    return;
  }
  uint64_t rto = m_rto_ns;
  if (m_pending != xmit_timer::retrans) {
    const auto us = static_cast<uint64_t>(std::max<int64_t>(rto_delta_us(now_ns), 1));
    rto = (us * 1000 + TCP_NS_PER_JIFFY - 1) / TCP_NS_PER_JIFFY * TCP_NS_PER_JIFFY;  // usecs_to_jiffies
  }
  m_pending = xmit_timer::retrans;
  m_rto_at = now_ns + rto;
}

// ------------------------------------------------------------------ timers

void tcp_sender::on_timer(uint64_t now_ns) {
  m_now = now_ns;
  if (m_rto_at <= now_ns) {
    m_rto_at = UINT64_MAX;
    if (m_state == state::syn_sent) {
      // tcp_retransmit_timer / tcp_write_timeout for a SYN: at most tcp_syn_retries.
      if (m_stats.syn_retransmits >= TCP_SYN_RETRIES) {
        m_state = state::closed;
        m_stats.timed_out = true;
        return;
      }
      ++m_stats.syn_retransmits;
      m_syn_due = true;
      ++m_backoff;
      m_rto_ns = std::min(m_rto_ns * 2, TCP_RTO_MAX_NS);
      m_rto_at = now_ns + m_rto_ns;
    } else if (m_state == state::established && !m_rtx.empty() && m_pending == xmit_timer::reo_timeout) {
      rack_reo_timeout(now_ns);  // tcp_write_timer_handler: ICSK_TIME_REO_TIMEOUT
    } else if (m_state == state::established && !m_rtx.empty() && m_pending == xmit_timer::loss_probe) {
      loss_probe_timer(now_ns);  // ICSK_TIME_LOSS_PROBE
    } else if (m_state == state::established && !m_rtx.empty()) {
      // tcp_retransmit_timer: Loss, the head goes again, the RTO doubles; a loss probe
      // outstanding is forgotten (tlp_high_seq = 0).
      m_tlp_high_seq_set = false;
      m_pending = xmit_timer::retrans;
      ++m_stats.rto_count;
      enter_loss(now_ns);
      ++m_backoff;
      ++m_retransmits;
      m_rto_ns = std::min(m_rto_ns * 2, TCP_RTO_MAX_NS);
      m_rto_at = now_ns + m_rto_ns;
    }
  }
  if (m_probe_at <= now_ns) {
    m_probe_at = UINT64_MAX;
    // tcp_probe_timer / tcp_send_probe0.
    if (m_state == state::established && m_rtx.empty() && app_end() > m_snd_nxt) {
      m_probe_due = true;
      ++m_probes_out;
      if (m_backoff < 15) ++m_backoff;                           // net.ipv4.tcp_retries2
      const uint64_t base = std::max(m_rto_ns, TCP_RTO_MIN_NS);  // tcp_probe0_base
      m_probe_at = now_ns + std::min(base << std::min(m_backoff, 20u), TCP_RTO_MAX_NS);
    } else {
      m_probes_out = 0;
    }
  }
}

}  // namespace nicsim::tb::partner
