// Metrics of a weak-to-strong experiment. Sums are accumulated in double; every function checks
// that its inputs are aligned (same n, same C) because a silent mismatch would be a wrong result.
//
// Bootstrap: resample r draws its random numbers from Philox(rng_seed, stream = r), so a given
// resample is the same whatever the total number of resamples, and pgr_bootstrap and
// mean_bootstrap called with the same rng_seed on same-shaped inputs draw the same examples
// (their intervals are paired).
#include "experiment/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/philox.h"
#include "core/strings.h"
#include "core/quantile.h"

namespace w2s {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Shapes agree and every value is finite (a NaN would silently fall out of every comparison).
void check_predictions(const Predictions& p, const char* what) {
  if (p.n <= 0 || p.C <= 0 || p.probs.size() != static_cast<size_t>(p.n) * p.C)
    throw RuntimeError(strfmt("%s: predictions have n = %d, C = %d but %zu probabilities", what, p.n, p.C,
                              p.probs.size()));
  for (size_t k = 0; k < p.probs.size(); ++k)
    if (!std::isfinite(p.probs[k]))
      throw RuntimeError(strfmt("%s: non-finite probability at example %zu", what, k / p.C));
}

void check_labels(const Predictions& p, const std::vector<int32_t>& labels, const char* what) {
  check_predictions(p, what);
  if (labels.size() != static_cast<size_t>(p.n))
    throw RuntimeError(strfmt("%s: %d predictions but %zu labels", what, p.n, labels.size()));
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= p.C)
      throw RuntimeError(strfmt("%s: label %d of example %zu is not a class of %d", what, labels[i], i, p.C));
}

void check_aligned(const Predictions& a, const Predictions& b, const char* what) {
  check_predictions(a, what);
  check_predictions(b, what);
  if (a.n != b.n || a.C != b.C)
    throw RuntimeError(strfmt("%s: predictions not aligned (n = %d vs %d, C = %d vs %d)", what, a.n, b.n, a.C, b.C));
}

// Draws uniform integers in [0, m) from one Philox stream, four per 10-round block. Each 32-bit
// word w maps to floor(w · m / 2^32): bias at most m / 2^32, negligible for test-set sizes.
class IndexDraws {
 public:
  IndexDraws(uint64_t seed, uint64_t stream) : seed_(seed), stream_(stream) {}
  size_t next(size_t m) {
    if (word_ == 4) {
      block_ = philox4x32(seed_, stream_, counter_++);
      word_ = 0;
    }
    return static_cast<size_t>((static_cast<uint64_t>(block_[word_++]) * m) >> 32);
  }

 private:
  uint64_t seed_, stream_, counter_ = 0;
  Philox4 block_{};
  int word_ = 4;
};

// The number of seeds and examples per seed every model must share; throws if they differ.
template <typename T>
void check_same_shape(const std::vector<std::vector<T>>& a, const std::vector<std::vector<T>>& b, const char* what) {
  if (a.size() != b.size()) throw RuntimeError(strfmt("%s: %zu seeds vs %zu seeds", what, a.size(), b.size()));
  for (size_t s = 0; s < a.size(); ++s)
    if (a[s].size() != b[s].size())
      throw RuntimeError(strfmt("%s: seed %zu has %zu examples vs %zu", what, s, a[s].size(), b[s].size()));
}

template <typename T>
void check_bootstrap_input(const std::vector<std::vector<T>>& x, int resamples, double level, const char* what) {
  if (x.empty()) throw RuntimeError(strfmt("%s: no seeds", what));
  for (size_t s = 0; s < x.size(); ++s)
    if (x[s].empty()) throw RuntimeError(strfmt("%s: seed %zu has no examples", what, s));
  if (resamples < 1) throw UsageError(strfmt("%s: resamples must be >= 1, got %d", what, resamples));
  if (!(level > 0.0 && level < 1.0)) throw UsageError(strfmt("%s: level must be in (0, 1), got %g", what, level));
}

