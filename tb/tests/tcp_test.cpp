// TCP receive on a bare CPU and driver (issue 13): real Ethernet/IPv4/TCP frames injected at
// netif_receive_skb, the host's segments read back from the transmit ring's descriptors.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

#include "abi/e1000_hw.h"
#include "host/cost_table.h"
#include "host/drivers/net/ethernet/intel/e1000/e1000.h"
#include "host/kernel/cpu.h"
#include "host/net/netstack.h"
#include "proto/checksum.h"
#include "proto/frame.h"
#include "proto/tcp_stream.h"
#include "tb/system_top.h"
#include "tb/tests/tx_bench.h"
#include "tlm/host_memory.h"

using namespace nicsim::host;
namespace proto = nicsim::proto;
namespace regs = nicsim::abi;
using sc_core::SC_MS;
using sc_core::sc_time;
using sc_core::SC_US;

namespace {
using nicsim::tb::test::tx_bench;

constexpr uint32_t PEER = 0x0A000001, HOST = 0x0A000002;
constexpr uint16_t PPORT = 40000, HPORT = 9000;
constexpr uint32_t PEER_ISN = 1000;

// A segment as the partner sends it: Ethernet, IPv4, TCP with options, stream bytes.
std::vector<uint8_t> tcp_frame(uint32_t seq, uint32_t ack, uint8_t flags, const std::vector<uint8_t>& opts,
                               uint64_t stream_off, unsigned payload, uint16_t window = 65535,
                               bool bad_csum = false) {
  const unsigned thl = 20 + static_cast<unsigned>(opts.size());
  std::vector<uint8_t> f(proto::ETH_HLEN + 20 + thl + payload);
  uint8_t* eth = f.data();
  const uint8_t host[6] = {2, 0, 0, 0, 0, 2}, peer[6] = {2, 0, 0, 0, 0, 1};
  std::memcpy(eth, host, 6);
  std::memcpy(eth + 6, peer, 6);
  proto::put_be16(eth + 12, proto::ETH_P_IP);
  uint8_t* ip = eth + proto::ETH_HLEN;
  ip[0] = 0x45;
  proto::put_be16(ip + 2, static_cast<uint16_t>(20 + thl + payload));
  ip[8] = 64;
  ip[9] = proto::IPPROTO_TCP;
  proto::put_be32(ip + 12, PEER);
  proto::put_be32(ip + 16, HOST);
  proto::put_be16(ip + 10, proto::csum_fold(proto::csum_partial(ip, 20)));
  uint8_t* th = ip + 20;
  proto::put_be16(th, PPORT);
  proto::put_be16(th + 2, HPORT);
  proto::put_be32(th + 4, seq);
  proto::put_be32(th + 8, ack);
  th[12] = static_cast<uint8_t>((thl / 4) << 4);
  th[13] = flags;
  proto::put_be16(th + 14, window);
  std::copy(opts.begin(), opts.end(), th + 20);
  proto::tcp_stream_fill(0, stream_off, th + thl, payload);
  const uint16_t c =
      proto::csum_fold(proto::csum_tcpudp_nofold(PEER, HOST, static_cast<uint16_t>(thl + payload),
                                                 proto::IPPROTO_TCP, proto::csum_partial(th, thl + payload)));
  proto::put_be16(th + 16, bad_csum ? static_cast<uint16_t>(c ^ 1) : c);
  return f;
}
std::vector<uint8_t> syn_opts() {  // MSS 1460, SACK-permitted, timestamps, window scale 7
  return {2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
}
std::vector<uint8_t> ts_opts(uint32_t tsval, uint32_t tsecr) {
  std::vector<uint8_t> o = {1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0};
  proto::put_be32(o.data() + 4, tsval);
  proto::put_be32(o.data() + 8, tsecr);
  return o;
}

struct tcp_bench : tx_bench {
  tcp_bench() : tx_bench(params(256, 1000, false), 256) {}
  unsigned seen = 0;  // transmitted frames read so far
  void inject(const std::vector<uint8_t>& frame) {
    const uint64_t addr = rx.alloc();
    ASSERT_NE(addr, 0u);
    std::memcpy(rx.ptr(addr), frame.data(), frame.size());
    sk_buff* skb = skbs.alloc();
    skb->buf_addr = addr;
    skb->head = rx.ptr(addr);
    skb->len = static_cast<unsigned>(frame.size());
    skb->truesize = 2048 + 256 + 320;
    skb->protocol = proto::ETH_P_IP;
    skb->pull(proto::ETH_HLEN);
    stack.core().netif_receive_skb(skb);
  }
  // The next segment the host put on the transmit ring (TCP header pointer), nullptr if none.
  const uint8_t* next_tx(unsigned* tcp_len = nullptr) {
    const auto d = desc(seen);
    const unsigned len = d.lower.data & 0xFFFF;
    if (len == 0) return nullptr;
    ++seen;
    const uint8_t* f = mem.ptr(d.buffer_addr, len);
    const uint8_t* ip = f + proto::ETH_HLEN;
    EXPECT_EQ(ip[9], proto::IPPROTO_TCP);
    const unsigned tl = proto::get_be16(ip + 2) - 20u;
    EXPECT_EQ(
        proto::csum_fold(proto::csum_tcpudp_nofold(HOST, PEER, static_cast<uint16_t>(tl), proto::IPPROTO_TCP,
                                                   proto::csum_partial(ip + 20, tl))),
        0);
    if (tcp_len) *tcp_len = tl;
    return ip + 20;
  }
  unsigned tx_count() {
    unsigned n = 0;
    while (desc(n).lower.data & 0xFFFF) ++n;
    return n;
  }
  uint32_t synack_isn = 0;
  // SYN → SYN-ACK → ACK; returns the accepted socket.
  tcp_sock* handshake(tcp_sock& l) {
    inject(tcp_frame(PEER_ISN, 0, TCPHDR_SYN, syn_opts(), 0, 0));
    const uint8_t* th = next_tx();
    if (th == nullptr) return nullptr;
    synack_isn = proto::get_be32(th + 4);
    inject(tcp_frame(PEER_ISN + 1, synack_isn + 1, TCPHDR_ACK, ts_opts(2, 0), 0, 0, 512));
    return l.icsk_accept_queue.empty() ? nullptr : l.icsk_accept_queue.front();
  }
  void data(uint64_t off, unsigned len, uint32_t tsval = 3, bool bad_csum = false) {
    inject(tcp_frame(PEER_ISN + 1 + static_cast<uint32_t>(off), synack_isn + 1, TCPHDR_ACK, ts_opts(tsval, 0),
                     off, len, 512, bad_csum));
  }
  const linux_mib& ext() const { return stack.init_net().mib.net_statistics; }
  const tcp_mib& mib() const { return stack.init_net().mib.tcp_statistics; }
};
}  // namespace

TEST(host_tcp, syn_gets_a_syn_ack_with_options_and_the_ack_wakes_accept) {
  tcp_bench b;
  tcp_sock* accepted = nullptr;
  sc_time accepted_at;
  b.run([&] {
    tcp_sock& l = b.stack.tcp().tcp_listen(HPORT, 128);
    b.c.kthread_create("acceptor", [&] {
      accepted = &b.stack.tcp().inet_csk_accept(l);
      accepted_at = sc_core::sc_time_stamp();
      b.c.current()->state = task_struct::TASK_INTERRUPTIBLE;
      b.c.schedule();
    });
    b.c.schedule();  // still runnable: the acceptor runs and sleeps in accept
    EXPECT_EQ(accepted, nullptr);
    b.inject(tcp_frame(PEER_ISN, 0, TCPHDR_SYN, syn_opts(), 0, 0));
    unsigned tl = 0;
    const uint8_t* th = b.next_tx(&tl);
    ASSERT_NE(th, nullptr);
    EXPECT_EQ(th[13], TCPHDR_SYN | TCPHDR_ACK);
    EXPECT_EQ(proto::get_be32(th + 8), PEER_ISN + 1);
    // Options: MSS 1460, SACK-permitted, timestamps echoing ours, window scale 7.
    const unsigned doff = (th[12] >> 4) * 4u;
    ASSERT_EQ(doff, tl);
    bool mss = false, sack = false, ts = false;
    int wscale = -1;
    for (unsigned i = 20; i < doff;) {
      if (th[i] == 1) {
        ++i;
        continue;
      }
      if (th[i] == 0) break;
      if (th[i] == 2) mss = proto::get_be16(th + i + 2) == 1460;
      if (th[i] == 4) sack = true;
      if (th[i] == 8) ts = proto::get_be32(th + i + 6) == 1;
      if (th[i] == 3) wscale = th[i + 2];
      i += th[i + 1];
    }
    EXPECT_TRUE(mss && sack && ts);
    EXPECT_EQ(wscale, 7);  // ilog2(tcp_rmem[2] = 6291456) - 15
    EXPECT_EQ(b.stack.init_net().mib.tcp_statistics.PassiveOpens, 0u);
    const sc_time acked = sc_core::sc_time_stamp();
    b.synack_isn = proto::get_be32(th + 4);
    b.inject(tcp_frame(PEER_ISN + 1, b.synack_isn + 1, TCPHDR_ACK, ts_opts(2, 0), 0, 0, 512));
    b.c.schedule();  // the woken acceptor runs
    ASSERT_NE(accepted, nullptr);
    EXPECT_GE(accepted_at, acked);
    EXPECT_EQ(accepted->state, TCP_ESTABLISHED);
    EXPECT_EQ(accepted->rx_opt.snd_wscale, 7);
    EXPECT_TRUE(accepted->rx_opt.sack_ok && accepted->rx_opt.tstamp_ok);
  });
  EXPECT_EQ(b.mib().PassiveOpens, 1u);
  EXPECT_EQ(b.mib().CurrEstab, 1u);
  EXPECT_EQ(b.stack.tcp().frames_consumed(), 2u);  // the SYN and the ACK
}

TEST(host_tcp, a_segment_to_no_socket_gets_a_reset_and_a_bad_checksum_is_counted) {
  tcp_bench b;
  b.run([&] {
    b.inject(tcp_frame(5000, 77, TCPHDR_ACK, {}, 0, 100));
    unsigned tl = 0;
    const uint8_t* th = b.next_tx(&tl);
    ASSERT_NE(th, nullptr);
    EXPECT_EQ(th[13], TCPHDR_RST);
    EXPECT_EQ(proto::get_be32(th + 4), 77u);  // seq = the segment's ACK
    b.inject(tcp_frame(5000, 77, TCPHDR_ACK, {}, 0, 100, 512, true));
    EXPECT_EQ(b.tx_count(), 1u);  // no reset for a corrupted segment
  });
  EXPECT_EQ(b.mib().OutRsts, 1u);
  EXPECT_EQ(b.mib().InCsumErrors, 1u);
  EXPECT_EQ(b.mib().InErrs, 1u);
  EXPECT_EQ(b.stack.skb().drops()[static_cast<size_t>(skb_drop_reason::NO_SOCKET)], 1u);
  EXPECT_EQ(b.stack.skb().drops()[static_cast<size_t>(skb_drop_reason::TCP_CSUM)], 1u);
}

TEST(host_tcp, in_order_data_takes_the_fast_path_and_quick_acks_at_start) {
  tcp_bench b;
  tcp_sock* sk = nullptr;
  b.run([&] {
    sk = b.handshake(b.stack.tcp().tcp_listen(HPORT, 128));
    ASSERT_NE(sk, nullptr);
    const unsigned before = b.tx_count();
    b.data(0, 1448);
    b.data(1448, 1448);
    EXPECT_EQ(b.tx_count(), before + 2);  // quick-ack mode: each segment ACKed at once
    b.seen = before + 1;
    const uint8_t* th = b.next_tx();
    ASSERT_NE(th, nullptr);
    EXPECT_EQ(proto::get_be32(th + 8), PEER_ISN + 1 + 2896);
  });
  EXPECT_EQ(b.ext().TCPHPHits, 2u);
  EXPECT_EQ(sk->bytes_received, 2896u);
  EXPECT_EQ(sk->rcv_nxt, PEER_ISN + 1 + 2896);
  EXPECT_EQ(b.ext().TCPRcvCoalesce, 1u);  // the second segment's bytes joined the first skb
  ASSERT_EQ(sk->sk_receive_queue.size(), 1u);
  // One skb carries both wire frames (the second's buffer is a frag of the first).
  EXPECT_EQ(skb_frame_count(*sk->sk_receive_queue.front()), 2u);
  EXPECT_EQ(b.stack.tcp().frames_consumed(), 2u);  // the SYN and the ACK
}

TEST(host_tcp, out_of_order_goes_to_the_ofo_queue_with_sack_and_drains_when_the_hole_fills) {
  tcp_bench b;
  tcp_sock* sk = nullptr;
  std::vector<uint8_t> buf(8192);
  long n = 0;
  uint64_t off = 99;
  b.run([&] {
    sk = b.handshake(b.stack.tcp().tcp_listen(HPORT, 128));
    ASSERT_NE(sk, nullptr);
    const unsigned before = b.tx_count();
    b.data(1448, 1448);  // the first segment is missing
    EXPECT_EQ(sk->out_of_order_queue.size(), 1u);
    EXPECT_EQ(sk->rcv_nxt, PEER_ISN + 1);
    b.seen = before;
    unsigned tl = 0;
    const uint8_t* th = b.next_tx(&tl);
    ASSERT_NE(th, nullptr);  // an immediate duplicate ACK with a SACK block
    EXPECT_EQ(proto::get_be32(th + 8), PEER_ISN + 1);
    ASSERT_EQ(tl, 20u + 12u + 4u + 8u);
    EXPECT_EQ(th[20 + 12 + 2], 5);  // SACK
    EXPECT_EQ(proto::get_be32(th + 20 + 16), PEER_ISN + 1 + 1448);
    EXPECT_EQ(proto::get_be32(th + 20 + 20), PEER_ISN + 1 + 2896);
    b.data(0, 1448);  // fills the hole
    EXPECT_TRUE(sk->out_of_order_queue.empty());
    EXPECT_EQ(sk->rcv_nxt, PEER_ISN + 1 + 2896);
    n = b.stack.tcp().tcp_recvmsg(*sk, buf.data(), buf.size(), &off);
  });
  EXPECT_EQ(b.ext().TCPOFOQueue, 1u);
  EXPECT_EQ(b.ext().TCPHPHits, 0u);  // out of order: the slow path
  ASSERT_EQ(n, 2896);
  EXPECT_EQ(off, 0u);
  EXPECT_EQ(proto::tcp_stream_check(0, 0, buf.data(), 2896), 2896u);
  EXPECT_EQ(b.stack.tcp().frames_consumed(), 4u);  // SYN, ACK, both data frames
  EXPECT_EQ(sk->sk_rmem_alloc, 0u);
}

TEST(host_tcp, after_quick_acks_one_segment_waits_for_the_delack_timer_and_two_are_acked_at_once) {
  tcp_bench b;
  b.run_for = sc_time(300, SC_MS);
  tcp_sock* sk = nullptr;
  sc_time sent, acked;
  b.run([&] {
    sk = b.handshake(b.stack.tcp().tcp_listen(HPORT, 128));
    ASSERT_NE(sk, nullptr);
    uint64_t off = 0;
    std::vector<uint8_t> buf(65536);
    // No window growth (tcp_grow_window would grant a quick ACK) and no autotuning.
    sk->window_clamp = sk->rcv_ssthresh;
    sk->rcvq_space.space = 1u << 30;
    for (int i = 0; i < 40 && (i == 0 || sk->icsk_ack.quick); ++i) {  // use up the quick-ack credit
      b.data(off, 1448);
      off += 1448;
      b.stack.tcp().tcp_recvmsg(*sk, buf.data(), buf.size());
      b.c.charge(sc_time(100, SC_US));
    }
    ASSERT_EQ(sk->icsk_ack.quick, 0);
    b.c.charge(sc_time(5, SC_MS));
    const unsigned before = b.tx_count();
    b.data(off, 1448);
    off += 1448;
    sent = sc_core::sc_time_stamp();
    EXPECT_EQ(b.tx_count(), before);  // delayed
    while (b.tx_count() == before && sc_core::sc_time_stamp() - sent < sc_time(250, SC_MS))
      b.c.charge(sc_time(100, SC_US));
    acked = sc_core::sc_time_stamp();
    EXPECT_EQ(b.tx_count(), before + 1);
    // Two full segments back to back: ACKed at once (more than one rcv_mss unACKed and the
    // window's right edge advances).
    const unsigned before2 = b.tx_count();
    b.data(off, 1448);
    EXPECT_EQ(b.tx_count(), before2);
    b.data(off + 1448, 1448);
    EXPECT_EQ(b.tx_count(), before2 + 1);
  });
  EXPECT_GE(acked - sent, sc_time(40, SC_MS) - sc_time(1, SC_MS));  // TCP_DELACK_MIN, at jiffy grain
  EXPECT_LE(acked - sent, sc_time(201, SC_MS));                     // TCP_DELACK_MAX
  EXPECT_EQ(b.ext().DelayedACKs, 1u);
}

TEST(host_tcp, segments_while_the_reader_owns_the_socket_go_to_the_backlog_and_release_sock_processes_them) {
  tcp_bench b;
  tcp_sock* sk = nullptr;
  b.run([&] {
    sk = b.handshake(b.stack.tcp().tcp_listen(HPORT, 128));
    ASSERT_NE(sk, nullptr);
    lock_sock(*sk);  // a reader holds the socket
    b.data(0, 1448);
    b.data(1448, 1448);
    EXPECT_EQ(sk->sk_backlog.size(), 1u);  // the second coalesced into the first
    EXPECT_EQ(sk->rcv_nxt, PEER_ISN + 1);
    const sc_time user0 = b.c.stats().time[static_cast<size_t>(cpu_ctx::system)] +
                          b.c.stats().time[static_cast<size_t>(cpu_ctx::user)];
    std::vector<uint8_t> buf(4096);
    uint64_t off = 0;
    // tcp_recvmsg's own lock: drop ours first (the backlog stays until a release).
    sk->owned_by_user = false;
    const long n = b.stack.tcp().tcp_recvmsg(*sk, buf.data(), buf.size(), &off);
    EXPECT_EQ(n, 2896);
    EXPECT_EQ(proto::tcp_stream_check(0, 0, buf.data(), 2896), 2896u);
    const sc_time user1 = b.c.stats().time[static_cast<size_t>(cpu_ctx::system)] +
                          b.c.stats().time[static_cast<size_t>(cpu_ctx::user)];
    EXPECT_GT(user1, user0);  // the backlog's processing charged to the reader
  });
  EXPECT_EQ(b.ext().TCPBacklogCoalesce, 1u);
  EXPECT_EQ(sk->sk_backlogged, 1u);
  EXPECT_TRUE(sk->sk_backlog.empty());
  EXPECT_EQ(sk->sk_backlog_len, 0u);
}

TEST(host_tcp, the_reader_draining_a_full_window_sends_a_window_update) {
  tcp_bench b;
  tcp_sock* sk = nullptr;
  b.run([&] {
    sk = b.handshake(b.stack.tcp().tcp_listen(HPORT, 128));
    ASSERT_NE(sk, nullptr);
    uint64_t off = 0;
    // No reader: the queue fills, the advertised window stops growing and is used up.
    for (int i = 0; i < 200 && static_cast<int32_t>(sk->rcv_wup + sk->rcv_wnd - sk->rcv_nxt) >= 1448; ++i) {
      b.data(off, 1448);
      off += 1448;
    }
    ASSERT_LT(static_cast<int32_t>(sk->rcv_wup + sk->rcv_wnd - sk->rcv_nxt), 1448);
    const unsigned before = b.tx_count();
    std::vector<uint8_t> buf(1 << 20);
    const long n = b.stack.tcp().tcp_recvmsg(*sk, buf.data(), buf.size());
    EXPECT_EQ(static_cast<uint64_t>(n), off);
    ASSERT_GT(b.tx_count(), before);  // tcp_cleanup_rbuf's ACK
    b.seen = b.tx_count() - 1;
    const uint8_t* th = b.next_tx();
    EXPECT_EQ(proto::get_be32(th + 8), PEER_ISN + 1 + static_cast<uint32_t>(off));
    EXPECT_GT(uint32_t{proto::get_be16(th + 14)} << 7, 0u);
  });
}

TEST(host_tcp, data_into_a_zero_window_is_dropped_and_counted) {
  tcp_bench b;
  b.run_for = sc_time(300, SC_MS);
  tcp_sock* sk = nullptr;
  b.run([&] {
    sk = b.handshake(b.stack.tcp().tcp_listen(HPORT, 128));
    ASSERT_NE(sk, nullptr);
    // A tiny receive buffer: the window closes after a few segments.
    sk->sk_rcvbuf = 4 * 2624;
    sk->rcv_ssthresh = std::min(sk->rcv_ssthresh, 4u * 1448);
    uint64_t off = 0;
    for (int i = 0; i < 12; ++i) {
      b.data(off, 1448);
      off += 1448;
    }
    b.c.charge(sc_time(100, SC_MS));  // the delayed ACK goes out, wanting a zero window
  });
  EXPECT_GT(b.ext().TCPToZeroWindowAdv + b.ext().TCPWantZeroWindowAdv, 0u);
  EXPECT_GT(b.ext().TCPZeroWindowDrop + b.ext().TCPRcvQDrop + b.ext().PruneCalled, 0u);
  uint64_t drops = 0;
  for (uint64_t d : b.stack.skb().drops()) drops += d;
  // Every data frame: queued (bytes_received / 1448 of them) or dropped once.
  EXPECT_EQ(sk->bytes_received / 1448 + drops, 12u);
}

namespace {
// Records every value set on one probe (the socket's sock_owned_by_user), nothing else.
struct owned_recorder : nicsim::waves::observer {
  std::vector<uint64_t> values;
  int signal(const std::string&, unsigned) override { return 0; }
  int text_signal(const std::string&) override { return -1; }
  void set(int, uint64_t v) override { values.push_back(v); }
  void set_text(int, const char*) override {}
  int track(const std::string&, const std::string&) override { return 0; }
  void begin(int, const char*) override {}
  void end(int) override {}
  void frame(uint64_t, nicsim::waves::frame_stage, int) override {}
  void frame_dropped(uint64_t, const char*) override {}
  void hardirq(unsigned, int) override {}
  void frame_cpu(uint64_t, int) override {}
};
}  // namespace

// tcp_recvmsg_locked (net/ipv4/tcp.c, v6.6): a reader that has copied its target and finds a
// backlog processes it with __sk_flush_backlog (net/core/sock.c, v6.6), which keeps the socket
// owned: ownership is taken once (lock_sock) and dropped once (release_sock), where a release
// and a re-lock in between would let softirq queue straight into the receive queue meanwhile.
TEST(host_tcp, a_reader_that_has_its_target_flushes_the_backlog_without_giving_up_the_socket) {
  tcp_bench b;
  tcp_sock* sk = nullptr;
  owned_recorder rec;
  b.run([&] {
    sk = b.handshake(b.stack.tcp().tcp_listen(HPORT, 128));
    ASSERT_NE(sk, nullptr);
    b.data(0, 1448);  // queued: the reader's target (1 byte) is met by it
    lock_sock(*sk);
    b.data(1448, 1448);  // while owned: to the backlog
    ASSERT_EQ(sk->sk_backlog.size(), 1u);
    ASSERT_EQ(sk->sk_receive_queue.size(), 1u);
    sk->owned_by_user = false;  // tcp_recvmsg takes its own lock
    sk->owned_probe.attach(&rec, "owned", 1);
    std::vector<uint8_t> buf(4096);
    uint64_t off = 0;
    const long n = b.stack.tcp().tcp_recvmsg(*sk, buf.data(), buf.size(), &off);
    EXPECT_EQ(n, 2896);  // the first segment, then the flushed one
    EXPECT_EQ(proto::tcp_stream_check(0, 0, buf.data(), 2896), 2896u);
  });
  EXPECT_EQ(rec.values, (std::vector<uint64_t>{1, 0}));
  EXPECT_TRUE(sk->sk_backlog.empty());
  EXPECT_EQ(sk->sk_backlog_len, 0u);
}
