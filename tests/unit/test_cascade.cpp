// Cascade arithmetic on constructed models with known answers: τ = 0 defers nothing, τ > 1
// defers everything, accuracy, FLOPs and time exact at every point, the full curve, the
// least-cost choice (and its tie rules), an unreachable target, bad inputs, and --taus parsing.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "studies/cascade.h"

using namespace w2s;

namespace {

// Four binary examples. Weak (confidence): ex0 right (.9), ex1 wrong (.6), ex2 right (.7),
// ex3 wrong (.55): accuracy 1/2. Strong: wrong on ex0 only: accuracy 3/4. Deferring exactly
// the weak model's two mistakes (τ in (.6, .7]) is right on all four.
CascadeInput four_examples() {
  CascadeInput in;
  in.C = 2;
  in.labels = {0, 1, 1, 1};
  in.weak.probs = {0.9f, 0.1f, 0.6f, 0.4f, 0.3f, 0.7f, 0.55f, 0.45f};
  in.weak.flops = {1, 1, 1, 1};
  in.weak.seconds = 0.5;
  in.strong.probs = {0.2f, 0.8f, 0.1f, 0.9f, 0.1f, 0.9f, 0.2f, 0.8f};
  in.strong.flops = {10, 20, 30, 40};
  in.strong.seconds = 2.0;
  return in;
}

}  // namespace

TEST(Cascade, TauZeroIsTheWeakModelAlone) {
  CascadePoint p = cascade_point(four_examples(), 0.0);
  EXPECT_EQ(p.deferred, 0);
  EXPECT_EQ(p.correct, 2);
  EXPECT_DOUBLE_EQ(p.accuracy, 0.5);
  EXPECT_DOUBLE_EQ(p.flops_per_example, 1.0);       // 4 weak FLOPs / 4
  EXPECT_DOUBLE_EQ(p.compute_fraction, 0.04);       // 4 / 100
  EXPECT_DOUBLE_EQ(p.seconds_per_example, 0.125);   // 0.5 s / 4
  EXPECT_DOUBLE_EQ(p.time_fraction, 0.25);          // 0.5 / 2
}

