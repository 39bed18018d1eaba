// Experiment metrics on constructed predictions with known answers, and the paired bootstrap:
// degenerate cases where the interval must collapse to a point, an interval whose width must
// agree with the delta-method standard error, coverage over repeated samples, determinism and
// resampling over seeds.
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
  Interval ci = pgr_bootstrap(weak, w2s, ceiling, 1000, 0.95, 3);
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
  try {
    pgr_bootstrap(weak, {{1, 1, 1}}, ceiling, 0);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::Usage);
  }
}
