// Measurements of a weak-to-strong experiment (Burns et al. 2023; Charikar et al. 2024):
// accuracy, PGR with a paired bootstrap CI, agreement, expected calibration error and misfit.
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
  bool defined = true;       // false when the point estimate is undefined
  int undefined_resamples = 0;  // resamples where PGR was undefined (excluded from the interval)
};

// Paired bootstrap over test examples (and over seeds when more than one): each resample draws
// seeds with replacement, then examples with replacement within each, and recomputes PGR from
// the three models' correctness on the same draw. correct_*[s][i] = 1 if right on example i of
// seed s. Percentile interval at `level` (0.95). Deterministic for a given rng_seed.
Interval pgr_bootstrap(const std::vector<std::vector<uint8_t>>& correct_weak,
                       const std::vector<std::vector<uint8_t>>& correct_w2s,
                       const std::vector<std::vector<uint8_t>>& correct_ceiling, int resamples = 1000,
                       double level = 0.95, uint64_t rng_seed = 0);

// Bootstrap CI of a mean of per-example values (accuracy etc.), same resampling scheme.
Interval mean_bootstrap(const std::vector<std::vector<double>>& values, int resamples = 1000, double level = 0.95,
                        uint64_t rng_seed = 0);

}  // namespace w2s
