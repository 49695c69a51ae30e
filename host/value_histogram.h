#pragma once
// An exact distribution of integer samples (a count per value), for order statistics
// over every sample of a run without keeping the samples: its memory follows the range
// the values span, never the number of samples, and it answers every rank exactly as the
// sorted list of all samples would.
//
// Counts live in pages of PAGE consecutive values, made when a value first falls in them. A
// page starts sparse (its distinct values and their counts, sorted: 4 bytes each) and turns
// dense (4 bytes for every value of the page) once it holds SPARSE_MAX distinct values:
// samples that cluster (latencies in ns do) cost 4 bytes per value of the range they cover,
// and samples spread thinly over a wide range (latencies under overload, an outlier) 4 bytes
// per distinct value instead of a whole page each.
#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <utility>
#include <vector>

namespace nicsim::host {

class value_histogram {
 public:
  static constexpr uint64_t PAGE = 256;
  // Distinct values a page holds sparse (a quarter of a dense page's bytes).
  static constexpr size_t SPARSE_MAX = 64;

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
    page& p = page_of(value);
    const auto offset = static_cast<uint32_t>(value % PAGE);
    if (!p.dense) {
      auto it = std::lower_bound(p.sparse.begin(), p.sparse.end(), offset << SPARSE_COUNT_BITS);
      if (it != p.sparse.end() && (*it >> SPARSE_COUNT_BITS) == offset) {
        if (count <= SPARSE_COUNT_MAX - (*it & SPARSE_COUNT_MAX)) {
          *it += static_cast<uint32_t>(count);
          m_samples += count;
          return;
        }
      } else if (p.sparse.size() < SPARSE_MAX && count <= SPARSE_COUNT_MAX) {
        p.sparse.insert(it, offset << SPARSE_COUNT_BITS | static_cast<uint32_t>(count));
        ++m_distinct;
        m_samples += count;
        return;
      }
      make_dense(p);
    }
    uint32_t& slot = (*p.dense)[offset];
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
  // Bytes held for counts (each page's map node, dense counts and sparse entries), for
  // callers that watch the footprint.
  uint64_t page_bytes() const {
    constexpr uint64_t NODE_LINKS = 32;  // a std::map node's colour, parent, left and right
    uint64_t bytes = 0;
    for (const auto& [index, p] : m_pages)
      bytes += NODE_LINKS + sizeof(std::pair<const uint64_t, page>) +
               (p.dense ? sizeof(dense_page) : p.sparse.capacity() * sizeof(uint32_t));
    return bytes;
  }
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
    for (const auto& [index, p] : m_pages) {
      if (!p.dense) {
        for (uint32_t e : p.sparse)
          fn(index * PAGE + (e >> SPARSE_COUNT_BITS), uint64_t{e & SPARSE_COUNT_MAX});
        continue;
      }
      for (uint64_t i = 0; i < PAGE; ++i) {
        const uint64_t value = index * PAGE + i;
        if ((*p.dense)[i] == 0) continue;
        uint64_t count = (*p.dense)[i];
        if (count == std::numeric_limits<uint32_t>::max()) {
          const auto over = m_overflow.find(value);
          if (over != m_overflow.end()) count += over->second;
        }
        fn(value, count);
      }
    }
  }

 private:
  // A sparse entry: the value's offset in its page (8 bits) above its count (24 bits).
  static constexpr unsigned SPARSE_COUNT_BITS = 24;
  static constexpr uint32_t SPARSE_COUNT_MAX = (uint32_t{1} << SPARSE_COUNT_BITS) - 1;
  static_assert(PAGE <= (uint64_t{1} << (32 - SPARSE_COUNT_BITS)), "a page's offsets fit above the count");
  using dense_page = std::array<uint32_t, PAGE>;
  struct page {
    std::vector<uint32_t> sparse;       // sorted by offset, while dense is null
    std::unique_ptr<dense_page> dense;  // a count for every value of the page
  };

  page& page_of(uint64_t value) {
    const uint64_t index = value / PAGE;
    if (m_last == nullptr || m_last_index != index) {
      m_last = &m_pages[index];  // std::map: the node stays where it is
      m_last_index = index;
    }
    return *m_last;
  }
  static void make_dense(page& p) {
    p.dense = std::make_unique<dense_page>();  // value-initialized: all counts 0
    for (uint32_t e : p.sparse) (*p.dense)[e >> SPARSE_COUNT_BITS] = e & SPARSE_COUNT_MAX;
    std::vector<uint32_t>().swap(p.sparse);
  }
  void find_rank(uint64_t rank, uint64_t* out) const {
    uint64_t seen = 0;
    for_each([&](uint64_t value, uint64_t count) {
      if (seen < rank) *out = value;
      seen += count;
    });
  }

  std::map<uint64_t, page> m_pages;         // by value / PAGE
  std::map<uint64_t, uint64_t> m_overflow;  // counts beyond a slot's 2^32 - 1
  page* m_last = nullptr;                   // the page the last sample went to
  uint64_t m_last_index = 0;
  uint64_t m_samples = 0;
  uint64_t m_distinct = 0;
};

}  // namespace nicsim::host
