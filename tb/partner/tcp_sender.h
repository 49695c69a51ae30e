#pragma once
// The link partner's TCP sender: one connection's sending half, driven by events so that it
// can be tested without the system (a segment received, a timer due, the application wrote,
// "may I send now"). It keeps no clock of its own: every call carries the time (ns).
//
// What it follows (Linux v6.6, the partner's kernel; HZ = 1000 for its jiffies):
// - the active open: tcp_connect / tcp_rcv_synsent_state_process (net/ipv4/tcp_output.c,
//   tcp_input.c): a SYN with MSS, SACK-permitted, timestamps and window scale 7, retransmitted
//   after TCP_TIMEOUT_INIT (1 s) with backoff, at most tcp_syn_retries (6) times;
// - the send decision: tcp_write_xmit (cwnd test, tcp_snd_wnd_test, Nagle with Minshall's
//   variant), tcp_xmit_retransmit_queue (lost segments first);
// - ACK processing: tcp_ack, tcp_ack_update_window (tcp_may_update_window), tcp_sacktag_write_queue
//   (the SACK scoreboard), tcp_clean_rtx_queue (Karn-safe RTT samples from send times, or the
//   timestamp echo), tcp_rtt_estimator and tcp_set_rto (RTO = srtt + max(mdev, TCP_RTO_MIN 200 ms),
//   at most TCP_RTO_MAX 120 s);
// - loss detection (net.ipv4.tcp_recovery, config.recovery): with `rack` (v6.6's default,
//   tcp_recovery=1 with tcp_early_retrans=3, SACK connections) RACK-TLP as net/ipv4/tcp_recovery.c
//   and tcp_output.c have it (RFC 8985), in tb/partner/tcp_rack.cpp: per-segment transmit times,
//   tcp_rack_advance on every (S)ACKed segment, tcp_rack_detect_loss (a segment is lost when one
//   sent after it was delivered and RACK.rtt + reo_wnd has passed since it was sent: lost
//   retransmissions too, TCPLostRetransmit), the reorder window tcp_rack_reo_wnd (min_rtt / 4,
//   0 in Recovery or with tcp_reordering segments SACKed until reordering was seen), the
//   reorder timer (ICSK_TIME_REO_TIMEOUT, tcp_rack_reo_timeout), the tail loss probe
//   (tcp_schedule_loss_probe: PTO = 2 srtt + TCP_TIMEOUT_MIN, or + TCP_RTO_MIN with one
//   segment out, at most the RTO; tcp_send_loss_probe: new data, else the last segment again;
//   tcp_process_tlp_ack), and an RTO that marks lost only the head and what RACK finds
//   overdue (tcp_timeout_mark_lost). The RTO, the reorder timer and the loss probe share one
//   timer as in the kernel (icsk_pending); the zero-window probe has its own here.
//   With `dupack` (tcp_recovery=0, tcp_early_retrans=0) and for connections without SACK:
//   three duplicate ACKs (or, with SACK, a segment with three SACKed segments above it:
//   RFC 6675 IsLost) enter Recovery; NewReno partial ACKs retransmit the next hole
//   (tcp_newreno_mark_lost); with SACK only the holes are retransmitted; a lost
//   retransmission waits for the RTO.
//   Either way cwnd during recovery follows PRR (tcp_cwnd_reduction, RFC 6937); recovery ends at
//   high_seq with cwnd = ssthresh; RTO enters Loss (tcp_enter_loss: cwnd 1, what is lost
//   marked) with exponential backoff;
// - zero windows: the probe0 timer (tcp_send_probe0, tcp_write_wakeup, tcp_xmit_probe_skb);
// - congestion control: tcp_cong_control with CUBIC (net/ipv4/tcp_cubic.c) or Reno
//   (net/ipv4/tcp_cong.c), slow start from IW10 (TCP_INIT_CWND, RFC 6928).
// Not modelled: HyStart (CUBIC's hystart=1 in v6.6 leaves slow start early on delay
// increase; here slow start runs to the first loss), F-RTO and undo (so RACK's reorder window
// never grows: with no D-SACK, tcp_rack_update_reo_wnd leaves reo_wnd_steps at 1), D-SACK
// (tcp_process_tlp_ack's FLAG_DSACK_TLP never happens), tp->reordering's growth (the dupthresh
// and RACK's "tcp_reordering segments SACKed" test stay at 3; reordering seen is counted,
// TCPSACKReorder, and widens RACK's window as in the kernel), RTT samples from SACKed segments,
// slow start after idle, pacing (none: CUBIC without fq does not pace), TSO autosizing
// (segments are MSS-sized on the wire either way), FIN/close, PAWS.
#include <cstdint>
#include <deque>
#include <limits>

