// GRO (net/core/gro.c, net/ipv4/af_inet.c, tcp_offload.c, udp_offload.c, v6.6) on a bare CPU:
// real Ethernet/IPv4/TCP and UDP frames in receive buffers, handed to napi_gro_receive from a
// NAPI poll as the driver does, and what reaches the protocols above ip_rcv.
#include "host/net/core/gro.h"

#include <gtest/gtest.h>
#include <tlm_utils/simple_initiator_socket.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <vector>

#include "host/cost_table.h"
#include "host/kernel/cpu.h"
#include "host/net/ipv4/inet_offload.h"
#include "host/net/netstack.h"
#include "proto/checksum.h"
#include "proto/frame.h"
#include "tb/system_top.h"
#include "tlm/host_memory.h"

using namespace nicsim::host;
namespace proto = nicsim::proto;
using sc_core::sc_time;

namespace {
const cost_table& costs() {
  static const cost_table t = cost_table::defaults(3.0);
  return t;
}
void sleep_forever(cpu& c) {
  c.current()->state = task_struct::TASK_INTERRUPTIBLE;
  c.schedule();
}

constexpr unsigned MSS = 1448;
constexpr uint32_t PEER = 0x0A000001;

// One TCP/IPv4 segment as the wire carries it (the test's own builder).
struct tcp_seg {
  uint16_t sport = 40000, dport = 5001;
  uint32_t seq = 1000, ack = 77;
  uint32_t flags = TCP_FLAG_ACK;  // tcp_flag_word bits
  uint16_t window = 512;
  unsigned payload = MSS;
  uint16_t ip_id = 1;
  bool timestamps = false;  // a 12-byte option block (NOP, NOP, TS)
  uint32_t tsval = 100;
  uint8_t tos = 0, ttl = 64;
};

struct udp_dgram {
  uint16_t sport = 40000, dport = 9000;
  unsigned payload = 1000;
  uint16_t ip_id = 1;
};

struct dma_stub : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<dma_stub> socket{"socket"};
  explicit dma_stub(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {}
};

// A CPU, the stack, a pool of receive buffers, a NAPI instance whose poll hands the queued
// skbs to napi_gro_receive (as e1000_clean_rx_irq does) and completes below its weight, and a
// TCP handler in inet_protos[] that records what ip_rcv delivers.
struct gro_bench {
  nicsim::tlm::host_memory mem{"mem", 1 << 22, sc_core::SC_ZERO_TIME};
  dma_stub dma{"dma"};
  gro_bench() {
    dma.socket.bind(mem.socket);
    napi.name = "eth0";
    napi.poll = [this](napi_struct& n, int budget) {
      int work = 0;
      while (work < budget && !queue.empty()) {
        sk_buff* skb = queue.front();
        queue.pop_front();
        ++fed;
        stack.core().napi_gro_receive(n, skb);
        ++work;
        if (after_each) after_each();
      }
      if (work < budget) stack.core().napi_complete_done(n, work);
      return work;
    };
    tcp_proto.handler = [this](sk_buff* skb) {
      delivered.push_back(skb);
      fed_at_delivery.push_back(fed);
    };
    // In place of the stack's TCP (inet_del_protocol, inet_add_protocol).
    EXPECT_TRUE(stack.ip().inet_del_protocol(stack.tcp().protocol(), proto::IPPROTO_TCP));
    EXPECT_TRUE(stack.ip().inet_add_protocol(&tcp_proto, proto::IPPROTO_TCP));
  }
  cpu c{"cpu", 0, costs()};
  skb_cache skbs;
  rx_buffer_pool buffers{mem, 0x10000, 2048, 256};
  netstack stack{{&c}, skbs, buffers, nullptr, netstack_params{}};
  napi_struct napi;
  net_protocol tcp_proto;
  std::deque<sk_buff*> queue;
  std::vector<sk_buff*> delivered;        // at the TCP handler (after ip_rcv)
  std::vector<unsigned> fed_at_delivery;  // how many skbs the poll had passed to GRO then (this one included)
  unsigned fed = 0;
  std::function<void()> after_each;

