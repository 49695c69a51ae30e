#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "host/value_histogram.h"

namespace nicsim::tb {

// The nearest rank (1-based) of quantile q in (0, 1] among n samples; 0 when n is 0.
inline uint64_t nearest_rank(uint64_t n, double q) {
  if (n == 0) return 0;
  const auto idx = static_cast<uint64_t>(std::ceil(q * static_cast<double>(n)));
  return std::min(idx == 0 ? 1 : idx, n);
}

// Nearest-rank percentile (q in (0, 1]) of values already sorted ascending; 0 when empty.
inline uint64_t percentile_sorted(const std::vector<uint64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  return sorted[nearest_rank(sorted.size(), q) - 1];
}

// The same nearest-rank percentile over a histogram of the samples.
inline uint64_t percentile(const host::value_histogram& h, double q) {
  return h.empty() ? 0 : h.at_rank(nearest_rank(h.samples(), q));
}

}  // namespace nicsim::tb
