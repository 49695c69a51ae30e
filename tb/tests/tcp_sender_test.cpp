// The link partner's TCP sender (tb/partner/tcp_sender.h) on its own: crafted segments from a
// scripted receiver, time passed by hand. Each test drives the events a run would (a segment
// in, a timer due, "may I send now") and checks what goes out against Linux's rules.
#include "tb/partner/tcp_sender.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <vector>

#include "proto/tcp.h"

namespace {

namespace proto = nicsim::proto;
using nicsim::tb::partner::tcp_cc;
using nicsim::tb::partner::tcp_recovery;
using nicsim::tb::partner::tcp_segment_out;
using nicsim::tb::partner::tcp_sender;
using nicsim::tb::partner::tcp_sender_config;

constexpr uint64_t MS = 1000000;       // ns
constexpr uint32_t ISS = 0xFFFFFF00u;  // close to the wrap, so sequence arithmetic is tested too
constexpr uint32_t IRS = 777;

tcp_sender_config cfg(tcp_cc cc = tcp_cc::cubic, tcp_recovery rec = tcp_recovery::rack) {
  tcp_sender_config c;
  c.mss = 1460;
  c.cc = cc;
  c.recovery = rec;
  c.iss = ISS;
  c.ts_offset = 12345;
  return c;
}

// A receiver in the host's place: in-order data advances rcv_nxt, out-of-order data is kept
// and reported in SACK blocks (most recent first, as tcp_sack_new_ofo_skb keeps them).
struct receiver {
  bool sack = true, ts = true, wscale = true;
  uint16_t window = 0xFFFF;  // as written in the header (scaled by 7 after the SYN-ACK)
  uint32_t rcv_nxt = 0;
  uint32_t last_tsval = 0;
  std::map<uint32_t, uint32_t> ooo;  // start -> end, in the sender's sequence space
  std::vector<proto::sack_block> recent;

  proto::tcp_header synack(const proto::tcp_header& syn) {
    proto::tcp_header h;
    h.src_port = syn.dst_port;
    h.dst_port = syn.src_port;
    h.seq = IRS;
    h.ack = syn.seq + 1;
    h.flags = proto::TCP_SYN | proto::TCP_ACK;
    h.window = 65535;
    h.opt.has_mss = true;
    h.opt.mss = 1460;
    h.opt.sack_permitted = sack;
    h.opt.has_wscale = wscale;
    h.opt.wscale = 7;
    h.opt.has_timestamp = ts;
    h.opt.tsval = 999;
    h.opt.tsecr = syn.opt.tsval;
    rcv_nxt = syn.seq + 1;
    return h;
  }
  proto::tcp_header ack() const {
    proto::tcp_header h;
    h.src_port = 9000;
    h.dst_port = 40000;
    h.seq = IRS + 1;
    h.ack = rcv_nxt;
    h.flags = proto::TCP_ACK;
    h.window = window;
    h.opt.has_timestamp = ts;
    h.opt.tsval = 1000;
    h.opt.tsecr = last_tsval;
    if (sack)
      for (const auto& b : recent)
        if (h.opt.sack_count < 3) h.opt.sack[h.opt.sack_count++] = b;
    return h;
  }
  // Takes a data segment in and returns the ACK it draws.
  proto::tcp_header take(const tcp_segment_out& s) {
    last_tsval = s.hdr.opt.tsval;
    const uint32_t start = s.hdr.seq, end = start + s.payload_len;
    if (start == rcv_nxt) {
      rcv_nxt = end;
      for (auto it = ooo.begin(); it != ooo.end() && it->first == rcv_nxt; it = ooo.erase(it))
        rcv_nxt = it->second;
    } else if (static_cast<int32_t>(start - rcv_nxt) > 0) {
      ooo[start] = end;
    }
    // The SACK blocks: contiguous runs of ooo, the one just extended first.
    recent.clear();
    std::vector<proto::sack_block> runs;
    for (const auto& [a, b] : ooo) {
      if (!runs.empty() && runs.back().end == a)
        runs.back().end = b;
      else
        runs.push_back({a, b});
    }
    for (const auto& r : runs)
      if (static_cast<int32_t>(start - r.start) >= 0 && static_cast<int32_t>(r.end - end) >= 0)
        recent.push_back(r);
    for (const auto& r : runs)
      if (!(recent.size() == 1 && recent[0] == r)) recent.push_back(r);
    return ack();
  }
};

// A sender connected to a receiver, with the time in hand. ACK clocking: a round delivers
// what was in flight (one RTT after it left), and every ACK lets the sender send at once;
// those segments are the next round's flight. `gap` spaces the segments of a burst as a wire
// would (0: all at the same instant).
struct link {
  tcp_sender s;
  receiver r;
  uint64_t now = 0, gap = 0;
  std::vector<tcp_segment_out> inflight, log;
  explicit link(tcp_sender_config c = cfg(), bool sack = true) : s(c) { r.sack = sack; }

