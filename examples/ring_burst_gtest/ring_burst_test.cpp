// How deep must the RX ring be to take a burst? One burst of 1024 frames at line rate (10 Gb/s,
// 512-byte frames) hits the NIC; the socket buffer is large enough for all of it, so whatever is
// lost is lost at the NIC. The knobs are those of `nicsim run --set` (`nicsim knobs` lists them).
#include <gtest/gtest.h>
#include <nicsim/tb/testbench.h>

#include <string>

namespace {

nicsim::tb::testbench_options line_rate_burst(int ring_size) {
  nicsim::tb::testbench_options o;
  o.sets = {
      "traffic.pattern=burst", "traffic.burst_frames=1024", "traffic.count=1024",
      "traffic.rate_gbps=10",  "traffic.frame_bytes=512",   "app.rcvbuf_bytes=8388608",
      "host.rmem_max=8388608", "sim.duration_us=3000",      "nic.rx_ring_size=" + std::to_string(ring_size)};
  return o;
}

TEST(ring, a_2048_descriptor_ring_takes_a_1024_frame_line_rate_burst_without_drops) {
  nicsim::tb::testbench tb(line_rate_burst(2048));
  tb.run();
  const auto c = tb.counters();
  EXPECT_EQ(c.wire_frames, 1024u);
  EXPECT_EQ(c.rx_missed, 0u);
  EXPECT_EQ(c.dropped, 0u);
  EXPECT_EQ(c.app_messages, 1024u);
  EXPECT_TRUE(c.conservation_ok);
}

TEST(ring, a_256_descriptor_ring_drops_part_of_the_same_burst_at_the_nic) {
  nicsim::tb::testbench tb(line_rate_burst(256));
  tb.run();
  const auto c = tb.counters();
  EXPECT_EQ(c.wire_frames, 1024u);
  EXPECT_GT(c.rx_missed, 0u);         // the packet buffer overflowed while the ring was empty
  EXPECT_EQ(c.dropped, c.rx_missed);  // and nothing was lost anywhere else
  EXPECT_EQ(c.app_messages + c.dropped, 1024u);
  EXPECT_TRUE(c.conservation_ok);
  // The same numbers as the JSON `nicsim run --json` writes.
  const auto j = tb.results();
  EXPECT_EQ(j.at("nic").at("rx_missed").get<uint64_t>(), c.rx_missed);
  EXPECT_EQ(j.at("conservation").at("delivered").get<uint64_t>(), c.app_messages);
}

}  // namespace