// One bootstrap draw: seeds with replacement, then examples with replacement within each chosen
// seed. Calls visit(seed, example) for every drawn example.
template <typename Visit>
void bootstrap_draw(const std::vector<size_t>& sizes, uint64_t rng_seed, uint64_t resample, Visit visit) {
  IndexDraws draws(rng_seed, resample);
  std::vector<size_t> chosen(sizes.size());
  for (size_t& s : chosen) s = draws.next(sizes.size());
  for (size_t s : chosen)
    for (size_t i = 0; i < sizes[s]; ++i) visit(s, draws.next(sizes[s]));
}

template <typename T>
std::vector<size_t> seed_sizes(const std::vector<std::vector<T>>& x) {
  std::vector<size_t> sizes;
  for (const auto& seed : x) sizes.push_back(seed.size());
  return sizes;
}

// Percentile interval of the defined statistics: [q((1 − level)/2), q((1 + level)/2)]. No defined
// statistic: lo = hi = NaN.
void percentile_interval(std::vector<double> stats, double level, Interval& out) {
  std::sort(stats.begin(), stats.end());
  out.lo = quantile_sorted(stats, (1.0 - level) / 2.0);
  out.hi = quantile_sorted(stats, (1.0 + level) / 2.0);
}

}  // namespace

int Predictions::argmax(int i) const {
  const float* row = &probs[static_cast<size_t>(i) * C];
  return static_cast<int>(std::max_element(row, row + C) - row);  // first of equal maxima
}

// accuracy = (1/n) Σ_i [argmax p_i = label_i]
double accuracy(const Predictions& p, const std::vector<int32_t>& labels) {
  check_labels(p, labels, "accuracy");
  int64_t right = 0;
  for (int i = 0; i < p.n; ++i) right += p.argmax(i) == labels[i];
  return static_cast<double>(right) / p.n;
}

// agreement = (1/n) Σ_i [argmax a_i = argmax b_i]
double agreement(const Predictions& a, const Predictions& b) {
  check_aligned(a, b, "agreement");
  int64_t same = 0;
  for (int i = 0; i < a.n; ++i) same += a.argmax(i) == b.argmax(i);
  return static_cast<double>(same) / a.n;
}

// ECE = Σ_b (|B_b| / n) · |acc(B_b) − conf(B_b)|, conf_i = max_c p_ic, bin b = [b/B, (b+1)/B)
// (the last bin also holds confidence 1).
double expected_calibration_error(const Predictions& p, const std::vector<int32_t>& labels, int bins) {
  check_labels(p, labels, "expected_calibration_error");
  if (bins < 1) throw UsageError(strfmt("expected_calibration_error: bins must be >= 1, got %d", bins));
  std::vector<double> count(bins, 0.0), correct(bins, 0.0), confidence(bins, 0.0);
  for (int i = 0; i < p.n; ++i) {
    int pred = p.argmax(i);
    double conf = p.probs[static_cast<size_t>(i) * p.C + pred];
    int b = std::clamp(static_cast<int>(conf * bins), 0, bins - 1);
    count[b] += 1;
    correct[b] += pred == labels[i];
    confidence[b] += conf;
  }
  double ece = 0;
  for (int b = 0; b < bins; ++b)
    if (count[b] > 0) ece += std::abs(correct[b] - confidence[b]) / p.n;  // = (|B|/n)·|acc − conf|
  return ece;
}

// (1/n) Σ_i Σ_c (a_ic − b_ic)²
double mean_squared_distance(const Predictions& a, const Predictions& b) {
  check_aligned(a, b, "mean_squared_distance");
  double sum = 0;
  for (size_t k = 0; k < a.probs.size(); ++k) {
    double d = static_cast<double>(a.probs[k]) - static_cast<double>(b.probs[k]);
    sum += d * d;
  }
  return sum / a.n;
}