  uint8_t* frame_eth(uint64_t buf) {
    uint8_t* f = buffers.ptr(buf);
    std::fill(f, f + 2048, uint8_t{0});
    const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02}, src[6] = {0x02, 0, 0, 0, 0, 0x01};
    std::copy(dst, dst + 6, f);
    std::copy(src, src + 6, f + 6);
    proto::put_be16(f + 12, proto::ETH_P_IP);
    return f;
  }
  void ip_header(uint8_t* iph, unsigned tot_len, uint8_t protocol, uint16_t id, uint8_t tos, uint8_t ttl) {
    iph[0] = 0x45;
    iph[1] = tos;
    proto::put_be16(iph + 2, static_cast<uint16_t>(tot_len));
    proto::put_be16(iph + 4, id);
    proto::put_be16(iph + 6, 0x4000);  // DF
    iph[8] = ttl;
    iph[9] = protocol;
    proto::put_be32(iph + 12, PEER);
    proto::put_be32(iph + 16, netstack_params{}.local_ip);
    proto::put_be16(iph + 10, proto::csum_fold(proto::csum_partial(iph, 20)));
  }
  // The skb the driver makes of a frame: Ethernet header pulled (eth_type_trans).
  sk_buff* skb_of(uint64_t buf, unsigned frame_len) {
    sk_buff* skb = skbs.alloc();
    skb->buf_addr = buf;
    skb->head = buffers.ptr(buf);
    skb->len = frame_len;
    skb->truesize = 2048 + 576;
    skb->protocol = proto::ETH_P_IP;
    skb->pull(proto::ETH_HLEN);
    return skb;
  }
  // Payload byte i of the stream at sequence number seq.
  static uint8_t stream_byte(uint32_t seq) { return static_cast<uint8_t>(seq * 7 + 3); }
  sk_buff* tcp(const tcp_seg& s) {
    const uint64_t buf = buffers.alloc();
    uint8_t* f = frame_eth(buf);
    const unsigned thlen = s.timestamps ? 32 : 20;
    const unsigned tot = 20 + thlen + s.payload;
    uint8_t* iph = f + 14;
    ip_header(iph, tot, proto::IPPROTO_TCP, s.ip_id, s.tos, s.ttl);
    uint8_t* th = iph + 20;
    proto::put_be16(th, s.sport);
    proto::put_be16(th + 2, s.dport);
    proto::put_be32(th + 4, s.seq);
    proto::put_be32(th + 8, s.ack);
    proto::put_be32(th + 12, (uint32_t{thlen / 4} << 28) | s.flags | s.window);
    if (s.timestamps) {
      th[20] = 1, th[21] = 1, th[22] = 8, th[23] = 10;
      proto::put_be32(th + 24, s.tsval);
      proto::put_be32(th + 28, 55);
    }
    for (unsigned i = 0; i < s.payload; ++i) th[thlen + i] = stream_byte(s.seq + i);
    const uint32_t sum =
        proto::csum_tcpudp_nofold(PEER, netstack_params{}.local_ip, static_cast<uint16_t>(thlen + s.payload),
                                  proto::IPPROTO_TCP, proto::csum_partial(th, thlen + s.payload));
    proto::put_be16(th + 16, proto::csum_fold(sum));
    return skb_of(buf, 14 + tot);
  }
  sk_buff* udp(const udp_dgram& d) {
    const uint64_t buf = buffers.alloc();
    uint8_t* f = frame_eth(buf);
    const unsigned tot = 20 + 8 + d.payload;
    uint8_t* iph = f + 14;
    ip_header(iph, tot, proto::IPPROTO_UDP, d.ip_id, 0, 64);
    uint8_t* uh = iph + 20;
    proto::put_be16(uh, d.sport);
    proto::put_be16(uh + 2, d.dport);
    proto::put_be16(uh + 4, static_cast<uint16_t>(8 + d.payload));
    for (unsigned i = 0; i < d.payload; ++i) uh[8 + i] = static_cast<uint8_t>(i);
    uint16_t csum = proto::csum_fold(
        proto::csum_tcpudp_nofold(PEER, netstack_params{}.local_ip, static_cast<uint16_t>(8 + d.payload),
                                  proto::IPPROTO_UDP, proto::csum_partial(uh, 8 + d.payload)));
    proto::put_be16(uh + 6, csum == 0 ? 0xFFFF : csum);
    return skb_of(buf, 14 + tot);
  }
  // Queues skbs and runs one NAPI poll over them through net_rx_action.
  void poll_once() {
    c.kthread_create("t", [this] {
      ASSERT_TRUE(stack.core().napi_schedule_prep(napi));
      stack.core().__napi_schedule(napi);
      stack.core().net_rx_action();
      sleep_forever(c);
    });
    sc_core::sc_start(sc_time(10, sc_core::SC_MS));
  }
  void free_delivered() {
    for (sk_buff* skb : delivered) stack.skb().__consume_stateless_skb(skb);
    delivered.clear();
  }
};

