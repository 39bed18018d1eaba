// Experiment metrics on constructed predictions with known answers, and the paired bootstrap:
// degenerate cases where the interval must collapse to a point, an interval whose width must
// agree with the delta-method standard error, coverage over repeated samples, determinism,
// resampling over seeds crossed with one shared test set (identical seeds must not narrow the
// interval), clusters drawn whole, and the median over pairs drawn jointly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "core/philox.h"
#include "experiment/metrics.h"

using namespace w2s;

namespace {

Predictions make_predictions(int C, const std::vector<float>& probs) {
  Predictions p;
  p.C = C;
  p.n = static_cast<int>(probs.size()) / C;
  p.probs = probs;
  return p;
}

using Correct = std::vector<std::vector<uint8_t>>;

// A random permutation of 0..n−1 from Philox (Fisher–Yates).
std::vector<int> permutation(int n, uint64_t stream) {
  std::vector<int> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  for (int i = n - 1; i > 0; --i) {
    int j = static_cast<int>(philox_uniform(99, stream, i) * (i + 1));
    std::swap(perm[i], perm[j]);
  }
  return perm;
}

// Correct on exactly round(acc · n) examples, chosen by a permutation.
std::vector<uint8_t> correct_on_fraction(int n, double acc, const std::vector<int>& perm) {
  std::vector<uint8_t> c(n, 0);
  for (int k = 0; k < static_cast<int>(std::lround(acc * n)); ++k) c[perm[k]] = 1;
  return c;
}

double mean(const std::vector<uint8_t>& x) { return std::accumulate(x.begin(), x.end(), 0.0) / x.size(); }

// Delta-method standard error of PGR = (W − A) / (C − A) on one sample: influence of example i
// ψ_i = ((w_i − a_i) − PGR · (c_i − a_i)) / (C − A), SE = sd(ψ) / √n.
double pgr_delta_se(const std::vector<uint8_t>& a, const std::vector<uint8_t>& w, const std::vector<uint8_t>& c) {
  const double n = static_cast<double>(a.size());
  const double A = mean(a), W = mean(w), Cc = mean(c), g = (W - A) / (Cc - A);
  double sum = 0, sq = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double psi = ((w[i] - a[i]) - g * (c[i] - a[i])) / (Cc - A);
    sum += psi;
    sq += psi * psi;
  }
  double var = sq / n - (sum / n) * (sum / n);
  return std::sqrt(var / n);
}

}  // namespace

// ---- point metrics ----

