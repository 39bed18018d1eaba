// Metrics of a weak-to-strong experiment. Sums are accumulated in double; every function checks
// that its inputs are aligned (same n, same C) because a silent mismatch would be a wrong result.
//
// Bootstrap: every seed of an experiment is evaluated on the same test set, so test-set noise is
// one sample however many seeds there are. A resample therefore draws seeds with replacement and,
// independently, ONE multiset of test examples (or clusters of examples) that every drawn seed
// and all three models use (crossed and paired). Drawing examples afresh inside each seed would
// count k seeds as k test sets and shrink the interval by up to sqrt(k). Resample r draws its
// examples from Philox(rng_seed, stream 2r) and its seeds from stream 2r + 1, so a given resample
// is the same whatever the total number of resamples or seeds, and calls with the same rng_seed
// on same-shaped inputs draw the same seeds and examples (their intervals are jointly drawn).
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

template <typename T>
std::vector<size_t> seed_sizes(const std::vector<std::vector<T>>& x) {
  std::vector<size_t> sizes;
  for (const auto& seed : x) sizes.push_back(seed.size());
  return sizes;
}

// A shared test set needs the same examples (and clusters) in every seed; clusters, when given,
// label every example of every seed.
void check_resampling(const std::vector<size_t>& sizes, const Resampling& rs, const char* what) {
  if (rs.shared_test_set)
    for (size_t s = 1; s < sizes.size(); ++s)
      if (sizes[s] != sizes[0])
        throw RuntimeError(strfmt("%s: the test set is declared shared by all seeds, but seed %zu has %zu examples "
                                  "and seed 0 %zu",
                                  what, s, sizes[s], sizes[0]));
  if (rs.clusters.empty()) return;
  if (rs.clusters.size() != sizes.size())
    throw RuntimeError(strfmt("%s: clusters given for %zu seeds, inputs have %zu", what, rs.clusters.size(), sizes.size()));
  for (size_t s = 0; s < sizes.size(); ++s) {
    if (rs.clusters[s].size() != sizes[s])
      throw RuntimeError(strfmt("%s: seed %zu has %zu examples but %zu cluster ids", what, s, sizes[s],
                                rs.clusters[s].size()));
    if (rs.shared_test_set && rs.clusters[s] != rs.clusters[0])
      throw RuntimeError(strfmt("%s: the test set is declared shared, but seed %zu groups its examples into "
                                "clusters differently from seed 0",
                                what, s));
  }
}

// Per seed and per cluster, sums of `columns` per-example values plus the example count (the
// last of width = columns + 1 entries). A resample is a weighted sum of these rows.
struct ClusterSums {
  size_t width = 0;
  std::vector<size_t> clusters;           // [seed] number of clusters
  std::vector<std::vector<double>> sums;  // [seed][cluster · width + column]
};

// Dense cluster index of every example of one seed: its own index when no clusters are given,
// else the rank of its cluster id among the seed's distinct ids.
std::vector<size_t> cluster_index(size_t n, const std::vector<int64_t>* ids, size_t* count) {
  std::vector<size_t> index(n);
  if (!ids) {
    for (size_t i = 0; i < n; ++i) index[i] = i;
    *count = n;
    return index;
  }
  std::vector<int64_t> distinct(*ids);
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  for (size_t i = 0; i < n; ++i)
    index[i] = static_cast<size_t>(std::lower_bound(distinct.begin(), distinct.end(), (*ids)[i]) - distinct.begin());
  *count = distinct.size();
  return index;
}

// value(s, i, j): column j of example i of seed s.
template <typename Value>
ClusterSums cluster_sums(const std::vector<size_t>& sizes, size_t columns, const Resampling& rs, Value value) {
  ClusterSums t;
  t.width = columns + 1;
  for (size_t s = 0; s < sizes.size(); ++s) {
    size_t K = 0;
    const std::vector<size_t> index = cluster_index(sizes[s], rs.clusters.empty() ? nullptr : &rs.clusters[s], &K);
    std::vector<double> sums(K * t.width, 0.0);
    for (size_t i = 0; i < sizes[s]; ++i) {
      double* row = &sums[index[i] * t.width];
      for (size_t j = 0; j < columns; ++j) row[j] += value(s, i, j);
      row[columns] += 1.0;
    }
    t.clusters.push_back(K);
    t.sums.push_back(std::move(sums));
  }
  return t;
}

