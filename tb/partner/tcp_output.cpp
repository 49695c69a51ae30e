// The partner's segment output (tb/partner/tcp_sender.h), from net/ipv4/tcp_output.c, Linux
// v6.6: the header with its options (tcp_syn_options, tcp_established_options), the order
// next_segment sends in (a reset, the SYN, the handshake's ACK, a zero-window probe
// (tcp_write_wakeup), a loss probe, tcp_xmit_retransmit_queue, then new data) and new data
// (tcp_write_xmit for one segment, tcp_event_new_data_sent).
#include <algorithm>

#include "tb/partner/tcp_sender.h"

namespace nicsim::tb::partner {

namespace {
bool after32(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }
}  // namespace

void tcp_sender::fill_header(tcp_segment_out* out, uint64_t now_ns, uint8_t flags) const {
  proto::tcp_header& h = out->hdr;
  h = proto::tcp_header{};
  h.src_port = m_cfg.src_port;
  h.dst_port = m_cfg.dst_port;
  h.flags = flags;
  if (flags & proto::TCP_SYN) {
    // tcp_syn_options: MSS, SACK-permitted, timestamps, window scale; the window unscaled.
    h.seq = m_cfg.iss;
    h.window = TCP_PARTNER_WINDOW;
    h.opt.has_mss = true;
    h.opt.mss = m_cfg.mss;
    h.opt.sack_permitted = true;
    h.opt.has_timestamp = true;
    h.opt.tsval = tsval(now_ns);
    h.opt.has_wscale = true;
    h.opt.wscale = TCP_PARTNER_WSCALE;
    return;
  }
  h.ack = m_irs + 1;  // nothing from the host is taken in: rcv_nxt stays just past its SYN
  h.window = static_cast<uint16_t>(TCP_PARTNER_WINDOW >> (m_wscale_ok ? TCP_PARTNER_WSCALE : 0));
  if (m_ts_ok) {
    h.opt.has_timestamp = true;
    h.opt.tsval = tsval(now_ns);
    h.opt.tsecr = m_ts_recent;
  }
}

void tcp_sender::count_sent(const tcp_segment_out& s) {
  ++m_stats.segs_sent;
  if (s.payload_len != 0) {
    ++m_stats.data_segs_sent;
    m_stats.bytes_sent += s.payload_len;
  }
  if (s.retransmission) {
    ++m_stats.retrans_segs;
    m_stats.retrans_bytes += s.payload_len;
  }
}

bool tcp_sender::next_segment(uint64_t now_ns, tcp_segment_out* out) {
  m_now = now_ns;
  *out = tcp_segment_out{};
  if (m_rst_due) {
    m_rst_due = false;
    fill_header(out, now_ns, proto::TCP_RST);
    out->hdr = proto::tcp_header{};
    out->hdr.src_port = m_cfg.src_port;
    out->hdr.dst_port = m_cfg.dst_port;
    out->hdr.seq = m_rst_seq;
    out->hdr.flags = proto::TCP_RST;
    count_sent(*out);
    return true;
  }
  if (m_state == state::syn_sent && m_syn_due) {
    m_syn_due = false;
    fill_header(out, now_ns, proto::TCP_SYN);
    out->retransmission = m_stats.syn_sent != 0;
    if (m_stats.syn_sent == 0) {
      m_syn_sent_ns = now_ns;
      m_rto_at = now_ns + m_rto_ns;
    }
    ++m_stats.syn_sent;
    ++m_stats.segs_sent;
    return true;
  }
  if (m_state != state::established) return false;
  if (m_ack_due) {  // the handshake's ACK (tcp_send_ack)
    m_ack_due = false;
    fill_header(out, now_ns, proto::TCP_ACK);
    out->hdr.seq = wire_seq(m_snd_nxt);
    count_sent(*out);
    return true;
  }
  if (m_probe_due) {
    m_probe_due = false;
    ++m_stats.zero_window_probes;
    // tcp_write_wakeup: what of the head fits the window goes as data; with a zero window a
    // segment with an old sequence number, no data, that the receiver must answer
    // (tcp_xmit_probe_skb).
    const uint64_t wnd_end = m_snd_una + m_snd_wnd;
    if (wnd_end > m_snd_nxt) {
      const auto len =
          static_cast<uint32_t>(std::min<uint64_t>({wnd_end - m_snd_nxt, m_mss, app_end() - m_snd_nxt}));
      transmit_new_data(now_ns, out, len, proto::TCP_ACK | proto::TCP_PSH);
      if (m_rto_at == UINT64_MAX) rearm_rto(now_ns);
      m_probe_at = UINT64_MAX;
      m_probes_out = 0;
    } else {
      fill_header(out, now_ns, proto::TCP_ACK);
      out->hdr.seq = wire_seq(m_snd_una) - 1;
    }
    count_sent(*out);
    return true;
  }
  if (m_tlp_due) {  // the loss probe timer fired: tcp_send_loss_probe
    m_tlp_due = false;
    if (send_loss_probe(now_ns, out)) return true;
  }
  // tcp_xmit_retransmit_queue: lost segments first, while the window has room.
  if (m_lost_out > m_retrans_out) {
    for (seg& s : m_rtx) {
      if (!s.lost || s.retrans || s.sacked) continue;
      if (packets_in_flight() >= m_cwnd) break;
      const uint64_t start = std::max(s.start, m_snd_una);  // tcp_trim_head of what was acked
      if (start != m_snd_una && start >= m_snd_una + m_snd_wnd) break;
      s.retrans = true;
      s.ever_retrans = true;
      s.sent_ns = now_ns;
      ++m_retrans_out;
      fill_header(out, now_ns, proto::TCP_ACK);
      out->hdr.seq = wire_seq(start);
      out->stream_offset = start;
      out->payload_len = static_cast<uint32_t>(s.end - start);
      out->retransmission = true;
      if (m_ca != ca_state::loss) ++m_stats.fast_retransmits;
      if (m_ca == ca_state::recovery) ++m_prr_out;
      if (rack_on() && &s == &m_rtx.front() && m_pending != xmit_timer::reo_timeout) {
        // tcp_xmit_retransmit_queue (v6.6): retransmitting the head restarts the RTO, unless
        // the reorder timer is pending.
        m_pending = xmit_timer::retrans;
        m_rto_at = now_ns + m_rto_ns;
      } else if (m_rto_at == UINT64_MAX) {
        rearm_rto(now_ns);
      }
      count_sent(*out);
      return true;
    }
  }
  return send_new_data(now_ns, out);
}

// The part of sending new data tcp_write_xmit and tcp_write_wakeup share (tcp_output.c, v6.6):
// the segment at snd_nxt goes out (tcp_transmit_skb), onto the retransmission queue with
// snd_nxt past it (tcp_event_new_data_sent), a short one remembered for Nagle
// (tcp_minshall_update), the send time noted (tcp_event_data_sent: lsndtime). The timers and
// the congestion bookkeeping are each caller's.
void tcp_sender::transmit_new_data(uint64_t now_ns, tcp_segment_out* out, uint32_t len, uint8_t flags) {
  fill_header(out, now_ns, flags);
  out->hdr.seq = wire_seq(m_snd_nxt);
  out->stream_offset = m_snd_nxt;
  out->payload_len = len;
  m_rtx.push_back({m_snd_nxt, m_snd_nxt + len, now_ns});
  m_snd_nxt += len;
  if (len < m_mss) m_snd_sml = m_snd_nxt;
  m_lsndtime_ns = now_ns;
}

// tcp_write_xmit (tcp_output.c, v6.6) for one segment: the cwnd test, the receive window
// test (tcp_snd_wnd_test), Nagle (tcp_nagle_test with Minshall's check); then, with RACK-TLP,
// tcp_schedule_loss_probe. A loss probe (push_one = 2) ignores cwnd and Nagle and schedules
// nothing.
bool tcp_sender::send_new_data(uint64_t now_ns, tcp_segment_out* out, bool loss_probe) {
  const uint64_t end = app_end();
  if (end <= m_snd_nxt) return false;
  const auto len = static_cast<uint32_t>(std::min<uint64_t>(m_mss, end - m_snd_nxt));
  if (!loss_probe && packets_in_flight() >= m_cwnd) {
    cwnd_validate(true);
    return false;
  }
  if (m_snd_nxt + len > m_snd_una + m_snd_wnd) {
    // tcp_check_probe_timer: nothing in flight to bring an ACK, so probe.
    if (m_rtx.empty() && m_probe_at == UINT64_MAX && m_rto_at == UINT64_MAX)
      m_probe_at = now_ns + std::max(m_rto_ns, TCP_RTO_MIN_NS);
    return false;
  }
  if (!loss_probe && len < m_mss && !m_rtx.empty() && m_snd_sml > m_snd_una && m_snd_sml <= m_snd_nxt)
    return false;
  const bool idle = m_rtx.empty();
  if (idle && m_cfg.cc == tcp_cc::cubic && m_cubic.epoch_start != 0) {
    // cubictcp_cwnd_event(CA_EVENT_TX_START): an application-limited pause moves the epoch.
    const uint32_t now = jiffies(now_ns);
    const auto delta = static_cast<int32_t>(now - jiffies(m_lsndtime_ns));
    if (delta > 0) {
      m_cubic.epoch_start += static_cast<uint32_t>(delta);
      if (after32(m_cubic.epoch_start, now)) m_cubic.epoch_start = now;
    }
  }
  transmit_new_data(now_ns, out, len, proto::TCP_ACK | (m_snd_nxt + len == end ? proto::TCP_PSH : 0));
  m_probe_at = UINT64_MAX;
  // tcp_event_new_data_sent: the RTO starts with the first segment out, or replaces a pending
  // loss probe.
  if (idle || m_pending == xmit_timer::loss_probe) rearm_rto(now_ns);
  if (m_ca == ca_state::recovery) ++m_prr_out;
  cwnd_validate(packets_in_flight() >= m_cwnd);
  count_sent(*out);
  if (!loss_probe && rack_on()) schedule_loss_probe(now_ns, false);
  return true;
}
}  // namespace nicsim::tb::partner
