// Socket receive memory as the kernel charges it (issue 14, part 4), on a bare CPU with the
// real stack: SO_RCVBUF through sk_setsockopt / __sock_set_rcvbuf (net/core/sock.c, v6.6),
// a new socket's net.core.rmem_default (sock_init_data, v6.6), __udp_enqueue_schedule_skb's
// check against sk_rcvbuf and udp_rmem_release's batching (net/ipv4/udp.c, v6.6), fed real
// Ethernet/IPv4/UDP frames through netif_receive_skb and read with udp_recvmsg.
#include <gtest/gtest.h>
#include <tlm_utils/simple_initiator_socket.h>

#include <algorithm>
#include <climits>
#include <functional>
#include <string>
#include <vector>

#include "host/cost_table.h"
#include "host/kernel/cpu.h"
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

constexpr uint32_t PEER = 0x0A000001;
constexpr unsigned TRUESIZE = 2048 + 576;  // SKB_TRUESIZE of a 2 KiB buffer

struct dma_stub : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<dma_stub> socket{"socket"};
  explicit dma_stub(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {}
};

// A CPU, the stack with the given sysctls, and receive buffers holding UDP datagrams for port
// 9000. Everything runs in one kernel thread (work), which the test fills in.
struct sock_bench {
  nicsim::tlm::host_memory mem{"mem", 1 << 22, sc_core::SC_ZERO_TIME};
  dma_stub dma{"dma"};
  explicit sock_bench(const netstack_params& p = netstack_params{}) : stack{{&c}, skbs, buffers, nullptr, p} {
    dma.socket.bind(mem.socket);
  }
  cpu c{"cpu", 0, costs()};
  skb_cache skbs;
  rx_buffer_pool buffers{mem, 0x10000, 2048, 256};
  netstack stack;
  uint16_t ip_id = 0;
  unsigned runs = 0;

  // A datagram as the driver hands it up: Ethernet header pulled (eth_type_trans).
  sk_buff* udp(unsigned payload = 100) {
    const uint64_t buf = buffers.alloc();
    uint8_t* f = buffers.ptr(buf);
    std::fill(f, f + 2048, uint8_t{0});
    f[0] = 0x02, f[5] = 0x02, f[6] = 0x02, f[11] = 0x01;
    proto::put_be16(f + 12, proto::ETH_P_IP);
    uint8_t* iph = f + 14;
    const unsigned tot = 20 + 8 + payload;
    iph[0] = 0x45;
    proto::put_be16(iph + 2, static_cast<uint16_t>(tot));
    proto::put_be16(iph + 4, ++ip_id);
    iph[8] = 64;
    iph[9] = proto::IPPROTO_UDP;
    proto::put_be32(iph + 12, PEER);
    proto::put_be32(iph + 16, netstack_params{}.local_ip);
    proto::put_be16(iph + 10, proto::csum_fold(proto::csum_partial(iph, 20)));
    uint8_t* uh = iph + 20;
    proto::put_be16(uh, 40000);
    proto::put_be16(uh + 2, 9000);
    proto::put_be16(uh + 4, static_cast<uint16_t>(8 + payload));
    for (unsigned i = 0; i < payload; ++i) uh[8 + i] = static_cast<uint8_t>(i);
    const uint16_t csum = proto::csum_fold(
        proto::csum_tcpudp_nofold(PEER, netstack_params{}.local_ip, static_cast<uint16_t>(8 + payload),
                                  proto::IPPROTO_UDP, proto::csum_partial(uh, 8 + payload)));
    proto::put_be16(uh + 6, csum == 0 ? 0xFFFF : csum);
    sk_buff* skb = skbs.alloc();
    skb->buf_addr = buf;
    skb->head = f;
    skb->len = 14 + tot;
    skb->truesize = TRUESIZE;
    skb->protocol = proto::ETH_P_IP;
    skb->pull(proto::ETH_HLEN);
    return skb;
  }
  void deliver() { stack.core().netif_receive_skb(udp()); }
  long read(udp_sock& sk) {
    uint8_t buf[2048];
    return stack.udp().udp_recvmsg(sk, buf, sizeof buf, true);
  }
  void run(std::function<void()> work) {
    c.kthread_create("t" + std::to_string(runs++), [this, work] {
      work();
      sleep_forever(c);
    });
    sc_core::sc_start(sc_time(10, sc_core::SC_MS));
  }
  uint64_t rcvbuf_errors() { return stack.init_net().mib.udp_statistics.RcvbufErrors; }
};
}  // namespace