  std::vector<tcp_segment_out> drain() {
    std::vector<tcp_segment_out> out;
    tcp_segment_out seg;
    while (s.next_segment(now, &seg)) {
      out.push_back(seg);
      now += gap;
    }
    log.insert(log.end(), out.begin(), out.end());
    return out;
  }
  void handshake(uint64_t rtt = MS) {
    s.open(now);
    auto syn = drain();
    ASSERT_EQ(syn.size(), 1u);
    now += rtt;
    s.on_segment(r.synack(syn[0].hdr), 0, now);
    auto ack = drain();
    ASSERT_EQ(ack.size(), 1u);
    ASSERT_EQ(ack[0].hdr.flags, proto::TCP_ACK);
    ASSERT_EQ(s.st(), tcp_sender::state::established);
  }
  // Delivers the flight (unless dropped) after rtt; returns the segments delivered or dropped.
  std::vector<tcp_segment_out> round(uint64_t rtt,
                                     const std::function<bool(const tcp_segment_out&)>& drop = {}) {
    if (inflight.empty()) inflight = drain();
    auto segs = std::move(inflight);
    inflight.clear();
    now += rtt;
    for (const auto& seg : segs) {
      if (seg.payload_len == 0 || (drop && drop(seg))) continue;
      s.on_segment(r.take(seg), 0, now);
      auto more = drain();
      inflight.insert(inflight.end(), more.begin(), more.end());
    }
    return segs;
  }
  // Rounds until done() (or `limit` ns from now); with nothing in flight the sender's next
  // timer runs (a loss probe, the reorder timer, the RTO) and what it sends is the next flight.
  void run_until(const std::function<bool()>& done, uint64_t rtt, uint64_t limit,
                 const std::function<bool(const tcp_segment_out&)>& drop = {}) {
    const uint64_t end = now + limit;
    while (!done() && now < end) {
      if (inflight.empty()) inflight = drain();
      if (inflight.empty()) {
        const uint64_t t = s.next_timer();
        if (t == UINT64_MAX || t > end) break;
        now = std::max(now, t);
        s.on_timer(now);
        inflight = drain();
        continue;
      }
      round(rtt, drop);
    }
  }
  std::vector<uint64_t> retransmitted() const {
    std::vector<uint64_t> v;
    for (const auto& seg : log)
      if (seg.retransmission) v.push_back(seg.stream_offset);
    return v;
  }
};

uint32_t seq_of(uint64_t offset) { return ISS + 1 + static_cast<uint32_t>(offset); }

TEST(tcp_sender, syn_offers_mss_sack_timestamps_and_wscale_and_the_handshake_completes) {
  link l;
  l.s.open(0);
  auto syn = l.drain();
  ASSERT_EQ(syn.size(), 1u);
  const auto& h = syn[0].hdr;
  EXPECT_EQ(h.flags, proto::TCP_SYN);
  EXPECT_EQ(h.seq, ISS);
  EXPECT_TRUE(h.opt.has_mss);
  EXPECT_EQ(h.opt.mss, 1460);
  EXPECT_TRUE(h.opt.sack_permitted);
  EXPECT_TRUE(h.opt.has_timestamp);
  EXPECT_EQ(h.opt.tsecr, 0u);
  EXPECT_TRUE(h.opt.has_wscale);
  EXPECT_EQ(h.opt.wscale, 7);
  EXPECT_EQ(h.opt.length(), 20u);  // MSS 4, SACK-permitted + timestamps 12, NOP + wscale 4
  l.now = 2 * MS;
  l.s.on_segment(l.r.synack(h), 0, l.now);
  auto ack = l.drain();
  ASSERT_EQ(ack.size(), 1u);
  EXPECT_EQ(ack[0].hdr.flags, proto::TCP_ACK);
  EXPECT_EQ(ack[0].hdr.seq, ISS + 1);
  EXPECT_EQ(ack[0].hdr.ack, IRS + 1);
  EXPECT_EQ(ack[0].hdr.opt.tsecr, 999u);
  EXPECT_EQ(ack[0].hdr.window, 64240 >> 7);
  EXPECT_EQ(l.s.st(), tcp_sender::state::established);
  EXPECT_EQ(l.s.mss(), 1448u);  // 1460 less the timestamp option
  EXPECT_EQ(l.s.cwnd(), 10u);
  EXPECT_EQ(l.s.snd_wnd(), 65535u);  // the SYN-ACK's window is not scaled
  EXPECT_EQ(l.s.srtt_us(), 2000u);   // the SYN's round trip
  EXPECT_TRUE(l.s.sack_ok());
  EXPECT_EQ(l.s.snd_wscale(), 7);
}

TEST(tcp_sender, without_the_peers_options_it_falls_back) {
  link l;
  l.r.sack = l.r.ts = l.r.wscale = false;
  l.handshake();
  EXPECT_FALSE(l.s.sack_ok());
  EXPECT_FALSE(l.s.ts_ok());
  EXPECT_EQ(l.s.snd_wscale(), 0);
  EXPECT_EQ(l.s.mss(), 1460u);
  l.s.app_write(3000);
  auto segs = l.drain();
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_FALSE(segs[0].hdr.opt.has_timestamp);
  EXPECT_EQ(segs[0].payload_len, 1460u);
  EXPECT_EQ(segs[2].payload_len, 80u);
  EXPECT_EQ(segs[2].hdr.flags, proto::TCP_ACK | proto::TCP_PSH);
}

TEST(tcp_sender, syn_is_retransmitted_after_one_second_with_backoff_then_gives_up) {
  tcp_sender s(cfg());
  s.open(0);
  tcp_segment_out seg;
  ASSERT_TRUE(s.next_segment(0, &seg));
  EXPECT_FALSE(s.next_segment(0, &seg));
  uint64_t expect = 1000 * MS, step = 1000 * MS;
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(s.next_timer(), expect) << "retransmission " << i;
    s.on_timer(expect);
    ASSERT_TRUE(s.next_segment(expect, &seg));
    EXPECT_EQ(seg.hdr.flags, proto::TCP_SYN);
    EXPECT_EQ(seg.hdr.seq, ISS);
    step *= 2;
    expect += step;
  }
  EXPECT_EQ(s.stats().syn_retransmits, 6u);
  EXPECT_EQ(s.next_timer(), 127000 * MS);  // 1 + 2 + ... + 64 s
  s.on_timer(127000 * MS);
  EXPECT_EQ(s.st(), tcp_sender::state::closed);
  EXPECT_TRUE(s.stats().timed_out);
}

