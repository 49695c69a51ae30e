// The host's transmit path on a bare CPU and driver (issue 12): udp_sendmsg down to the
// descriptor the driver posts, ICMP port unreachables, pfifo_fast's limit, NETDEV_TX_BUSY
// requeues, BQL and ring-full stop/wake, on the bench of tx_bench.h (no device: the test, acting
// as the device, writes DD into the descriptors it wants completed).
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
#include "tb/system_top.h"
#include "tb/tests/tx_bench.h"
#include "tlm/host_memory.h"

using namespace nicsim::host;
namespace proto = nicsim::proto;
namespace regs = nicsim::abi;
using sc_core::sc_time;
using sc_core::SC_US;

namespace {
using nicsim::tb::test::tx_bench;

// Verifies an Ethernet/IPv4 frame's IP header checksum; returns the IP header.
const uint8_t* check_ip(const uint8_t* f) {
  EXPECT_EQ(proto::get_be16(f + 12), proto::ETH_P_IP);
  const uint8_t* ip = f + proto::ETH_HLEN;
  EXPECT_EQ(ip[0], 0x45);
  EXPECT_EQ(proto::csum_fold(proto::csum_partial(ip, 20)), 0);
  return ip;
}
}  // namespace

TEST(host_tx, udp_sendmsg_posts_a_valid_ethernet_ipv4_udp_frame_and_writes_the_tail) {
  tx_bench b(tx_bench::params(64, 1000, true));
  b.run([&] {
    udp_sock& sk = b.stack.udp().udp_bind(9000, 212992);
    EXPECT_EQ(b.send(sk, 100), 100);
  });
  const auto d = b.desc(0);
  EXPECT_EQ(d.lower.data & (regs::TXD_CMD_EOP | regs::TXD_CMD_IFCS | regs::TXD_CMD_RS),
            regs::TXD_CMD_EOP | regs::TXD_CMD_IFCS | regs::TXD_CMD_RS);
  const unsigned len = d.lower.data & 0xFFFF;
  ASSERT_EQ(len, proto::ETH_HLEN + 20u + 8u + 100u);
  const uint8_t* f = b.mem.ptr(d.buffer_addr, len);
  const std::array<uint8_t, 6> partner{2, 0, 0, 0, 0, 1}, host{2, 0, 0, 0, 0, 2};
  EXPECT_TRUE(std::equal(partner.begin(), partner.end(), f));
  EXPECT_TRUE(std::equal(host.begin(), host.end(), f + 6));
  const uint8_t* ip = check_ip(f);
  EXPECT_EQ(ip[9], proto::IPPROTO_UDP);
  EXPECT_EQ(proto::get_be32(ip + 12), 0x0A000002u);
  EXPECT_EQ(proto::get_be32(ip + 16), 0x0A000001u);
  const uint8_t* uh = ip + 20;
  EXPECT_EQ(proto::get_be16(uh), 9000);
  EXPECT_EQ(proto::get_be16(uh + 2), 40000);
  EXPECT_EQ(proto::get_be16(uh + 4), 108);
  EXPECT_EQ(proto::csum_fold(proto::csum_tcpudp_nofold(0x0A000002, 0x0A000001, 108, proto::IPPROTO_UDP,
                                                       proto::csum_partial(uh, 108))),
            0);
  EXPECT_EQ(uh[8], 0xAB);
  ASSERT_EQ(b.sink.tdt_writes.size(), 2u);  // 0 at e1000_configure_tx, then the packet's
  EXPECT_EQ(b.sink.tdt_writes.back(), 1u);
  EXPECT_EQ(b.stack.init_net().mib.udp_statistics.OutDatagrams, 1u);
  EXPECT_EQ(b.stack.init_net().mib.ip_statistics.OutRequests, 1u);
}

TEST(host_tx, a_datagram_to_a_closed_port_sends_a_valid_icmp_port_unreachable) {
  tx_bench b(tx_bench::params(64, 1000, true));
  // The offending frame, as the wire brings it.
  proto::udp_flow flow;
  flow.dst_port = 9999;
  const auto frame = proto::build_udp_frame(flow, 128, proto::payload_stamp{7, 0});
  b.run([&] {
    const uint64_t addr = b.rx.alloc();
    std::memcpy(b.rx.ptr(addr), frame.data(), frame.size() - 4);
    sk_buff* skb = b.skbs.alloc();
    skb->buf_addr = addr;
    skb->head = b.rx.ptr(addr);
    skb->len = static_cast<unsigned>(frame.size() - 4);
    skb->truesize = 2048;
    skb->protocol = proto::ETH_P_IP;
    skb->pull(proto::ETH_HLEN);
    b.stack.core().netif_receive_skb(skb);
  });
  EXPECT_EQ(b.stack.init_net().mib.udp_statistics.NoPorts, 1u);
  EXPECT_EQ(b.stack.init_net().mib.icmp_statistics.OutDestUnreachs, 1u);
  const auto d = b.desc(0);
  const unsigned len = d.lower.data & 0xFFFF;
  const unsigned quoted = static_cast<unsigned>(frame.size() - 4 - proto::ETH_HLEN);  // all of it (< 548)
  ASSERT_EQ(len, proto::ETH_HLEN + 20 + 8 + quoted);
  const uint8_t* f = b.mem.ptr(d.buffer_addr, len);
  const uint8_t* ip = check_ip(f);
  EXPECT_EQ(ip[9], proto::IPPROTO_ICMP);
  EXPECT_EQ(proto::get_be32(ip + 16), flow.src_ip);  // back to the sender
  const uint8_t* icmp = ip + 20;
  EXPECT_EQ(icmp[0], 3);
  EXPECT_EQ(icmp[1], 3);
  EXPECT_EQ(proto::csum_fold(proto::csum_partial(icmp, 8 + quoted)), 0);
  EXPECT_TRUE(std::equal(icmp + 8, icmp + 8 + quoted, frame.begin() + proto::ETH_HLEN));
  EXPECT_EQ(b.stack.skb().tx_drops()[static_cast<size_t>(skb_drop_reason::DEV_READY)], 0u);
}

