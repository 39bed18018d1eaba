// Cascading inference (one of the paper's other uses of weak models): a small model answers every
// example; an example whose weak confidence (its largest class probability) is below a
// threshold τ is deferred to the strong model, whose answer then counts instead. This file is
// the arithmetic only — both models' probabilities, their per-example costs and the labels in,
// accuracy and cost per τ out — so it can be tested on constructed numbers; `w2s cascade`
// (src/cli/cmd_cascade.cpp) runs the two models and feeds it.
//
// Costs:
//   compute  weak FLOPs of every example + strong FLOPs of the deferred ones (the weak model
//            always runs first); also as a fraction of running the strong model alone.
//   time     the measured weak pass + the deferred share of the measured strong pass, where an
//            example's share of the strong pass is its share of the strong FLOPs (long examples
//            cost more); also as a fraction of the strong pass alone.
//
// Choosing τ: the least-cost τ reaching a target is chosen on one part of the examples (the
// selection split) and its accuracy and cost are reported on the others (choose_tau_held_out):
// a τ chosen and scored on the same labels is scored on the noise it was chosen to fit.
// evaluate_cascade's own least-cost indices are in-sample and describe its curve only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "comm/process_grid.h"
#include "data/token_dataset.h"
#include "model/config.h"

namespace w2s {

// Forward-pass FLOPs of one example of `length` tokens through the classifier:
// length · (2·N_blocks + 2·L·length·d) + 2·d·C, where N_blocks counts the transformer blocks'
// and final layer norm's parameters but not the token or position embeddings (a lookup, no
// multiply; a classification forward never multiplies by the tied LM head) and 2·d·C is the
// classification head at the last position.
double forward_flops(const ModelConfig& config, int length);

struct CascadeModel {
  std::vector<float> probs;   // [n, C]
  std::vector<double> flops;  // [n] forward FLOPs of each example
  double seconds = 0.0;       // measured wall time of the pass over all n examples
};

// One model's pass over the whole dataset (src/studies/cascade_run.cpp): probabilities of every
// example on every rank, the wall time of the slowest rank, per-example FLOPs. Collective.
CascadeModel run_cascade_model(const std::string& ckpt, const TokenDataset& ds, int batch, const ProcessGrid& grid);

struct CascadeInput {
  int C = 0;                     // classes
  std::vector<int32_t> labels;   // [n] ground truth
  CascadeModel weak, strong;
};

struct CascadePoint {
  double tau = 0.0;
  int64_t deferred = 0;             // examples answered by the strong model
  double deferred_fraction = 0.0;
  int64_t correct = 0;
  double accuracy = 0.0;
  double flops_per_example = 0.0;   // mean over examples
  double compute_fraction = 0.0;    // of strong-only FLOPs
  double seconds_per_example = 0.0;
  double time_fraction = 0.0;       // of the strong-only pass time
};

struct CascadeResult {
  int64_t n = 0;
  double weak_accuracy = 0.0, strong_accuracy = 0.0;
  double weak_flops_per_example = 0.0, strong_flops_per_example = 0.0;
  double weak_seconds_per_example = 0.0, strong_seconds_per_example = 0.0;
  double target_fraction = 0.0;  // requested accuracy as a fraction of the strong model's
  double target_accuracy = 0.0;  // target_fraction · strong_accuracy
  std::vector<CascadePoint> points;  // one per requested τ, in the order given
  int best = -1;                     // index into points of the least-cost τ reaching the target; -1: none
  // The same over every distinct threshold (each distinct weak confidence, then "all deferred"):
  // the full trade-off curve, and its least-cost point reaching the target (-1: none).
  std::vector<CascadePoint> curve;
  int curve_best = -1;
};

// Weak confidence of each example: max_c probs[i, c].
std::vector<float> confidences(const std::vector<float>& probs, int C);

// One threshold: examples with confidence < tau are deferred. tau = 0 defers none; tau > 1
// defers all. Throws UsageError on inconsistent input sizes.
CascadePoint cascade_point(const CascadeInput& in, double tau);

// The least-cost point (fewest FLOPs; at equal cost the more accurate, then the smaller τ) with
// accuracy ≥ target; -1 when none reaches it.
int least_cost_point(const std::vector<CascadePoint>& points, double target_accuracy);

// Every requested τ, the full curve, and the least-cost choices for target_fraction (0 < f ≤ 1
// is the usual range; f > 1 may be unreachable, which is reported as -1, not an error).
CascadeResult evaluate_cascade(const CascadeInput& in, const std::vector<double>& taus, double target_fraction);

// Which examples choose τ (1) and which are reported on (0): each example independently with
// probability `fraction` (Philox, `seed`), at least one on each side. UsageError unless n >= 2
// and 0 < fraction < 1.
std::vector<uint8_t> selection_split(size_t n, double fraction, uint64_t seed);

// The examples i with mask[i] == keep; each model's measured seconds are scaled by the kept
// examples' share of its FLOPs.
CascadeInput subset(const CascadeInput& in, const std::vector<uint8_t>& mask, uint8_t keep);

struct CascadeChoice {
  bool found = false;               // some τ reached the target on the selection examples
  double tau = 0.0;
  CascadePoint selection;           // at τ, on the selection examples (where it was chosen)
  CascadePoint report;              // at τ, on the report examples: what the cascade delivers
  bool meets_target_on_report = false;
};

struct HeldOutChoice {
  int64_t selection_examples = 0, report_examples = 0;
  double target_fraction = 0.0;
  double selection_target_accuracy = 0.0;  // target_fraction · strong accuracy, selection examples
  double report_strong_accuracy = 0.0;
  double report_target_accuracy = 0.0;     // target_fraction · strong accuracy, report examples
  CascadeChoice sweep;  // among the requested τ
  CascadeChoice curve;  // among every distinct threshold of the selection examples
};

// τ chosen on the examples with selection[i] = 1 (least cost reaching target_fraction of the
// strong model's accuracy there), reported on the rest.
HeldOutChoice choose_tau_held_out(const CascadeInput& in, const std::vector<double>& taus, double target_fraction,
                                  const std::vector<uint8_t>& selection);

// "0,0.5,0.55,...,1,1.01": comma-separated values; "..." continues the arithmetic progression of
// the two values before it up to the value after it (inclusive). UsageError on bad syntax.
std::vector<double> parse_taus(const std::string& text);

}  // namespace w2s