// Brier score: (1/n) Σ_i Σ_c (p_ic − [c = label_i])²
double squared_error_to_labels(const Predictions& p, const std::vector<int32_t>& labels) {
  check_labels(p, labels, "squared_error_to_labels");
  double sum = 0;
  for (int i = 0; i < p.n; ++i)
    for (int c = 0; c < p.C; ++c) {
      double d = static_cast<double>(p.probs[static_cast<size_t>(i) * p.C + c]) - (c == labels[i] ? 1.0 : 0.0);
      sum += d * d;
    }
  return sum / p.n;
}

// PGR = (P_w2s − P_weak) / (P_ceiling − P_weak), undefined unless P_ceiling > P_weak.
std::optional<double> pgr(double p_weak, double p_w2s, double p_ceiling) {
  if (!(p_ceiling > p_weak)) return std::nullopt;
  return (p_w2s - p_weak) / (p_ceiling - p_weak);
}

// Point estimate: PGR of the accuracies pooled over all seeds (Σ correct / Σ count). Resample:
// the same pooling over one bootstrap draw, shared by the three models (paired).
Interval pgr_bootstrap(const std::vector<std::vector<uint8_t>>& correct_weak,
                       const std::vector<std::vector<uint8_t>>& correct_w2s,
                       const std::vector<std::vector<uint8_t>>& correct_ceiling, int resamples, double level,
                       uint64_t rng_seed) {
  check_bootstrap_input(correct_weak, resamples, level, "pgr_bootstrap");
  check_same_shape(correct_weak, correct_w2s, "pgr_bootstrap (weak vs w2s)");
  check_same_shape(correct_weak, correct_ceiling, "pgr_bootstrap (weak vs ceiling)");
  const std::vector<size_t> sizes = seed_sizes(correct_weak);

  // Accuracies of the three models over a set of (seed, example) draws, then their PGR.
  struct Counts {
    double weak = 0, w2s = 0, ceiling = 0, total = 0;
  };
  auto add = [&](Counts& c, size_t s, size_t i) {
    c.weak += correct_weak[s][i];
    c.w2s += correct_w2s[s][i];
    c.ceiling += correct_ceiling[s][i];
    c.total += 1;
  };
  auto pgr_of = [](const Counts& c) { return pgr(c.weak / c.total, c.w2s / c.total, c.ceiling / c.total); };

  Interval out;
  Counts all;
  for (size_t s = 0; s < sizes.size(); ++s)
    for (size_t i = 0; i < sizes[s]; ++i) add(all, s, i);
  std::optional<double> estimate = pgr_of(all);
  if (!estimate) {
    out.defined = false;
    out.estimate = out.lo = out.hi = kNaN;
    return out;
  }
  out.estimate = *estimate;

  std::vector<double> stats;
  for (int r = 0; r < resamples; ++r) {
    Counts c;
    bootstrap_draw(sizes, rng_seed, static_cast<uint64_t>(r), [&](size_t s, size_t i) { add(c, s, i); });
    if (std::optional<double> v = pgr_of(c))
      stats.push_back(*v);
    else
      ++out.undefined_resamples;
  }
  percentile_interval(std::move(stats), level, out);
  return out;
}

// Point estimate: Σ values / Σ count over all seeds; resamples pool the same way.
Interval mean_bootstrap(const std::vector<std::vector<double>>& values, int resamples, double level, uint64_t rng_seed) {
  check_bootstrap_input(values, resamples, level, "mean_bootstrap");
  const std::vector<size_t> sizes = seed_sizes(values);
  Interval out;
  double sum = 0, count = 0;
  for (const auto& seed : values)
    for (double v : seed) sum += v, count += 1;
  out.estimate = sum / count;

  std::vector<double> stats(resamples);
  for (int r = 0; r < resamples; ++r) {
    double rs = 0, rc = 0;
    bootstrap_draw(sizes, rng_seed, static_cast<uint64_t>(r), [&](size_t s, size_t i) { rs += values[s][i], rc += 1; });
    stats[r] = rs / rc;
  }
  percentile_interval(std::move(stats), level, out);
  return out;
}

}  // namespace w2s