TEST(Metrics, AccuracyAndAgreement) {
  // Argmax rows: 0, 2, 1, 1 (row 3 has a tie between 1 and 2: the first wins).
  Predictions a = make_predictions(3, {0.7f, 0.2f, 0.1f, 0.1f, 0.3f, 0.6f, 0.2f, 0.5f, 0.3f, 0.2f, 0.4f, 0.4f});
  // Argmax rows: 0, 1, 1, 2.
  Predictions b = make_predictions(3, {0.5f, 0.4f, 0.1f, 0.1f, 0.8f, 0.1f, 0.3f, 0.6f, 0.1f, 0.0f, 0.1f, 0.9f});
  EXPECT_EQ(a.argmax(3), 1);
  EXPECT_DOUBLE_EQ(accuracy(a, {0, 2, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(accuracy(a, {0, 0, 0, 0}), 0.25);
  EXPECT_DOUBLE_EQ(accuracy(b, {0, 2, 1, 1}), 0.5);
  EXPECT_DOUBLE_EQ(agreement(a, b), 0.5);
  EXPECT_DOUBLE_EQ(agreement(a, a), 1.0);
}

TEST(Metrics, ExpectedCalibrationErrorKnownAnswer) {
  // 10 examples at confidence 0.9 (bin 9), 8 right: |0.8 − 0.9| = 0.1.
  // 5 examples at confidence 0.6 (bin 6), 3 right: |0.6 − 0.6| = 0.
  // 5 examples at confidence 1.0 (last bin, not an 11th), all right: 0.
  // ECE = (10/20) · 0.1 = 0.05. With one bin: |mean acc − mean conf| = |16/20 − 17/20| = 0.05.
  std::vector<float> probs;
  std::vector<int32_t> labels;
  for (int i = 0; i < 10; ++i) probs.insert(probs.end(), {0.9f, 0.1f}), labels.push_back(i < 8 ? 0 : 1);
  for (int i = 0; i < 5; ++i) probs.insert(probs.end(), {0.4f, 0.6f}), labels.push_back(i < 3 ? 1 : 0);
  for (int i = 0; i < 5; ++i) probs.insert(probs.end(), {1.0f, 0.0f}), labels.push_back(0);
  Predictions p = make_predictions(2, probs);
  EXPECT_NEAR(expected_calibration_error(p, labels, 10), 0.05, 1e-6);
  EXPECT_NEAR(expected_calibration_error(p, labels, 1), 0.05, 1e-6);
  // Two bins [0, .5), [.5, 1]: every confidence is in the upper bin → same as one bin.
  EXPECT_NEAR(expected_calibration_error(p, labels, 2), 0.05, 1e-6);
  // Perfectly calibrated: confidence 0.75, 3 of 4 right.
  Predictions q = make_predictions(2, {0.75f, 0.25f, 0.75f, 0.25f, 0.75f, 0.25f, 0.75f, 0.25f});
  EXPECT_NEAR(expected_calibration_error(q, {0, 0, 0, 1}), 0.0, 1e-7);
  EXPECT_NEAR(expected_calibration_error(q, {1, 1, 0, 1}), 0.5, 1e-7);
}

TEST(Metrics, ExpectedCalibrationErrorAveragesWithinABin) {
  // 5 examples at confidence 0.61, all right; 5 at 0.69, one right. With 10 bins both fall in
  // [0.6, 0.7): |6 − 6.5| / 10 = 0.05 (over- and under-confidence cancel inside the bin). With
  // 20 bins they are apart: (|5 − 3.05| + |1 − 3.45|) / 10 = 0.44.
  std::vector<float> probs;
  std::vector<int32_t> labels;
  for (int i = 0; i < 5; ++i) probs.insert(probs.end(), {0.61f, 0.39f}), labels.push_back(0);
  for (int i = 0; i < 5; ++i) probs.insert(probs.end(), {0.31f, 0.69f}), labels.push_back(i == 0 ? 1 : 0);
  Predictions p = make_predictions(2, probs);
  EXPECT_NEAR(expected_calibration_error(p, labels, 10), 0.05, 1e-6);
  EXPECT_NEAR(expected_calibration_error(p, labels, 20), 0.44, 1e-6);
}

TEST(Metrics, BrierAndSquaredDistance) {
  Predictions p = make_predictions(2, {0.8f, 0.2f, 0.3f, 0.7f});
  // Label 0 both: (0.04 + 0.04 + 0.49 + 0.49) / 2 = 0.53.
  EXPECT_NEAR(squared_error_to_labels(p, {0, 0}), 0.53, 1e-6);
  // Labels 0, 1: (0.08 + 0.18) / 2 = 0.13.
  EXPECT_NEAR(squared_error_to_labels(p, {0, 1}), 0.13, 1e-6);
  Predictions q = make_predictions(2, {0.5f, 0.5f, 0.3f, 0.7f});
  EXPECT_NEAR(mean_squared_distance(p, q), (0.09 + 0.09 + 0.0) / 2, 1e-6);
  EXPECT_DOUBLE_EQ(mean_squared_distance(p, p), 0.0);
  // The Brier score is the squared distance to one-hot predictions of the labels.
  Predictions onehot = make_predictions(2, {1, 0, 0, 1});
  EXPECT_NEAR(mean_squared_distance(p, onehot), squared_error_to_labels(p, {0, 1}), 1e-12);
}

TEST(Metrics, MisalignedInputsAreErrors) {
  Predictions p = make_predictions(2, {0.8f, 0.2f, 0.3f, 0.7f});
  Predictions three = make_predictions(2, {0.8f, 0.2f, 0.3f, 0.7f, 0.5f, 0.5f});
  EXPECT_THROW(accuracy(p, {0}), Error);
  EXPECT_THROW(agreement(p, three), Error);
  EXPECT_THROW(mean_squared_distance(p, three), Error);
  EXPECT_THROW(expected_calibration_error(p, {0, 1}, 0), Error);
  EXPECT_THROW(accuracy(p, {0, 2}), Error);  // label outside the C classes
  Predictions nan = make_predictions(2, {0.8f, 0.2f, std::nanf(""), 0.7f});
  EXPECT_THROW(expected_calibration_error(nan, {0, 1}), Error);
}

// ---- PGR ----

TEST(Pgr, PointValues) {
  EXPECT_NEAR(*pgr(0.6, 0.7, 0.8), 0.5, 1e-12);
  EXPECT_NEAR(*pgr(0.6, 0.6, 0.8), 0.0, 1e-12);
  EXPECT_NEAR(*pgr(0.6, 0.8, 0.8), 1.0, 1e-12);
  EXPECT_NEAR(*pgr(0.6, 0.9, 0.8), 1.5, 1e-12);   // student beats the ceiling
  EXPECT_NEAR(*pgr(0.6, 0.5, 0.8), -0.5, 1e-12);  // student worse than its supervisor
}

TEST(Pgr, UndefinedWhenCeilingDoesNotBeatWeak) {
  EXPECT_FALSE(pgr(0.8, 0.7, 0.8).has_value());
  EXPECT_FALSE(pgr(0.8, 0.9, 0.7).has_value());
  Correct weak = {{1, 1, 0, 0}}, w2s = {{1, 1, 1, 0}}, ceiling = {{0, 1, 1, 0}};  // ceiling = weak = 0.5
  Interval ci = pgr_bootstrap(weak, w2s, ceiling, 100, 0.95, 1);
  EXPECT_FALSE(ci.defined);
  EXPECT_TRUE(std::isnan(ci.estimate));
}

// ---- bootstrap ----

TEST(PgrBootstrap, CollapsesToAPointWhenEveryResampleHasTheSamePgr) {
  // Ceiling right wherever weak is, plus on 100 more examples. A student whose correctness is
  // exactly the weak model's has PGR 0 on every resample; one equal to the ceiling, PGR 1.
  const int n = 200;
  std::vector<int> perm = permutation(n, 1);
  std::vector<uint8_t> weak = correct_on_fraction(n, 0.3, perm), ceiling = correct_on_fraction(n, 0.8, perm);
  for (auto [student, want] : {std::pair{weak, 0.0}, std::pair{ceiling, 1.0}}) {
    Interval ci = pgr_bootstrap({weak}, {student}, {ceiling}, 500, 0.95, 3);
    ASSERT_TRUE(ci.defined);
    EXPECT_DOUBLE_EQ(ci.estimate, want);
    EXPECT_DOUBLE_EQ(ci.lo, want);
    EXPECT_DOUBLE_EQ(ci.hi, want);
    EXPECT_EQ(ci.undefined_resamples, 0);
  }
}

TEST(PgrBootstrap, IntervalContainsTruthExcludesZeroAndHasDeltaMethodWidth) {
  // Weak right on exactly 60%, student 70%, ceiling 80%: PGR is exactly 0.5 on the sample.
  // Independent patterns (no nesting) and nested ones (student ⊂ ceiling ⊃ weak), where pairing
  // the three models on the same draw is what keeps the interval narrow.
  const int n = 2000;
  std::vector<int> p1 = permutation(n, 11), p2 = permutation(n, 12), p3 = permutation(n, 13);
  struct Case {
    std::vector<uint8_t> weak, w2s, ceiling;
  };
  Case independent{correct_on_fraction(n, 0.6, p1), correct_on_fraction(n, 0.7, p2), correct_on_fraction(n, 0.8, p3)};
  Case nested{correct_on_fraction(n, 0.6, p1), correct_on_fraction(n, 0.7, p1), correct_on_fraction(n, 0.8, p1)};
  for (const Case& c : {independent, nested}) {
    Interval ci = pgr_bootstrap({c.weak}, {c.w2s}, {c.ceiling}, 2000, 0.95, 7);
    ASSERT_TRUE(ci.defined);
    EXPECT_NEAR(ci.estimate, 0.5, 1e-12);
    EXPECT_LT(ci.lo, 0.5);
    EXPECT_GT(ci.hi, 0.5);
    EXPECT_GT(ci.lo, 0.0);
    double se = pgr_delta_se(c.weak, c.w2s, c.ceiling);
    double ratio = (ci.hi - ci.lo) / (2 * 1.959964 * se);
    EXPECT_GT(ratio, 0.85) << "width " << ci.hi - ci.lo << " se " << se;
    EXPECT_LT(ratio, 1.15) << "width " << ci.hi - ci.lo << " se " << se;
  }
  // Nested errors give a much narrower interval than independent ones (pairing works).
  Interval narrow = pgr_bootstrap({nested.weak}, {nested.w2s}, {nested.ceiling}, 500, 0.95, 7);
  Interval wide = pgr_bootstrap({independent.weak}, {independent.w2s}, {independent.ceiling}, 500, 0.95, 7);
  EXPECT_LT(narrow.hi - narrow.lo, 0.7 * (wide.hi - wide.lo));
}

TEST(PgrBootstrap, CountsUndefinedResamples) {
  // The ceiling beats weak on a single example out of 20: resamples that miss it (probability
  // (19/20)^20 ≈ 36%) have P_ceiling = P_weak, so their PGR is undefined and must be counted.
  std::vector<uint8_t> weak(20, 0), ceiling(20, 0), w2s(20, 0);
  ceiling[0] = 1;
  w2s[0] = 1;
  Interval ci = pgr_bootstrap({weak}, {w2s}, {ceiling}, 1000, 0.95, 5);
  ASSERT_TRUE(ci.defined);
  EXPECT_DOUBLE_EQ(ci.estimate, 1.0);
  EXPECT_GT(ci.undefined_resamples, 300);
  EXPECT_LT(ci.undefined_resamples, 420);
  EXPECT_DOUBLE_EQ(ci.lo, 1.0);  // defined resamples all have PGR exactly 1
  EXPECT_DOUBLE_EQ(ci.hi, 1.0);
}

TEST(Bootstrap, DeterministicForFixedSeed) {
  const int n = 300;
  std::vector<uint8_t> weak = correct_on_fraction(n, 0.55, permutation(n, 21));
  std::vector<uint8_t> w2s = correct_on_fraction(n, 0.65, permutation(n, 22));
  std::vector<uint8_t> ceiling = correct_on_fraction(n, 0.75, permutation(n, 23));
  Interval a = pgr_bootstrap({weak}, {w2s}, {ceiling}, 300, 0.95, 42);
  Interval b = pgr_bootstrap({weak}, {w2s}, {ceiling}, 300, 0.95, 42);
  Interval c = pgr_bootstrap({weak}, {w2s}, {ceiling}, 300, 0.95, 43);
  EXPECT_EQ(a.lo, b.lo);
  EXPECT_EQ(a.hi, b.hi);
  EXPECT_EQ(a.undefined_resamples, b.undefined_resamples);
  EXPECT_TRUE(a.lo != c.lo || a.hi != c.hi);
  std::vector<double> values(weak.begin(), weak.end());
  Interval m1 = mean_bootstrap({values}, 300, 0.9, 42), m2 = mean_bootstrap({values}, 300, 0.9, 42);
  EXPECT_EQ(m1.lo, m2.lo);
  EXPECT_EQ(m1.hi, m2.hi);
}

TEST(MeanBootstrap, CoverageOfTheTrueMean) {
  // 200 independent samples of 200 Bernoulli(0.3) values: the 90% interval should contain 0.3
  // in about 90% of them.
  const int trials = 200, n = 200;
  int covered = 0;
  for (int t = 0; t < trials; ++t) {
    std::vector<double> x(n);
    for (int i = 0; i < n; ++i) x[i] = philox_uniform(31, t, i) < 0.3 ? 1.0 : 0.0;
    Interval ci = mean_bootstrap({x}, 400, 0.9, static_cast<uint64_t>(t));
    EXPECT_LE(ci.lo, ci.estimate);
    EXPECT_GE(ci.hi, ci.estimate);
    covered += ci.lo <= 0.3 && 0.3 <= ci.hi;
  }
  EXPECT_GT(covered, 0.82 * trials);
  EXPECT_LT(covered, 0.97 * trials);
}

// ---- several seeds ----

TEST(MeanBootstrap, ResamplesSeedsThenExamples) {
  // Seed 0 all zeros, seed 1 all ones. Drawing two seeds with replacement gives pooled means
  // 0 (¼), ½ (½) and 1 (¼): the 60% interval is [0, 1] and the 40% interval collapses to ½.
  // Pooling the same values into one seed gives a narrow interval around ½ instead.
  std::vector<double> zeros(100, 0.0), ones(100, 1.0);
  Interval wide = mean_bootstrap({zeros, ones}, 4000, 0.6, 9);
  EXPECT_DOUBLE_EQ(wide.estimate, 0.5);
  EXPECT_DOUBLE_EQ(wide.lo, 0.0);
  EXPECT_DOUBLE_EQ(wide.hi, 1.0);
  Interval middle = mean_bootstrap({zeros, ones}, 4000, 0.4, 9);
  EXPECT_DOUBLE_EQ(middle.lo, 0.5);
  EXPECT_DOUBLE_EQ(middle.hi, 0.5);
  std::vector<double> pooled(zeros);
  pooled.insert(pooled.end(), ones.begin(), ones.end());
  Interval one_seed = mean_bootstrap({pooled}, 4000, 0.95, 9);
  EXPECT_GT(one_seed.lo, 0.4);
  EXPECT_LT(one_seed.hi, 0.6);
}

TEST(PgrBootstrap, PoolsCorrectnessAcrossSeeds) {
  // Seed A (100 examples): weak 50, w2s 60, ceiling 70 right. Seed B (300): weak 150, w2s 240,
  // ceiling 270. Pooled accuracies 200/400, 300/400, 340/400: PGR = 100 / 140 (not the mean of
  // the per-seed PGRs 0.5 and 0.75).
  std::vector<int> pa = permutation(100, 41), pb = permutation(300, 42);
  Correct weak = {correct_on_fraction(100, 0.5, pa), correct_on_fraction(300, 0.5, pb)};
  Correct w2s = {correct_on_fraction(100, 0.6, pa), correct_on_fraction(300, 0.8, pb)};
  Correct ceiling = {correct_on_fraction(100, 0.7, pa), correct_on_fraction(300, 0.9, pb)};
  Resampling own_test_sets;
  own_test_sets.shared_test_set = false;  // 100 vs 300 examples: not one test set
  Interval ci = pgr_bootstrap(weak, w2s, ceiling, 1000, 0.95, 3, own_test_sets);
  ASSERT_TRUE(ci.defined);
  EXPECT_NEAR(ci.estimate, 100.0 / 140.0, 1e-12);
  // Seeds disagree (0.5 vs 0.75): resampling seeds puts both ends in the interval.
  EXPECT_LT(ci.lo, 0.55);
  EXPECT_GT(ci.hi, 0.72);
}

TEST(PgrBootstrap, RejectsMisalignedInputs) {
  Correct weak = {{1, 0, 1}}, w2s = {{1, 0}}, ceiling = {{1, 1, 1}};
  EXPECT_THROW(pgr_bootstrap(weak, w2s, ceiling), Error);
  EXPECT_THROW(pgr_bootstrap(weak, {{1, 0, 1}, {1}}, ceiling), Error);
  EXPECT_THROW(pgr_bootstrap({}, {}, {}), Error);
  // Seeds of different sizes cannot share one test set.
  EXPECT_THROW(pgr_bootstrap({{1, 0}, {1, 0, 1}}, {{1, 0}, {1, 0, 1}}, {{1, 1}, {1, 1, 1}}), Error);
  try {
    pgr_bootstrap(weak, {{1, 1, 1}}, ceiling, 0);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::Usage);
  }
}

// ---- one test set shared by every seed (crossed bootstrap) ----

namespace {

struct ThreeModels {
  std::vector<uint8_t> weak, w2s, ceiling;
};

// Weak 60%, student 70%, ceiling 80% right, in independent patterns over n examples.
ThreeModels sixty_seventy_eighty(int n) {
  return {correct_on_fraction(n, 0.6, permutation(n, 61)), correct_on_fraction(n, 0.7, permutation(n, 62)),
          correct_on_fraction(n, 0.8, permutation(n, 63))};
}

Correct copies(const std::vector<uint8_t>& x, int seeds) { return Correct(static_cast<size_t>(seeds), x); }

}  // namespace

TEST(PgrBootstrap, IdenticalSeedsDoNotNarrowTheInterval) {
  // Twelve seeds that all made exactly the same predictions on the one test set carry no more
  // information than one seed: the interval (test-set noise only) must not shrink. Drawing
  // examples independently inside each seed would narrow it by about sqrt(12).
  const ThreeModels m = sixty_seventy_eighty(400);
  const Interval one = pgr_bootstrap({m.weak}, {m.w2s}, {m.ceiling}, 1000, 0.95, 17);
  for (int seeds : {2, 12}) {
    const Interval many =
        pgr_bootstrap(copies(m.weak, seeds), copies(m.w2s, seeds), copies(m.ceiling, seeds), 1000, 0.95, 17);
    EXPECT_DOUBLE_EQ(many.estimate, one.estimate);
    EXPECT_DOUBLE_EQ(many.lo, one.lo) << seeds << " seeds";
    EXPECT_DOUBLE_EQ(many.hi, one.hi) << seeds << " seeds";
    EXPECT_EQ(many.undefined_resamples, one.undefined_resamples);
  }
  std::vector<double> values(m.w2s.begin(), m.w2s.end());
  const Interval mean_one = mean_bootstrap({values}, 1000, 0.95, 17);
  const Interval mean_many = mean_bootstrap(std::vector<std::vector<double>>(12, values), 1000, 0.95, 17);
  EXPECT_NEAR(mean_many.lo, mean_one.lo, 1e-12);
  EXPECT_NEAR(mean_many.hi, mean_one.hi, 1e-12);
}

TEST(PgrBootstrap, SeparateTestSetsPerSeedDoNarrowTheInterval) {
  // The same numbers declared as twelve separate test sets are twelve samples: narrower.
  const ThreeModels m = sixty_seventy_eighty(400);
  Resampling own;
  own.shared_test_set = false;
  const Interval one = pgr_bootstrap({m.weak}, {m.w2s}, {m.ceiling}, 1000, 0.95, 17, own);
  const Interval many = pgr_bootstrap(copies(m.weak, 12), copies(m.w2s, 12), copies(m.ceiling, 12), 1000, 0.95, 17, own);
  EXPECT_LT(many.hi - many.lo, 0.45 * (one.hi - one.lo));
}

TEST(PgrBootstrap, SeedVariationWidensTheSharedTestSetInterval) {
  // Six students right on different examples of the one test set: all at 70%, or spread from
  // 55% to 85% (mean 70%) on the same examples. Resampling seeds carries that spread into the
  // interval on top of the test-set noise.
  const int n = 400;
  const ThreeModels m = sixty_seventy_eighty(n);
  Correct steady, spread;
  for (int s = 0; s < 6; ++s) {
    const std::vector<int> perm = permutation(n, 70 + s);
    steady.push_back(correct_on_fraction(n, 0.7, perm));
    spread.push_back(correct_on_fraction(n, 0.55 + 0.06 * s, perm));
  }
  const Interval same = pgr_bootstrap(copies(m.weak, 6), steady, copies(m.ceiling, 6), 1000, 0.95, 5);
  const Interval varied = pgr_bootstrap(copies(m.weak, 6), spread, copies(m.ceiling, 6), 1000, 0.95, 5);
  EXPECT_GT(varied.hi - varied.lo, 1.3 * (same.hi - same.lo));
}

TEST(PgrBootstrap, ClustersAreDrawnWhole) {
  // 40 clusters of 10 examples; within a cluster every model is right or wrong together. Drawing
  // whole clusters must give exactly the interval of 40 single examples (one per cluster), and
  // a wider one than drawing the 400 examples as if independent.
  const int K = 40, size = 10;
  const ThreeModels per_cluster = sixty_seventy_eighty(K);
  ThreeModels expanded;
  Resampling clustered;
  clustered.clusters.emplace_back();
  for (int k = 0; k < K; ++k)
    for (int j = 0; j < size; ++j) {
      expanded.weak.push_back(per_cluster.weak[k]);
      expanded.w2s.push_back(per_cluster.w2s[k]);
      expanded.ceiling.push_back(per_cluster.ceiling[k]);
      clustered.clusters[0].push_back(1000 * k + 7);  // any ids; only equality matters
    }
  const Interval reference = pgr_bootstrap({per_cluster.weak}, {per_cluster.w2s}, {per_cluster.ceiling}, 800, 0.9, 4);
  const Interval whole = pgr_bootstrap({expanded.weak}, {expanded.w2s}, {expanded.ceiling}, 800, 0.9, 4, clustered);
  EXPECT_DOUBLE_EQ(whole.estimate, reference.estimate);
  EXPECT_DOUBLE_EQ(whole.lo, reference.lo);
  EXPECT_DOUBLE_EQ(whole.hi, reference.hi);
  EXPECT_EQ(whole.undefined_resamples, reference.undefined_resamples);
  const Interval loose = pgr_bootstrap({expanded.weak}, {expanded.w2s}, {expanded.ceiling}, 800, 0.9, 4);
  EXPECT_GT(whole.hi - whole.lo, 2.0 * (loose.hi - loose.lo));
  // Clusters for two seeds on one test set must agree.
  Resampling mismatched = clustered;
  mismatched.clusters.push_back(clustered.clusters[0]);
  mismatched.clusters[1][0] = -1;
  EXPECT_THROW(pgr_bootstrap(copies(expanded.weak, 2), copies(expanded.w2s, 2), copies(expanded.ceiling, 2), 10, 0.9, 4,
                             mismatched),
               Error);
}

TEST(PgrBootstrap, UndefinedResamplesDoNotDependOnTheNumberOfIdenticalSeeds) {
  // As in CountsUndefinedResamples: the ceiling beats weak on one example of 20, so about 36% of
  // resamples miss it. With twelve identical seeds on the one test set a resample still misses
  // it with that probability (it is one test set), not (0.36)^12.
  std::vector<uint8_t> weak(20, 0), ceiling(20, 0), w2s(20, 0);
  ceiling[0] = 1;
  w2s[0] = 1;
  const Interval one = pgr_bootstrap({weak}, {w2s}, {ceiling}, 1000, 0.95, 5);
  const Interval many = pgr_bootstrap(copies(weak, 12), copies(w2s, 12), copies(ceiling, 12), 1000, 0.95, 5);
  EXPECT_EQ(one.resamples, 1000);
  EXPECT_GT(one.undefined_resamples, 300);
  EXPECT_LT(one.undefined_resamples, 420);
  EXPECT_EQ(many.undefined_resamples, one.undefined_resamples);
}

TEST(MedianPgrBootstrap, MedianOverPairsDrawnJointly) {
  // Three pairs on the same seeds and test set: one whose student equals its supervisor (PGR 0 in
  // every resample), one equal to its ceiling (PGR 1), and one in between (PGR 0.5, nested, so
  // every resample stays inside (0, 1)). The median is the middle pair in every resample, so
  // its interval is exactly that pair's own interval (same draws); a fourth pair with undefined
  // PGR (ceiling = weak) is left out.
  const int n = 1000;
  std::vector<int> perm = permutation(n, 81);
  std::vector<uint8_t> weak = correct_on_fraction(n, 0.6, perm), mid = correct_on_fraction(n, 0.7, perm),
                       ceiling = correct_on_fraction(n, 0.8, perm);
  auto pair = [&](const std::vector<uint8_t>& w, const std::vector<uint8_t>& s, const std::vector<uint8_t>& c) {
    return PairCorrectness{copies(w, 3), copies(s, 3), copies(c, 3)};
  };
  std::vector<PairCorrectness> pairs = {pair(weak, weak, ceiling), pair(weak, ceiling, ceiling),
                                        pair(weak, mid, ceiling), pair(weak, mid, weak)};
  const Interval median = median_pgr_bootstrap(pairs, 600, 0.95, 8);
  const Interval middle = pgr_bootstrap(copies(weak, 3), copies(mid, 3), copies(ceiling, 3), 600, 0.95, 8);
  ASSERT_TRUE(median.defined);
  EXPECT_NEAR(median.estimate, 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(median.lo, middle.lo);
  EXPECT_DOUBLE_EQ(median.hi, middle.hi);
  EXPECT_EQ(median.undefined_resamples, 0);
  EXPECT_FALSE(median_pgr_bootstrap({pair(weak, mid, weak)}, 10, 0.95, 8).defined);
}
