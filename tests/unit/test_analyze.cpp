// `w2s analyze` on constructed run trees with known answers: PGR and its CI, the undefined case,
// id-set mismatches, supervisor choice, the interval's scheme (identical seeds on one test set
// give the one-seed interval; sotu-party drawn by speech; undefined resamples counted in the
// report and the table; separate test sets drawn per seed), the median over pairs, misfit
// labelled theory or heuristic, and — for a synthetic regression where the student is
// the least-squares projection of the weak predictions onto a linear class that contains the
// truth — gain = misfit exactly (Charikar et al. 2024), as reported by the analysis itself.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>

#include "core/error.h"
#include "core/philox.h"
#include "core/strings.h"
#include "test_util.h"
#include "experiment/analyze.h"
#include "io/predictions.h"
#include "analyze_fixtures.h"
#include "experiment/run_layout.h"

using namespace w2s;

using test::classifier;
using test::put;

namespace {


AnalyzeOptions options(const std::string& root, int resamples, double level, uint64_t seed) {
  AnalyzeOptions o;
  o.root = root;
  o.resamples = resamples;
  o.level = level;
  o.seed = seed;
  return o;
}


// Right on the first k of n examples.
std::vector<bool> first(int k, int n) { return test::right_on(n, 0, k); }

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
  // Nested correctness: weak right on 120 (0.6), student on 140 (0.7), ceiling on 160 (0.8).
  test::weak_strong_tree(dir.path(), "task", first(120, n), first(140, n), first(160, n));
  AnalyzeResult r = analyze_experiment(options(dir.path(), 500, 0.95, 0));
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
  AnalyzeResult r = analyze_experiment(options(dir.path(), 200, 0.95, 0));
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
    analyze_experiment(options(dir.path(), 100, 0.95, 0));
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
  const std::vector<int32_t> labels = test::alternating(n);
  std::string sd = layout::seed_dir(dir.path(), "task", 0);
  put(layout::gt_run(sd, "w0"), classifier(labels, first(55, n)));
  put(layout::gt_run(sd, "w1"), classifier(labels, first(60, n)));
  put(layout::gt_run(sd, "w2"), classifier(labels, first(75, n)));
  put(layout::gt_run(sd, "s"), classifier(labels, first(90, n)));
  put(layout::student(sd, "w0", "s", "xent"), classifier(labels, first(65, n)));
  put(layout::student(sd, "w1", "s", "xent"), classifier(labels, first(70, n)));
  put(layout::student(sd, "w2", "s", "xent"), classifier(labels, first(80, n)));
  // A second loss whose students are all far worse: pooled with xent, predicted and measured
  // errors would rank together for that reason alone.
  put(layout::student(sd, "w0", "s", "product"), classifier(labels, first(20, n)));
  put(layout::student(sd, "w1", "s", "product"), classifier(labels, first(10, n)));
  put(layout::student(sd, "w2", "s", "product"), classifier(labels, first(15, n)));
  AnalyzeResult r = analyze_experiment(options(dir.path(), 100, 0.95, 0));
  ASSERT_EQ(r.report["supervisor_choice"].size(), 2u);
  const auto& s = r.report["supervisor_choice"][1];
  ASSERT_EQ(s["loss"], "xent");
  EXPECT_EQ(s["best_in_fact"], "w2");
  // Predicted student error = weak error − misfit; for nested correctness it ranks w2 first.
  EXPECT_EQ(s["chosen_by_misfit"], "w2");
  EXPECT_EQ(s["misfit_setting"], "heuristic");  // xent on a fine-tuned network: outside the theorem
  // Rank correlation within each task and loss, never pooled across them.
  EXPECT_FALSE(r.report.contains("rank_correlation_predicted_vs_measured"));
  ASSERT_EQ(r.report["rank_correlations"].size(), 2u);
  for (const auto& c : r.report["rank_correlations"]) {
    EXPECT_EQ(c["rows"], 3);
    EXPECT_EQ(c["misfit_setting"], "heuristic");
  }
  EXPECT_DOUBLE_EQ(r.report["rank_correlations"][1]["spearman"].get<double>(), 1.0);  // xent
  EXPECT_LT(r.report["rank_correlations"][0]["spearman"].get<double>(), 1.0);         // product
  EXPECT_NE(r.table.find("(h)"), std::string::npos) << r.table;
  EXPECT_NE(r.table.find("heuristic"), std::string::npos) << r.table;
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
  test::write_file(layout::student(sd, "weak", "strong", "squared") + "/config.ini",
                   "loss = squared\nfreeze-backbone = true\n");
  AnalyzeResult r = analyze_experiment(options(dir.path(), 100, 0.95, 0));
  const auto& x = row(r.report, "weak", "strong", "squared");
  double gain = x["gain"], misfit = x["misfit"];
  EXPECT_GT(misfit, 0.1);
  // float storage of the predictions limits the identity to ~1e-7 relative.
  EXPECT_NEAR(gain, misfit, 1e-6 * misfit) << "gain " << gain << " misfit " << misfit;
  EXPECT_NEAR(x["predicted_student_error"].get<double>(), x["student_error"].get<double>(), 1e-6 * misfit);
  EXPECT_EQ(x["metric"], "mse");
  EXPECT_TRUE(x["pgr_defined"].get<bool>());  // error-based PGR: (e_w − e_s) / (e_w − e_c)
  EXPECT_EQ(x["misfit_prediction"]["setting"], "theory");  // squared loss on a linear probe
}