TEST(host_tx, a_full_qdisc_band_drops_and_counts) {
  tx_bench b(tx_bench::params(64, 4, false));
  b.run([&] {
    udp_sock& sk = b.stack.udp().udp_bind(9000, 212992);
    b.stack.core().netif_tx_stop_queue(b.txq());  // the driver stopped the queue: skbs wait in the qdisc
    for (int i = 0; i < 6; ++i) EXPECT_EQ(b.send(sk), 100);  // a qdisc drop is not sendto's error
  });
  // The first bypasses the empty qdisc, finds the queue stopped and is requeued (q->gso_skb,
  // outside the band's limit); four fill the band; the sixth is dropped.
  const auto& q = b.txq().qdisc.stats;
  EXPECT_EQ(q.requeues, 1u);
  EXPECT_EQ(q.qlen, 5u);
  EXPECT_EQ(q.backlog, 5u * 142);
  EXPECT_EQ(q.drops, 1u);
  EXPECT_EQ(b.stack.init_net().mib.udp_statistics.SndbufErrors, 1u);
  EXPECT_EQ(b.stack.init_net().mib.ip_statistics.OutDiscards, 1u);
  EXPECT_EQ(b.stack.skb().tx_drops()[static_cast<size_t>(skb_drop_reason::QDISC_DROP)], 1u);
  EXPECT_EQ(b.stack.skb().tx_skbs_in_use(), 5u);
  EXPECT_EQ(b.sink.tdt_writes.size(), 1u);  // configure's 0 only
}

TEST(host_tx, netdev_tx_busy_requeues_the_skb_and_it_goes_out_after_the_clean) {
  tx_bench b(tx_bench::params(48, 1000, false));
  b.run([&] {
    udp_sock& sk = b.stack.udp().udp_bind(9000, 212992);
    // Keep restarting the queue behind the driver's back until the ring cannot take a packet.
    for (int i = 0; i < 46; ++i) {
      b.stack.core().netif_tx_start_queue(b.txq());
      b.send(sk);
    }
    EXPECT_EQ(b.drv->stats().tx_busy, 1u);
    EXPECT_EQ(b.txq().qdisc.stats.requeues, 1u);
    EXPECT_EQ(b.txq().qdisc.stats.qlen, 1u);
    b.complete(0, 45);
    EXPECT_TRUE(b.drv->e1000_clean_tx_irq(const_cast<e1000_tx_ring&>(b.drv->tx_ring(0))));
    b.interrupt();  // NET_TX_SOFTIRQ: net_tx_action runs the qdisc again
  });
  EXPECT_EQ(b.txq().qdisc.stats.qlen, 0u);
  EXPECT_EQ(b.drv->tx_ring(0).tx_packets, 45u);
  EXPECT_EQ(b.sink.tdt_writes.back(), 46u);
  EXPECT_EQ(b.stack.skb().tx_skbs_in_use(), 1u);  // the last one, on the ring
}

TEST(host_tx, bql_stops_the_queue_over_its_limit_and_completion_restarts_it) {
  tx_bench b(tx_bench::params(64, 1000, true));
  b.run([&] {
    udp_sock& sk = b.stack.udp().udp_bind(9000, 212992);
    b.send(sk);  // the limit starts at 0: the first packet is over it
    EXPECT_TRUE(b.txq().stack_xoff);
    b.send(sk);
    EXPECT_EQ(b.txq().qdisc.stats.qlen, 1u);
    EXPECT_EQ(b.sink.tdt_writes.size(), 2u);
    b.complete(0, 1);
    b.drv->e1000_clean_tx_irq(const_cast<e1000_tx_ring&>(b.drv->tx_ring(0)));
    EXPECT_FALSE(b.txq().stack_xoff);
    EXPECT_GT(b.txq().dql.limit, 0u);
    b.interrupt();
  });
  EXPECT_EQ(b.txq().qdisc.stats.qlen, 0u);
  EXPECT_EQ(b.sink.tdt_writes.back(), 2u);
}

TEST(host_tx, a_nearly_full_ring_stops_the_queue_and_the_clean_wakes_it_counting_a_restart) {
  tx_bench b(tx_bench::params(48, 1000, false));
  b.run([&] {
    udp_sock& sk = b.stack.udp().udp_bind(9000, 212992);
    for (int i = 0; i < 24; ++i) b.send(sk);  // 47 - 24 = 23 free < MAX_SKB_FRAGS + 7
    EXPECT_TRUE(b.txq().drv_xoff);
    b.send(sk);
    b.send(sk);
    EXPECT_EQ(b.txq().qdisc.stats.qlen, 2u);
    b.complete(0, 24);
    b.drv->e1000_clean_tx_irq(const_cast<e1000_tx_ring&>(b.drv->tx_ring(0)));
    EXPECT_FALSE(b.txq().drv_xoff);
    b.interrupt();
  });
  EXPECT_EQ(b.drv->tx_ring(0).restart_queue, 1u);
  EXPECT_EQ(b.drv->stats().tx_restart_queue, 1u);
  EXPECT_EQ(b.txq().qdisc.stats.qlen, 0u);
  EXPECT_EQ(b.txq().qdisc.stats.packets, 26u);
  EXPECT_EQ(b.sink.tdt_writes.back(), 26u);
}
