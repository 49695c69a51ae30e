// tlm/eth_port: a full-duplex point-to-point Ethernet link between two ports.
#include "tlm/eth_port.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <systemc>
#include <utility>
#include <vector>

#include "proto/frame.h"

namespace {

using nicsim::proto::wire_frame;
using nicsim::tlm::eth_port;
using sc_core::sc_time;

sc_time ns(double v) { return sc_time(v, sc_core::SC_NS); }

wire_frame frame(uint64_t id, size_t bytes) {
  wire_frame f;
  f.id = id;
  f.bytes.assign(bytes, static_cast<uint8_t>(id));
  return f;
}

struct arrival {
  uint64_t id;
  sc_time at;
};

// Two ports on one link, each with a thread that runs a stimulus and a log of what arrived.
class link_bench : public sc_core::sc_module {
 public:
  using stimulus = std::function<void(eth_port&)>;
  SC_HAS_PROCESS(link_bench);
  link_bench(const sc_core::sc_module_name& name, double a_gbps, double b_gbps, stimulus sa, stimulus sb)
      : sc_core::sc_module(name), a("a", a_gbps), b("b", b_gbps), m_sa(std::move(sa)), m_sb(std::move(sb)) {
    a.bind(b);
    a.register_receive([this](const wire_frame& f) { at_a.push_back({f.id, sc_core::sc_time_stamp()}); });
    b.register_receive([this](const wire_frame& f) { at_b.push_back({f.id, sc_core::sc_time_stamp()}); });
    SC_THREAD(run_a);
    SC_THREAD(run_b);
  }
  eth_port a, b;
  std::vector<arrival> at_a, at_b;