#include "proto/tcp.h"

namespace nicsim::tb::partner {

enum class tcp_cc { cubic, reno };
// net.ipv4.tcp_recovery: rack = 1 (RACK loss detection, with TLP as tcp_early_retrans=3);
// dupack = 0 (the duplicate-ACK threshold and RFC 6675 only, no TLP).
enum class tcp_recovery { rack, dupack };

inline constexpr uint64_t TCP_NS_PER_JIFFY = 1000000;  // the partner's HZ = 1000
inline constexpr uint64_t TCP_RTO_MIN_NS = 200000000;  // TCP_RTO_MIN (HZ / 5)
inline constexpr uint64_t TCP_RTO_MAX_NS = 120000000000ull;
inline constexpr uint64_t TCP_TIMEOUT_INIT_NS = 1000000000;      // 1 s
inline constexpr uint64_t TCP_TIMEOUT_FALLBACK_NS = 3000000000;  // RFC 6298 5.7
inline constexpr unsigned TCP_INIT_CWND = 10;
inline constexpr unsigned TCP_SYN_RETRIES = 6;  // net.ipv4.tcp_syn_retries
inline constexpr uint32_t TCP_INFINITE_SSTHRESH = 0x7fffffff;
inline constexpr unsigned TCP_MIN_MSS = 88;              // include/net/tcp.h
inline constexpr unsigned TCP_REORDERING = 3;            // net.ipv4.tcp_reordering: the dupthresh
inline constexpr uint64_t TCP_TIMEOUT_MIN_NS = 2000000;  // TCP_TIMEOUT_MIN (2 jiffies)
inline constexpr uint8_t TCP_PARTNER_WSCALE = 7;         // what the partner offers
inline constexpr uint16_t TCP_PARTNER_WINDOW = 64240;    // its SYN's window (44 x 1460, as Linux)

struct tcp_sender_config {
  uint32_t conn = 0;  // the stream index of proto/tcp_stream.h
  uint16_t src_port = 40000, dst_port = 9000;
  uint16_t mss = 1460;  // advertised in the SYN; the sender's own MSS clamp
  tcp_cc cc = tcp_cc::cubic;
  tcp_recovery recovery = tcp_recovery::rack;
  uint32_t iss = 0;        // initial send sequence number
  uint32_t ts_offset = 0;  // added to the ms clock for TSval (Linux's per-connection tsoffset)
};

// What the sender wants on the wire: a header, and payload_len bytes of the stream from
// stream_offset (tcp_stream_byte(conn, stream_offset + i)).
struct tcp_segment_out {
  proto::tcp_header hdr;
  uint64_t stream_offset = 0;
  uint32_t payload_len = 0;
  bool retransmission = false;
};

// A time-weighted mean and a maximum of a value that changes at given times.
class time_weighted {
 public:
  void set(uint64_t now_ns, double v);
  void stop(uint64_t now_ns);  // the value stops counting (the connection ended)
  double max() const { return m_max; }
  // Integral of the value over time (value x ns) and the time it covers, up to now_ns.
  double integral(uint64_t now_ns) const;
  uint64_t span(uint64_t now_ns) const;

