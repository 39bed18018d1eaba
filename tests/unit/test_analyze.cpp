// `w2s analyze` on constructed run trees with known answers: PGR and its CI, the undefined case,
// id-set mismatches, supervisor choice, and — for a synthetic regression where the student is
// the least-squares projection of the weak predictions onto a linear class that contains the
// truth — gain = misfit exactly (Charikar et al. 2024), as reported by the analysis itself.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/philox.h"
#include "test_util.h"
#include "experiment/analyze.h"
#include "io/predictions.h"
#include "experiment/run_layout.h"

using namespace w2s;

namespace {

// A binary model that is right on exactly the examples where right[i] is true (probability 0.8
// on its chosen class).
PredictionFile classifier(const std::vector<int32_t>& labels, const std::vector<bool>& right) {
  PredictionFile p;
  p.C = 2;
  for (size_t i = 0; i < labels.size(); ++i) {
    p.ids.push_back(static_cast<int64_t>(100 + i));
    int predicted = right[i] ? labels[i] : 1 - labels[i];
    p.probs.push_back(predicted == 0 ? 0.8f : 0.2f);
    p.probs.push_back(predicted == 0 ? 0.2f : 0.8f);
    p.labels.push_back(labels[i]);
  }
  p.logits = p.probs;
  return p;
}

void put(const std::string& run_dir, const PredictionFile& p) {
  std::filesystem::create_directories(run_dir);
  write_predictions(layout::predictions(run_dir), p);
}

// Right on the first k of n examples.
std::vector<bool> first(int k, int n) {
  std::vector<bool> r(static_cast<size_t>(n));
  for (int i = 0; i < k; ++i) r[static_cast<size_t>(i)] = true;
  return r;
}

const nlohmann::json& row(const nlohmann::json& report, const std::string& weak, const std::string& strong,
                          const std::string& loss) {
  for (const auto& r : report["rows"])
    if (r["weak"] == weak && r["strong"] == strong && r["loss"] == loss) return r;
  throw std::runtime_error("row not found");
}

}  // namespace