// The IPv4 header of a delivered skb (after ip_rcv: skb->data is at the TCP header).
const uint8_t* iph_of(const sk_buff* skb) { return skb->head + skb->network_header; }
const uint8_t* th_of(const sk_buff* skb) { return skb->data_ptr(); }
unsigned payload_of(const sk_buff* skb) { return skb->len - (th_of(skb)[12] >> 4) * 4u; }
uint32_t seq_of(const sk_buff* skb) { return proto::get_be32(th_of(skb) + 4); }

std::vector<tcp_seg> stream(unsigned n, uint32_t seq0 = 1000) {
  std::vector<tcp_seg> v(n);
  for (unsigned i = 0; i < n; ++i) {
    v[i].seq = seq0 + i * MSS;
    v[i].ip_id = static_cast<uint16_t>(1 + i);
  }
  return v;
}
}  // namespace

TEST(gro, in_order_segments_of_a_flow_merge_into_one_skb_completed_at_poll_end) {
  gro_bench b;
  const unsigned start = b.buffers.available();
  auto segs = stream(4);
  for (unsigned i = 0; i < 4; ++i) segs[i].window = 512;
  for (const auto& s : segs) b.queue.push_back(b.tcp(s));
  b.poll_once();
  ASSERT_EQ(b.delivered.size(), 1u);
  EXPECT_EQ(b.fed_at_delivery[0], 4u);  // held until napi_complete_done flushed it
  const sk_buff* skb = b.delivered[0];
  // One skb: 4 segments, the payload in the head and three stolen buffers as frags.
  EXPECT_EQ(skb->gso_segs, 4u);
  EXPECT_EQ(skb->gso_size, MSS);
  EXPECT_EQ(skb->nr_frags, 3u);
  EXPECT_EQ(skb->frag_list, nullptr);
  EXPECT_EQ(skb->len, 20 + 4 * MSS);  // from the TCP header
  EXPECT_EQ(skb->ip_summed, CHECKSUM_PARTIAL);
  EXPECT_TRUE(skb_csum_unnecessary(*skb));
  // inet_gro_complete: tot_len of the whole, and a header checksum that checks.
  const uint8_t* iph = iph_of(skb);
  EXPECT_EQ(proto::get_be16(iph + 2), 20 + 20 + 4 * MSS);
  EXPECT_EQ(proto::csum_fold(proto::csum_partial(iph, 20)), 0);
  // The head's TCP header: the first segment's seq, ack, flags and window.
  const uint8_t* th = th_of(skb);
  EXPECT_EQ(seq_of(skb), 1000u);
  EXPECT_EQ(proto::get_be32(th + 8), 77u);
  EXPECT_EQ(proto::get_be32(th + 12) & 0x00FF0000, TCP_FLAG_ACK);
  EXPECT_EQ(proto::get_be16(th + 14), 512u);
  // tcp4_gro_complete: th->check is the pseudo header's sum (CHECKSUM_PARTIAL).
  const uint16_t pseudo = static_cast<uint16_t>(~proto::csum_fold(proto::csum_tcpudp_nofold(
      PEER, netstack_params{}.local_ip, static_cast<uint16_t>(skb->len), proto::IPPROTO_TCP, 0)));
  EXPECT_EQ(proto::get_be16(th + 16), pseudo);
  // The whole stream, in order.
  std::vector<uint8_t> bytes(4 * MSS);
  ASSERT_TRUE(skb_copy_bits(*skb, 20, bytes.data(), 4 * MSS));
  for (unsigned i = 0; i < bytes.size(); ++i) ASSERT_EQ(bytes[i], gro_bench::stream_byte(1000 + i)) << i;
  // Its frames, as observers see them: the four buffers in order.
  std::vector<const uint8_t*> frames;
  skb_for_each_frame(*skb, [&](const uint8_t* f) { frames.push_back(f); });
  ASSERT_EQ(frames.size(), 4u);
  for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(proto::get_be32(frames[i] + 14 + 20 + 4), segs[i].seq);
  const gro_stats st = b.stack.core().gro_totals();
  EXPECT_EQ(st.received, 4u);
  EXPECT_EQ(st.held, 1u);
  EXPECT_EQ(st.merged, 3u);
  EXPECT_EQ(st.flushed, 1u);
  EXPECT_EQ(st.flushed_segs, 4u);
  EXPECT_EQ(b.stack.core().softnet(0).processed, 1u);  // one skb went up
  // Freeing the merged skb gives every buffer back.
  b.free_delivered();
  EXPECT_EQ(b.buffers.available(), start);
  EXPECT_EQ(b.skbs.in_use(), 0u);
  nicsim::tb::unwind_threads();
}

