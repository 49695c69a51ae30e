// TCP input, the ACK/window side (net/ipv4/tcp_input.c, v6.6; the kernel keeps all of it in that
// one file, the model splits it): tcp_rcv_established with header prediction,
// tcp_validate_incoming, tcp_parse_options, tcp_ack (the receiver's part: snd_una and the window
// update), quick/delayed ACK decisions (tcp_event_data_recv, tcp_ack_snd_check), the receiver's
// RTT (tcp_rcv_rtt_measure), the receive window's growth (tcp_grow_window) and receive-buffer
// autotuning (tcp_rcv_space_adjust). The data side (tcp_data_queue, the out-of-order queue,
// SACK blocks, pruning) is in tcp_input_data.cpp.
// Left out: compressed SACK ACKs (tcp_sack_compress; every OFO arrival is ACKed at once), ECN,
// urgent data, FIN/close.
#include <algorithm>
#include <cstring>

#include "host/kernel/cpu.h"
#include "host/net/core/sock.h"
#include "host/net/ipv4/tcp.h"
#include "host/net/net_namespace.h"
#include "proto/frame.h"
#include "tlm/local_time.h"

namespace nicsim::host {

namespace {
bool before(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
bool after(uint32_t a, uint32_t b) { return before(b, a); }
constexpr unsigned TCP_MAX_QUICKACKS = 16;
constexpr int TCP_RMEM_TO_WIN_SCALE = 8;
uint32_t ato_min(const cpu& c) {
  return static_cast<uint32_t>(c.usecs_to_jiffies(40000));
}  // TCP_ATO_MIN, HZ/25
}  // namespace

// tcp_win_from_space / tcp_space_from_win (include/net/tcp.h, v6.6: tp->scaling_ratio), or the
// 6.1 rule with net.ipv4.tcp_adv_win_scale = 1 (space - space / 2) when the profile asks.
int tcp::tcp_win_from_space(const tcp_sock& sk, int64_t space) const {
  if (m_params.tcp_adv_win_scale_v6_1) return static_cast<int>(space - (space >> 1));
  return static_cast<int>((space * sk.scaling_ratio) >> TCP_RMEM_TO_WIN_SCALE);
}
int64_t tcp::tcp_space_from_win(const tcp_sock& sk, int64_t win) const {
  if (m_params.tcp_adv_win_scale_v6_1) return win << 1;
  return (win << TCP_RMEM_TO_WIN_SCALE) / std::max<int>(1, sk.scaling_ratio);
}
// tcp_space: the window the free receive memory is worth (backlog and queues subtracted).
int tcp::tcp_space(const tcp_sock& sk) const {
  return tcp_win_from_space(sk, static_cast<int64_t>(sk.sk_rcvbuf) - static_cast<int64_t>(sk.sk_backlog_len) -
                                    static_cast<int64_t>(sk.sk_rmem_alloc));
}
int tcp::tcp_full_space(const tcp_sock& sk) const {
  return tcp_win_from_space(sk, static_cast<int64_t>(sk.sk_rcvbuf));
}

// tcp_incr_quickack / tcp_enter_quickack_mode / tcp_in_quickack_mode (v6.6).
void tcp::tcp_incr_quickack(tcp_sock& sk, unsigned max_quickacks) {
  unsigned quickacks = sk.rcv_wnd / (2 * sk.icsk_ack.rcv_mss);
  if (quickacks == 0) quickacks = 2;
  quickacks = std::min(quickacks, max_quickacks);
  if (quickacks > sk.icsk_ack.quick) sk.icsk_ack.quick = static_cast<uint8_t>(quickacks);
}
void tcp::tcp_enter_quickack_mode(tcp_sock& sk, unsigned max_quickacks) {
  tcp_incr_quickack(sk, max_quickacks);
  sk.icsk_ack.pingpong = false;  // inet_csk_exit_pingpong_mode
  sk.icsk_ack.ato = ato_min(cpu::this_cpu());
}
bool tcp::tcp_in_quickack_mode(const tcp_sock& sk) const {
  return sk.icsk_ack.quick && !sk.icsk_ack.pingpong;
}

// tcp_fast_path_check → tcp_fast_path_on (v6.6): pred_flags = doff, ACK, the peer's raw window.
void tcp::tcp_fast_path_check(tcp_sock& sk) {
  if (sk.out_of_order_queue.empty() && sk.rcv_wnd && sk.sk_rmem_alloc < sk.sk_rcvbuf)
    sk.pred_flags = (uint32_t{sk.tcp_header_len} << 26) | (uint32_t{TCPHDR_ACK} << 16) |
                    ((sk.snd_wnd >> sk.rx_opt.snd_wscale) & 0xFFFF);
}

// tcp_measure_rcv_mss (v6.6): rcv_mss from full-sized segments, and scaling_ratio from the
// first segment of a new size (skb->len / skb->truesize).
void tcp::tcp_measure_rcv_mss(tcp_sock& sk, sk_buff* skb) {
  const uint32_t lss = sk.icsk_ack.last_seg_size;
  sk.icsk_ack.last_seg_size = 0;
  uint32_t len = skb->gso_size ? skb->gso_size : skb->len;
  if (len >= sk.icsk_ack.rcv_mss) {
    if (len != sk.icsk_ack.rcv_mss) {
      const uint64_t val = (uint64_t{skb->len} << TCP_RMEM_TO_WIN_SCALE) / std::max(1u, skb->truesize);
      sk.scaling_ratio = static_cast<uint8_t>(std::min<uint64_t>(val ? val : 1, 255));
    }
    sk.icsk_ack.rcv_mss = std::min<uint32_t>(len, sk.advmss);
  } else {
    len += sk.tcp_header_len;  // skb->data - skb_transport_header(skb): the pulled header
    const bool psh_or_fin =
        TCP_SKB_CB(skb).tcp_flags & (TCPHDR_PSH | TCPHDR_FIN | TCPHDR_URG | TCPHDR_RST | TCPHDR_SYN);
    if (len >= 536 + 20 || (len >= 88 + 20 && !psh_or_fin)) {
      len -= sk.tcp_header_len;
      sk.icsk_ack.last_seg_size = len;
      if (len == lss) {
        sk.icsk_ack.rcv_mss = len;
        return;
      }
    }
    if (sk.icsk_ack.pending & ICSK_ACK_PUSHED) sk.icsk_ack.pending |= ICSK_ACK_PUSHED2;
    sk.icsk_ack.pending |= ICSK_ACK_PUSHED;
  }
}

// tcp_rcv_rtt_update / tcp_rcv_rtt_measure / tcp_rcv_rtt_measure_ts (v6.6): the receiver's
// RTT estimate (rtt_us << 3), from a window's worth of data or from timestamps (ms ticks).
namespace {
void tcp_rcv_rtt_update(tcp_sock& tp, uint32_t sample, bool win_dep) {
  uint32_t new_sample = tp.rcv_rtt_est.rtt_us;
  int64_t m = sample;
  if (new_sample != 0) {
    if (!win_dep) {
      m -= (new_sample >> 3);
      new_sample = static_cast<uint32_t>(new_sample + m);
    } else {
      m <<= 3;
      if (m < new_sample) new_sample = static_cast<uint32_t>(m);
    }
  } else {
    new_sample = static_cast<uint32_t>(m << 3);
  }
  tp.rcv_rtt_est.rtt_us = new_sample;
}
}  // namespace

void tcp::tcp_rcv_rtt_measure(tcp_sock& tp) {
  const sc_core::sc_time now = tlm::local_now();
  if (tp.rcv_rtt_est.valid) {
    if (before(tp.rcv_nxt, tp.rcv_rtt_est.seq)) return;
    uint32_t delta_us = static_cast<uint32_t>((now - tp.rcv_rtt_est.time).to_seconds() * 1e6);
    if (!delta_us) delta_us = 1;
    tcp_rcv_rtt_update(tp, delta_us, true);
  }
  tp.rcv_rtt_est.seq = tp.rcv_nxt + tp.rcv_wnd;
  tp.rcv_rtt_est.time = now;
  tp.rcv_rtt_est.valid = true;
}

void tcp::tcp_rcv_rtt_measure_ts(tcp_sock& tp, sk_buff* skb) {
  if (!tp.rx_opt.saw_tstamp || tp.rx_opt.rcv_tsecr == tp.rcv_rtt_last_tsecr) return;
  tp.rcv_rtt_last_tsecr = tp.rx_opt.rcv_tsecr;
  const tcp_skb_cb& cb = TCP_SKB_CB(skb);
  if (cb.end_seq - cb.seq >= tp.icsk_ack.rcv_mss) {
    // tcp_rtt_tsopt_us: TCP_TS_HZ is 1000 in v6.6 (usec timestamps came in 6.7).
    uint32_t delta = tcp_time_stamp() - tp.rx_opt.rcv_tsecr;
    if (static_cast<int32_t>(delta) >= 0 && delta < 0x7FFFFFFFu / 1000) {
      if (!delta) delta = 1;
      tcp_rcv_rtt_update(tp, delta * 1000, false);
    }
  }
}

// tcp_rcv_space_adjust (v6.6): once per receiver RTT, grow sk_rcvbuf (up to tcp_rmem[2]) to
// what the application read in the last RTT, times 2 plus slow-start headroom.
void tcp::tcp_rcv_space_adjust(tcp_sock& tp) {
  cpu::this_cpu().charge(cost::tcp_rcv_space_adjust);
  const sc_core::sc_time now = tlm::local_now();
  const int64_t time = static_cast<int64_t>((now - tp.rcvq_space.time).to_seconds() * 1e6);
  if (time < (tp.rcv_rtt_est.rtt_us >> 3) || tp.rcv_rtt_est.rtt_us == 0) return;
  const uint32_t copied = tp.copied_seq - tp.rcvq_space.seq;
  if (copied > tp.rcvq_space.space) {
    if (m_params.tcp_moderate_rcvbuf) {
      uint64_t rcvwin = (uint64_t{copied} << 1) + 16u * tp.advmss;
      uint64_t grow = rcvwin * (copied - tp.rcvq_space.space) / std::max(1u, tp.rcvq_space.space);
      rcvwin += grow << 1;
      const uint64_t rcvbuf = std::min<uint64_t>(
          static_cast<uint64_t>(tcp_space_from_win(tp, static_cast<int64_t>(rcvwin))), m_params.tcp_rmem[2]);
      if (rcvbuf > tp.sk_rcvbuf) {
        tp.sk_rcvbuf = rcvbuf;
        tp.window_clamp = static_cast<uint32_t>(tcp_win_from_space(tp, static_cast<int64_t>(rcvbuf)));
      }
    }
    tp.rcvq_space.space = copied;
  }
  tp.rcvq_space.seq = tp.copied_seq;
  tp.rcvq_space.time = now;
}

// tcp_grow_window (v6.6): rcv_ssthresh grows by 2 * advmss when the segment's len/truesize
// is good enough for the buffer to hold a window's worth; then quick ack for one segment.
void tcp::tcp_grow_window(tcp_sock& tp, sk_buff* skb) {
  const int room =
      std::min<int>(static_cast<int>(tp.window_clamp), tcp_space(tp)) - static_cast<int>(tp.rcv_ssthresh);
  if (room <= 0) return;
  const unsigned truesize = skb->truesize;
  int incr = 0;
  if (tcp_win_from_space(tp, truesize) <= static_cast<int>(skb->len)) {
    incr = 2 * tp.advmss;
  } else {  // __tcp_grow_window
    int ts = tcp_win_from_space(tp, truesize) >> 1;
    int window = tcp_win_from_space(tp, static_cast<int64_t>(m_params.tcp_rmem[2])) >> 1;
    while (static_cast<int>(tp.rcv_ssthresh) <= window) {
      if (ts <= static_cast<int>(skb->len)) {
        incr = 2 * static_cast<int>(tp.icsk_ack.rcv_mss);
        break;
      }
      ts >>= 1;
      window >>= 1;
    }
  }
  if (incr) {
    incr = std::max<int>(incr, 2 * static_cast<int>(skb->len));
    tp.rcv_ssthresh += static_cast<uint32_t>(std::min(room, incr));
    tp.icsk_ack.quick |= 1;
  }
}

// tcp_event_data_recv (v6.6): schedule an ACK, measure rcv_mss and the RTT, and adapt the
// delayed-ACK timeout (ato) to the arrival gaps; the first data enters quick-ack mode.
void tcp::tcp_event_data_recv(tcp_sock& sk, sk_buff* skb) {
  cpu& c = cpu::this_cpu();
  sk.icsk_ack.pending |= ICSK_ACK_SCHED;  // inet_csk_schedule_ack
  tcp_measure_rcv_mss(sk, skb);
  tcp_rcv_rtt_measure(sk);
  const uint64_t now = c.jiffies();
  const uint32_t atomin = ato_min(c);
  if (!sk.icsk_ack.ato) {
    tcp_incr_quickack(sk, TCP_MAX_QUICKACKS);
    sk.icsk_ack.ato = atomin;
  } else {
    const int64_t m = static_cast<int64_t>(now - sk.icsk_ack.lrcvtime);
    if (m <= atomin / 2) {
      sk.icsk_ack.ato = (sk.icsk_ack.ato >> 1) + atomin / 2;
    } else if (m < sk.icsk_ack.ato) {
      sk.icsk_ack.ato = (sk.icsk_ack.ato >> 1) + static_cast<uint32_t>(m);
      if (sk.icsk_ack.ato > sk.icsk_rto) sk.icsk_ack.ato = sk.icsk_rto;
    } else if (m > sk.icsk_rto) {
      tcp_incr_quickack(sk, TCP_MAX_QUICKACKS);
    }
  }
  sk.icsk_ack.lrcvtime = now;
  if (skb->len >= 128) tcp_grow_window(sk, skb);
}

// The option walk of tcp_parse_options (net/ipv4/tcp_input.c, v6.6), for a SYN and for an
// established connection's segment alike.
tcp_parsed_options tcp_walk_options(const uint8_t* th, unsigned doff) {
  tcp_parsed_options o;
  for (unsigned i = 20; i < doff;) {
    const uint8_t kind = th[i];
    if (kind == 0) break;
    if (kind == 1) {
      ++i;
      continue;
    }
    if (i + 1 >= doff || th[i + 1] < 2 || i + th[i + 1] > doff) break;
    const uint8_t len = th[i + 1];
    if (kind == 2 && len == 4) o.mss = proto::get_be16(th + i + 2);
    if (kind == 3 && len == 3) o.wscale = std::min<int>(th[i + 2], 14);
    if (kind == 4 && len == 2) o.sack_ok = true;
    if (kind == 8 && len == 10) {
      o.saw_tstamp = true;
      o.tsval = proto::get_be32(th + i + 2);
      o.tsecr = proto::get_be32(th + i + 6);
    }
    i += len;
  }
  return o;
}

// Reads the options of an established connection's segment (tcp_parse_options, and its
// fast case tcp_parse_aligned_timestamp): here only the timestamp matters.
bool tcp::tcp_parse_options(tcp_sock& sk, const uint8_t* th, unsigned doff) {
  sk.rx_opt.saw_tstamp = false;
  if (doff == 32 && proto::get_be32(th + 20) == 0x0101080Au) {  // NOP NOP TS 10: aligned
    sk.rx_opt.saw_tstamp = true;
    sk.rx_opt.rcv_tsval = proto::get_be32(th + 24);
    sk.rx_opt.rcv_tsecr = proto::get_be32(th + 28);
    return true;
  }
  const tcp_parsed_options o = tcp_walk_options(th, doff);
  if (o.saw_tstamp && sk.rx_opt.tstamp_ok) {
    sk.rx_opt.saw_tstamp = true;
    sk.rx_opt.rcv_tsval = o.tsval;
    sk.rx_opt.rcv_tsecr = o.tsecr;
  }
  return sk.rx_opt.saw_tstamp;
}

// tcp_rcv_established (v6.6).
void tcp::tcp_rcv_established(tcp_sock& sk, sk_buff* skb) {
  cpu& c = cpu::this_cpu();
  waves::slice s(c.observer(), c.track(), "tcp_rcv_established");
  c.charge(cost::tcp_rcv_established);
  const uint8_t* th = skb->data_ptr();
  const unsigned len = skb->len;
  tcp_skb_cb& cb = TCP_SKB_CB(skb);
  sk.rx_opt.saw_tstamp = false;
  // Header prediction: doff, flags but PSH, and the window as predicted; in sequence; no
  // ACK of unsent data.
  const uint32_t flag_word = proto::get_be32(th + 12);
  constexpr uint32_t TCP_HP_BITS = ~(0x0F000000u | 0x00080000u);  // ~(TCP_RESERVED_BITS | TCP_FLAG_PSH)
  bool slow = true;
  if ((flag_word & TCP_HP_BITS) == sk.pred_flags && sk.pred_flags != 0 && cb.seq == sk.rcv_nxt &&
      !after(cb.ack_seq, sk.snd_nxt)) {
    const unsigned tcp_header_len = sk.tcp_header_len;
    slow = false;
    if (tcp_header_len == 32) {
      if (!tcp_parse_options(sk, th, 32) ||
          static_cast<int32_t>(sk.rx_opt.rcv_tsval - sk.rx_opt.ts_recent) < 0)
        slow = true;
    }
    if (!slow && len <= tcp_header_len) {
      if (len == tcp_header_len) {
        if (tcp_header_len == 32 && sk.rcv_nxt == sk.rcv_wup) {  // tcp_store_ts_recent
          sk.rx_opt.ts_recent = sk.rx_opt.rcv_tsval;
          sk.rx_opt.ts_recent_stamp = tlm::local_now();
        }
        tcp_ack(sk, skb, 0);
        sk.rcv_rtt_last_tsecr = sk.rx_opt.rcv_tsecr;
        tcp_consume(skb);
        return;
      }
      ++m_net.mib.tcp_statistics.InErrs;
      tcp_drop_reason(&sk, skb, skb_drop_reason::PKT_TOO_SMALL);
      return;
    }
    // The model's stand-in for "(int)skb->truesize > sk->sk_forward_alloc": the fast path
    // queues without a memory check, so a segment that would overrun sk_rcvbuf takes step5.
    if (!slow && sk.sk_rmem_alloc + skb->truesize <= sk.sk_rcvbuf) {
      if (tcp_header_len == 32 && sk.rcv_nxt == sk.rcv_wup) {
        sk.rx_opt.ts_recent = sk.rx_opt.rcv_tsval;
        sk.rx_opt.ts_recent_stamp = tlm::local_now();
      }
      tcp_rcv_rtt_measure_ts(sk, skb);
      ++m_net.mib.net_statistics.TCPHPHits;
      skb->pull(tcp_header_len);
      sk.bytes_received += skb->len;
      // tcp_event_data_recv looks at the segment after tcp_queue_rcv, which may have
      // coalesced (and, here, freed) it: it gets a copy of what it reads.
      sk_buff ev;
      ev.len = skb->len;
      ev.truesize = skb->truesize;
      ev.gso_size = skb->gso_size;
      TCP_SKB_CB(&ev) = cb;
      tcp_queue_rcv(sk, skb);
      tcp_event_data_recv(sk, &ev);
      // ack_seq == snd_una always here: the host sends no data (tcp_update_wl).
      tcp_ack_snd_check(sk, false);  // __tcp_ack_snd_check(sk, 0)
      tcp_data_ready(sk);
      return;
    }
    if (!slow) goto step5;
  }
  // slow_path:
  if (len < static_cast<unsigned>((th[12] >> 4) * 4u)) {
    ++m_net.mib.tcp_statistics.InCsumErrors;
    ++m_net.mib.tcp_statistics.InErrs;
    tcp_drop_reason(&sk, skb, skb_drop_reason::TCP_CSUM);
    return;
  }
  if (!(cb.tcp_flags & (TCPHDR_ACK | TCPHDR_RST | TCPHDR_SYN))) {
    tcp_drop_reason(&sk, skb, skb_drop_reason::TCP_FLAGS);
    return;
  }
  c.charge(cost::tcp_rcv_slow_path);
  if (!tcp_validate_incoming(sk, skb)) return;
step5 : {
  const int reason = tcp_ack(sk, skb, 1);
  if (reason > 0) {
    tcp_drop_reason(&sk, skb, static_cast<skb_drop_reason>(reason));
    return;
  }
  tcp_rcv_rtt_measure_ts(sk, skb);
  tcp_data_queue(sk, skb);
  tcp_ack_snd_check(sk, true);  // tcp_ack_snd_check: only when an ACK is scheduled
}
}

// tcp_validate_incoming (v6.6): PAWS, the sequence window, RST and SYN checks.
bool tcp::tcp_validate_incoming(tcp_sock& sk, sk_buff* skb) {
  const uint8_t* th = skb->data_ptr();
  tcp_skb_cb& cb = TCP_SKB_CB(skb);
  const unsigned doff = (th[12] >> 4) * 4u;
  if (doff > 20 && sk.rx_opt.tstamp_ok) tcp_parse_options(sk, th, doff);
  // tcp_paws_discard: ts_recent - tsval > TCP_PAWS_WINDOW (1), not an RST.
  if (sk.rx_opt.saw_tstamp && sk.rx_opt.ts_recent != 0 &&
      static_cast<int32_t>(sk.rx_opt.ts_recent - sk.rx_opt.rcv_tsval) > 1 && !(cb.tcp_flags & TCPHDR_RST)) {
    ++m_net.mib.net_statistics.PAWSEstabRejected;
    tcp_send_dupack(sk, skb);
    tcp_drop_reason(&sk, skb, skb_drop_reason::TCP_RFC7323_PAWS);
    return false;
  }
  // tcp_sequence (v6.6): wholly before rcv_wup is old, starting beyond the window invalid.
  const bool old = before(cb.end_seq, sk.rcv_wup);
  if (old || after(cb.seq, sk.rcv_nxt + tcp_receive_window(sk))) {
    if (!(cb.tcp_flags & TCPHDR_RST)) tcp_send_dupack(sk, skb);
    tcp_drop_reason(&sk, skb,
                    old ? skb_drop_reason::TCP_OLD_SEQUENCE : skb_drop_reason::TCP_INVALID_SEQUENCE);
    return false;
  }
  if (cb.tcp_flags & TCPHDR_RST) {  // tcp_reset (in window: the model accepts any in-window RST)
    if (sk.state == TCP_ESTABLISHED) --m_net.mib.tcp_statistics.CurrEstab;
    ++m_net.mib.tcp_statistics.EstabResets;
    sk.state = TCP_CLOSE;
    del_timer(sk.icsk_delack_timer);
    sock_def_readable(sk);
    tcp_drop_reason(&sk, skb, skb_drop_reason::TCP_RESET);
    return false;
  }
  if (cb.tcp_flags & TCPHDR_SYN) {  // syn_challenge: tcp_send_challenge_ack
    tcp_send_ack(sk);
    tcp_drop_reason(&sk, skb, skb_drop_reason::TCP_INVALID_SYN);
    return false;
  }
  return true;
}

// tcp_ack (v6.6), what a receiver that sends no data needs of it: reject ACKs of unsent data,
// update the peer's window (tcp_ack_update_window) and ts_recent (FLAG_UPDATE_TS_RECENT), and
// count TCPPureAcks / TCPHPAcks. Returns a drop reason (> 0) or 0.
int tcp::tcp_ack(tcp_sock& sk, sk_buff* skb, int slowpath) {
  cpu::this_cpu().charge(cost::tcp_ack);
  tcp_skb_cb& cb = TCP_SKB_CB(skb);
  const uint32_t ack = cb.ack_seq;
  if (before(ack, sk.snd_una)) return 0;  // old_ack
  if (after(ack, sk.snd_nxt)) return static_cast<int>(skb_drop_reason::TCP_ACK_UNSENT_DATA);
  if (slowpath && sk.rx_opt.saw_tstamp && !after(cb.seq, sk.rcv_wup)) {  // tcp_replace_ts_recent
    if (static_cast<int32_t>(sk.rx_opt.ts_recent - sk.rx_opt.rcv_tsval) <= 0) {
      sk.rx_opt.ts_recent = sk.rx_opt.rcv_tsval;
      sk.rx_opt.ts_recent_stamp = tlm::local_now();
    }
  }
  if (!slowpath && after(ack, sk.snd_una)) {
    ++m_net.mib.net_statistics.TCPHPAcks;
  } else {
    if (cb.seq == cb.end_seq) ++m_net.mib.net_statistics.TCPPureAcks;
    // tcp_ack_update_window: tcp_may_update_window
    const uint8_t* th = skb->data_ptr();
    const uint32_t nwin = static_cast<uint32_t>(proto::get_be16(th + 14)) << sk.rx_opt.snd_wscale;
    if (after(ack, sk.snd_una) || after(cb.seq, sk.snd_wl1) || (cb.seq == sk.snd_wl1 && nwin > sk.snd_wnd)) {
      sk.snd_wl1 = cb.seq;
      if (sk.snd_wnd != nwin) {
        sk.snd_wnd = nwin;
        sk.pred_flags = 0;
        tcp_fast_path_check(sk);
        sk.max_window = std::max(sk.max_window, nwin);
      }
    }
  }
  sk.snd_una = ack;
  return 0;
}

// tcp_ack_snd_check / __tcp_ack_snd_check (v6.6): ACK now when more than one full segment
// arrived unACKed and either SO_RCVLOWAT is not yet met or the window's right edge would
// advance (__tcp_select_window() >= rcv_wnd), in quick-ack mode, or when an ACK is owed at
// once (ICSK_ACK_NOW); with out-of-order data, at once too (the compressed-SACK timer of
// v6.6 is left out); else the delayed ACK.
void tcp::tcp_ack_snd_check(tcp_sock& sk, bool ofo_possible) {
  cpu& c = cpu::this_cpu();
  waves::slice s(c.observer(), c.track(), "tcp_ack_snd_check");
  c.charge(cost::tcp_ack_snd_check);
  if (ofo_possible && !(sk.icsk_ack.pending & ICSK_ACK_SCHED)) return;  // inet_csk_ack_scheduled
  if (((sk.rcv_nxt - sk.rcv_wup) > sk.icsk_ack.rcv_mss &&
       (sk.rcv_nxt - sk.copied_seq < sk.sk_rcvlowat || __tcp_select_window(sk) >= sk.rcv_wnd)) ||
      tcp_in_quickack_mode(sk) || (sk.icsk_ack.pending & ICSK_ACK_NOW)) {
    tcp_send_ack(sk);
    return;
  }
  if (!ofo_possible || sk.out_of_order_queue.empty()) {
    tcp_send_delayed_ack(sk);
    return;
  }
  tcp_send_ack(sk);
}

}  // namespace nicsim::host