// sk_setsockopt (SO_RCVBUF) and __sock_set_rcvbuf (net/core/sock.c, v6.6; the same in 6.1
// and 6.12): min_t(u32, val, sysctl_rmem_max), then doubled, at least SOCK_MIN_RCVBUF.
TEST(sockmem, so_rcvbuf_is_capped_at_rmem_max_then_doubled_sk_setsockopt_v6_6) {
  EXPECT_EQ(sock_rcvbuf_from(100000, 212992), 200000u);
  EXPECT_EQ(sock_rcvbuf_from(212992, 212992), 425984u);        // the default rmem_max: 416 KiB
  EXPECT_EQ(sock_rcvbuf_from(16 << 20, 212992), 425984u);      // capped, not an error
  EXPECT_EQ(sock_rcvbuf_from(16 << 20, 32 << 20), 32u << 20);  // rmem_max raised
  EXPECT_EQ(sock_rcvbuf_from(1, 212992), SOCK_MIN_RCVBUF);     // 2 * 2304
  EXPECT_EQ(SOCK_MIN_RCVBUF, 4608u);
  EXPECT_EQ(sock_rcvbuf_from(-1, 212992), 425984u);            // min_t(u32, ...): a negative int is huge
  EXPECT_EQ(sock_rcvbuf_from(INT_MAX, INT_MAX), 2147483646u);  // min_t(int, val, INT_MAX / 2) * 2
}

// sock_init_data (v6.6): without setsockopt sk_rcvbuf is net.core.rmem_default, not doubled;
// udp_lib_init_sock / udp_lib_setsockopt (net/ipv4/udp.c, v6.6) keep forward_threshold at a
// quarter of it.
TEST(sockmem, a_udp_socket_starts_at_rmem_default_and_setsockopt_moves_forward_threshold_v6_6) {
  netstack_params p;
  p.rmem_default = 100000;
  p.rmem_max = 50000;
  sock_bench b(p);
  udp_sock* plain = nullptr;
  udp_sock* set = nullptr;
  b.run([&] {
    plain = &b.stack.udp().udp_bind(9000, 0);
    set = &b.stack.udp().udp_bind(9001, 30000);
  });
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->sk_rcvbuf, 100000u);
  EXPECT_EQ(plain->forward_threshold, 25000);
  EXPECT_EQ(set->sk_rcvbuf, 60000u);
  EXPECT_EQ(set->forward_threshold, 15000);
  b.run([&] { b.stack.udp().udp_setsockopt_rcvbuf(*set, 80000); });  // over rmem_max
  EXPECT_EQ(set->sk_rcvbuf, 100000u);
  EXPECT_EQ(set->forward_threshold, 25000);
  nicsim::tb::unwind_threads();
}

