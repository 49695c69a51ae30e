#pragma once
// An exact distribution of integer samples, kept as value → count: its memory grows
// with the number of distinct values, never with the number of samples, and it answers
// every order statistic exactly as the sorted list of all samples would.
#include <cstdint>
#include <map>

namespace nicsim::host {

class value_histogram {
 public:
  void add(uint64_t value, uint64_t count = 1) {
    if (count == 0) return;
    m_counts[value] += count;
    m_samples += count;
  }
  void merge(const value_histogram& other) {
    for (const auto& [value, count] : other.m_counts) add(value, count);
  }

  uint64_t samples() const { return m_samples; }
  size_t distinct() const { return m_counts.size(); }
  bool empty() const { return m_samples == 0; }
  uint64_t min() const { return empty() ? 0 : m_counts.begin()->first; }
  uint64_t max() const { return empty() ? 0 : m_counts.rbegin()->first; }
  // The rank-th smallest sample (1-based, clamped to [1, samples()]); 0 when empty.
  uint64_t at_rank(uint64_t rank) const {
    uint64_t seen = 0;
    for (const auto& [value, count] : m_counts) {
      seen += count;
      if (seen >= rank) return value;
    }
    return max();
  }
  const std::map<uint64_t, uint64_t>& counts() const { return m_counts; }

 private:
  std::map<uint64_t, uint64_t> m_counts;
  uint64_t m_samples = 0;
};

}  // namespace nicsim::host