TEST(gro, psh_is_merged_and_flushes_the_flow_at_once) {
  gro_bench b;
  auto segs = stream(3);
  segs[1].flags |= TCP_FLAG_PSH;
  for (const auto& s : segs) b.queue.push_back(b.tcp(s));
  std::vector<unsigned> held, batched;
  b.after_each = [&] {
    held.push_back(b.napi.gro_held());
    batched.push_back(static_cast<unsigned>(b.napi.rx_count));
  };
  b.poll_once();
  // The PSH segment left GRO at once, merged (2 segments batched), the third was held anew;
  // the list went up at the end of the poll (2 + 1 segments: below gro_normal_batch).
  EXPECT_EQ(held, (std::vector<unsigned>{1, 0, 1}));
  EXPECT_EQ(batched, (std::vector<unsigned>{0, 2, 2}));
  ASSERT_EQ(b.delivered.size(), 2u);
  EXPECT_EQ(b.delivered[0]->gso_segs, 2u);
  EXPECT_EQ(b.fed_at_delivery[0], 3u);
  EXPECT_TRUE(proto::get_be32(th_of(b.delivered[0]) + 12) & TCP_FLAG_PSH);  // PSH carried to the head
  EXPECT_EQ(seq_of(b.delivered[1]), segs[2].seq);                           // the third was held anew, alone
  EXPECT_EQ(b.delivered[1]->gso_size, 0u);
  b.free_delivered();
  nicsim::tb::unwind_threads();
}

