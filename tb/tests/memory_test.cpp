// Memory follows what a run uses (issue 10, items 3 and 14): no per-frame state outlives
// its frame unless a recording asks for it, the reported percentiles stay exact, and knobs
// inside their ranges cost what the run touches, not what their worst case could.
#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "host/cost_table.h"
#include "host/value_histogram.h"
#include "tb/config.h"
#include "tb/percentile.h"
#include "tb/system_top.h"
#include "tb/tests/cli_harness.h"

// ------------------------------------------------------------------ heap accounting
// Every operator new/delete of this test process, counted by the allocator's own size of
// each block: live bytes are a deterministic measure of the state a run keeps.
namespace {
std::atomic<int64_t> g_heap_live{0};
void* counted_alloc(size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  g_heap_live += static_cast<int64_t>(malloc_usable_size(p));
  return p;
}
void counted_free(void* p) noexcept {
  if (p == nullptr) return;
  g_heap_live -= static_cast<int64_t>(malloc_usable_size(p));
  std::free(p);
}
}  // namespace

void* operator new(size_t n) { return counted_alloc(n); }
void* operator new[](size_t n) { return counted_alloc(n); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, size_t) noexcept { counted_free(p); }
void operator delete[](void* p, size_t) noexcept { counted_free(p); }

namespace {

using namespace nicsim;

// ------------------------------------------------------------------ exact percentiles

TEST(memory_test, histogram_percentiles_equal_nearest_rank_over_all_samples) {
  std::mt19937_64 rng(7);
  for (size_t n : {size_t{1}, size_t{2}, size_t{3}, size_t{999}, size_t{1000}, size_t{1001}, size_t{54321}}) {
    std::vector<uint64_t> samples;
    host::value_histogram h;
    // Few distinct values with many repeats, plus a long tail: both shapes a run produces.
    std::geometric_distribution<uint64_t> tail(0.01);
    for (size_t i = 0; i < n; ++i) {
      const uint64_t v = (i % 3 == 0) ? 1000 + tail(rng) : 1000 + rng() % 7;
      samples.push_back(v);
      h.add(v);
    }
    std::sort(samples.begin(), samples.end());
    ASSERT_EQ(h.samples(), n);
    for (double q : {0.001, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0})
      EXPECT_EQ(tb::percentile(h, q), tb::percentile_sorted(samples, q)) << "n " << n << " q " << q;
    EXPECT_EQ(h.max(), samples.back());
    EXPECT_EQ(h.min(), samples.front());
    EXPECT_LE(h.distinct(), n);
  }
  EXPECT_EQ(tb::percentile(host::value_histogram{}, 0.5), 0u);
}

TEST(memory_test, merged_histograms_answer_as_the_concatenated_samples) {
  host::value_histogram a, b, all;
  std::vector<uint64_t> samples;
  for (uint64_t i = 0; i < 500; ++i) {
    const uint64_t v = (i * 7919) % 211;
    (i % 2 ? a : b).add(v);
    samples.push_back(v);
  }
  all.merge(a);
  all.merge(b);
  std::sort(samples.begin(), samples.end());
  EXPECT_EQ(all.samples(), 500u);
  for (double q : {0.5, 0.99, 0.999}) EXPECT_EQ(tb::percentile(all, q), tb::percentile_sorted(samples, q));
}

// Pages start sparse and turn dense: every count survives the change, including counts too
// large for a sparse entry (2^24 and more) and the 2^32 overflow of a dense slot.
TEST(memory_test, histogram_counts_survive_sparse_and_dense_pages) {
  std::mt19937_64 rng(11);
  host::value_histogram h;
  std::map<uint64_t, uint64_t> want;
  auto add = [&](uint64_t v, uint64_t n) {
    h.add(v, n);
    want[v] += n;
  };
  // Page 0 fills up value by value (turns dense at SPARSE_MAX distinct values); page 3 gets one
  // count too large for a sparse entry; page 5 one that grows past a sparse entry's 24 bits;
  // page 9 stays sparse; one value passes 2^32.
  for (uint64_t i = 0; i < host::value_histogram::PAGE; ++i)
    add((i * 37) % host::value_histogram::PAGE, 1 + rng() % 3);
  add(3 * host::value_histogram::PAGE + 7, uint64_t{1} << 25);
  add(5 * host::value_histogram::PAGE + 1, (uint64_t{1} << 24) - 2);
  add(5 * host::value_histogram::PAGE + 1, 5);
  add(5 * host::value_histogram::PAGE + 2, 1);
  for (int i = 0; i < 10; ++i) add(9 * host::value_histogram::PAGE + rng() % 40, 1);
  add(12, (uint64_t{1} << 32) + 9);
  std::map<uint64_t, uint64_t> got;
  uint64_t last = 0;
  bool ascending = true;
  h.for_each([&](uint64_t v, uint64_t n) {
    ascending = ascending && (got.empty() || v > last);
    last = v;
    got[v] += n;
  });
  EXPECT_TRUE(ascending);
  EXPECT_EQ(got, want);
  EXPECT_EQ(h.distinct(), want.size());
  uint64_t total = 0;
  for (const auto& [v, n] : want) total += n;
  EXPECT_EQ(h.samples(), total);
}

// Samples spread thinly over a wide range (latencies under overload) cost what they hold, not
// a page of counts each: one sample every 1000 ns over 10 ms would take 10,000 dense pages
// (10 MB) and stays within a hundred bytes or so per value.
TEST(memory_test, thinly_spread_histogram_costs_its_distinct_values) {
  host::value_histogram h;
  std::vector<uint64_t> samples;
  for (uint64_t v = 0; v < 10000000; v += 1000) {
    h.add(v + v % 7);
    samples.push_back(v + v % 7);
  }
  EXPECT_LE(h.page_bytes(), 128 * h.distinct());
  for (double q : {0.5, 0.99, 1.0}) EXPECT_EQ(tb::percentile(h, q), tb::percentile_sorted(samples, q));
}

// ------------------------------------------------------------------ bounded state (item 14)

tb::system_params params_of(const std::vector<std::string>& sets) {
  tb::config cfg;
  for (const auto& s : sets) cfg.set_assignment(s);
  return tb::make_system_params(cfg);
}

// A long steady run without any recording: what the process keeps once warm does not grow
// with the frames delivered. (Before, every message left its sequence number and latency
// behind: 12 bytes and more per frame.)
TEST(memory_test, state_after_warm_up_does_not_grow_with_delivered_frames) {
  const auto p = params_of({"traffic.rate_gbps=1", "sim.duration_us=80000"});
  static const auto costs = host::cost_table::defaults(p.host.cpu_ghz);
  static tb::system_top* top = nullptr;  // alive to the end of the process, like the simulation
  top = new tb::system_top("top", p, costs);
  const auto& latency = top->host().app().stats().latency_ns;

  sc_core::sc_start(sc_core::sc_time(5, sc_core::SC_MS));  // warm: rings, pools, caches at their peak
  const uint64_t frames_warm = top->account().delivered;
  const int64_t heap_warm = g_heap_live.load();
  const uint64_t pages_warm = latency.page_bytes();

  sc_core::sc_start(sc_core::sc_time(75, sc_core::SC_MS));
  const uint64_t frames = top->account().delivered - frames_warm;
  const int64_t growth = g_heap_live.load() - heap_warm;
  const auto pages = static_cast<int64_t>(latency.page_bytes() - pages_warm);

  ASSERT_GT(frames, 15000u) << "the run must deliver many frames after warm-up";
  EXPECT_TRUE(top->account().ok());
  EXPECT_TRUE(top->host().app().record().seqs.empty()) << "nothing recorded unless asked";
  EXPECT_EQ(latency.samples(), top->account().delivered) << "every message is in the histogram";
  // Only a new page of latency counts may appear (with its map node); nothing else grows.
  EXPECT_LE(growth, 4096 + 2 * pages) << frames << " frames delivered after warm-up left " << growth
                                      << " bytes behind (" << pages << " in new latency pages)";
  // A few pages may still appear: the tick on the busy CPU (every ms, NO_HZ_IDLE) delays the
  // frames it lands on, and 75 ms of ticks reach a few latencies the 5 ms warm-up did not.
  EXPECT_LE(pages, 8 * 1024) << "a steady run's latencies stay within a few pages of its warm-up";
}

// ------------------------------------------------------------------ knobs at their range edges (item 3)

// Peak resident set of the children this process has waited for, in MiB.
long children_peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_CHILDREN, &u);
  return u.ru_maxrss / 1024;
}