TEST(tcp_sender, a_reset_answering_the_syn_refuses_the_connection) {
  tcp_sender s(cfg());
  s.open(0);
  tcp_segment_out seg;
  ASSERT_TRUE(s.next_segment(0, &seg));
  proto::tcp_header rst;
  rst.flags = proto::TCP_RST | proto::TCP_ACK;
  rst.ack = ISS + 1;
  s.on_segment(rst, 0, MS);
  EXPECT_EQ(s.st(), tcp_sender::state::closed);
  EXPECT_TRUE(s.stats().refused);
  EXPECT_EQ(s.stats().resets_received, 1u);
  EXPECT_EQ(s.next_timer(), UINT64_MAX);
}

TEST(tcp_sender, a_syn_ack_for_another_syn_is_answered_with_a_reset) {
  tcp_sender s(cfg());
  s.open(0);
  tcp_segment_out seg;
  ASSERT_TRUE(s.next_segment(0, &seg));
  receiver r;
  auto sa = r.synack(seg.hdr);
  sa.ack = ISS + 5;
  s.on_segment(sa, 0, MS);
  ASSERT_TRUE(s.next_segment(MS, &seg));
  EXPECT_EQ(seg.hdr.flags, proto::TCP_RST);
  EXPECT_EQ(seg.hdr.seq, ISS + 5);
  EXPECT_EQ(s.st(), tcp_sender::state::syn_sent);
}

TEST(tcp_sender, iw10_then_slow_start_doubles_per_round) {
  link l;
  l.handshake();
  l.s.set_app_unlimited();
  auto first = l.round(MS);
  ASSERT_EQ(first.size(), 10u);  // IW10
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].hdr.seq, seq_of(i * 1448));
    EXPECT_EQ(first[i].payload_len, 1448u);
    EXPECT_EQ(first[i].stream_offset, i * 1448);
  }
  EXPECT_EQ(l.s.cwnd(), 20u);
  EXPECT_EQ(l.round(MS).size(), 20u);
  EXPECT_EQ(l.s.cwnd(), 40u);
  EXPECT_EQ(l.s.snd_una(), 30u * 1448);
  EXPECT_EQ(l.s.stats().bytes_sent, 70u * 1448);  // and the next 40 in flight
  EXPECT_EQ(l.inflight.size(), 40u);
}

TEST(tcp_sender, app_limited_does_not_grow_cwnd_past_twice_what_it_used) {
  link l;
  l.handshake();
  for (int i = 0; i < 20; ++i) {
    l.s.app_write(2 * 1448);
    EXPECT_EQ(l.round(MS).size(), 2u);
  }
  EXPECT_EQ(l.s.cwnd(), 10u);  // 2 in flight never made it cwnd-limited (tcp_is_cwnd_limited)
}

TEST(tcp_sender, the_receive_window_limits_what_is_in_flight_and_scales_after_the_handshake) {
  link l;
  l.handshake();
  l.s.set_app_unlimited();
  // The first ACK after the SYN-ACK (a later sequence number) states 56 x 128 = 7168 bytes.
  l.r.window = 56;
  l.s.on_segment(l.r.ack(), 0, l.now);
  EXPECT_EQ(l.s.snd_wnd(), 7168u);  // scaled by the peer's wscale 7 from now on
  EXPECT_EQ(l.s.stats().window_updates, 1u);
  // A larger window with the same ack and sequence number is taken; a smaller one is not
  // (tcp_may_update_window): the receiver may not shrink it.
  l.r.window = 40;
  l.s.on_segment(l.r.ack(), 0, l.now);
  EXPECT_EQ(l.s.snd_wnd(), 7168u);
  auto segs = l.drain();
  ASSERT_EQ(segs.size(), 4u);  // four whole segments fit 7168 bytes (cwnd would allow 10)
  EXPECT_LE(l.s.bytes_in_flight(), l.s.snd_wnd());
  // An ACK of two segments moves the window's right edge: two more may go.
  l.now += MS;
  l.r.window = 56;
  l.s.on_segment(l.r.take(segs[0]), 0, l.now);
  l.s.on_segment(l.r.take(segs[1]), 0, l.now);
  EXPECT_EQ(l.drain().size(), 2u);
  EXPECT_LE(l.s.bytes_in_flight(), l.s.snd_wnd());
}

