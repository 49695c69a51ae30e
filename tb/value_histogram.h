#pragma once
// Exact order statistics of a stream of integers in memory bounded by the number
// of distinct values: a sorted value -> count table, with new values gathered in
// a buffer and merged in batches. Percentiles are nearest-rank, the same as
// percentile_sorted (tb/percentile.h) on the sorted values.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace nicsim::tb {

class value_histogram {
 public:
  void add(uint64_t v) {
    m_pending.push_back(v);
    ++m_count;
    m_sum += v;
    if (m_pending.size() >= std::max<size_t>(4096, m_table.size())) merge();
  }
  uint64_t count() const { return m_count; }
  uint64_t sum() const { return m_sum; }  // exact (as long as it fits in 64 bits)
  // Nearest-rank percentile, q in (0, 1]; 0 when empty.
  uint64_t percentile(double q) {
    merge();
    if (m_count == 0) return 0;
    const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(m_count)));
    const uint64_t idx = std::min(rank == 0 ? 0 : rank - 1, m_count - 1);
    uint64_t seen = 0;
    for (const auto& [value, n] : m_table) {
      seen += n;
      if (seen > idx) return value;
    }
    return m_table.back().first;
  }
  uint64_t max() {
    merge();
    return m_table.empty() ? 0 : m_table.back().first;
  }
  double mean() const {
    return m_count == 0 ? 0.0 : static_cast<double>(m_sum) / static_cast<double>(m_count);
  }
  size_t distinct() {
    merge();
    return m_table.size();
  }

 private:
  void merge() {
    if (m_pending.empty()) return;
    std::sort(m_pending.begin(), m_pending.end());
    std::vector<std::pair<uint64_t, uint64_t>> merged;
    merged.reserve(m_table.size() + m_pending.size());
    auto t = m_table.begin();
    auto put = [&merged](uint64_t value, uint64_t n) {
      if (!merged.empty() && merged.back().first == value)
        merged.back().second += n;
      else
        merged.emplace_back(value, n);
    };
    for (uint64_t v : m_pending) {
      for (; t != m_table.end() && t->first < v; ++t) put(t->first, t->second);
      put(v, 1);
    }
    for (; t != m_table.end(); ++t) put(t->first, t->second);
    merged.shrink_to_fit();
    m_table.swap(merged);
    m_pending.clear();
  }

  std::vector<std::pair<uint64_t, uint64_t>> m_table;  // value -> count, ascending
  std::vector<uint64_t> m_pending;
  uint64_t m_count = 0;
  uint64_t m_sum = 0;
};

}  // namespace nicsim::tb