// Column totals over the whole sample (every seed and cluster once).
std::vector<double> full_totals(const ClusterSums& t) {
  std::vector<double> total(t.width, 0.0);
  for (const auto& seed : t.sums)
    for (size_t k = 0; k < seed.size(); ++k) total[k % t.width] += seed[k];
  return total;
}

// How often each of m items is drawn in m draws with replacement.
std::vector<double> multiplicities(size_t m, IndexDraws& draws) {
  std::vector<double> count(m, 0.0);
  for (size_t k = 0; k < m; ++k) count[draws.next(m)] += 1.0;
  return count;
}

// Column totals of resample r: Σ_seed Σ_cluster (times drawn) · sums. With a shared test set the
// cluster multiplicities are drawn once and apply to every seed; otherwise each drawn copy of a
// seed draws its own clusters.
std::vector<double> resample_totals(const ClusterSums& t, bool shared, uint64_t rng_seed, uint64_t r) {
  const size_t S = t.sums.size(), W = t.width;
  IndexDraws example_draws(rng_seed, 2 * r), seed_draws(rng_seed, 2 * r + 1);
  const std::vector<double> seed_mult = multiplicities(S, seed_draws);
  std::vector<double> total(W, 0.0);
  if (shared) {
    const std::vector<double> cluster_mult = multiplicities(t.clusters[0], example_draws);
    for (size_t s = 0; s < S; ++s) {
      if (seed_mult[s] == 0) continue;
      for (size_t c = 0; c < cluster_mult.size(); ++c) {
        if (cluster_mult[c] == 0) continue;
        const double weight = seed_mult[s] * cluster_mult[c];
        for (size_t j = 0; j < W; ++j) total[j] += weight * t.sums[s][c * W + j];
      }
    }
    return total;
  }
  for (size_t s = 0; s < S; ++s)
    for (int copy = 0; copy < static_cast<int>(seed_mult[s]); ++copy)
      for (size_t k = 0; k < t.clusters[s]; ++k) {
        const size_t c = example_draws.next(t.clusters[s]);
        for (size_t j = 0; j < W; ++j) total[j] += t.sums[s][c * W + j];
      }
  return total;
}

// Percentile interval of the defined statistics: [q((1 − level)/2), q((1 + level)/2)]. No defined
// statistic: lo = hi = NaN.
void percentile_interval(std::vector<double> stats, double level, Interval& out) {
  std::sort(stats.begin(), stats.end());
  out.lo = quantile_sorted(stats, (1.0 - level) / 2.0);
  out.hi = quantile_sorted(stats, (1.0 + level) / 2.0);
}

// Column sums of the three models' correctness: weak, w2s, ceiling (then the count).
ClusterSums pgr_sums(const PairCorrectness& p, const Resampling& rs, const char* what) {
  check_same_shape(p.weak, p.w2s, strfmt("%s (weak vs w2s)", what).c_str());
  check_same_shape(p.weak, p.ceiling, strfmt("%s (weak vs ceiling)", what).c_str());
  const std::vector<size_t> sizes = seed_sizes(p.weak);
  check_resampling(sizes, rs, what);
  const std::vector<std::vector<uint8_t>>* cols[3] = {&p.weak, &p.w2s, &p.ceiling};
  return cluster_sums(sizes, 3, rs, [&](size_t s, size_t i, size_t j) { return static_cast<double>((*cols[j])[s][i]); });
}

std::optional<double> pgr_of_totals(const std::vector<double>& t) { return pgr(t[0] / t[3], t[1] / t[3], t[2] / t[3]); }

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return quantile_sorted(v, 0.5);
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
                       uint64_t rng_seed, const Resampling& resampling) {
  check_bootstrap_input(correct_weak, resamples, level, "pgr_bootstrap");
  const ClusterSums sums = pgr_sums({correct_weak, correct_w2s, correct_ceiling}, resampling, "pgr_bootstrap");
  Interval out;
  out.resamples = resamples;
  const std::optional<double> estimate = pgr_of_totals(full_totals(sums));
  if (!estimate) {
    out.defined = false;
    out.estimate = out.lo = out.hi = kNaN;
    return out;
  }
  out.estimate = *estimate;
  std::vector<double> stats;
  for (int r = 0; r < resamples; ++r) {
    if (std::optional<double> v = pgr_of_totals(resample_totals(sums, resampling.shared_test_set, rng_seed, r)))
      stats.push_back(*v);
    else
      ++out.undefined_resamples;
  }
  percentile_interval(std::move(stats), level, out);
  return out;
}

