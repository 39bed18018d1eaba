// Quantiles with linear interpolation between order statistics: the definition torch.quantile
// and numpy.quantile use by default. The auxconf threshold (losses.cpp) and the bootstrap
// percentile intervals (metrics.cpp) both use it, so they agree with the reference code.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace w2s {

// q-quantile of ascending `sorted` (q clamped to [0, 1]): position q·(n − 1), interpolated
// between its two neighbours. NaN for an empty input.
inline double quantile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
  q = std::clamp(q, 0.0, 1.0);
  double pos = q * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  double frac = pos - static_cast<double>(lo);
  return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

// Same, for values in any order (sorts a copy). NaN if any value is NaN, as torch.quantile.
inline double quantile(std::vector<double> values, double q) {
  for (double v : values)
    if (std::isnan(v)) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  return quantile_sorted(values, q);
}

}  // namespace w2s
