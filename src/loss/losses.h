// The paper's losses for training a student on weak labels (Burns et al. 2023).
// Each loss sees a whole micro-batch of student logits (gathered over data-parallel ranks, so
// batch-level quantities such as the auxconf threshold never depend on the DP shape) and
// returns per-example losses and d(sum of per-example losses)/d(logits). The caller scales by
// 1 / global batch size.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace w2s {

enum class LossKind {
  GroundTruth,  // "gt": cross-entropy on hard labels (weak supervisor, ceiling)
  Xent,         // "xent": soft cross-entropy on weak labels (knowledge distillation)
  AuxConf,      // "auxconf": auxiliary confidence loss with warm-up and adaptive threshold
  Product,      // "product": target ∝ p^β · y^α
  Squared,      // "squared": regression, one output, (f(x) − y)²
};

LossKind parse_loss_kind(const std::string& name);  // UsageError listing the choices
std::string loss_kind_name(LossKind kind);

struct LossConfig {
  LossKind kind = LossKind::GroundTruth;
  double aux_alpha_max = 0.75;    // auxconf: α_max
  double aux_warmup_frac = 0.2;   // auxconf: α ramps linearly 0 → α_max over this fraction of steps
  double product_alpha = 1.0;     // product: exponent on weak labels
  double product_beta = 1.0;      // product: exponent on student probabilities
};

// α at a step fraction s ∈ [0, 1]: min(α_max · s / warmup_frac, α_max) (warmup_frac 0: α_max).
double aux_alpha(const LossConfig& cfg, double step_frac);

struct LossResult {
  std::vector<float> per_example;  // [n]
  std::vector<float> dlogits;      // [n, C]: gradient of the SUM of per-example losses
  double alpha = 0.0;              // auxconf: α used
  double threshold = 0.0;          // auxconf (binary): threshold on p(class 0) used
};

// logits [n, C]; targets [n, C] soft labels (one-hot for gt; for "squared" C = 1 and targets
// [n] are real values); step_frac = step / total_steps. aux_threshold (auxconf, binary): the
// threshold computed over the whole batch by auxconf_threshold, for a caller that hands the
// batch over in micro-batches; without it the threshold is computed over these n examples.
LossResult compute_loss(const LossConfig& cfg, const float* logits, const float* targets, int n, int C,
                        double step_frac, std::optional<double> aux_threshold = std::nullopt);

// auxconf, binary: the threshold on the student's p(class 0) over a whole batch — its quantile at
// the batch's mean weak p(class 1), so the hardened labels' class balance matches the weak
// labels'. A batch's threshold must not depend on how the batch is split into micro-batches.
double auxconf_threshold(const float* logits, const float* weak, int n);

// softmax(logits / temperature) row by row: turns supervisor logits into soft labels (KD).
void soft_labels_from_logits(const float* logits, int n, int C, double temperature, float* out);

}  // namespace w2s