// Gap = (Σ correct_ceiling − Σ correct_weak) / Σ count, over the pair's sums and resample draws
// (pgr_sums and resample_totals, as pgr_bootstrap).
Interval gap_bootstrap(const PairCorrectness& pair, int resamples, double level, uint64_t rng_seed,
                       const Resampling& resampling) {
  check_bootstrap_input(pair.weak, resamples, level, "gap_bootstrap");
  const ClusterSums sums = pgr_sums(pair, resampling, "gap_bootstrap");
  auto gap_of_totals = [](const std::vector<double>& t) { return (t[2] - t[0]) / t[3]; };
  Interval out;
  out.resamples = resamples;
  out.estimate = gap_of_totals(full_totals(sums));
  std::vector<double> stats(static_cast<size_t>(resamples));
  for (int r = 0; r < resamples; ++r)
    stats[static_cast<size_t>(r)] = gap_of_totals(resample_totals(sums, resampling.shared_test_set, rng_seed, r));
  percentile_interval(std::move(stats), level, out);
  return out;
}

// Point estimate: Σ values / Σ count over all seeds; resamples pool the same way.
Interval mean_bootstrap(const std::vector<std::vector<double>>& values, int resamples, double level, uint64_t rng_seed,
                        const Resampling& resampling) {
  check_bootstrap_input(values, resamples, level, "mean_bootstrap");
  const std::vector<size_t> sizes = seed_sizes(values);
  check_resampling(sizes, resampling, "mean_bootstrap");
  const ClusterSums sums = cluster_sums(sizes, 1, resampling, [&](size_t s, size_t i, size_t) { return values[s][i]; });
  Interval out;
  out.resamples = resamples;
  const std::vector<double> all = full_totals(sums);
  out.estimate = all[0] / all[1];
  std::vector<double> stats(static_cast<size_t>(resamples));
  for (int r = 0; r < resamples; ++r) {
    const std::vector<double> t = resample_totals(sums, resampling.shared_test_set, rng_seed, r);
    stats[static_cast<size_t>(r)] = t[0] / t[1];
  }
  percentile_interval(std::move(stats), level, out);
  return out;
}

// Pairs with an undefined point PGR drop out; the rest share every resample's draw.
Interval median_pgr_bootstrap(const std::vector<PairCorrectness>& pairs, int resamples, double level,
                              uint64_t rng_seed, const Resampling& resampling) {
  if (pairs.empty()) throw RuntimeError("median_pgr_bootstrap: no pairs");
  std::vector<ClusterSums> kept;
  std::vector<double> point;
  for (const PairCorrectness& p : pairs) {
    check_bootstrap_input(p.weak, resamples, level, "median_pgr_bootstrap");
    check_same_shape(pairs[0].weak, p.weak, "median_pgr_bootstrap (pairs must share seeds and test set)");
    ClusterSums sums = pgr_sums(p, resampling, "median_pgr_bootstrap");
    if (std::optional<double> g = pgr_of_totals(full_totals(sums))) {
      point.push_back(*g);
      kept.push_back(std::move(sums));
    }
  }
  Interval out;
  out.resamples = resamples;
  if (point.empty()) {
    out.defined = false;
    out.estimate = out.lo = out.hi = kNaN;
    return out;
  }
  out.estimate = median_of(point);
  std::vector<double> stats, row(kept.size());
  for (int r = 0; r < resamples; ++r) {
    bool defined = true;
    for (size_t k = 0; k < kept.size() && defined; ++k) {
      std::optional<double> g = pgr_of_totals(resample_totals(kept[k], resampling.shared_test_set, rng_seed, r));
      defined = g.has_value();
      if (defined) row[k] = *g;
    }
    if (defined) stats.push_back(median_of(row));
    else ++out.undefined_resamples;
  }
  percentile_interval(std::move(stats), level, out);
  return out;
}

}  // namespace w2s