// FIN is merged and then flushes; SYN, RST, URG and CWR differ from the held flags: the held
// skb leaves and the new one goes up alone.
class gro_flags : public ::testing::TestWithParam<uint32_t> {};
TEST_P(gro_flags, a_control_flag_ends_the_merge) {
  gro_bench b;
  auto segs = stream(2);
  segs[1].flags |= GetParam();
  for (const auto& s : segs) b.queue.push_back(b.tcp(s));
  b.poll_once();
  if (GetParam() == TCP_FLAG_FIN) {
    ASSERT_EQ(b.delivered.size(), 1u);
    EXPECT_EQ(b.delivered[0]->gso_segs, 2u);
    EXPECT_TRUE(proto::get_be32(th_of(b.delivered[0]) + 12) & TCP_FLAG_FIN);
    EXPECT_EQ(b.fed_at_delivery[0], 2u);
  } else {
    ASSERT_EQ(b.delivered.size(), 2u);
    EXPECT_EQ(seq_of(b.delivered[0]), segs[0].seq);
    EXPECT_EQ(seq_of(b.delivered[1]), segs[1].seq);
    EXPECT_EQ(b.stack.core().gro_totals().merged, 0u);
  }
  b.free_delivered();
  nicsim::tb::unwind_threads();
}
INSTANTIATE_TEST_SUITE_P(tcp, gro_flags,
                         ::testing::Values(TCP_FLAG_FIN, TCP_FLAG_SYN, TCP_FLAG_RST, TCP_FLAG_URG,
                                           TCP_FLAG_CWR));

TEST(gro, a_gap_in_sequence_or_a_changed_ack_window_or_timestamp_flushes) {
  gro_bench b;
  auto segs = stream(9);
  segs[2].seq += MSS;  // gap: 2 starts a new skb, 3 follows it in order
  for (unsigned i = 3; i < 9; ++i) segs[i].seq += MSS;
  segs[4].ack = 99;  // 4: another ACK number
  for (unsigned i = 5; i < 9; ++i) segs[i].ack = 99;
  segs[6].window = 1024;  // 6: another window
  for (unsigned i = 7; i < 9; ++i) segs[i].window = 1024;
  for (auto& s : segs) s.timestamps = true;
  segs[8].tsval = 101;  // 8: another TSval
  for (const auto& s : segs) b.queue.push_back(b.tcp(s));
  b.poll_once();
  std::vector<std::pair<uint32_t, unsigned>> got;  // (seq, segments)
  for (const sk_buff* skb : b.delivered) got.push_back({seq_of(skb), std::max<unsigned>(skb->gso_segs, 1)});
  const std::vector<std::pair<uint32_t, unsigned>> want{
      {segs[0].seq, 2}, {segs[2].seq, 2}, {segs[4].seq, 2}, {segs[6].seq, 2}, {segs[8].seq, 1}};
  EXPECT_EQ(got, want);
  b.free_delivered();
  nicsim::tb::unwind_threads();
}

TEST(gro, flows_are_held_apart_and_hash_picks_the_bucket) {
  gro_bench b;
  auto a = stream(2), c = stream(2, 50000);
  for (auto& s : c) s.sport = 40001;
  b.queue = {b.tcp(a[0]), b.tcp(c[0]), b.tcp(a[1]), b.tcp(c[1])};
  b.queue[1]->hash = 5, b.queue[3]->hash = 5;  // flow c's RSS hash (flow a: 0)
  unsigned long bitmask_mid = 0;
  b.after_each = [&] {
    if (b.fed == 4) bitmask_mid = b.napi.gro_bitmask;
  };
  b.poll_once();
  EXPECT_EQ(bitmask_mid, (1ul << 0) | (1ul << 5));
  ASSERT_EQ(b.delivered.size(), 2u);
  for (const sk_buff* skb : b.delivered) EXPECT_EQ(skb->gso_segs, 2u);
  b.free_delivered();
  nicsim::tb::unwind_threads();
}

TEST(gro, a_short_segment_ends_the_merge_and_a_longer_one_is_not_merged) {
  gro_bench b;
  auto segs = stream(4);
  segs[1].payload = 1000;  // shorter than the MSS: merged, then the flow leaves
  segs[2].seq = segs[1].seq + 1000;
  segs[2].payload = 600;            // held anew with MSS 600 ...
  segs[3].seq = segs[2].seq + 600;  // ... so 1448 bytes do not fit it: not merged
  for (const auto& s : segs) b.queue.push_back(b.tcp(s));
  std::vector<unsigned> held;
  b.after_each = [&] { held.push_back(b.napi.gro_held()); };
  b.poll_once();
  EXPECT_EQ(held, (std::vector<unsigned>{1, 0, 1, 1}));
  ASSERT_EQ(b.delivered.size(), 3u);
  EXPECT_EQ(b.delivered[0]->gso_segs, 2u);
  EXPECT_EQ(payload_of(b.delivered[0]), MSS + 1000);
  EXPECT_EQ(seq_of(b.delivered[1]), segs[2].seq);
  EXPECT_EQ(seq_of(b.delivered[2]), segs[3].seq);
  b.free_delivered();
  nicsim::tb::unwind_threads();
}