 private:
  bool m_on = false;
  uint64_t m_since = 0, m_span = 0;
  double m_v = 0, m_integral = 0, m_max = 0;
};

struct tcp_sender_stats {
  uint64_t syn_sent = 0, syn_retransmits = 0;
  bool established = false, refused = false, timed_out = false, reset = false;
  uint64_t resets_received = 0;
  uint64_t segs_sent = 0;  // every segment, control and retransmissions included (OutSegs)
  uint64_t data_segs_sent = 0;
  uint64_t bytes_sent = 0;  // payload, retransmissions included
  uint64_t retrans_segs = 0, retrans_bytes = 0;
  uint64_t fast_retransmits = 0;     // retransmitted outside the Loss state (TCPFastRetrans)
  uint64_t recoveries = 0;           // entries into Recovery
  uint64_t rto_count = 0;            // retransmission timeouts with data outstanding
  uint64_t loss_probes = 0;          // tail loss probes sent (TCPLossProbes)
  uint64_t loss_probe_recovery = 0;  // a probe repaired a loss (TCPLossProbeRecovery)
  uint64_t lost_retransmit = 0;      // retransmissions found lost again (TCPLostRetransmit)
  uint64_t rack_lost = 0;            // segments RACK marked lost (no nstat counter of its own)
  uint64_t rack_reo_timeouts = 0;    // the RACK reorder timer fired
  uint64_t sack_reorder = 0;         // reordering seen (TCPSACKReorder; tp->reord_seen)
  uint64_t zero_window_probes = 0;
  uint64_t acks_received = 0, dup_acks = 0, old_acks = 0;
  uint64_t acks_unsent_data = 0;  // acknowledging data never sent: ignored (tcp_ack's -ACK_UNSENT_DATA)
  uint64_t sack_blocks_received = 0, sack_blocks_invalid = 0;
  uint64_t window_updates = 0;
  uint64_t rtt_samples = 0;
  uint64_t rx_data_ignored = 0;  // segments with payload or FIN from the host (nobody reads them)
};

class tcp_sender {
 public:
  enum class state { closed, syn_sent, established };
  enum class ca_state { open, disorder, recovery, loss };  // icsk_ca_state
  // Which of the kernel's three uses of the retransmit timer is pending (icsk_pending).
  enum class xmit_timer { retrans, reo_timeout, loss_probe };

  explicit tcp_sender(const tcp_sender_config& cfg);

  // tcp_connect: the SYN becomes due now.
  void open(uint64_t now_ns);
  // A segment from the host for this connection (ports already matched, checksum checked).
  void on_segment(const proto::tcp_header& h, size_t payload_len, uint64_t now_ns);
  // The application wrote bytes (tcp_sendmsg into an unbounded send buffer); unlimited:
  // it always has more (a bulk writer).
  void app_write(uint64_t bytes);
  void set_app_unlimited() { m_app_unlimited = true; }
  // When a timer is next due (ns), or UINT64_MAX; on_timer runs the ones due by now.
  uint64_t next_timer() const;
  void on_timer(uint64_t now_ns);
  // "May I send now": the next segment the sender would put on the wire now, taken as sent
  // at now_ns; false when nothing may go.
  bool next_segment(uint64_t now_ns, tcp_segment_out* out);

  state st() const { return m_state; }
  ca_state ca() const { return m_ca; }
  const tcp_sender_stats& stats() const { return m_stats; }
  const tcp_sender_config& config() const { return m_cfg; }
  uint32_t cwnd() const { return m_cwnd; }
  uint32_t ssthresh() const { return m_ssthresh; }
  uint32_t mss() const { return m_mss; }  // payload bytes of a full segment (mss_cache)
  uint64_t snd_wnd() const { return m_snd_wnd; }
  uint64_t snd_una() const { return m_snd_una; }  // stream offsets (0: the first data byte)
  uint64_t snd_nxt() const { return m_snd_nxt; }
  uint64_t bytes_in_flight() const;
  uint32_t packets_in_flight() const;  // tcp_packets_in_flight
  uint32_t packets_out() const { return static_cast<uint32_t>(m_rtx.size()); }
  uint64_t srtt_us() const { return m_srtt_us >> 3; }
  uint64_t rto_ns() const { return m_rto_ns; }
  unsigned backoff() const { return m_backoff; }
  xmit_timer pending() const { return m_pending; }
  // RACK's state, for tests: min_rtt (tcp_min_rtt, ~0 before a sample), RACK.rtt, the window.
  uint32_t min_rtt_us() const { return m_rtt_min[0].v; }
  uint32_t rack_rtt_us() const { return m_rack.rtt_us; }
  uint32_t rack_reo_wnd() const;  // tcp_rack_reo_wnd
  bool tlp_outstanding() const { return m_tlp_high_seq_set; }
  bool sack_ok() const { return m_sack_ok; }
  bool ts_ok() const { return m_ts_ok; }
  uint8_t snd_wscale() const { return m_snd_wscale; }
  uint32_t irs() const { return m_irs; }
  const time_weighted& cwnd_track() const { return m_cwnd_tw; }
  const time_weighted& rwnd_track() const { return m_rwnd_tw; }
  // CUBIC's state, for tests: W_max (last_max_cwnd), K (bic_K, in 1/1024 s), origin point.
  uint32_t cubic_last_max_cwnd() const { return m_cubic.last_max_cwnd; }
  uint32_t cubic_k() const { return m_cubic.bic_K; }
  uint32_t cubic_origin() const { return m_cubic.bic_origin_point; }
  uint32_t cubic_cnt() const { return m_cubic.cnt; }
  uint32_t cubic_delay_min() const { return m_cubic.delay_min; }
  // CUBIC's cube root (cubic_root in tcp_cubic.c), for tests.
  static uint32_t cubic_root(uint64_t a);