 private:
  void run_a() {
    if (m_sa) m_sa(a);
  }
  void run_b() {
    if (m_sb) m_sb(b);
  }
  stimulus m_sa, m_sb;
};

// 512 B at 10 Gb/s: preamble+SFD and frame take (8 + 512) * 8 / 10 = 416 ns; with the
// 12-byte gap a slot is 425.6 ns.
TEST(eth_port, frame_arrives_after_preamble_and_frame_at_line_rate) {
  std::vector<uint64_t> first_bit_ids;
  std::vector<sc_time> first_bit_at, last_bit_at;
  link_bench bench(
      "bench", 10, 10, [](eth_port& p) { p.transmit(frame(7, 512)); }, nullptr);
  bench.b.on_rx_first_bit = [&](const wire_frame& f) {
    first_bit_ids.push_back(f.id);
    first_bit_at.push_back(sc_core::sc_time_stamp());
    EXPECT_EQ(bench.b.stats().rx_started, 1u);
    EXPECT_EQ(bench.b.stats().rx_frames, 0u);
  };
  bench.b.on_rx_last_bit = [&](const wire_frame&) {
    last_bit_at.push_back(sc_core::sc_time_stamp());
    EXPECT_TRUE(bench.at_b.empty()) << "the tap runs before the receiver";
  };
  sc_core::sc_start(ns(1000));
  ASSERT_EQ(bench.at_b.size(), 1u);
  EXPECT_EQ(bench.at_b[0].id, 7u);
  EXPECT_EQ(bench.at_b[0].at, ns(416));
  EXPECT_EQ(first_bit_ids, std::vector<uint64_t>{7});
  EXPECT_EQ(first_bit_at, std::vector<sc_time>{ns(0)});
  EXPECT_EQ(last_bit_at, std::vector<sc_time>{ns(416)});
  EXPECT_TRUE(bench.at_a.empty());
  const auto& sa = bench.a.stats();
  EXPECT_EQ(sa.tx_frames, 1u);
  EXPECT_EQ(sa.tx_bytes, 512u);
  EXPECT_EQ(sa.tx_done, 1u);
  const auto& sb = bench.b.stats();
  EXPECT_EQ(sb.rx_started, 1u);
  EXPECT_EQ(sb.rx_started_bytes, 512u);
  EXPECT_EQ(sb.rx_frames, 1u);
  EXPECT_EQ(sb.rx_bytes, 512u);
  EXPECT_EQ(sb.tx_frames, 0u);
}

TEST(eth_port, back_to_back_frames_keep_the_inter_frame_gap) {
  link_bench bench(
      "bench", 10, 10,
      [](eth_port& p) {
        p.transmit(frame(1, 512));
        p.transmit(frame(2, 64));  // called at 416 ns: waits out the gap to 425.6 ns
        p.transmit(frame(3, 64));
      },
      nullptr);
  sc_core::sc_start(ns(2000));
  ASSERT_EQ(bench.at_b.size(), 3u);
  EXPECT_EQ(bench.at_b[0].at, ns(416));
  EXPECT_EQ(bench.at_b[1].at, ns(425.6 + 57.6));  // (8 + 64) * 8 / 10
  EXPECT_EQ(bench.at_b[2].at, ns(425.6 + 67.2 + 57.6));
}

TEST(eth_port, a_second_sender_on_one_port_waits_for_the_first_frame_and_the_gap) {
  struct two_senders : sc_core::sc_module {
    SC_HAS_PROCESS(two_senders);
    two_senders(const sc_core::sc_module_name& n, eth_port& port) : sc_core::sc_module(n), p(port) {
      SC_THREAD(one);
      SC_THREAD(two);
    }
    void one() { p.transmit(frame(1, 512)); }
    void two() {
      sc_core::wait(ns(100));
      EXPECT_TRUE(p.busy());
      p.transmit(frame(2, 512));
    }
    eth_port& p;
  };
  link_bench bench("bench", 10, 10, nullptr, nullptr);
  two_senders senders("senders", bench.a);
  sc_core::sc_start(ns(2000));
  ASSERT_EQ(bench.at_b.size(), 2u);
  EXPECT_EQ(bench.at_b[0].at, ns(416));
  EXPECT_EQ(bench.at_b[1].at, ns(425.6 + 416));
}

TEST(eth_port, both_directions_carry_frames_at_once) {
  link_bench bench(
      "bench", 10, 10, [](eth_port& p) { p.transmit(frame(1, 1518)); },
      [](eth_port& p) {
        sc_core::wait(ns(10));
        p.transmit(frame(2, 64));
      });
  sc_core::sc_start(ns(2000));
  ASSERT_EQ(bench.at_b.size(), 1u);
  ASSERT_EQ(bench.at_a.size(), 1u);
  EXPECT_EQ(bench.at_b[0].at, ns(1220.8));     // (8 + 1518) * 8 / 10
  EXPECT_EQ(bench.at_a[0].at, ns(10 + 57.6));  // not held behind the other direction
  EXPECT_EQ(bench.a.stats().rx_frames, 1u);
  EXPECT_EQ(bench.b.stats().rx_frames, 1u);
}

TEST(eth_port, a_port_without_a_rate_takes_its_peers) {
  link_bench bench("bench", 0, 1, nullptr, [](eth_port& p) { p.transmit(frame(1, 512)); });
  EXPECT_EQ(bench.a.line_rate_gbps(), 1.0);
  EXPECT_EQ(bench.b.line_rate_gbps(), 1.0);
  sc_core::sc_start(ns(10000));
  ASSERT_EQ(bench.at_a.size(), 1u);
  EXPECT_EQ(bench.at_a[0].at, ns(4160));
}

TEST(eth_port, binding_is_one_to_one_and_rates_must_agree) {
  eth_port a("a", 10), b("b", 10), c("c", 10), d("d", 25);
  EXPECT_THROW(a.bind(a), std::logic_error);
  EXPECT_THROW(a.bind(d), std::logic_error);
  EXPECT_FALSE(a.bound());
  a.bind(b);
  EXPECT_EQ(a.peer(), &b);
  EXPECT_EQ(b.peer(), &a);
  EXPECT_THROW(c.bind(b), std::logic_error);
  EXPECT_THROW(a.bind(c), std::logic_error);
  EXPECT_FALSE(c.bound());
  EXPECT_THROW(eth_port("bad", -1), std::invalid_argument);
}

TEST(eth_port, transmit_on_an_unbound_port_is_an_error) {
  struct lone : sc_core::sc_module {
    SC_HAS_PROCESS(lone);
    explicit lone(const sc_core::sc_module_name& n) : sc_core::sc_module(n), p("p", 10) { SC_THREAD(run); }
    void run() {
      EXPECT_THROW(p.transmit(frame(1, 64)), std::logic_error);
      done = true;
    }
    eth_port p;
    bool done = false;
  };
  lone l("lone");
  sc_core::sc_start(ns(10));
  EXPECT_TRUE(l.done);
  EXPECT_EQ(l.p.stats().tx_frames, 0u);
}

}  // namespace