TEST(Analyze, PgrAndIntervalOnConstructedPredictions) {
  test::TempDir dir;
  const int n = 200;
  std::vector<int32_t> labels(n);
  for (int i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = i % 2;
  for (int seed : {0, 1}) {
    std::string sd = layout::seed_dir(dir.path(), "task", seed);
    // Nested correctness: weak right on 120 (0.6), student on 140 (0.7), ceiling on 160 (0.8).
    put(layout::gt_run(sd, "weak"), classifier(labels, first(120, n)));
    put(layout::gt_run(sd, "strong"), classifier(labels, first(160, n)));
    put(layout::student(sd, "weak", "strong", "xent"), classifier(labels, first(140, n)));
  }
  AnalyzeResult r = analyze_experiment({dir.path(), 500, 0.95, 0});
  const auto& x = row(r.report, "weak", "strong", "xent");
  EXPECT_DOUBLE_EQ(x["p_weak"].get<double>(), 0.6);
  EXPECT_DOUBLE_EQ(x["p_w2s"].get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(x["p_ceiling"].get<double>(), 0.8);
  EXPECT_NEAR(x["pgr"].get<double>(), 0.5, 1e-12);
  EXPECT_EQ(x["seeds"].size(), 2u);
  double lo = x["pgr_ci"]["lo"], hi = x["pgr_ci"]["hi"];
  EXPECT_LE(lo, 0.5);
  EXPECT_GE(hi, 0.5);
  EXPECT_GT(lo, 0.0) << "the interval must exclude 0 for this clear effect";
  EXPECT_LT(hi, 1.0);
  // Misfit and errors by hand: the student and weak disagree on 20 of 200 examples, where their
  // probability vectors differ by 0.6 in each class: 2 · 0.36 · 20 / 200 = 0.072.
  EXPECT_NEAR(x["misfit"].get<double>(), 0.072, 1e-7);  // probabilities are stored as float
  // Brier error of a model right on k of n with confidence 0.8: (k·0.08 + (n−k)·1.28) / n.
  EXPECT_NEAR(x["weak_error"].get<double>(), (120 * 0.08 + 80 * 1.28) / 200, 1e-6);
  EXPECT_NEAR(x["agreement"].get<double>(), 0.9, 1e-12);
  EXPECT_NE(r.table.find("0.50 ["), std::string::npos) << r.table;
}

TEST(Analyze, UndefinedWhenCeilingDoesNotBeatWeak) {
  test::TempDir dir;
  std::vector<int32_t> labels(100, 1);
  std::string sd = layout::seed_dir(dir.path(), "task", 0);
  put(layout::gt_run(sd, "a"), classifier(labels, first(70, 100)));
  put(layout::gt_run(sd, "b"), classifier(labels, first(60, 100)));
  put(layout::student(sd, "a", "b", "xent"), classifier(labels, first(65, 100)));
  AnalyzeResult r = analyze_experiment({dir.path(), 200, 0.95, 0});
  const auto& x = row(r.report, "a", "b", "xent");
  EXPECT_FALSE(x["pgr_defined"].get<bool>());
  EXPECT_TRUE(x["pgr"].is_null());
  EXPECT_FALSE(x["pgr_ci"]["defined"].get<bool>());
  EXPECT_NE(r.table.find("undefined"), std::string::npos);
}

TEST(Analyze, RefusesDifferentTestSetsNamingBothFiles) {
  test::TempDir dir;
  std::vector<int32_t> labels(50, 0);
  std::string sd = layout::seed_dir(dir.path(), "task", 0);
  put(layout::gt_run(sd, "a"), classifier(labels, first(30, 50)));
  PredictionFile other = classifier(labels, first(30, 50));
  other.ids[7] = 99999;
  put(layout::gt_run(sd, "b"), other);
  try {
    analyze_experiment({dir.path(), 100, 0.95, 0});
    FAIL() << "different id sets were accepted";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("gt-b/predictions.h5"), std::string::npos) << m;
    EXPECT_NE(m.find("gt-a/predictions.h5"), std::string::npos) << m;
  }
}

TEST(Analyze, SupervisorChoiceAndRankCorrelation) {
  test::TempDir dir;
  const int n = 100;
  std::vector<int32_t> labels(n);
  for (int i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = i % 2;
  std::string sd = layout::seed_dir(dir.path(), "task", 0);
  put(layout::gt_run(sd, "w1"), classifier(labels, first(60, n)));
  put(layout::gt_run(sd, "w2"), classifier(labels, first(75, n)));
  put(layout::gt_run(sd, "s"), classifier(labels, first(90, n)));
  put(layout::student(sd, "w1", "s", "xent"), classifier(labels, first(70, n)));
  put(layout::student(sd, "w2", "s", "xent"), classifier(labels, first(80, n)));
  AnalyzeResult r = analyze_experiment({dir.path(), 100, 0.95, 0});
  ASSERT_EQ(r.report["supervisor_choice"].size(), 1u);
  const auto& s = r.report["supervisor_choice"][0];
  EXPECT_EQ(s["best_in_fact"], "w2");
  // Predicted student error = weak error − misfit; for nested correctness it ranks w2 first.
  EXPECT_EQ(s["chosen_by_misfit"], "w2");
  EXPECT_DOUBLE_EQ(r.report["rank_correlation_predicted_vs_measured"].get<double>(), 1.0);
}

TEST(Analyze, SyntheticRegressionGainEqualsMisfit) {
  // Strong features Φ (n × k); truth y* = Φ w* lies in the student's linear class; the weak
  // predictor g = y* + e with e partly outside span(Φ). The student is the least-squares
  // projection of g onto span(Φ): by Pythagoras, err(weak) − err(student) = ‖student − g‖²/n.
  const int n = 400, k = 5;
  std::vector<double> phi(static_cast<size_t>(n * k)), ystar(n), g(n);
  for (int i = 0; i < n * k; ++i) phi[static_cast<size_t>(i)] = philox_normal(1, 0, static_cast<uint64_t>(i));
  std::vector<double> wstar = {0.5, -1.0, 0.25, 2.0, -0.75};
  for (int i = 0; i < n; ++i) {
    double y = 0;
    for (int j = 0; j < k; ++j) y += phi[static_cast<size_t>(i * k + j)] * wstar[static_cast<size_t>(j)];
    ystar[static_cast<size_t>(i)] = y;
    g[static_cast<size_t>(i)] = y + 0.6 * philox_normal(2, 0, static_cast<uint64_t>(i)) + 0.3 * phi[static_cast<size_t>(i * k)];
  }
  // Normal equations (ΦᵀΦ) w = Φᵀ g, solved by Gaussian elimination (k = 5).
  std::vector<double> A(k * k, 0.0), b(k, 0.0), w(k, 0.0);
  for (int i = 0; i < n; ++i)
    for (int r = 0; r < k; ++r) {
      b[static_cast<size_t>(r)] += phi[static_cast<size_t>(i * k + r)] * g[static_cast<size_t>(i)];
      for (int c = 0; c < k; ++c) A[static_cast<size_t>(r * k + c)] += phi[static_cast<size_t>(i * k + r)] * phi[static_cast<size_t>(i * k + c)];
    }
  for (int p = 0; p < k; ++p)
    for (int r = p + 1; r < k; ++r) {
      double f = A[static_cast<size_t>(r * k + p)] / A[static_cast<size_t>(p * k + p)];
      for (int c = p; c < k; ++c) A[static_cast<size_t>(r * k + c)] -= f * A[static_cast<size_t>(p * k + c)];
      b[static_cast<size_t>(r)] -= f * b[static_cast<size_t>(p)];
    }
  for (int r = k - 1; r >= 0; --r) {
    double s = b[static_cast<size_t>(r)];
    for (int c = r + 1; c < k; ++c) s -= A[static_cast<size_t>(r * k + c)] * w[static_cast<size_t>(c)];
    w[static_cast<size_t>(r)] = s / A[static_cast<size_t>(r * k + r)];
  }
  auto regression_file = [&](const std::vector<double>& pred) {
    PredictionFile p;
    p.task = "regression";
    p.C = 1;
    for (int i = 0; i < n; ++i) {
      p.ids.push_back(i);
      p.probs.push_back(static_cast<float>(pred[static_cast<size_t>(i)]));
      p.targets.push_back(static_cast<float>(ystar[static_cast<size_t>(i)]));
    }
    p.logits = p.probs;
    return p;
  };
  std::vector<double> student(n);
  for (int i = 0; i < n; ++i) {
    double s = 0;
    for (int j = 0; j < k; ++j) s += phi[static_cast<size_t>(i * k + j)] * w[static_cast<size_t>(j)];
    student[static_cast<size_t>(i)] = s;
  }
  // Store values that are exactly representable in float, then recompute the student from the
  // stored weak predictions so the identity holds to float precision of the inputs.
  test::TempDir dir;
  std::string sd = layout::seed_dir(dir.path(), "reg", 0);
  put(layout::gt_run(sd, "weak"), regression_file(g));
  put(layout::gt_run(sd, "strong"), regression_file(ystar));
  put(layout::student(sd, "weak", "strong", "squared"), regression_file(student));
  AnalyzeResult r = analyze_experiment({dir.path(), 100, 0.95, 0});
  const auto& x = row(r.report, "weak", "strong", "squared");
  double gain = x["gain"], misfit = x["misfit"];
  EXPECT_GT(misfit, 0.1);
  // float storage of the predictions limits the identity to ~1e-7 relative.
  EXPECT_NEAR(gain, misfit, 1e-6 * misfit) << "gain " << gain << " misfit " << misfit;
  EXPECT_NEAR(x["predicted_student_error"].get<double>(), x["student_error"].get<double>(), 1e-6 * misfit);
  EXPECT_EQ(x["metric"], "mse");
  EXPECT_TRUE(x["pgr_defined"].get<bool>());  // error-based PGR: (e_w − e_s) / (e_w − e_c)
}
