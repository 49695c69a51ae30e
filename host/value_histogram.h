#pragma once
// An exact distribution of integer samples (a count per value), for order statistics
// over every sample of a run without keeping the samples: its memory follows the range
// the values span, never the number of samples, and it answers every rank exactly as the
// sorted list of all samples would.
//
// Counts live in pages of PAGE consecutive values, allocated when a value first falls in
// them: samples that cluster (latencies in ns do) cost 4 bytes per value of the range they
// cover, and an isolated outlier one page.
#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <utility>

namespace nicsim::host {

class value_histogram {
 public:
  static constexpr uint64_t PAGE = 256;

  value_histogram() = default;
  value_histogram(const value_histogram& other) { merge(other); }
  value_histogram& operator=(const value_histogram& other) {
    if (this != &other) {
      clear();
      merge(other);
    }
    return *this;
  }
  value_histogram(value_histogram&& other) noexcept { *this = std::move(other); }
  value_histogram& operator=(value_histogram&& other) noexcept {
    m_pages = std::move(other.m_pages);
    m_overflow = std::move(other.m_overflow);
    m_last = nullptr;
    m_samples = other.m_samples;
    m_distinct = other.m_distinct;
    other.clear();
    return *this;
  }

  void add(uint64_t value, uint64_t count = 1) {
    if (count == 0) return;
    uint32_t& slot = page_of(value)[value % PAGE];
    if (slot == 0) ++m_distinct;
    m_samples += count;
    if (count <= std::numeric_limits<uint32_t>::max() - slot) {
      slot += static_cast<uint32_t>(count);
      return;
    }
    // More than 2^32 - 1 samples of one value: the excess is kept exactly beside the page.
    m_overflow[value] += count - (std::numeric_limits<uint32_t>::max() - slot);
    slot = std::numeric_limits<uint32_t>::max();
  }
  void merge(const value_histogram& other) {
    other.for_each([this](uint64_t value, uint64_t count) { add(value, count); });
  }
  void clear() {
    m_pages.clear();
    m_overflow.clear();
    m_last = nullptr;
    m_samples = m_distinct = 0;
  }

  uint64_t samples() const { return m_samples; }
  uint64_t distinct() const { return m_distinct; }
  bool empty() const { return m_samples == 0; }
  // Bytes held for counts (pages), for callers that watch the footprint.
  uint64_t page_bytes() const { return m_pages.size() * sizeof(page); }
  uint64_t min() const {
    uint64_t v = 0;
    find_rank(1, &v);
    return v;
  }
  uint64_t max() const {
    uint64_t v = 0;
    find_rank(m_samples, &v);
    return v;
  }
  // The rank-th smallest sample (1-based; ranks past the end give the largest); 0 when empty.
  uint64_t at_rank(uint64_t rank) const {
    uint64_t v = 0;
    find_rank(rank == 0 ? 1 : rank, &v);
    return v;
  }
  // Calls fn(value, count) for every value present, in ascending order.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (const auto& [index, counts] : m_pages)
      for (uint64_t i = 0; i < PAGE; ++i) {
        const uint64_t value = index * PAGE + i;
        if ((*counts)[i] == 0) continue;
        uint64_t count = (*counts)[i];
        if (count == std::numeric_limits<uint32_t>::max()) {
          const auto over = m_overflow.find(value);
          if (over != m_overflow.end()) count += over->second;
        }
        fn(value, count);
      }
  }

 private:
  using page = std::array<uint32_t, PAGE>;

  page& page_of(uint64_t value) {
    const uint64_t index = value / PAGE;
    if (m_last == nullptr || m_last_index != index) {
      auto& p = m_pages[index];
      if (!p) p = std::make_unique<page>();  // value-initialized: all counts 0
      m_last = p.get();
      m_last_index = index;
    }
    return *m_last;
  }
  void find_rank(uint64_t rank, uint64_t* out) const {
    uint64_t seen = 0;
    for_each([&](uint64_t value, uint64_t count) {
      if (seen < rank) *out = value;
      seen += count;
    });
  }

  std::map<uint64_t, std::unique_ptr<page>> m_pages;  // by value / PAGE
  std::map<uint64_t, uint64_t> m_overflow;            // counts beyond a slot's 2^32 - 1
  page* m_last = nullptr;                             // the page the last sample went to
  uint64_t m_last_index = 0;
  uint64_t m_samples = 0;
  uint64_t m_distinct = 0;
};

}  // namespace nicsim::host
