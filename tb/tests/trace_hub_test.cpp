// The trace hub keeps no per-frame state past the frame (issue 10, item 14):
// frames stream through it as the model reports them, and its heap stays flat
// while the latency split it reports stays exactly what keeping every span gave.
#include "tb/trace_hub.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <string>
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

namespace {

// A time as the frames CSV writes it: ns to the ps.
std::string csv_ns(uint64_t ps) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llu.%03llu", static_cast<unsigned long long>(ps / 1000),
                static_cast<unsigned long long>(ps % 1000));
  return buf;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return lines;
  char buf[512];
  while (std::fgets(buf, sizeof buf, f) != nullptr) {
    std::string s(buf);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    lines.push_back(s);
  }
  std::fclose(f);
  return lines;
}

}  // namespace

// The hub finds each frame's journey by its sequence number however the ids come: dense and
// increasing (the generators), fates out of order, frames that never get one, ids far from
// the others, a source that numbers from far away while the first's frames are in flight.
// Each frame's row carries its own times and fate, and the frames still in flight at the end
// come last, in sequence order.
TEST(trace_hub, journeys_follow_their_ids_dense_sparse_or_far_apart) {
  const std::string path = ::testing::TempDir() + "trace_hub_ids.frames.csv";
  nicsim::tb::trace_options opt;
  opt.frames = path;
  std::vector<std::string> expected{nicsim::waves::frames_writer::header};
  expected.back().pop_back();                 // its newline
  std::map<uint64_t, std::string> in_flight;  // the rows expected last, by seq
  size_t tracked_at_end = 0;
  {
    nicsim::tb::trace_hub hub(opt);
    std::mt19937_64 rng(11);
    const auto bytes = nicsim::proto::build_udp_frame(nicsim::proto::udp_flow{}, 128, {});
    struct open_frame {
      uint64_t seq, wire_ps, mac_ps;
    };
    std::vector<open_frame> open;
    auto row = [](const open_frame& o, const char* fate, uint64_t end_ps) {
      // seq,src_port,dst_port,bytes,fate, then wire, mac, 6 stages never reached, recvfrom.
      std::string r = std::to_string(o.seq) + ",40000,9000,128," + fate + "," + csv_ns(o.wire_ps) + "," +
                      csv_ns(o.mac_ps) + ",,,,,,,";
      return end_ps == UINT64_MAX ? r : r + csv_ns(end_ps);
    };
    uint64_t t = sc_core::sc_time_stamp().value() + 1'000'000;
    // The ids: a dense run with far outliers among it, then a run numbered from far away while
    // frames of the first are still open, then the first run again.
    std::vector<uint64_t> ids;
    for (uint64_t i = 0; i < 3000; ++i) {
      ids.push_back(i);
      if (i % 500 == 250) ids.push_back((uint64_t{1} << 40) + i);
    }
    for (uint64_t i = 0; i < 3000; ++i) ids.push_back(5'000'000'000 + i);
    for (uint64_t i = 3000; i < 4000; ++i) ids.push_back(i);
    for (uint64_t seq : ids) {
      open_frame o{seq, 0, 0};
      advance_to(o.wire_ps = t += 1000 + rng() % 1000);
      nicsim::proto::wire_frame f;
      f.id = seq;
      f.bytes = bytes;
      hub.wire_frame(f);
      advance_to(o.mac_ps = t += 1000 + rng() % 1000);
      hub.frame(seq, frame_stage::mac_last_bit, -1);
      open.push_back(o);
      // Fates come out of order among the last frames sent; every 97th frame never gets one.
      while (open.size() > 40 || (!open.empty() && rng() % 3 == 0)) {
        const size_t k = open.size() - 1 - rng() % std::min<size_t>(open.size(), 40);
        const open_frame done = open[k];
        open.erase(open.begin() + static_cast<std::ptrdiff_t>(k));
        if (done.seq % 97 == 0) {
          in_flight[done.seq] = row(done, "in_flight", UINT64_MAX);
          continue;
        }
        advance_to(t += 1000);
        if (rng() % 4 == 0) {
          hub.frame_dropped(done.seq, "udp.RcvbufErrors");
          expected.push_back(row(done, "udp.RcvbufErrors", UINT64_MAX));
        } else {
          hub.frame(done.seq, frame_stage::delivered, -1);
          expected.push_back(row(done, "delivered", t));
        }
        hub.frame(done.seq, frame_stage::socket_dequeue, -1);  // a late report keeps nothing
      }
    }
    for (const open_frame& o : open) in_flight[o.seq] = row(o, "in_flight", UINT64_MAX);
    tracked_at_end = hub.frames_tracked();
    hub.finish(t);
  }
  for (const auto& [seq, r] : in_flight) expected.push_back(r);
  EXPECT_EQ(tracked_at_end, in_flight.size());
  const auto got = read_lines(path);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], expected[i]) << "line " << i + 1;
  std::remove(path.c_str());
}

// The frames the hub holds stay what is in flight: a frame that never gets a fate does not
// hold open a window of every frame sent after it.
TEST(trace_hub, a_frame_left_in_flight_does_not_grow_the_hub) {
  nicsim::tb::trace_hub hub(nicsim::tb::trace_options{});
  uint64_t t = sc_core::sc_time_stamp().value() + 1'000'000;
  size_t heap_at_start = 0;
  constexpr uint64_t FRAMES = 300000;
  for (uint64_t seq = 0; seq < FRAMES; ++seq) {
    if (seq == 2000) heap_at_start = heap_in_use();
    advance_to(t += 1000);
    hub.frame(seq, frame_stage::wire_first_bit, -1);
    // 16 frames in flight; frame 5 and every 50000th after it never end.
    if (seq >= 16 && (seq - 16) % 50000 != 5) hub.frame_dropped(seq - 16, "nic.rx_missed_errors");
  }
  const auto growth = static_cast<int64_t>(heap_in_use()) - static_cast<int64_t>(heap_at_start);
  EXPECT_EQ(hub.frames_tracked(), 16u + 6u);
  // A ring spanning frame 5 to the last would take over 1 MB.
  EXPECT_LT(growth, 500'000) << "the hub's heap grew with the frames it saw";
}