TEST(tcp_sender, three_dup_acks_retransmit_the_missing_segment_once) {
  link l(cfg(), false);  // no SACK: NewReno
  l.handshake();
  l.s.set_app_unlimited();
  auto segs = l.round(MS, [](const tcp_segment_out& s) { return s.stream_offset == 3 * 1448; });
  ASSERT_EQ(segs.size(), 10u);
  EXPECT_EQ(l.s.stats().dup_acks, 6u);  // segments 4..9 each drew a duplicate of ack 3
  EXPECT_EQ(l.s.ca(), tcp_sender::ca_state::recovery);
  EXPECT_EQ(l.retransmitted(), (std::vector<uint64_t>{3 * 1448}));
  EXPECT_EQ(l.s.stats().fast_retransmits, 1u);
  // CUBIC: ssthresh = cwnd * 717 / 1024 of the cwnd at the loss (13 after 3 ACKs in slow start).
  EXPECT_EQ(l.s.ssthresh(), 13u * 717 / 1024);
  // The retransmission arrives: a full ACK ends recovery at cwnd = ssthresh.
  l.round(MS);
  EXPECT_EQ(l.s.ca(), tcp_sender::ca_state::open);
  EXPECT_EQ(l.retransmitted().size(), 1u);
}

TEST(tcp_sender, newreno_partial_ack_retransmits_the_next_hole) {
  link l(cfg(), false);
  l.handshake();
  l.s.set_app_unlimited();
  l.round(MS, [](const tcp_segment_out& s) {
    return s.stream_offset == 2 * 1448 || s.stream_offset == 6 * 1448;
  });
  ASSERT_EQ(l.s.ca(), tcp_sender::ca_state::recovery);
  EXPECT_EQ(l.retransmitted(), (std::vector<uint64_t>{2 * 1448}));
  l.round(MS);  // the retransmission acks up to the second hole: a partial ACK
  EXPECT_EQ(l.retransmitted(), (std::vector<uint64_t>{2 * 1448, 6 * 1448}));
  EXPECT_EQ(l.s.stats().recoveries, 1u);
  l.round(MS);
  EXPECT_EQ(l.s.ca(), tcp_sender::ca_state::open);
  EXPECT_EQ(l.s.snd_una(), l.r.rcv_nxt - (ISS + 1));
}

// In both loss-detection modes. The segments of a burst leave 1 us apart as on a wire: RACK
// orders them by send time (in us; the sequence breaks ties), and a retransmission sent in the
// same instant as new data before it would look older than that data.
TEST(tcp_sender, sack_recovery_retransmits_only_the_holes) {
  for (const auto rec : {tcp_recovery::rack, tcp_recovery::dupack}) {
    SCOPED_TRACE(rec == tcp_recovery::rack ? "rack" : "dupack");
    link l(cfg(tcp_cc::cubic, rec));
    l.gap = 1000;
    l.handshake();
    l.s.set_app_unlimited();
    l.round(MS);  // cwnd 20
    const uint64_t base = l.inflight.at(0).stream_offset;
    auto segs = l.round(MS, [base](const tcp_segment_out& s) {
      return s.stream_offset == base + 1 * 1448 || s.stream_offset == base + 4 * 1448;
    });
    ASSERT_EQ(segs.size(), 20u);
    EXPECT_GT(l.s.stats().sack_blocks_received, 0u);
    ASSERT_EQ(l.s.ca(), tcp_sender::ca_state::recovery);
    for (int round = 0; round < 4 && l.s.ca() != tcp_sender::ca_state::open; ++round) l.round(MS);
    EXPECT_EQ(l.retransmitted(), (std::vector<uint64_t>{base + 1448, base + 4 * 1448}));
    EXPECT_EQ(l.s.stats().retrans_segs, 2u);
    EXPECT_EQ(l.s.stats().recoveries, 1u);
    EXPECT_EQ(l.s.ca(), tcp_sender::ca_state::open);
  }
}

TEST(tcp_sender, ack_of_part_of_a_segment_old_acks_and_acks_of_unsent_data) {
  link l;
  l.handshake();
  l.s.app_write(3 * 1448);
  auto segs = l.drain();
  ASSERT_EQ(segs.size(), 3u);
  l.now += MS;
  auto h = l.r.ack();
  h.ack = seq_of(1448 + 100);  // the first segment and 100 bytes of the second
  l.s.on_segment(h, 0, l.now);
  EXPECT_EQ(l.s.snd_una(), 1548u);
  EXPECT_EQ(l.s.packets_out(), 2u);
  EXPECT_EQ(l.s.bytes_in_flight(), 3u * 1448 - 1548);
  h.ack = seq_of(1000);  // older than snd_una
  l.s.on_segment(h, 0, l.now);
  EXPECT_EQ(l.s.stats().old_acks, 1u);
  EXPECT_EQ(l.s.snd_una(), 1548u);
  h.ack = seq_of(10 * 1448);  // beyond snd_nxt
  l.s.on_segment(h, 0, l.now);
  EXPECT_EQ(l.s.stats().acks_unsent_data, 1u);
  EXPECT_EQ(l.s.snd_una(), 1548u);
  // With RACK-TLP the loss probe comes first: the last segment again (nothing new to send).
  ASSERT_EQ(l.s.pending(), tcp_sender::xmit_timer::loss_probe);
  l.s.on_timer(l.s.next_timer());
  auto probe = l.drain();
  ASSERT_EQ(probe.size(), 1u);
  EXPECT_EQ(probe[0].stream_offset, 2u * 1448);
  EXPECT_EQ(l.s.stats().loss_probes, 1u);
  // An RTO then retransmits from snd_una, not from the segment's old start.
  ASSERT_EQ(l.s.pending(), tcp_sender::xmit_timer::retrans);
  l.s.on_timer(l.s.next_timer());
  EXPECT_EQ(l.s.stats().rto_count, 1u);
  auto out = l.drain();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].stream_offset, 1548u);
  EXPECT_EQ(out[0].payload_len, 2u * 1448 - 1548);
}

