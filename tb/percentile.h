#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace nicsim::tb {

// Nearest-rank percentile (q in (0, 1]) of values already sorted ascending; 0 when empty.
inline uint64_t percentile_sorted(const std::vector<uint64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto idx = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(idx == 0 ? 0 : idx - 1, sorted.size() - 1)];
}

}  // namespace nicsim::tb
