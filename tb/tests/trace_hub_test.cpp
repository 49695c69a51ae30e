// The trace hub keeps no per-frame state past the frame (issue 10, item 14):
// frames stream through it as the model reports them, and its heap stays flat
// while the latency split it reports stays exactly what keeping every span gave.
#include "tb/trace_hub.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <systemc>
#include <vector>

#include "tb/percentile.h"

namespace {

using nicsim::waves::frame_stage;

void advance_to(uint64_t ps) {
  const uint64_t now = sc_core::sc_time_stamp().value();
  if (ps > now) sc_core::sc_start(sc_core::sc_time::from_value(ps - now));
}

// Heap in use: small blocks and the large ones malloc maps on their own.
size_t heap_in_use() {
  const auto m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

}  // namespace

TEST(trace_hub, per_frame_state_ends_with_the_frame_and_stage_latency_stays_exact) {
  nicsim::tb::trace_hub hub(nicsim::tb::trace_options{});  // no recording asked for
  constexpr unsigned VECTOR = 40;
  hub.set_nic_vectors(VECTOR, 1);
  std::mt19937_64 rng(7);
  auto gap = [&rng](uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  };
  // What the old hub kept: every span of every delivered frame.
  std::array<std::vector<uint64_t>, 8> spans;
  constexpr uint64_t FRAMES = 120000;
  for (auto& v : spans) v.reserve(FRAMES);  // before the heap is measured
  size_t heap_at_start = 0;
  uint64_t t = 1'000'000;
  for (uint64_t seq = 0; seq < FRAMES; ++seq) {
    if (seq == 2000) heap_at_start = heap_in_use();  // after the first allocations settle
    std::array<uint64_t, 9> at{};  // wire, mac, dma_start, dma_done, irq, clean, enqueue, dequeue, delivered
    at[0] = t;
    for (size_t i = 1; i < at.size(); ++i) at[i] = at[i - 1] + 1000 * gap(0, 40) + gap(0, 999);
    const bool new_irq = seq % 3 != 0;  // else polled without a new interrupt
    auto stage = [&](frame_stage s, size_t i) {
      advance_to(at[i]);
      hub.frame(seq, s, -1);
    };
    stage(frame_stage::wire_first_bit, 0);
    stage(frame_stage::mac_last_bit, 1);
    stage(frame_stage::dma_start, 2);
    stage(frame_stage::dma_done, 3);
    if (new_irq) {
      advance_to(at[4]);
      hub.hardirq(VECTOR, 0);
    }
    stage(frame_stage::driver_clean, 5);
    hub.frame_cpu(seq, 0);
    if (seq % 10 == 9) {  // some frames die in the stack: their journey ends there
      hub.frame_dropped(seq, "udp.RcvbufErrors");
      hub.frame(seq, frame_stage::socket_dequeue, -1);  // a late report keeps nothing either
    } else {
      stage(frame_stage::socket_enqueue, 6);
      stage(frame_stage::socket_dequeue, 7);
      stage(frame_stage::delivered, 8);
      const uint64_t irq = new_irq ? at[4] : at[3];
      const uint64_t ends[8] = {at[1], at[2], at[3], irq, at[5], at[6], at[7], at[8]};
      uint64_t prev = at[0];
      for (size_t s = 0; s < 8; ++s) {
        spans[s].push_back((ends[s] - prev) / 1000);
        prev = ends[s];
      }
    }
    t = at[8];
  }
  // Signed: the heap may also shrink (buffers warm-up allocated are given back).
  const auto growth = static_cast<int64_t>(heap_in_use()) - static_cast<int64_t>(heap_at_start);
  // 8 spans and an interrupt time per frame were 70 bytes a frame, 8 MB here.
  EXPECT_LT(growth, 500'000) << "the hub's heap grew with the frames it saw";
  EXPECT_EQ(hub.frames_tracked(), 0u);
  EXPECT_LT(hub.irq_times_kept(), 4096u);

  const auto j = hub.stage_latency();
  const char* names[8] = {"wire",         "fifo",     "dma",         "irq_delay",
                          "softirq_wait", "protocol", "socket_wait", "copy"};
  EXPECT_EQ(j.at("frames").get<uint64_t>(), spans[0].size());
  for (size_t s = 0; s < 8; ++s) {
    auto& v = spans[s];
    std::sort(v.begin(), v.end());
    double sum = 0;
    for (uint64_t x : v) sum += static_cast<double>(x);
    const auto& got = j.at(names[s]);
    EXPECT_EQ(got.at("p50").get<uint64_t>(), nicsim::tb::percentile_sorted(v, 0.5)) << names[s];
    EXPECT_EQ(got.at("p99").get<uint64_t>(), nicsim::tb::percentile_sorted(v, 0.99)) << names[s];
    EXPECT_EQ(got.at("max").get<uint64_t>(), v.back()) << names[s];
    EXPECT_EQ(got.at("mean").get<double>(), sum / static_cast<double>(v.size())) << names[s];
  }
}