TEST(gro, merged_skb_stays_below_64k_with_frags_then_frag_list_and_copies_in_order) {
  gro_bench b;
  const unsigned start = b.buffers.available();
  b.napi.weight = 64;
  const auto segs = stream(50);
  for (const auto& s : segs) b.queue.push_back(b.tcp(s));
  b.poll_once();
  ASSERT_EQ(b.delivered.size(), 2u);
  const sk_buff* big = b.delivered[0];
  // 40 + 45 * 1448 = 65200 < 65536; a 46th segment would reach it (skb_gro_receive: -E2BIG).
  EXPECT_EQ(big->gso_segs, 45u);
  EXPECT_EQ(proto::get_be16(iph_of(big) + 2), 65200u);
  EXPECT_EQ(b.fed_at_delivery[0], 46u);  // 45 segments: a batch of its own, up at once
  // The head and 17 frags (MAX_SKB_FRAGS), then frag_list: two skbs, each taking frags again.
  EXPECT_EQ(big->nr_frags, MAX_SKB_FRAGS);
  ASSERT_NE(big->frag_list, nullptr);
  ASSERT_NE(big->frag_list->next, nullptr);
  EXPECT_EQ(big->frag_list->nr_frags, MAX_SKB_FRAGS);
  EXPECT_EQ(big->frag_list->next->nr_frags, 45u - 36u - 1u);
  EXPECT_EQ(big->frag_list->next->next, nullptr);
  EXPECT_EQ(skb_frame_count(*big), 45u);
  std::vector<uint8_t> bytes(45 * MSS);
  ASSERT_TRUE(skb_copy_bits(*big, 20, bytes.data(), 45 * MSS));
  for (unsigned i = 0; i < bytes.size(); ++i) ASSERT_EQ(bytes[i], gro_bench::stream_byte(1000 + i)) << i;
  EXPECT_EQ(b.delivered[1]->gso_segs, 5u);
  EXPECT_EQ(seq_of(b.delivered[1]), segs[45].seq);
  b.free_delivered();
  EXPECT_EQ(b.buffers.available(), start);
  EXPECT_EQ(b.skbs.in_use(), 0u);
  nicsim::tb::unwind_threads();
}

TEST(gro, a_ninth_flow_in_a_bucket_evicts_the_oldest) {
  gro_bench b;
  for (unsigned f = 0; f < 9; ++f) {
    tcp_seg s;
    s.sport = static_cast<uint16_t>(41000 + f);
    b.queue.push_back(b.tcp(s));
  }
  unsigned held_at_9 = 0;
  b.after_each = [&] {
    if (b.fed == 9) held_at_9 = b.napi.gro_held();
  };
  b.poll_once();
  ASSERT_EQ(b.delivered.size(), 9u);
  EXPECT_EQ(proto::get_be16(th_of(b.delivered[0])), 41000u);  // flow 0 left first, evicted
  EXPECT_EQ(held_at_9, MAX_GRO_SKBS);
  for (unsigned i = 0; i < 9; ++i) EXPECT_EQ(b.fed_at_delivery[i], 9u);  // one list at poll end
  EXPECT_EQ(b.stack.core().gro_totals().flushed_oldest, 1u);
  EXPECT_EQ(b.stack.core().gro_totals().held_max, MAX_GRO_SKBS);
  b.free_delivered();
  nicsim::tb::unwind_threads();
}