// With tcp_recovery=0 (no TLP, whose probe would take the RTO's place for a lone segment).
TEST(tcp_sender, rto_is_srtt_plus_max_of_mdev_and_200ms_and_backs_off) {
  link l(cfg(tcp_cc::cubic, tcp_recovery::dupack));
  l.handshake(50 * MS);  // srtt 50 ms, mdev 100 ms: rttvar = max(100 ms, 200 ms)
  EXPECT_EQ(l.s.rto_ns(), 250 * MS);
  l.s.app_write(1448);
  auto segs = l.drain();
  ASSERT_EQ(segs.size(), 1u);
  const uint64_t sent = l.now;
  EXPECT_EQ(l.s.next_timer(), sent + 250 * MS);
  l.s.on_timer(sent + 250 * MS);
  EXPECT_EQ(l.s.stats().rto_count, 1u);
  EXPECT_EQ(l.s.ca(), tcp_sender::ca_state::loss);
  EXPECT_EQ(l.s.cwnd(), 1u);
  auto re = l.drain();
  ASSERT_EQ(re.size(), 1u);
  EXPECT_TRUE(re[0].retransmission);
  EXPECT_EQ(re[0].stream_offset, 0u);
  EXPECT_EQ(l.s.next_timer(), sent + 250 * MS + 500 * MS);  // doubled
  l.s.on_timer(sent + 750 * MS);
  EXPECT_EQ(l.s.next_timer(), sent + 750 * MS + 1000 * MS);
  EXPECT_EQ(l.s.backoff(), 2u);
  EXPECT_EQ(l.drain().size(), 1u);
  // The retransmission is acked: Karn gives no sample from it, the timestamp echo does.
  l.now = sent + 760 * MS;
  l.s.on_segment(l.r.take(re[0]), 0, l.now);
  EXPECT_EQ(l.s.ca(), tcp_sender::ca_state::open);
  EXPECT_EQ(l.s.backoff(), 0u);
}

TEST(tcp_sender, a_small_rtt_gives_the_200ms_floor) {
  link l;
  l.handshake(20000);                 // 20 us
  EXPECT_EQ(l.s.rto_ns(), 201 * MS);  // 20 us + 200 ms, rounded up to a jiffy
}

TEST(tcp_sender, zero_window_is_probed_with_backoff_and_reopens) {
  link l;
  l.handshake();
  l.s.set_app_unlimited();
  l.r.window = 0;
  l.round(MS);  // all 10 acked with a zero window
  EXPECT_EQ(l.s.snd_wnd(), 0u);
  EXPECT_TRUE(l.drain().empty());
  const uint64_t rto = l.s.rto_ns();
  EXPECT_EQ(l.s.next_timer(), l.now + std::max<uint64_t>(rto, 200 * MS));
  uint64_t t = l.s.next_timer();
  l.s.on_timer(t);
  auto probe = l.drain();
  ASSERT_EQ(probe.size(), 1u);
  EXPECT_EQ(probe[0].payload_len, 0u);
  EXPECT_EQ(probe[0].hdr.seq, seq_of(l.s.snd_una()) - 1);
  EXPECT_EQ(l.s.stats().zero_window_probes, 1u);
  const uint64_t gap1 = l.s.next_timer() - t;
  t = l.s.next_timer();
  l.s.on_timer(t);
  EXPECT_EQ(l.drain().size(), 1u);
  EXPECT_EQ(l.s.next_timer() - t, 2 * gap1);
  EXPECT_EQ(l.s.stats().zero_window_probes, 2u);
  // The window opens: data flows and the probe timer stops.
  l.r.window = 1000;
  l.s.on_segment(l.r.ack(), 0, t + MS);
  auto data = l.drain();
  EXPECT_EQ(data.size(), l.s.cwnd());  // cwnd 20 after the first round; the window is 128000 bytes
  EXPECT_GT(data[0].payload_len, 0u);
}

TEST(tcp_sender, reno_halves_cwnd_on_loss) {
  link l(cfg(tcp_cc::reno));
  l.handshake();
  l.s.set_app_unlimited();
  l.round(MS);
  l.round(MS);  // cwnd 40
  const uint64_t base = l.inflight.at(0).stream_offset;
  l.round(MS, [base](const tcp_segment_out& s) { return s.stream_offset == base; });
  EXPECT_EQ(l.s.stats().recoveries, 1u);
  EXPECT_EQ(l.s.ssthresh(), 40u / 2 + 0u);  // tcp_reno_ssthresh of the cwnd at the loss (40: no growth after)
  while (l.s.ca() != tcp_sender::ca_state::open) l.round(MS);
  // cwnd = ssthresh when the full ACK ends recovery; the ACKs after it in the same round may
  // add one more by additive increase.
  EXPECT_GE(l.s.cwnd(), 20u);
  EXPECT_LE(l.s.cwnd(), 21u);
}