namespace {

// Seeds `seeds` of `task` with the same predictions on one test set of n examples (ids `ids`):
// weak right on 60%, student 70%, ceiling 80%, in independent patterns. Every other seed lists
// its examples in reverse order (analyze must join them by id).
void identical_seeds(const std::string& root, const std::string& task, const std::vector<int64_t>& ids, int seeds,
                     const std::function<bool(int, size_t)>& right) {
  const size_t n = ids.size();
  const std::vector<int32_t> labels = test::alternating(static_cast<int>(n));
  for (int seed = 0; seed < seeds; ++seed) {
    std::string sd = layout::seed_dir(root, task, seed);
    int model = 0;
    for (const std::string& run : {layout::gt_run(sd, "weak"), layout::student(sd, "weak", "strong", "xent"),
                                   layout::gt_run(sd, "strong")}) {
      std::vector<bool> r(n);
      for (size_t i = 0; i < n; ++i) r[i] = right(model, i);
      PredictionFile p = classifier(labels, r);
      p.ids = ids;
      if (seed % 2) {  // same examples, other order
        PredictionFile q = p;
        for (size_t i = 0; i < n; ++i) {
          q.ids[i] = p.ids[n - 1 - i];
          q.labels[i] = p.labels[n - 1 - i];
          q.probs[2 * i] = p.probs[2 * (n - 1 - i)];
          q.probs[2 * i + 1] = p.probs[2 * (n - 1 - i) + 1];
        }
        q.logits = q.probs;
        p = q;
      }
      put(run, p);
      ++model;
    }
  }
}

// Model m (0 weak, 1 student, 2 ceiling) right on example i with probability 0.6 / 0.7 / 0.8.
bool random_right(int m, size_t i) { return philox_uniform(51, static_cast<uint64_t>(m), i) < 0.6 + 0.1 * m; }

std::vector<int64_t> sequential_ids(size_t n) {
  std::vector<int64_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int64_t>(100 + i);
  return ids;
}

}  // namespace

TEST(Analyze, IdenticalSeedsOnOneTestSetDoNotNarrowTheInterval) {
  // One seed vs six seeds with identical predictions on the same test set: the six carry no more
  // information, so the interval must be the same.
  const std::vector<int64_t> ids = sequential_ids(300);
  test::TempDir one, six;
  identical_seeds(one.path(), "task", ids, 1, random_right);
  identical_seeds(six.path(), "task", ids, 6, random_right);
  const auto a = row(analyze_experiment(options(one.path(), 600, 0.95, 3)).report, "weak", "strong", "xent");
  const auto b = row(analyze_experiment(options(six.path(), 600, 0.95, 3)).report, "weak", "strong", "xent");
  ASSERT_TRUE(b["pgr_defined"].get<bool>());
  EXPECT_EQ(b["seeds"].size(), 6u);
  EXPECT_NEAR(b["pgr"].get<double>(), a["pgr"].get<double>(), 1e-12);
  EXPECT_DOUBLE_EQ(b["pgr_ci"]["lo"].get<double>(), a["pgr_ci"]["lo"].get<double>());
  EXPECT_DOUBLE_EQ(b["pgr_ci"]["hi"].get<double>(), a["pgr_ci"]["hi"].get<double>());
  EXPECT_NEAR(b["p_w2s_ci"]["lo"].get<double>(), a["p_w2s_ci"]["lo"].get<double>(), 1e-12);
  EXPECT_NE(b["resampling"]["test_set"].get<std::string>().find("shared"), std::string::npos);
}

TEST(Analyze, UndefinedResamplesAreReportedAndTabled) {
  // The ceiling beats weak on one example of 20 (the student gets it too): a resample misses it
  // with probability (19/20)^20 ≈ 36%, and then PGR is undefined.
  const std::vector<int64_t> ids = sequential_ids(20);
  test::TempDir dir;
  identical_seeds(dir.path(), "task", ids, 3, [](int m, size_t i) { return m > 0 && i == 0; });
  AnalyzeResult r = analyze_experiment(options(dir.path(), 1000, 0.95, 5));
  const auto& x = row(r.report, "weak", "strong", "xent");
  ASSERT_TRUE(x["pgr_defined"].get<bool>());
  const int undefined = x["pgr_ci"]["undefined_resamples"];
  EXPECT_EQ(x["pgr_ci"]["resamples"], 1000);
  EXPECT_GT(undefined, 300);
  EXPECT_LT(undefined, 420);
  EXPECT_NE(r.table.find(strfmt("| %d/1000 |", undefined)), std::string::npos) << r.table;
}