TEST(gro, gro_off_delivers_every_frame_unmerged_but_still_batched) {
  gro_bench b;
  net_device dev;
  dev.gro = false;  // ethtool -K gro off
  b.napi.dev = &dev;
  for (const auto& s : stream(4)) b.queue.push_back(b.tcp(s));
  b.poll_once();
  ASSERT_EQ(b.delivered.size(), 4u);
  for (unsigned i = 0; i < 4; ++i) {
    EXPECT_EQ(b.delivered[i]->nr_frags, 0u);
    EXPECT_EQ(b.fed_at_delivery[i], 4u);  // one list at the end of the poll
  }
  EXPECT_EQ(b.stack.core().gro_totals().normal, 4u);
  EXPECT_EQ(b.stack.core().gro_totals().normal_batches, 1u);
  EXPECT_EQ(b.stack.core().gro_totals().merged, 0u);
  b.free_delivered();
  nicsim::tb::unwind_threads();
}

// UDP passes GRO unmerged; GRO_NORMAL skbs go up in lists of gro_normal_batch (8) and at the
// end of the poll; GRO verified the checksums (CHECKSUM_NONE → UNNECESSARY).
TEST(gro, udp_is_never_merged_and_goes_up_in_batches_of_gro_normal_batch) {
  gro_bench b;
  udp_sock* sk = nullptr;
  std::vector<size_t> queued;  // the socket's queue after each napi_gro_receive
  b.after_each = [&] { queued.push_back(sk->sk_receive_queue.size()); };
  const unsigned start = b.buffers.available();
  b.c.kthread_create("bind", [&] {
    sk = &b.stack.udp().udp_bind(9000, 1 << 24);
    sleep_forever(b.c);
  });
  sc_core::sc_start(sc_core::SC_ZERO_TIME);
  for (unsigned i = 0; i < 20; ++i) {
    udp_dgram d;
    d.ip_id = static_cast<uint16_t>(i);
    b.queue.push_back(b.udp(d));
  }
  b.poll_once();
  ASSERT_NE(sk, nullptr);
  std::vector<size_t> want(20, 0);
  for (unsigned i = 7; i < 15; ++i) want[i] = 8;
  for (unsigned i = 15; i < 20; ++i) want[i] = 16;
  EXPECT_EQ(queued, want);
  ASSERT_EQ(sk->sk_receive_queue.size(), 20u);  // the last 4 at the end of the poll
  for (sk_buff* skb : sk->sk_receive_queue) {
    EXPECT_EQ(skb->nr_frags, 0u);
    EXPECT_EQ(skb->frag_list, nullptr);
    EXPECT_EQ(skb->ip_summed, CHECKSUM_UNNECESSARY);
  }
  const gro_stats st = b.stack.core().gro_totals();
  EXPECT_EQ(st.merged, 0u);
  EXPECT_EQ(st.held, 0u);
  EXPECT_EQ(st.normal, 20u);
  EXPECT_EQ(st.normal_batches, 3u);
  for (sk_buff* skb : sk->sk_receive_queue) b.stack.skb().__consume_stateless_skb(skb);
  sk->sk_receive_queue.clear();
  EXPECT_EQ(b.buffers.available(), start);
  nicsim::tb::unwind_threads();
}

TEST(gro, a_udp_datagram_with_a_bad_checksum_is_flushed_and_left_unverified) {
  gro_bench b;
  sk_buff* skb = b.udp(udp_dgram{});
  skb->data_ptr()[20 + 8] ^= 0xFF;  // a payload byte
  skb->napi = &b.napi;
  gro_list head;
  b.c.kthread_create("t", [&] {
    EXPECT_EQ(b.stack.ip().inet_gro_receive(head, skb), nullptr);
    sleep_forever(b.c);
  });
  sc_core::sc_start(sc_time(1, sc_core::SC_MS));
  EXPECT_TRUE(skb->gro.flush);
  EXPECT_EQ(skb->ip_summed, CHECKSUM_NONE);  // udp_recvmsg will check it and count the error
  b.stack.skb().__consume_stateless_skb(skb);
  nicsim::tb::unwind_threads();
}