 private:
  struct seg {
    uint64_t start, end;  // stream offsets [start, end)
    uint64_t sent_ns;     // last (re)transmission
    bool ever_retrans = false;
    bool sacked = false, lost = false, retrans = false;  // retrans: a retransmission in flight
  };
  struct cubic_state {  // struct bictcp (tcp_cubic.c, v6.6), HyStart's fields left out
    uint32_t cnt = 0, last_max_cwnd = 0, last_cwnd = 0, last_time = 0, bic_origin_point = 0, bic_K = 0,
             delay_min = 0, epoch_start = 0, ack_cnt = 0, tcp_cwnd = 0;
  };

  uint32_t jiffies(uint64_t now_ns) const { return static_cast<uint32_t>(now_ns / TCP_NS_PER_JIFFY); }
  uint32_t tsval(uint64_t now_ns) const { return static_cast<uint32_t>(now_ns / 1000000) + m_cfg.ts_offset; }
  uint32_t wire_seq(uint64_t off) const { return m_cfg.iss + 1 + static_cast<uint32_t>(off); }
  int64_t unwrap(uint32_t seq) const;  // the stream offset of a sequence number near snd_una
  void fill_header(tcp_segment_out* out, uint64_t now_ns, uint8_t flags) const;
  void synsent(const proto::tcp_header& h, uint64_t now_ns);
  void established_ack(const proto::tcp_header& h, uint64_t now_ns);
  int sacktag(const proto::tcp_header& h, uint64_t ack, uint64_t prior_fack, uint64_t now_ns);
  void update_lost_marks();
  void mark_head_lost();
  void enter_recovery();
  void enter_loss(uint64_t now_ns);
  void rtt_estimator(int64_t m_us);
  void set_rto();
  void rearm_rto(uint64_t now_ns);
  bool rack_on() const { return m_cfg.recovery == tcp_recovery::rack && m_sack_ok; }
  // tb/partner/tcp_rack.cpp: RACK-TLP (net/ipv4/tcp_recovery.c, tcp_output.c, v6.6).
  void update_rtt_min(int64_t rtt_us, uint64_t now_ns);
  void rack_advance(bool retrans, uint64_t end, uint64_t xmit_ns, uint64_t now_ns);
  uint32_t rack_detect_loss(uint64_t now_ns);
  bool rack_mark_lost(uint64_t now_ns);
  void rack_reo_timeout(uint64_t now_ns);
  void mark_skb_lost(seg& s);
  bool rack_fastretrans_alert(bool not_dup, bool data_sacked, uint64_t now_ns);
  void try_keep_open();
  void process_tlp_ack(uint64_t ack, bool una_adv, bool not_dup, bool data_sacked, uint64_t now_ns);
  bool schedule_loss_probe(uint64_t now_ns, bool advancing_rto);
  void loss_probe_timer(uint64_t now_ns);
  bool send_loss_probe(uint64_t now_ns, tcp_segment_out* out);
  int64_t rto_delta_us(uint64_t now_ns) const;
  bool rack_timed_out(const seg& s, uint64_t now_ns) const;  // tcp_rack_skb_timeout(skb, 0) <= 0
  uint64_t highest_sack_seq() const;                         // tcp_highest_sack_seq
  void cwnd_validate(bool cwnd_limited);
  bool is_cwnd_limited() const;
  void cong_avoid(uint32_t acked, uint64_t now_ns);
  uint32_t cc_ssthresh();
  void cubic_update(uint32_t acked, uint64_t now_ns);
  void cwnd_reduction(int newly_acked_sacked, bool una_advanced);
  void set_cwnd(uint32_t c, uint64_t now_ns);
  uint64_t app_end() const;  // the stream offset the application has written up to
  bool send_new_data(uint64_t now_ns, tcp_segment_out* out, bool loss_probe = false);
  void transmit_new_data(uint64_t now_ns, tcp_segment_out* out, uint32_t len, uint8_t flags);
  void count_sent(const tcp_segment_out& s);