void run_within_memory(const std::string& name, const std::string& sets) {
  const std::string json = test::scratch_path("memory", name + ".json");
  std::remove(json.c_str());
  const auto o = test::nicsim_cli("run --quiet " + sets + " --json " + json);
  ASSERT_EQ(o.status, 0) << o.output;
  const auto j = test::read_json(json);
  EXPECT_TRUE(j.at("conservation").at("ok").get<bool>());
  EXPECT_GT(j.at("wire").at("frames").get<uint64_t>(), 0u);
  // Before: 3.3 GB, std::bad_alloc, and 8 GB then "range of MSI overlaps host memory".
  EXPECT_LT(children_peak_rss_mib(), 512) << "peak RSS of: nicsim run " << sets;
  std::remove(json.c_str());
}

TEST(memory_test, largest_rcvbuf_costs_what_the_run_touches) {
  run_within_memory(
      "rcvbuf", "--set sim.duration_us=300 --set app.rcvbuf_bytes=2147483647 --set host.rmem_max=2147483647");
}

TEST(memory_test, largest_rcvbuf_on_1024_sockets_runs) {
  run_within_memory(
      "sockets",
      "--set sim.duration_us=300 --set app.rcvbuf_bytes=2147483647 --set host.rmem_max=2147483647 "
      "--set app.sockets=1024");
}