// __udp_enqueue_schedule_skb (v6.6) drops once sk_rmem_alloc is over sk_rcvbuf (checked
// before the charge: one skb may overshoot); udp_rmem_release (v6.6) gives the memory of
// dequeued datagrams back only when forward_deficit reaches forward_threshold (sk_rcvbuf / 4)
// or the reader queue is empty, so a reader that has taken datagrams does not make room at
// once. Per-datagram release (the model before) would admit the datagram after the first read.
TEST(sockmem, udp_rmem_release_batches_the_release_and_the_queue_stays_full_until_it_does_v6_6) {
  sock_bench b;
  udp_sock* sk = nullptr;
  std::vector<uint64_t> rmem;  // sk_rmem_alloc after each step
  std::vector<uint64_t> errors;
  b.run([&] {
    sk = &b.stack.udp().udp_bind(9000, 13120);  // sk_rcvbuf 26240: ten datagrams of 2624
    for (int i = 0; i < 12; ++i) b.deliver();
    rmem.push_back(sk->sk_rmem_alloc);  // [0] eleven in, the twelfth dropped
    errors.push_back(b.rcvbuf_errors());
    EXPECT_GT(b.read(*sk), 0);          // the reader splices all eleven into its queue, takes one
    rmem.push_back(sk->sk_rmem_alloc);  // [1] still charged: deficit 2624 < 6560
    b.deliver();                        // still over sk_rcvbuf: dropped
    errors.push_back(b.rcvbuf_errors());
    EXPECT_GT(b.read(*sk), 0);
    rmem.push_back(sk->sk_rmem_alloc);  // [2] deficit 5248
    EXPECT_GT(b.read(*sk), 0);
    rmem.push_back(sk->sk_rmem_alloc);  // [3] deficit 7872 >= 6560: released at once
    b.deliver();                        // now there is room
    errors.push_back(b.rcvbuf_errors());
    rmem.push_back(sk->sk_rmem_alloc);  // [4]
    while (b.read(*sk) > 0) {
    }
    rmem.push_back(sk->sk_rmem_alloc);  // [5] the reader queue ran dry: all given back
  });
  ASSERT_NE(sk, nullptr);
  EXPECT_EQ(sk->sk_rcvbuf, 26240u);
  EXPECT_EQ(sk->forward_threshold, 6560);
  EXPECT_EQ(rmem, (std::vector<uint64_t>{11 * TRUESIZE, 11 * TRUESIZE, 11 * TRUESIZE, 8 * TRUESIZE,
                                         9 * TRUESIZE, 0}));
  EXPECT_EQ(errors, (std::vector<uint64_t>{1, 2, 2}));
  EXPECT_EQ(sk->sk_drops, 2u);
  EXPECT_EQ(sk->sk_rmem_alloc_max, 11u * TRUESIZE);
  EXPECT_EQ(sk->forward_deficit, 0);
  EXPECT_EQ(sk->queued(), 0u);
  EXPECT_EQ(b.stack.init_net().mib.udp_statistics.InDatagrams, 12u);
  nicsim::tb::unwind_threads();
}

// udp_rmem_release (v6.6) splices what softirq queued since into the reader queue when it
// releases; __skb_recv_udp refills an empty reader queue from sk_receive_queue in one splice.
TEST(sockmem, the_reader_queue_takes_the_receive_queue_in_one_splice_v6_6) {
  sock_bench b;
  udp_sock* sk = nullptr;
  std::vector<size_t> reader, receive;
  b.run([&] {
    sk = &b.stack.udp().udp_bind(9000, 0);  // rmem_default: threshold 53248, ~20 datagrams
    for (int i = 0; i < 4; ++i) b.deliver();
    EXPECT_GT(b.read(*sk), 0);
    b.deliver();
    reader.push_back(sk->reader_queue.size());
    receive.push_back(sk->sk_receive_queue.size());
    for (int i = 0; i < 3; ++i) EXPECT_GT(b.read(*sk), 0);  // the last empties the reader queue
    reader.push_back(sk->reader_queue.size());              // released, and the new one spliced
    receive.push_back(sk->sk_receive_queue.size());
  });
  EXPECT_EQ(reader, (std::vector<size_t>{3, 1}));
  EXPECT_EQ(receive, (std::vector<size_t>{1, 0}));
  EXPECT_EQ(sk->sk_rmem_alloc, uint64_t{TRUESIZE});  // the spliced one is charged
  nicsim::tb::unwind_threads();
}