  tcp_sender_config m_cfg;
  state m_state = state::closed;
  ca_state m_ca = ca_state::open;
  tcp_sender_stats m_stats;
  uint64_t m_now = 0;

  // Control segments owed: a SYN, the handshake's ACK, a reset for a bad SYN-ACK, a probe.
  bool m_syn_due = false, m_ack_due = false, m_probe_due = false;
  bool m_rst_due = false;
  uint32_t m_rst_seq = 0;

  // The peer's side.
  uint32_t m_irs = 0;
  uint32_t m_ts_recent = 0;
  bool m_sack_ok = false, m_ts_ok = false, m_wscale_ok = false;
  uint8_t m_snd_wscale = 0;
  uint32_t m_mss = 536;  // mss_cache: payload of a full segment
  uint64_t m_snd_wnd = 0, m_max_window = 0;
  uint32_t m_snd_wl1 = 0;  // the peer's sequence number that last updated the window

  // The stream.
  uint64_t m_app_written = 0;
  bool m_app_unlimited = false;
  uint64_t m_snd_una = 0, m_snd_nxt = 0, m_snd_sml = 0;
  std::deque<seg> m_rtx;  // the retransmit queue: sent and not cumulatively acked
  uint32_t m_sacked_out = 0, m_lost_out = 0, m_retrans_out = 0;
  uint32_t m_newly_lost = 0;   // marked lost while processing this ACK
  uint32_t m_reno_sacked = 0;  // without SACK: duplicate ACKs counted as SACKed (tcp_add_reno_sack)
  uint64_t m_high_seq = 0;
  uint64_t m_syn_sent_ns = 0;

  // Congestion control.
  uint32_t m_cwnd = TCP_INIT_CWND, m_ssthresh = TCP_INFINITE_SSTHRESH, m_cwnd_cnt = 0;
  uint32_t m_prior_cwnd = 0, m_prr_delivered = 0, m_prr_out = 0;
  bool m_is_cwnd_limited = false;
  uint32_t m_max_packets_out = 0;
  uint64_t m_cwnd_usage_seq = 0;
  uint64_t m_lsndtime_ns = 0;
  cubic_state m_cubic;

  // RTT and timers.
  uint64_t m_srtt_us = 0, m_mdev_us = 0, m_mdev_max_us = 0, m_rttvar_us = 0;
  uint64_t m_rtt_seq = 0;
  uint64_t m_rto_ns = TCP_TIMEOUT_INIT_NS;
  unsigned m_backoff = 0, m_retransmits = 0;
  uint64_t m_rto_at = UINT64_MAX;              // ICSK_TIME_RETRANS
  uint64_t m_probe_at = UINT64_MAX;            // ICSK_TIME_PROBE0
  xmit_timer m_pending = xmit_timer::retrans;  // what m_rto_at is for

  // RACK (struct tcp_rack, include/linux/tcp.h, v6.6): the most recently sent of the delivered
  // segments (its send time in us and its end), the RTT it had, whether it moved since loss
  // marking last ran; reo_wnd_steps stays 1 (no D-SACK). The windowed min RTT (tp->rtt_min,
  // lib/minmax.c over net.ipv4.tcp_min_rtt_wlen = 300 s).
  struct rack_state {
    uint64_t mstamp_us = 0, end = 0;
    uint32_t rtt_us = 0;
    bool advanced = false;
  } m_rack;
  static constexpr uint32_t RACK_REO_WND_STEPS = 1;
  struct minmax_sample {
    uint32_t t, v;
  };
  minmax_sample m_rtt_min[3] = {{0, ~0u}, {0, ~0u}, {0, ~0u}};
  // TLP: a probe is due (the timer fired; it goes out at the next "may I send"), the end of
  // the stream when it went (tlp_high_seq), whether it was a retransmission (tlp_retrans).
  bool m_tlp_due = false, m_tlp_high_seq_set = false, m_tlp_retrans = false;
  uint64_t m_tlp_high_seq = 0;
  unsigned m_probes_out = 0;

  time_weighted m_cwnd_tw, m_rwnd_tw;
};

}  // namespace nicsim::tb::partner