// CUBIC after a loss: W(t) = C (t - K)^3 + W_max with C = 0.4, K = cbrt(W_max (1 - beta) / C),
// beta = 717/1024 (RFC 9438 4.2, tcp_cubic.c). The kernel's integer arithmetic and its
// cube root (0.2 % error) put the target within a segment of the real curve; cwnd follows the
// target one RTT late (cnt is set so that cwnd reaches the target within an RTT), and it
// moves in whole segments. With a 100 ms RTT, over 0.5..6 s the window must lie between the
// curve one RTT earlier less 2 segments and the curve at delay_min ahead plus 2 segments.
TEST(tcp_sender, cubic_window_after_a_loss_follows_the_cubic_function) {
  link l(cfg(tcp_cc::cubic));
  const uint64_t rtt = 100 * MS;
  l.r.window = 0xFFFF;
  l.handshake(rtt);
  l.s.set_app_unlimited();
  while (l.s.cwnd() < 100) l.round(rtt);
  const uint64_t base = l.inflight.at(0).stream_offset;
  l.round(rtt, [base](const tcp_segment_out& s) { return s.stream_offset == base; });
  ASSERT_EQ(l.s.ca(), tcp_sender::ca_state::recovery);
  const double w_max = l.s.cubic_last_max_cwnd();
  EXPECT_GT(w_max, 100);
  while (l.s.ca() != tcp_sender::ca_state::open) l.round(rtt);
  const uint64_t epoch = l.now;  // the first ACK in congestion avoidance starts the epoch
  const double c = 0.4, beta = 717.0 / 1024;
  const double k = std::cbrt(w_max * (1 - beta) / c);
  auto w = [&](double t) { return c * std::pow(t - k, 3) + w_max; };
  l.round(rtt);
  EXPECT_NEAR(l.s.cubic_k() / 1024.0, k, 0.02 * k);  // bic_K in 1/1024 s
  int checked = 0;
  while (l.now - epoch < 6000 * MS) {
    l.round(rtt);
    const double t = static_cast<double>(l.now - epoch) / 1e9;
    if (t < 0.5) continue;
    const double cwnd = l.s.cwnd();
    EXPECT_GE(cwnd, w(t - 0.2) - 2) << "t = " << t;
    EXPECT_LE(cwnd, w(t + 0.1) + 2) << "t = " << t;
    ++checked;
  }
  EXPECT_GT(checked, 40);
}

TEST(tcp_sender, cubic_root_is_within_a_percent) {
  for (uint64_t a : {1ull, 8ull, 27ull, 1000ull, 123456789ull, 1ull << 40, 987654321012ull}) {
    const double want = std::cbrt(static_cast<double>(a));
    EXPECT_NEAR(tcp_sender::cubic_root(a), want, std::max(1.0, 0.01 * want)) << a;
  }
}

// ------------------------------------------------------------------ RACK-TLP (tcp_rack.cpp)

// A retransmission lost again: RACK sees segments sent after it SACKed, and once RACK.rtt has
// passed since it went (reo_wnd is 0 in Recovery) marks it lost again (TCPLostRetransmit) and
// it goes once more, with no RTO. With tcp_recovery=0 (dupack) nothing marks it: the sender
// runs out of ACKs and waits for the 200 ms RTO.
TEST(tcp_sender, rack_finds_a_lost_retransmission_without_an_rto) {
  for (const auto rec : {tcp_recovery::rack, tcp_recovery::dupack}) {
    SCOPED_TRACE(rec == tcp_recovery::rack ? "rack" : "dupack");
    link l(cfg(tcp_cc::cubic, rec));
    l.gap = 1000;  // 1 us apart, as on a wire
    l.handshake();
    l.s.set_app_unlimited();
    l.round(MS);
    const uint64_t hole = l.inflight.at(0).stream_offset + 2 * 1448;
    int sent = 0;  // the original and the first retransmission are lost
    auto drop = [&](const tcp_segment_out& seg) { return seg.stream_offset == hole && sent++ < 2; };
    const uint64_t start = l.now;
    l.run_until([&] { return l.s.snd_una() > hole; }, MS, 1000 * MS, drop);
    ASSERT_GT(l.s.snd_una(), hole);
    const auto re = l.retransmitted();
    EXPECT_EQ(std::count(re.begin(), re.end(), hole), 2);
    if (rec == tcp_recovery::rack) {
      EXPECT_EQ(l.s.stats().rto_count, 0u);
      EXPECT_EQ(l.s.stats().lost_retransmit, 1u);
      EXPECT_GE(l.s.stats().rack_lost, 2u);  // the original and its retransmission
      EXPECT_LT(l.now - start, 10 * MS);
    } else {
      EXPECT_EQ(l.s.stats().rto_count, 1u);
      EXPECT_EQ(l.s.stats().lost_retransmit, 0u);
      EXPECT_EQ(l.s.stats().rack_lost, 0u);
      EXPECT_GT(l.now - start, 200 * MS);
    }
  }
}