namespace {

// A link delay d: each bit reaches the peer d later, in both directions, and the sender's
// port is free again after its own serialization, so a second frame leaves before the
// first has arrived.
TEST(eth_port, a_link_delay_holds_every_bit_back_both_ways_and_frees_the_sender_after_serialization) {
  const sc_time d = ns(1000);
  std::vector<sc_time> a_returned;
  link_bench bench(
      "bench", 10, 10,
      [&](eth_port& p) {
        p.transmit(frame(1, 512));
        a_returned.push_back(sc_core::sc_time_stamp());
        p.transmit(frame(2, 64));
        a_returned.push_back(sc_core::sc_time_stamp());
      },
      [](eth_port& p) {
        sc_core::wait(ns(50));
        p.transmit(frame(3, 1518));
      });
  bench.b.set_delay(d);  // set on one end, the link's
  EXPECT_EQ(bench.a.delay(), d);
  std::vector<sc_time> b_first_bits;
  bench.b.on_rx_first_bit = [&](const wire_frame&) { b_first_bits.push_back(sc_core::sc_time_stamp()); };
  sc_core::sc_start(ns(500));
  // Both of a's frames have left (512 B: 416 ns, then the gap, 64 B: 57.6 ns) and neither
  // has arrived: two frames in flight on the wire.
  ASSERT_EQ(a_returned.size(), 2u);
  EXPECT_EQ(a_returned[0], bench.a.frame_time(512));
  EXPECT_EQ(a_returned[1], bench.a.slot_time(512) + bench.a.frame_time(64));
  EXPECT_EQ(bench.a.stats().tx_frames, 2u);
  EXPECT_EQ(bench.a.tx_in_flight(), 2u);
  EXPECT_EQ(bench.b.stats().rx_started, 0u);
  EXPECT_TRUE(bench.at_b.empty());
  sc_core::sc_start(ns(3000));
  ASSERT_EQ(bench.at_b.size(), 2u);
  EXPECT_EQ(bench.at_b[0].id, 1u);
  EXPECT_EQ(bench.at_b[0].at, bench.a.frame_time(512) + d);
  EXPECT_EQ(bench.at_b[1].id, 2u);
  EXPECT_EQ(bench.at_b[1].at, bench.a.slot_time(512) + bench.a.frame_time(64) + d);
  EXPECT_EQ(b_first_bits, (std::vector<sc_time>{d, bench.a.slot_time(512) + d}));
  ASSERT_EQ(bench.at_a.size(), 1u);  // the other direction: the same delay
  EXPECT_EQ(bench.at_a[0].at, ns(50) + bench.b.frame_time(1518) + d);
  EXPECT_EQ(bench.a.tx_in_flight(), 0u);
  EXPECT_EQ(bench.a.stats().tx_done, 2u);
  EXPECT_EQ(bench.b.stats().rx_frames, 2u);
  EXPECT_EQ(bench.b.stats().rx_bytes, 512u + 64u);
}

TEST(eth_port, next_start_is_after_the_frame_and_its_gap) {
  sc_time during, after;
  link_bench bench(
      "bench", 10, 10,
      [&](eth_port& p) {
        EXPECT_EQ(p.next_start(), ns(0));
        p.transmit(frame(1, 512));
        during = p.next_start();  // at 416 ns, the gap runs to 425.6 ns
        sc_core::wait(ns(100));
        after = p.next_start();
      },
      nullptr);
  sc_core::sc_start(ns(2000));
  EXPECT_EQ(during, bench.a.slot_time(512));
  EXPECT_EQ(after, bench.a.frame_time(512) + ns(100));
}

TEST(eth_port, ports_with_different_delays_cannot_be_bound) {
  eth_port a("a", 10), b("b", 10), c("c", 10), e("e", 10);
  a.set_delay(ns(5));
  b.set_delay(ns(6));
  EXPECT_THROW(a.bind(b), std::logic_error);
  c.set_delay(ns(7));
  c.bind(e);  // the one that has a delay gives it to the link
  EXPECT_EQ(e.delay(), ns(7));
}

}  // namespace
