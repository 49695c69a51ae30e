// TCP output, the parts a receiver uses (net/ipv4/tcp_output.c, tcp_timer.c, v6.6): the window
// it advertises (__tcp_select_window, tcp_select_window), ACKs (tcp_send_ack → __tcp_transmit_skb
// → ip_queue_xmit) with timestamps and SACK blocks, the delayed ACK (tcp_send_delayed_ack,
// tcp_delack_timer), the SYN-ACK (tcp_v4_send_synack → ip_build_and_send_pkt) and resets.
#include <algorithm>
#include <cstring>

#include "host/kernel/cpu.h"
#include "host/net/core/sock.h"
#include "host/net/ipv4/tcp.h"
#include "host/net/net_namespace.h"
#include "proto/checksum.h"
#include "proto/frame.h"
#include "tlm/local_time.h"

namespace nicsim::host {

namespace {
constexpr unsigned TCP_HEADROOM = 128;  // MAX_TCP_HEADER, rounded as the UDP path's headroom
bool before_seq(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
uint32_t flow_hash(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport) {
  uint64_t h = (uint64_t{saddr} << 32 | daddr) * 0x9E3779B97F4A7C15ull;
  h ^= (uint64_t{sport} << 24 | uint64_t{dport} << 8 | proto::IPPROTO_TCP) * 0xC2B2AE3D27D4EB4Full;
  return static_cast<uint32_t>(h >> 32);
}
}  // namespace

// tcp_time_stamp_raw (v6.6): the timestamp clock in ms (TCP_TS_HZ 1000), offset 0.
uint32_t tcp::tcp_time_stamp() const {
  return static_cast<uint32_t>(static_cast<uint64_t>(tlm::local_now().to_seconds() * 1000.0));
}

// __tcp_select_window (v6.6), net.ipv4.tcp_shrink_window = 0.
uint32_t tcp::__tcp_select_window(tcp_sock& sk) const {
  int mss = static_cast<int>(sk.icsk_ack.rcv_mss);
  int free_space = tcp_space(sk);
  const int allowed_space = tcp_full_space(sk);
  const int full_space = std::min<int>(static_cast<int>(sk.window_clamp), allowed_space);
  if (mss > full_space) {
    mss = full_space;
    if (mss <= 0) return 0;
  }
  if (free_space < (full_space >> 1)) {
    sk.icsk_ack.quick = 0;
    free_space = free_space & ~((1 << sk.rx_opt.rcv_wscale) - 1);  // round_down
    if (free_space < (allowed_space >> 4) || free_space < mss) return 0;
  }
  if (free_space > static_cast<int>(sk.rcv_ssthresh)) free_space = static_cast<int>(sk.rcv_ssthresh);
  int window;
  if (sk.rx_opt.rcv_wscale) {
    const int a = 1 << sk.rx_opt.rcv_wscale;
    window = (free_space + a - 1) / a * a;  // ALIGN
  } else {
    window = static_cast<int>(sk.rcv_wnd);
    if (window <= free_space - mss || window > free_space)
      window = free_space / mss * mss;
    else if (mss == full_space && free_space > window + (full_space >> 1))
      window = free_space;
  }
  return static_cast<uint32_t>(std::max(window, 0));
}

// tcp_select_window (v6.6): never shrink the offered window; record rcv_wnd and rcv_wup; the
// zero-window counters.
uint16_t tcp::tcp_select_window(tcp_sock& sk) {
  const uint32_t old_win = sk.rcv_wnd;
  const uint32_t cur_win = tcp_receive_window(sk);
  uint32_t new_win = __tcp_select_window(sk);
  if (new_win < cur_win) {
    if (new_win == 0) ++m_net.mib.net_statistics.TCPWantZeroWindowAdv;
    const uint32_t a = 1u << sk.rx_opt.rcv_wscale;
    new_win = (cur_win + a - 1) / a * a;
  }
  sk.rcv_wnd = new_win;
  sk.rcv_wup = sk.rcv_nxt;
  new_win = std::min<uint32_t>(new_win, 65535u << sk.rx_opt.rcv_wscale);
  new_win >>= sk.rx_opt.rcv_wscale;
  if (new_win == 0) {
    sk.pred_flags = 0;
    if (old_win) ++m_net.mib.net_statistics.TCPToZeroWindowAdv;
  } else if (old_win == 0) {
    ++m_net.mib.net_statistics.TCPFromZeroWindowAdv;
  }
  sk.wnd_probe(sk.rcv_wnd);
  return static_cast<uint16_t>(new_win);
}

// __tcp_transmit_skb (v6.6) for a segment without payload, then ip_queue_xmit: the TCP header
// and options written into a transmit skb, the checksum in software (no offload in the
// model's driver), the IPv4 header (__ip_make_skb) and ip_send_skb → the qdisc and the driver.
// The skb is charged to the socket's sk_wmem_alloc, unbounded for pure ACKs (__sock_wfree);
// without a transmit buffer the segment is not sent.
void tcp::tcp_transmit_ctl(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport, uint32_t seq,
                           uint32_t ack, uint8_t flags, uint16_t window, const uint8_t* opts, unsigned optlen,
                           sock* owner) {
  cpu& c = cpu::this_cpu();
  c.charge(cost::tcp_transmit_skb);
  sk_buff* skb = m_skbs.alloc_skb_tx(TCP_HEADROOM);
  if (skb == nullptr) return;
  if (owner != nullptr) {
    skb->sk = owner;
    owner->sk_wmem_alloc += skb->truesize;
  }
  const unsigned hlen = 20 + optlen;
  uint8_t* th = skb->data_ptr();
  skb->len = hlen;
  skb->transport_header = skb->data;
  proto::put_be16(th, sport);
  proto::put_be16(th + 2, dport);
  proto::put_be32(th + 4, seq);
  proto::put_be32(th + 8, ack);
  th[12] = static_cast<uint8_t>((hlen / 4) << 4);
  th[13] = flags;
  proto::put_be16(th + 14, window);
  proto::put_be16(th + 16, 0);
  proto::put_be16(th + 18, 0);
  if (optlen) std::memcpy(th + 20, opts, optlen);
  c.charge(cost::csum, hlen);
  proto::put_be16(th + 16, proto::csum_fold(
                               proto::csum_tcpudp_nofold(saddr, daddr, static_cast<uint16_t>(hlen),
                                                         proto::IPPROTO_TCP, proto::csum_partial(th, hlen))));
  skb->hash = flow_hash(saddr, daddr, sport, dport);
  m_ip.__ip_make_skb(skb, ip_cork{saddr, daddr, proto::IPPROTO_TCP, 0, 64});
  m_ip.ip_send_skb(skb);  // ip_queue_xmit → ip_local_out
  ++m_net.mib.tcp_statistics.OutSegs;
}

// tcp_send_ack → __tcp_send_ack (v6.6): an ACK of rcv_nxt with the window tcp_select_window
// picks, a timestamp (tcp_established_options: TSval now, TSecr ts_recent) and the SACK
// blocks; the ACK clears the delayed-ACK state (tcp_event_ack_sent → inet_csk_clear_xmit_timer).
void tcp::tcp_send_ack(tcp_sock& sk) {
  if (sk.state == TCP_CLOSE) return;
  cpu& c = cpu::this_cpu();
  c.charge(cost::tcp_send_ack);
  uint8_t opts[40];
  unsigned n = 0;
  if (sk.rx_opt.tstamp_ok) {
    const uint8_t ts[4] = {1, 1, 8, 10};
    std::memcpy(opts, ts, 4);
    proto::put_be32(opts + 4, tcp_time_stamp());
    proto::put_be32(opts + 8, sk.rx_opt.ts_recent);
    n = 12;
  }
  if (sk.rx_opt.sack_ok && sk.rx_opt.num_sacks) {
    const unsigned room = (40 - n - 4) / 8;  // TCPOLEN_SACK_BASE_ALIGNED = 4
    const unsigned blocks = std::min<unsigned>(sk.rx_opt.num_sacks, room);
    opts[n] = 1;
    opts[n + 1] = 1;
    opts[n + 2] = 5;
    opts[n + 3] = static_cast<uint8_t>(2 + 8 * blocks);
    n += 4;
    for (unsigned i = 0; i < blocks; ++i) {
      proto::put_be32(opts + n, sk.selective_acks[i].start_seq);
      proto::put_be32(opts + n + 4, sk.selective_acks[i].end_seq);
      n += 8;
    }
  }
  const uint16_t window = tcp_select_window(sk);
  tcp_transmit_ctl(sk.saddr, sk.daddr, sk.port, sk.dport, sk.snd_nxt, sk.rcv_nxt, TCPHDR_ACK, window, opts, n,
                   &sk);
  ++sk.segs_out;
  // tcp_event_ack_sent: quick-ack credit used, the delayed-ACK timer stopped (inet_csk_clear_xmit_timer
  // clears pending; the timer itself is left to fire and find nothing, as in v6.6 without
  // INET_CSK_CLEAR_TIMERS).
  if (sk.icsk_ack.quick) --sk.icsk_ack.quick;
  sk.icsk_ack.pending = 0;
}

// tcp_send_dupack (v6.6): a duplicate (or old) segment gets an immediate ACK; quick-ack mode.
void tcp::tcp_send_dupack(tcp_sock& sk, sk_buff* skb) {
  const tcp_skb_cb& cb = TCP_SKB_CB(skb);
  if (cb.end_seq != cb.seq && before_seq(cb.seq, sk.rcv_nxt)) {
    ++m_net.mib.net_statistics.DelayedACKLost;
    tcp_enter_quickack_mode(sk, 16);
  }
  tcp_send_ack(sk);
}

// tcp_send_delayed_ack (v6.6).
void tcp::tcp_send_delayed_ack(tcp_sock& sk) {
  cpu& c = cpu::this_cpu();
  const uint32_t delack_min = static_cast<uint32_t>(c.usecs_to_jiffies(40000));   // TCP_DELACK_MIN
  const uint32_t delack_max = static_cast<uint32_t>(c.usecs_to_jiffies(200000));  // TCP_DELACK_MAX
  uint32_t ato = sk.icsk_ack.ato;
  if (ato > delack_min) {
    uint32_t max_ato = static_cast<uint32_t>(c.usecs_to_jiffies(500000));  // HZ / 2
    if (sk.icsk_ack.pingpong || (sk.icsk_ack.pending & ICSK_ACK_PUSHED)) max_ato = delack_max;
    if (sk.srtt_us) {
      const uint32_t rtt =
          std::max<uint32_t>(static_cast<uint32_t>(c.usecs_to_jiffies(sk.srtt_us >> 3)), delack_min);
      if (rtt < max_ato) max_ato = rtt;
    }
    ato = std::min(ato, max_ato);
  }
  ato = std::min(ato, sk.icsk_delack_max);
  const uint64_t now = c.jiffies();
  uint64_t timeout = now + ato;
  if (sk.icsk_ack.pending & ICSK_ACK_TIMER) {
    if (sk.icsk_ack.timeout <= now + (ato >> 2)) {  // about to expire: ACK now
      tcp_send_ack(sk);
      return;
    }
    if (timeout >= sk.icsk_ack.timeout) timeout = sk.icsk_ack.timeout;
  }
  sk.icsk_ack.pending |= ICSK_ACK_SCHED | ICSK_ACK_TIMER;
  sk.icsk_ack.timeout = timeout;
  sk_reset_timer(sk.icsk_delack_timer, timeout);
}

// tcp_delack_timer (net/ipv4/tcp_timer.c, v6.6): when a reader owns the socket the work is
// deferred to release_sock (tcp_release_cb, TCP_DELACK_TIMER_DEFERRED; DelayedACKLocked).
void tcp::tcp_delack_timer(tcp_sock& sk) {
  cpu& c = cpu::this_cpu();
  waves::slice s(c.observer(), c.track(), "tcp_delack_timer");
  c.charge(cost::tcp_delack_timer);
  bh_lock_sock(sk);
  if (!sk.owned_by_user) {
    tcp_delack_timer_handler(sk);
  } else {
    ++m_net.mib.net_statistics.DelayedACKLocked;
    sk.delack_timer_deferred = true;
  }
  bh_unlock_sock(sk);
}

// tcp_delack_timer_handler (v6.6).
void tcp::tcp_delack_timer_handler(tcp_sock& sk) {
  cpu& c = cpu::this_cpu();
  if (sk.state == TCP_CLOSE || sk.state == TCP_LISTEN) return;
  if (!(sk.icsk_ack.pending & ICSK_ACK_TIMER)) return;
  if (sk.icsk_ack.timeout > c.jiffies()) {
    sk_reset_timer(sk.icsk_delack_timer, sk.icsk_ack.timeout);
    return;
  }
  sk.icsk_ack.pending &= static_cast<uint8_t>(~ICSK_ACK_TIMER);
  if (sk.icsk_ack.pending & ICSK_ACK_SCHED) {
    if (!sk.icsk_ack.pingpong) {
      sk.icsk_ack.ato = std::min(sk.icsk_ack.ato << 1, sk.icsk_rto);  // missed: inflate ATO
    } else {
      sk.icsk_ack.pingpong = false;
      sk.icsk_ack.ato = static_cast<uint32_t>(c.usecs_to_jiffies(40000));
    }
    tcp_send_ack(sk);
    ++m_net.mib.net_statistics.DelayedACKs;
  }
}

// tcp_v4_send_synack → tcp_make_synack + ip_build_and_send_pkt (v6.6): SYN-ACK with MSS,
// SACK-permitted, timestamps and window scale as the SYN offered them (tcp_synack_options).
void tcp::tcp_v4_send_synack(tcp_sock& listener, request_sock& req) {
  cpu::this_cpu().charge(cost::tcp_synack);
  uint8_t opts[20];
  unsigned n = 0;
  opts[n++] = 2;  // MSS: our advmss (1460)
  opts[n++] = 4;
  proto::put_be16(opts + n, 1460);
  n += 2;
  if (req.tstamp_ok) {
    if (req.sack_ok) {  // SACK_PERM folded into the timestamp's NOPs, as the kernel writes it
      opts[n++] = 4;
      opts[n++] = 2;
    } else {
      opts[n++] = 1;
      opts[n++] = 1;
    }
    opts[n++] = 8;
    opts[n++] = 10;
    proto::put_be32(opts + n, tcp_time_stamp());
    proto::put_be32(opts + n + 4, req.ts_recent);
    n += 8;
  } else if (req.sack_ok) {
    opts[n++] = 1;
    opts[n++] = 1;
    opts[n++] = 4;
    opts[n++] = 2;
  }
  if (req.wscale_ok) {
    opts[n++] = 1;
    opts[n++] = 3;
    opts[n++] = 3;
    opts[n++] = req.rcv_wscale;
  }
  req.snt_synack = tlm::local_now();
  // The SYN-ACK's window is never scaled (RFC 7323).
  tcp_transmit_ctl(m_params.local_ip, req.rmt_addr, listener.port, req.rmt_port, req.snt_isn, req.rcv_isn + 1,
                   TCPHDR_SYN | TCPHDR_ACK, static_cast<uint16_t>(std::min<uint32_t>(req.rcv_wnd, 65535)),
                   opts, n, &listener);
  ++listener.segs_out;
}

}  // namespace nicsim::host