// A tail loss: the last two segments of a write are lost, so no ACK can say so. The loss probe
// goes 2 srtt + TCP_TIMEOUT_MIN (2 ms) after the last ACK, in whole jiffies: the last segment
// again (nothing new to send). Its SACK lets RACK mark the other one lost (Recovery) and all is
// delivered well before the RTO. Without TLP (dupack) the RTO is the only way.
TEST(tcp_sender, tlp_probes_a_tail_loss_at_two_srtt_plus_2ms) {
  for (const auto rec : {tcp_recovery::rack, tcp_recovery::dupack}) {
    SCOPED_TRACE(rec == tcp_recovery::rack ? "rack" : "dupack");
    link l(cfg(tcp_cc::cubic, rec));
    l.handshake(MS);
    l.s.app_write(10 * 1448);
    l.round(MS, [](const tcp_segment_out& s) { return s.stream_offset >= 8 * 1448; });
    const uint64_t last_ack = l.now;
    ASSERT_EQ(l.s.snd_una(), 8u * 1448);
    ASSERT_TRUE(l.drain().empty());
    EXPECT_EQ(l.s.srtt_us(), 1000u);
    if (rec == tcp_recovery::dupack) {
      EXPECT_EQ(l.s.pending(), tcp_sender::xmit_timer::retrans);
      EXPECT_EQ(l.s.next_timer(), last_ack + l.s.rto_ns());
      l.run_until([&] { return l.s.snd_una() == 10u * 1448; }, MS, 1000 * MS);
      EXPECT_EQ(l.s.stats().rto_count, 1u);
      EXPECT_EQ(l.s.stats().loss_probes, 0u);
      continue;
    }
    EXPECT_EQ(l.s.pending(), tcp_sender::xmit_timer::loss_probe);
    EXPECT_EQ(l.s.next_timer(), last_ack + 2 * MS + 2 * MS);  // 2 x 1 ms + TCP_TIMEOUT_MIN
    l.now = l.s.next_timer();
    l.s.on_timer(l.now);
    auto probe = l.drain();
    ASSERT_EQ(probe.size(), 1u);
    EXPECT_TRUE(probe[0].retransmission);
    EXPECT_EQ(probe[0].stream_offset, 9u * 1448);
    EXPECT_EQ(l.s.stats().loss_probes, 1u);
    EXPECT_TRUE(l.s.tlp_outstanding());
    EXPECT_EQ(l.s.next_timer(), l.now + l.s.rto_ns());  // the RTO restarts from the probe
    l.inflight = probe;
    l.round(MS);  // its SACK: segment 8 is overdue, Recovery, retransmitted
    EXPECT_EQ(l.s.stats().rack_lost, 1u);
    EXPECT_EQ(l.s.stats().recoveries, 1u);
    EXPECT_FALSE(l.s.tlp_outstanding());  // tcp_init_cwnd_reduction ends the episode
    l.round(MS);
    EXPECT_EQ(l.s.snd_una(), 10u * 1448);
    EXPECT_EQ(l.s.stats().rto_count, 0u);
    EXPECT_EQ(l.retransmitted(), (std::vector<uint64_t>{9 * 1448, 8 * 1448}));
    EXPECT_LT(l.now - last_ack, 10 * MS);
  }
}

// With one segment out the probe waits for a delayed ACK too: 2 srtt + TCP_RTO_MIN, capped at
// the RTO; a probe of new data when the application has more (and the window takes it).
TEST(tcp_sender, tlp_with_one_segment_out_waits_rto_min_and_prefers_new_data) {
  link l;
  l.handshake(MS);
  l.s.app_write(1448);
  ASSERT_EQ(l.drain().size(), 1u);
  const uint64_t sent = l.now;
  EXPECT_EQ(l.s.pending(), tcp_sender::xmit_timer::loss_probe);
  EXPECT_EQ(l.s.next_timer(), sent + std::min<uint64_t>(2 * MS + 200 * MS, l.s.rto_ns()));
  l.s.app_write(1448);  // Nagle holds it: a small segment is out
  l.s.on_timer(l.s.next_timer());
  auto probe = l.drain();
  ASSERT_EQ(probe.size(), 1u);
  EXPECT_FALSE(probe[0].retransmission);
  EXPECT_EQ(probe[0].stream_offset, 1448u);
  EXPECT_EQ(l.s.stats().loss_probes, 1u);
}