TEST(Analyze, SotuPartyIsResampledBySpeechByDefault) {
  // 30 speeches of 10 passages (id = speech * 10000 + passage); each model is right or wrong on
  // a whole speech. Drawing speeches is the honest scheme and gives a wider interval than
  // drawing passages; --cluster sotu-party=1 turns it off; other task names are not clustered.
  std::vector<int64_t> ids;
  for (int64_t speech = 0; speech < 30; ++speech)
    for (int64_t k = 0; k < 10; ++k) ids.push_back(speech * 10000 + k);
  auto by_speech = [&](int m, size_t i) { return random_right(m, static_cast<size_t>(ids[i] / 10000)); };
  test::TempDir dir;
  identical_seeds(dir.path(), "sotu-party", ids, 2, by_speech);
  identical_seeds(dir.path(), "other", ids, 2, by_speech);
  AnalyzeResult clustered = analyze_experiment(options(dir.path(), 800, 0.95, 2));
  AnalyzeOptions off = options(dir.path(), 800, 0.95, 2);
  off.cluster_divisor["sotu-party"] = 1;
  AnalyzeResult flat = analyze_experiment(off);
  auto width = [](const nlohmann::json& x) { return x["pgr_ci"]["hi"].get<double>() - x["pgr_ci"]["lo"].get<double>(); };
  auto task_row = [](const nlohmann::json& report, const std::string& task) -> const nlohmann::json& {
    for (const auto& r : report["rows"])
      if (r["task"] == task) return r;
    throw std::runtime_error("row not found");
  };
  const auto& sotu = task_row(clustered.report, "sotu-party");
  EXPECT_EQ(sotu["resampling"]["cluster_divisor"], 10000);
  EXPECT_EQ(sotu["resampling"]["clusters_seed0"], 30);
  EXPECT_EQ(task_row(clustered.report, "other")["resampling"]["cluster_divisor"], 1);
  EXPECT_GT(width(sotu), 1.8 * width(task_row(flat.report, "sotu-party")));
  EXPECT_DOUBLE_EQ(width(task_row(flat.report, "sotu-party")), width(task_row(clustered.report, "other")));
  EXPECT_NE(clustered.table.find("id / 10000"), std::string::npos) << clustered.table;
}

TEST(Analyze, MedianPgrOverPairsBesideThePooledRows) {
  test::TempDir dir;
  const int n = 400;
  const std::vector<int32_t> labels = test::alternating(n);
  for (int seed : {0, 1}) {
    std::string sd = layout::seed_dir(dir.path(), "task", seed);
    put(layout::gt_run(sd, "a"), classifier(labels, first(200, n)));
    put(layout::gt_run(sd, "b"), classifier(labels, first(240, n)));
    put(layout::gt_run(sd, "c"), classifier(labels, first(280, n)));
    put(layout::student(sd, "a", "b", "xent"), classifier(labels, first(210, n)));  // PGR 0.25
    put(layout::student(sd, "a", "c", "xent"), classifier(labels, first(240, n)));  // 0.5
    put(layout::student(sd, "b", "c", "xent"), classifier(labels, first(270, n)));  // 0.75
  }
  AnalyzeResult r = analyze_experiment(options(dir.path(), 300, 0.95, 1));
  ASSERT_EQ(r.report["median_pgr"].size(), 1u);
  const auto& m = r.report["median_pgr"][0];
  EXPECT_EQ(m["pairs"], 3);
  EXPECT_NEAR(m["median_pgr"]["estimate"].get<double>(), 0.5, 1e-12);
  EXPECT_LT(m["median_pgr"]["lo"].get<double>(), 0.5);
  EXPECT_GT(m["median_pgr"]["hi"].get<double>(), 0.5);
  EXPECT_NE(r.table.find("Median PGR over 3 pairs"), std::string::npos) << r.table;
}

TEST(Analyze, SeedsWithDifferentTestSetsAreDrawnWithinEachSeed) {
  // Seed 1 was tested on other examples (other ids): there is no one test set to share, so each
  // seed's examples are drawn apart, and the report says so.
  test::TempDir dir;
  const std::vector<int64_t> first_ids = sequential_ids(200);
  std::vector<int64_t> other_ids(first_ids);
  for (int64_t& id : other_ids) id += 5000;
  identical_seeds(dir.path(), "task", first_ids, 1, random_right);
  test::TempDir other;
  identical_seeds(other.path(), "task", other_ids, 1, random_right);
  std::filesystem::rename(layout::seed_dir(other.path(), "task", 0), layout::seed_dir(dir.path(), "task", 1));
  AnalyzeResult r = analyze_experiment(options(dir.path(), 300, 0.95, 4));
  const auto& x = row(r.report, "weak", "strong", "xent");
  EXPECT_EQ(x["seeds"].size(), 2u);
  EXPECT_NE(x["resampling"]["test_set"].get<std::string>().find("one per seed"), std::string::npos);
  EXPECT_TRUE(x["pgr_ci"]["lo"].is_number());
}