TEST(Cascade, TauAboveOneDefersEverything) {
  CascadePoint p = cascade_point(four_examples(), 1.01);
  EXPECT_EQ(p.deferred, 4);
  EXPECT_DOUBLE_EQ(p.deferred_fraction, 1.0);
  EXPECT_EQ(p.correct, 3);
  EXPECT_DOUBLE_EQ(p.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(p.flops_per_example, 26.0);      // (4 + 100) / 4: the weak pass still ran
  EXPECT_DOUBLE_EQ(p.compute_fraction, 1.04);
  EXPECT_DOUBLE_EQ(p.seconds_per_example, 0.625);   // (0.5 + 2) / 4
  EXPECT_DOUBLE_EQ(p.time_fraction, 1.25);
}

TEST(Cascade, IntermediateTauDefersTheUnconfidentAndChargesTheirShare) {
  CascadePoint p = cascade_point(four_examples(), 0.65);  // defers ex1 (.6) and ex3 (.55)
  EXPECT_EQ(p.deferred, 2);
  EXPECT_DOUBLE_EQ(p.deferred_fraction, 0.5);
  EXPECT_EQ(p.correct, 4);
  EXPECT_DOUBLE_EQ(p.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(p.flops_per_example, 16.0);      // (4 + 20 + 40) / 4
  EXPECT_DOUBLE_EQ(p.compute_fraction, 0.64);
  EXPECT_DOUBLE_EQ(p.time_fraction, (0.5 + 2.0 * 0.6) / 2.0);  // 60% of the strong FLOPs deferred
  // A confidence equal to τ is not deferred (strictly below defers).
  EXPECT_EQ(cascade_point(four_examples(), static_cast<double>(0.6f)).deferred, 1);
}

TEST(Cascade, CurveCoversEveryDistinctThresholdAndPicksTheCheapestReachingTheTarget) {
  CascadeResult r = evaluate_cascade(four_examples(), {0.0, 0.65, 2.0}, 0.99);
  EXPECT_EQ(r.n, 4);
  EXPECT_DOUBLE_EQ(r.weak_accuracy, 0.5);
  EXPECT_DOUBLE_EQ(r.strong_accuracy, 0.75);
  EXPECT_DOUBLE_EQ(r.weak_flops_per_example, 1.0);
  EXPECT_DOUBLE_EQ(r.strong_flops_per_example, 25.0);
  EXPECT_DOUBLE_EQ(r.strong_seconds_per_example, 0.5);
  EXPECT_DOUBLE_EQ(r.target_accuracy, 0.99 * 0.75);
  ASSERT_EQ(r.points.size(), 3u);
  EXPECT_EQ(r.best, 1);  // τ = 0.65: accuracy 1 at 16 FLOPs beats τ = 2 at 26
  // Curve: τ = .55, .6, .7, .9 and one above .9; deferred 0, 1, 2, 3, 4.
  ASSERT_EQ(r.curve.size(), 5u);
  const int64_t deferred[] = {0, 1, 2, 3, 4}, correct[] = {2, 3, 4, 4, 3};
  const double flops[] = {1.0, 11.0, 16.0, 23.5, 26.0};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(r.curve[i].deferred, deferred[i]) << i;
    EXPECT_EQ(r.curve[i].correct, correct[i]) << i;
    EXPECT_DOUBLE_EQ(r.curve[i].flops_per_example, flops[i]) << i;
  }
  EXPECT_DOUBLE_EQ(r.curve[1].tau, static_cast<double>(0.6f));
  EXPECT_GT(r.curve[4].tau, static_cast<double>(0.9f));
  EXPECT_EQ(r.curve_best, 1);  // τ = .6: 0.75 ≥ 0.7425 at 11 FLOPs per example
  // The curve's points agree with cascade_point at the same τ.
  for (const CascadePoint& c : r.curve) {
    CascadePoint p = cascade_point(four_examples(), c.tau);
    EXPECT_EQ(p.correct, c.correct);
    EXPECT_DOUBLE_EQ(p.flops_per_example, c.flops_per_example);
    EXPECT_DOUBLE_EQ(p.time_fraction, c.time_fraction);
  }
}

TEST(Cascade, FullStrongTargetAndUnreachableTarget) {
  CascadeResult all = evaluate_cascade(four_examples(), {0.0, 0.65, 2.0}, 1.0);
  EXPECT_EQ(all.curve_best, 1);  // exactly the strong accuracy (3/4) counts as reaching it
  CascadeResult none = evaluate_cascade(four_examples(), {0.0, 2.0}, 1.5);  // 1.125 > any accuracy
  EXPECT_EQ(none.best, -1);
  EXPECT_EQ(none.curve_best, -1);
  EXPECT_THROW(evaluate_cascade(four_examples(), {0.5}, 0.0), Error);
}

TEST(Cascade, LeastCostTieRules) {
  std::vector<CascadePoint> pts(3);
  pts[0].tau = 0.8, pts[0].accuracy = 0.9, pts[0].flops_per_example = 5;
  pts[1].tau = 0.7, pts[1].accuracy = 0.95, pts[1].flops_per_example = 5;
  pts[2].tau = 0.6, pts[2].accuracy = 0.95, pts[2].flops_per_example = 5;
  EXPECT_EQ(least_cost_point(pts, 0.9), 2);  // equal cost: more accurate, then smaller τ
  pts[0].flops_per_example = 4;
  EXPECT_EQ(least_cost_point(pts, 0.9), 0);  // cheaper wins once it reaches the target
  EXPECT_EQ(least_cost_point(pts, 0.91), 2);
  EXPECT_EQ(least_cost_point(pts, 0.96), -1);
  EXPECT_EQ(least_cost_point({}, 0.5), -1);
}

TEST(Cascade, RefusesInconsistentInput) {
  CascadeInput in = four_examples();
  in.strong.flops.pop_back();
  EXPECT_THROW(cascade_point(in, 0.5), Error);
  in = four_examples();
  in.weak.probs.push_back(0.5f);
  EXPECT_THROW(cascade_point(in, 0.5), Error);
  in = four_examples();
  in.C = 1;  // regression: no confidence to threshold
  EXPECT_THROW(cascade_point(in, 0.5), Error);
  CascadeInput empty;
  empty.C = 2;
  EXPECT_THROW(cascade_point(empty, 0.5), Error);
}

TEST(Cascade, ConfidencesAreRowMaxima) {
  std::vector<float> c = confidences({0.2f, 0.5f, 0.3f, 0.6f, 0.1f, 0.3f}, 3);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_FLOAT_EQ(c[0], 0.5f);
  EXPECT_FLOAT_EQ(c[1], 0.6f);
}

TEST(Cascade, ForwardFlopsCountTheBlocksAndTheHeadNotTheEmbeddings) {
  ModelConfig cfg;  // 2 layers, d 64
  cfg.num_classes = 2;
  const double d = cfg.d_model, L = cfg.n_layer;
  // Per block: two layer norms (2·2d), attention (d·3d + 3d, d·d + d), MLP (d·4d + 4d, 4d·d + d);
  // plus the final layer norm (2d).
  const double blocks = L * (4 * d + (3 * d * d + 3 * d) + (d * d + d) + (4 * d * d + 4 * d) + (4 * d * d + d)) + 2 * d;
  for (int len : {1, 17, 128})
    EXPECT_DOUBLE_EQ(forward_flops(cfg, len), len * (2 * blocks + 2 * L * len * d) + 2 * d * 2) << len;
  // Embedding lookups multiply nothing: vocabulary and context size do not change the cost.
  ModelConfig big_vocab = cfg;
  big_vocab.vocab_size = 50257;
  big_vocab.n_ctx = 1024;
  EXPECT_DOUBLE_EQ(forward_flops(big_vocab, 32), forward_flops(cfg, 32));
  ModelConfig wide = cfg;
  wide.d_model = 128;
  EXPECT_GT(forward_flops(wide, 32), forward_flops(cfg, 32));
}

namespace {

// 200 binary examples where the weak model is right exactly when its confidence is at least 0.7;
// the strong model is always right; costs 1 (weak) and 10 (strong) per example.
CascadeInput calibrated(int n) {
  CascadeInput in;
  in.C = 2;
  for (int i = 0; i < n; ++i) {
    const float conf = 0.5f + 0.5f * static_cast<float>(i) / static_cast<float>(n);
    const int label = i % 2;
    const int weak_says = conf >= 0.7f ? label : 1 - label;
    in.labels.push_back(label);
    in.weak.probs.push_back(weak_says == 0 ? conf : 1 - conf);
    in.weak.probs.push_back(weak_says == 0 ? 1 - conf : conf);
    in.strong.probs.push_back(label == 0 ? 0.9f : 0.1f);
    in.strong.probs.push_back(label == 0 ? 0.1f : 0.9f);
    in.weak.flops.push_back(1);
    in.strong.flops.push_back(10);
  }
  in.weak.seconds = 1.0;
  in.strong.seconds = 4.0;
  return in;
}

}  // namespace

TEST(Cascade, TauIsChosenOnTheSelectionSplitAndReportedOnTheOther) {
  const CascadeInput in = calibrated(200);
  const std::vector<uint8_t> split = selection_split(in.labels.size(), 0.5, 3);
  const size_t selected = static_cast<size_t>(std::count(split.begin(), split.end(), 1));
  EXPECT_GT(selected, 60u);
  EXPECT_LT(selected, 140u);
  const std::vector<double> taus = {0.0, 0.6, 0.7, 0.8, 1.01};
  const HeldOutChoice h = choose_tau_held_out(in, taus, 1.0, split);
  EXPECT_EQ(h.selection_examples, static_cast<int64_t>(selected));
  EXPECT_EQ(h.report_examples, static_cast<int64_t>(200 - selected));
  ASSERT_TRUE(h.sweep.found);
  EXPECT_DOUBLE_EQ(h.sweep.tau, 0.7);  // defers exactly the weak model's mistakes
  // Its reported numbers are the report split's own.
  const CascadePoint want = cascade_point(subset(in, split, 0), 0.7);
  EXPECT_EQ(h.sweep.report.correct, want.correct);
  EXPECT_EQ(h.sweep.report.deferred, want.deferred);
  EXPECT_DOUBLE_EQ(h.sweep.report.seconds_per_example, want.seconds_per_example);
  // The report examples' labels do not move the choice: scramble them and τ stays.
  CascadeInput scrambled = in;
  for (size_t i = 0; i < split.size(); ++i)
    if (!split[i]) scrambled.labels[i] = 1 - scrambled.labels[i];
  const HeldOutChoice again = choose_tau_held_out(scrambled, taus, 1.0, split);
  EXPECT_DOUBLE_EQ(again.sweep.tau, h.sweep.tau);
  EXPECT_DOUBLE_EQ(again.curve.tau, h.curve.tau);
  EXPECT_DOUBLE_EQ(again.sweep.report.accuracy, 0.0);  // and the held-out numbers show the damage
  // The selection examples' labels do: scrambled, the strong model is never right there, any τ
  // meets "100% of its accuracy", and the cheapest (τ = 0) is chosen.
  CascadeInput scrambled_selection = in;
  for (size_t i = 0; i < split.size(); ++i)
    if (split[i]) scrambled_selection.labels[i] = 1 - scrambled_selection.labels[i];
  EXPECT_DOUBLE_EQ(choose_tau_held_out(scrambled_selection, taus, 1.0, split).sweep.tau, 0.0);
}

TEST(Cascade, SubsetScalesMeasuredTimeByFlops) {
  CascadeInput in = four_examples();
  const CascadeInput part = subset(in, {1, 0, 0, 1}, 1);
  ASSERT_EQ(part.labels, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(part.strong.flops, (std::vector<double>{10, 40}));
  EXPECT_DOUBLE_EQ(part.strong.seconds, 2.0 * 50 / 100);
  EXPECT_DOUBLE_EQ(part.weak.seconds, 0.5 * 2 / 4);
  EXPECT_THROW(selection_split(1, 0.5, 0), Error);
  EXPECT_THROW(selection_split(10, 1.0, 0), Error);
}

TEST(Cascade, ParseTaus) {
  EXPECT_EQ(parse_taus("0.5"), std::vector<double>({0.5}));
  EXPECT_EQ(parse_taus("0, 0.5,0.55,...,0.7,1.01"), std::vector<double>({0, 0.5, 0.55, 0.6, 0.65, 0.7, 1.01}));
  std::vector<double> tenths = parse_taus("0,0.1,...,1");
  ASSERT_EQ(tenths.size(), 11u);
  EXPECT_DOUBLE_EQ(tenths[3], 0.3);
  EXPECT_EQ(tenths.back(), 1.0);
  // The end is included even when the step does not land on it.
  EXPECT_EQ(parse_taus("0,0.4,...,1"), std::vector<double>({0, 0.4, 0.8, 1.0}));
  for (const char* bad : {"", "x", "0.5,", "-1", "0,...,1", "0,0.5,...", "0.5,0.4,...,1", "0,0.5,...,0.2",
                          "0,0.1,...,...,1", "0.5abc"})
    EXPECT_THROW(parse_taus(bad), Error) << bad;
}