// The reorder window. Until reordering is seen: a hole with one segment SACKed above it waits
// min_rtt / 4 (the reorder timer, + TCP_TIMEOUT_MIN) before RACK calls it lost; with three
// SACKed (the dupthresh) none. Once a segment arrived late (TCPSACKReorder), RACK waits
// min_rtt / 4 even with three SACKed.
TEST(tcp_sender, rack_reorder_window) {
  {
    SCOPED_TRACE("one SACKed: the reorder timer");
    link l;
    l.handshake(MS);  // min_rtt 1 ms: reo_wnd 250 us
    l.s.app_write(3 * 1448);
    auto segs = l.drain();
    ASSERT_EQ(segs.size(), 3u);
    l.now += MS;
    l.s.on_segment(l.r.take(segs[0]), 0, l.now);
    l.s.on_segment(l.r.take(segs[2]), 0, l.now);
    EXPECT_EQ(l.s.min_rtt_us(), 1000u);
    EXPECT_EQ(l.s.rack_reo_wnd(), 250u);
    EXPECT_EQ(l.s.ca(), tcp_sender::ca_state::disorder);
    EXPECT_TRUE(l.drain().empty());
    ASSERT_EQ(l.s.pending(), tcp_sender::xmit_timer::reo_timeout);
    EXPECT_EQ(l.s.next_timer(), l.now + 1 * MS + 2 * MS);  // usecs_to_jiffies(250) + TCP_TIMEOUT_MIN
    l.now = l.s.next_timer();
    l.s.on_timer(l.now);
    EXPECT_EQ(l.s.stats().rack_reo_timeouts, 1u);
    EXPECT_EQ(l.s.ca(), tcp_sender::ca_state::recovery);
    auto re = l.drain();
    ASSERT_EQ(re.size(), 1u);
    EXPECT_EQ(re[0].stream_offset, 1448u);
    EXPECT_EQ(l.s.pending(), tcp_sender::xmit_timer::retrans);
  }
  auto three_sacked = [](link& l, const std::vector<tcp_segment_out>& segs, size_t hole) {
    for (size_t i = hole + 1; i < hole + 4; ++i) l.s.on_segment(l.r.take(segs.at(i)), 0, l.now);
  };
  {
    SCOPED_TRACE("three SACKed, no reordering seen: lost at once");
    link l;
    l.handshake(MS);
    l.s.app_write(5 * 1448);
    auto segs = l.drain();
    l.now += MS;
    l.s.on_segment(l.r.take(segs[0]), 0, l.now);
    three_sacked(l, segs, 1);
    EXPECT_EQ(l.s.stats().rack_lost, 1u);
    EXPECT_EQ(l.s.ca(), tcp_sender::ca_state::recovery);
    auto re = l.drain();
    ASSERT_FALSE(re.empty());
    EXPECT_TRUE(re[0].retransmission);
  }
  {
    SCOPED_TRACE("three SACKed after reordering: the window stays");
    link l;
    l.handshake(MS);
    l.s.app_write(3 * 1448);
    auto first = l.drain();
    l.now += MS;
    l.s.on_segment(l.r.take(first[0]), 0, l.now);
    l.s.on_segment(l.r.take(first[2]), 0, l.now);
    l.s.on_segment(l.r.take(first[1]), 0, l.now);  // late, never retransmitted: reordering
    EXPECT_EQ(l.s.stats().sack_reorder, 1u);
    EXPECT_EQ(l.s.stats().retrans_segs, 0u);
    EXPECT_EQ(l.s.ca(), tcp_sender::ca_state::open);
    l.s.app_write(5 * 1448);
    auto segs = l.drain();
    ASSERT_EQ(segs.size(), 5u);
    l.now += MS;
    l.s.on_segment(l.r.take(segs[0]), 0, l.now);
    three_sacked(l, segs, 1);
    EXPECT_EQ(l.s.rack_reo_wnd(), 250u);
    EXPECT_EQ(l.s.stats().rack_lost, 0u);
    EXPECT_TRUE(l.drain().empty());
    EXPECT_EQ(l.s.pending(), tcp_sender::xmit_timer::reo_timeout);
    l.now = l.s.next_timer();
    l.s.on_timer(l.now);
    EXPECT_EQ(l.s.stats().rack_lost, 1u);
    auto re = l.drain();
    ASSERT_EQ(re.size(), 1u);
    EXPECT_EQ(re[0].stream_offset, segs[1].stream_offset);
  }
}

// tcp_recovery=0 (dupack) keeps the duplicate-ACK threshold: one SACKed segment arms nothing
// and marks nothing, three mark the hole (RFC 6675 IsLost); no reorder timer, no loss probe.
TEST(tcp_sender, dupack_mode_keeps_the_dupthresh_and_has_no_timers_of_its_own) {
  link l(cfg(tcp_cc::cubic, tcp_recovery::dupack));
  l.handshake(MS);
  l.s.app_write(5 * 1448);
  auto segs = l.drain();
  EXPECT_EQ(l.s.pending(), tcp_sender::xmit_timer::retrans);
  l.now += MS;
  l.s.on_segment(l.r.take(segs[0]), 0, l.now);
  l.s.on_segment(l.r.take(segs[2]), 0, l.now);
  EXPECT_EQ(l.s.pending(), tcp_sender::xmit_timer::retrans);
  EXPECT_EQ(l.s.ca(), tcp_sender::ca_state::disorder);
  EXPECT_TRUE(l.drain().empty());
  l.s.on_segment(l.r.take(segs[3]), 0, l.now);
  l.s.on_segment(l.r.take(segs[4]), 0, l.now);
  EXPECT_EQ(l.s.ca(), tcp_sender::ca_state::recovery);
  auto re = l.drain();
  ASSERT_EQ(re.size(), 1u);
  EXPECT_EQ(re[0].stream_offset, 1448u);
  EXPECT_EQ(l.s.stats().rack_lost, 0u);
  EXPECT_EQ(l.s.stats().loss_probes, 0u);
}

}  // namespace
