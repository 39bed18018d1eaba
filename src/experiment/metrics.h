// Measurements of a weak-to-strong experiment (Burns et al. 2023; Charikar et al. 2024):
// accuracy, PGR with a paired, crossed (seeds x test examples) bootstrap CI, agreement, expected
// calibration error and misfit.
// Inputs are aligned per test example (same order, joined by id by the caller).
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

namespace w2s {

// Probabilities of one model on n examples with C classes, row-major [n, C].
struct Predictions {
  int n = 0;
  int C = 0;
  std::vector<float> probs;
  int argmax(int i) const;
};

double accuracy(const Predictions& p, const std::vector<int32_t>& labels);
// Fraction of examples on which two models predict the same class.
double agreement(const Predictions& a, const Predictions& b);
// Expected calibration error of the max-probability confidence, equal-width bins.
double expected_calibration_error(const Predictions& p, const std::vector<int32_t>& labels, int bins = 10);
// Mean over examples of Σ_c (a_c − b_c)²: squared distance between two models' probabilities
// (misfit when a = student, b = supervisor; error when b = one-hot ground truth).
double mean_squared_distance(const Predictions& a, const Predictions& b);
double squared_error_to_labels(const Predictions& p, const std::vector<int32_t>& labels);  // Brier score

// PGR = (P_w2s − P_weak) / (P_ceiling − P_weak); nullopt (undefined) when P_ceiling ≤ P_weak.
std::optional<double> pgr(double p_weak, double p_w2s, double p_ceiling);

struct Interval {
  double estimate = 0, lo = 0, hi = 0;
  bool defined = true;          // false when the point estimate is undefined
  int resamples = 0;            // resamples drawn
  int undefined_resamples = 0;  // of those, resamples where PGR was undefined (left out of [lo, hi])
};

// How a bootstrap resample draws test examples. Seeds are always drawn with replacement; the
// three models (weak, student, ceiling) always share one draw (paired).
struct Resampling {
  // true: every seed was evaluated on the same test examples, index i being the same example in
  // every seed. A resample draws ONE multiset of examples (or clusters) and uses it for every
  // seed it draws (a crossed bootstrap): the test set is one sample, however many seeds there
  // are. false: each seed has its own test set, drawn within each seed apart.
  bool shared_test_set = true;
  // Empty: every example is drawn alone. Otherwise one vector per seed (with a shared test set,
  // the same vector for every seed) giving each example's cluster: examples with the same value
  // (e.g. passages of one speech) are drawn together, as a cluster of correlated examples.
  std::vector<std::vector<int64_t>> clusters;
};

// Paired bootstrap of pooled PGR over seeds and test examples (scheme: Resampling). The point
// estimate and every resample pool correctness over the seeds drawn (Σ correct / Σ count per
// model). correct_*[s][i] = 1 if right on example i of seed s. Percentile interval at `level`
// over the resamples where PGR is defined; the rest are counted in undefined_resamples.
// Deterministic for a given rng_seed; two calls with the same rng_seed on inputs of the same
// shape draw the same seeds and examples (so intervals of different rows are jointly drawn).
Interval pgr_bootstrap(const std::vector<std::vector<uint8_t>>& correct_weak,
                       const std::vector<std::vector<uint8_t>>& correct_w2s,
                       const std::vector<std::vector<uint8_t>>& correct_ceiling, int resamples = 1000,
                       double level = 0.95, uint64_t rng_seed = 0, const Resampling& resampling = {});

// One weak -> strong pair's correctness per seed (the inputs of pgr_bootstrap).
struct PairCorrectness {
  std::vector<std::vector<uint8_t>> weak, w2s, ceiling;
};

// Paired bootstrap CI of the gap P_ceiling − P_weak (pooled over seeds like PGR). With the same
// rng_seed it draws exactly the resamples pgr_bootstrap draws for the same pair, so the gap's
// interval and PGR's come from one set of draws. Always defined.
Interval gap_bootstrap(const PairCorrectness& pair, int resamples = 1000, double level = 0.95, uint64_t rng_seed = 0,
                       const Resampling& resampling = {});

// Bootstrap CI of a mean of per-example values (accuracy etc.), same resampling scheme and
// draws as pgr_bootstrap with the same rng_seed.
Interval mean_bootstrap(const std::vector<std::vector<double>>& values, int resamples = 1000, double level = 0.95,
                        uint64_t rng_seed = 0, const Resampling& resampling = {});

// Median over pairs of pooled PGR, the summary Burns et al. report, with a bootstrap interval:
// each resample draws seeds and examples once and applies that draw to every pair (all pairs
// must share seeds and test set), then takes the median of the pairs' PGRs. Pairs whose point
// PGR is undefined are left out; a resample in which any remaining pair is undefined counts as
// undefined. defined = false when no pair has a defined PGR.
Interval median_pgr_bootstrap(const std::vector<PairCorrectness>& pairs, int resamples = 1000, double level = 0.95,
                              uint64_t rng_seed = 0, const Resampling& resampling = {});

}  // namespace w2s
