// Cascade arithmetic on constructed models with known answers: τ = 0 defers nothing, τ > 1
// defers everything, accuracy, FLOPs and time exact at every point, the full curve, the
// least-cost choice (and its tie rules), an unreachable target, bad inputs, and --taus parsing.
#include <gtest/gtest.h>

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

TEST(Cascade, ForwardFlopsIsAThirdOfTheTrainingFigure) {
  ModelConfig cfg;  // 2 layers, d 64
  for (int len : {1, 17, 128}) EXPECT_DOUBLE_EQ(forward_flops(cfg, len), len * cfg.flops_per_token(len) / 3.0);
  ModelConfig wide = cfg;
  wide.d_model = 128;
  EXPECT_GT(forward_flops(wide, 32), forward_flops(cfg, 32));
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