TEST(memory_test, largest_backlog_on_four_cpus_keeps_memory_clear_of_the_msi_window) {
  run_within_memory("backlog",
                    "--set sim.duration_us=300 --set host.netdev_max_backlog=1000000 --set host.cpus=4");
}

// The address map: however large memory is, DRAM above the PCI hole is reached through
// the 4 GiB window and the MSI window stays where the NIC's MSIs go.
TEST(memory_test, memory_beyond_the_pci_hole_is_remapped_above_4_gib) {
  auto p = params_of({"sim.duration_us=300", "host.netdev_max_backlog=1000000", "host.cpus=4"});
  p.host.max_rx_frames = 0;  // size the pool for the knobs alone: 4 million buffers, 8 GiB
  ASSERT_GT(host::host_memory_bytes(p.host), host::HIGH_MEMORY_BASE);
  EXPECT_EQ(host::host_rx_buffer_base(p.host), host::HIGH_MEMORY_BASE);
  static const auto costs = host::cost_table::defaults(p.host.cpu_ghz);
  static tb::system_top* top = nullptr;
  top = new tb::system_top("top", p, costs);
  top->run();
  const auto j = top->results(0.0);
  EXPECT_TRUE(j.at("conservation").at("ok").get<bool>());
  EXPECT_GT(j.at("app").at("messages").get<uint64_t>(), 0u) << "frames DMA'd above 4 GiB reach the app";
  EXPECT_GT(j.at("nic").at("interrupts").get<uint64_t>(), 0u);
  EXPECT_EQ(j.at("nic").at("interrupts"), j.at("host").at("interrupts").at("eth0"));
}

// The pool is sized from the frames the run can carry (max_rx_frames) when that is less than
// the knobs' worst case. That bound must hold for every traffic pattern, or the pool would run
// dry where it did not before: here it binds (short runs at line rate) and never runs dry.
void pool_bound_holds(const std::string& pattern) {
  auto p = params_of({"traffic.pattern=" + pattern, "traffic.rate_gbps=10", "traffic.frame_bytes=64",
                      "sim.duration_us=60", "host.netdev_max_backlog=100000"});
  ASSERT_LT(host::host_rx_buffers(p.host), [&] {
    auto unbounded = p.host;
    unbounded.max_rx_frames = 0;
    return host::host_rx_buffers(unbounded);
  }()) << "the bound must be the one in force";
  static const auto costs = host::cost_table::defaults(p.host.cpu_ghz);
  static tb::system_top* top = nullptr;
  top = new tb::system_top("top", p, costs);
  top->run();
  const auto j = top->results(0.0);
  EXPECT_GT(j.at("wire").at("frames").get<uint64_t>(), 100u);
  EXPECT_LE(j.at("wire").at("frames").get<uint64_t>(), p.host.max_rx_frames);
  EXPECT_EQ(j.at("host").at("driver").at("alloc_rx_buff_failed"), 0u);
  EXPECT_TRUE(j.at("conservation").at("ok").get<bool>());
}

TEST(memory_test, pool_bound_holds_for_constant_traffic) { pool_bound_holds("constant"); }
TEST(memory_test, pool_bound_holds_for_poisson_traffic) { pool_bound_holds("poisson"); }
TEST(memory_test, pool_bound_holds_for_burst_traffic) { pool_bound_holds("burst"); }

// The default layout keeps its addresses: buffers below the hole, where they always were.
TEST(memory_test, default_buffers_stay_below_the_pci_hole) {
  const auto p = params_of({});
  EXPECT_EQ(host::host_rx_buffer_base(p.host), p.host.rx_buffer_base);
  EXPECT_LE(host::host_memory_bytes(p.host), host::PCI_HOLE_BASE);
}

}  // namespace
