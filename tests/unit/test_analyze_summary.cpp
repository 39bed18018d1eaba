// What `w2s analyze` tells a reader beyond the PGR column, on constructed run trees with known
// answers: the gap P_ceiling − P_weak with its interval (from PGR's own resamples), the
// plain-words summary per task (a clear gap with positive PGR; a gap whose interval includes 0
// must read "no real gap"; an undefined PGR), and the imitation diagnostics (student–supervisor
// agreement split by whether the supervisor is right; the weak labels' accuracy on half B, null
// with a warning when the labels are missing or were computed over another dataset).
#include <gtest/gtest.h>

#include <filesystem>

#include "core/sha256.h"
#include "data/token_dataset.h"
#include "experiment/analyze.h"
#include "experiment/metrics.h"
#include "analyze_fixtures.h"
#include "experiment/run_layout.h"
#include "io/label_shards.h"
#include "io/predictions.h"
#include "test_util.h"
#include "tiny_data.h"

using namespace w2s;

namespace {

// Every tree here has one test set of kN examples.
constexpr int kN = 200;

std::vector<bool> right_on(int begin, int end) { return test::right_on(kN, begin, end); }

AnalyzeOptions options(const std::string& root) {
  AnalyzeOptions o;
  o.root = root;
  o.resamples = 500;
  o.seed = 7;
  return o;
}

// "task" in dir with weak right on `weak`, the student on `student`, the ceiling on `ceiling`,
// for seeds 0 and 1, analysed.
AnalyzeResult analyze_tree(const test::TempDir& dir, const std::vector<bool>& weak, const std::vector<bool>& student,
                           const std::vector<bool>& ceiling) {
  test::weak_strong_tree(dir.path(), "task", weak, student, ceiling);
  return analyze_experiment(options(dir.path()));
}

const nlohmann::json& only_row(const nlohmann::json& report) {
  EXPECT_EQ(report["rows"].size(), 1u);
  return report["rows"][0];
}

std::string summary_of(const nlohmann::json& report, const std::string& task) {
  for (const auto& s : report["summary"])
    if (s["task"] == task) return s["text"];
  ADD_FAILURE() << "no summary for " << task;
  return "";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST(AnalyzeSummary, ClearGapAndPositivePgr) {
  // Weak 0.60, student 0.70, ceiling 0.80, nested: a gap of 0.2 and PGR 0.5, both far from 0.
  test::TempDir dir;
  const AnalyzeResult r = analyze_tree(dir, right_on(0, 120), right_on(0, 140), right_on(0, 160));
  const auto& x = only_row(r.report);
  EXPECT_NEAR(x["gap_ci"]["estimate"].get<double>(), 0.2, 1e-12);
  EXPECT_GT(x["gap_ci"]["lo"].get<double>(), 0.1);
  EXPECT_LT(x["gap_ci"]["hi"].get<double>(), 0.3);
  EXPECT_TRUE(x["real_gap"].get<bool>());
  const std::string text = summary_of(r.report, "task");
  EXPECT_TRUE(has(text, "a real gap in 1 of 1 pairs")) << text;
  EXPECT_TRUE(has(text, "weak -> strong, gap 0.200 [")) << text;
  EXPECT_TRUE(has(text, "xent PGR 0.50 [")) << text;
  EXPECT_TRUE(has(text, "excludes 0: the student recovers part of the gap")) << text;
  EXPECT_FALSE(has(text, "too small")) << text;
  EXPECT_FALSE(r.report["summary"][0]["too_small"].get<bool>());
  EXPECT_EQ(r.report["summary"][0]["real_gap_pairs"], nlohmann::json::array({"weak -> strong"}));
  EXPECT_TRUE(has(r.table, "| yes | 0.50 [")) << r.table;
  EXPECT_TRUE(has(r.table, "\n- " + text + "\n")) << r.table;
}

TEST(AnalyzeSummary, RealGapWithPgrIncludingZeroSaysSo) {
  // A clear gap (0.60 -> 0.80) but a student no better than its supervisor on average: it gains 6
  // examples and loses 6, so its PGR is 0 with an interval on both sides.
  test::TempDir dir;
  const AnalyzeResult r = analyze_tree(dir, right_on(0, 120), right_on(6, 126), right_on(0, 160));
  EXPECT_TRUE(only_row(r.report)["real_gap"].get<bool>());
  const std::string text = summary_of(r.report, "task");
  EXPECT_TRUE(has(text, "xent PGR 0.00 [")) << text;
  EXPECT_TRUE(has(text, "includes 0: no recovery beyond noise")) << text;
}

TEST(AnalyzeSummary, GapWithinNoiseSaysNoRealGap) {
  // The ceiling beats the weak model on 4 examples and loses on 2 of 200: gap 0.01, its interval
  // includes 0. PGR is defined (and large) but measures nothing: the summary must not quote it.
  test::TempDir dir;
  const AnalyzeResult r = analyze_tree(dir, right_on(0, 120), right_on(0, 122), right_on(2, 124));
  const auto& x = only_row(r.report);
  EXPECT_TRUE(x["pgr_defined"].get<bool>());
  EXPECT_NEAR(x["gap_ci"]["estimate"].get<double>(), 0.01, 1e-12);
  EXPECT_LT(x["gap_ci"]["lo"].get<double>(), 0.0);
  EXPECT_GT(x["gap_ci"]["hi"].get<double>(), 0.0);
  EXPECT_FALSE(x["real_gap"].get<bool>());
  const std::string text = summary_of(r.report, "task");
  EXPECT_TRUE(has(text, "task: no real gap")) << text;
  EXPECT_TRUE(has(text, "too small to show weak-to-strong generalization")) << text;
  EXPECT_TRUE(has(text, "within noise of each other")) << text;
  EXPECT_FALSE(has(text, "PGR 1.00")) << text;
  EXPECT_TRUE(r.report["summary"][0]["too_small"].get<bool>());
  EXPECT_TRUE(has(r.table, "| no | 1.00 [")) << r.table;
}

TEST(AnalyzeSummary, UndefinedPgrAndACeilingBelowItsSupervisor) {
  // Ceiling 0.60 below weak 0.70 (nested): PGR undefined, the gap's interval lies below 0.
  test::TempDir dir;
  const AnalyzeResult r = analyze_tree(dir, right_on(0, 140), right_on(0, 130), right_on(0, 120));
  const auto& x = only_row(r.report);
  EXPECT_FALSE(x["pgr_defined"].get<bool>());
  EXPECT_LT(x["gap_ci"]["hi"].get<double>(), 0.0);
  EXPECT_FALSE(x["real_gap"].get<bool>());
  const std::string text = summary_of(r.report, "task");
  EXPECT_TRUE(has(text, "no real gap")) << text;
  EXPECT_TRUE(has(text, "PGR undefined for 1 of 1 rows")) << text;
  EXPECT_TRUE(has(text, "too small to show weak-to-strong generalization")) << text;
  EXPECT_TRUE(has(r.table, "| no (ceiling worse) | undefined")) << r.table;
}

TEST(AnalyzeSummary, OneSummaryPerTaskFromItsOwnPairs) {
  // Two tasks in one tree: one with a real gap, one without; each gets its own verdict.
  test::TempDir dir;
  test::weak_strong_tree(dir.path(), "alpha", right_on(0, 120), right_on(0, 140), right_on(0, 160));
  test::weak_strong_tree(dir.path(), "beta", right_on(0, 120), right_on(0, 122), right_on(2, 124));
  const AnalyzeResult r = analyze_experiment(options(dir.path()));
  ASSERT_EQ(r.report["summary"].size(), 2u);
  EXPECT_TRUE(has(summary_of(r.report, "alpha"), "a real gap in 1 of 1 pairs"));
  EXPECT_TRUE(has(summary_of(r.report, "beta"), "beta: no real gap"));
  // Deterministic: a second analysis writes the same words.
  EXPECT_EQ(analyze_experiment(options(dir.path())).report["summary"], r.report["summary"]);
}

TEST(GapBootstrap, SameDrawsAsThePerExampleDifference) {
  // The gap's interval is the bootstrap of mean(ceiling − weak) under the same draws: computed
  // through mean_bootstrap on the per-example differences with the same rng seed, it must agree
  // to rounding. Paired, it is much narrower than two independent accuracies' intervals.
  PairCorrectness pair;
  for (int seed = 0; seed < 3; ++seed) {
    std::vector<uint8_t> w(300), c(300);
    for (size_t i = 0; i < w.size(); ++i) {
      w[i] = (i * 7 + static_cast<size_t>(seed)) % 10 < 6;
      c[i] = w[i] || i % 13 == 0;
    }
    pair.weak.push_back(w);
    pair.w2s.push_back(w);
    pair.ceiling.push_back(c);
  }
  std::vector<std::vector<double>> diff;
  for (size_t s = 0; s < pair.weak.size(); ++s) {
    diff.emplace_back();
    for (size_t i = 0; i < pair.weak[s].size(); ++i) diff.back().push_back(double(pair.ceiling[s][i]) - pair.weak[s][i]);
  }
  const Interval gap = gap_bootstrap(pair, 400, 0.95, 11);
  const Interval mean = mean_bootstrap(diff, 400, 0.95, 11);
  EXPECT_NEAR(gap.estimate, mean.estimate, 1e-12);
  EXPECT_NEAR(gap.lo, mean.lo, 1e-12);
  EXPECT_NEAR(gap.hi, mean.hi, 1e-12);
  EXPECT_TRUE(gap.defined);
  EXPECT_GT(gap.lo, 0.0);
  std::vector<std::vector<double>> weak_values;
  for (const auto& w : pair.weak) weak_values.emplace_back(w.begin(), w.end());
  const Interval weak = mean_bootstrap(weak_values, 400, 0.95, 11);
  EXPECT_LT(gap.hi - gap.lo, 0.5 * (weak.hi - weak.lo));
}

namespace {

// Half B of seed `seed`: n examples with ids 1000 + i and labels i % 2.
std::string write_half_b(const std::string& root, const std::string& task, int seed, int n) {
  std::vector<TokenizedExample> rows(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    rows[static_cast<size_t>(i)].id = 1000 + i;
    rows[static_cast<size_t>(i)].tokens = {65, 66};
    rows[static_cast<size_t>(i)].label = i % 2;
  }
  const std::string split = layout::task_split(root, task, seed);
  std::filesystem::create_directories(split);
  write_token_dataset(split + "/train_b.h5", test::byte_dataset_info(4, 2, "train_b"), rows);
  return split + "/train_b.h5";
}

// The weak model's labels on half B (ids 1000 + i), right on example i where right(i).
void write_labels(const std::string& dir, const std::string& dataset_sha256, int n, bool (*right)(int)) {
  std::filesystem::create_directories(dir);
  LabelShardMeta meta;
  meta.supervisor_sha256 = sha256_hex("no checkpoint in this tree");
  meta.dataset_sha256 = dataset_sha256;
  meta.num_classes = 2;
  meta.batch = 8;
  std::vector<int64_t> ids;
  std::vector<float> probs;
  for (int i = 0; i < n; ++i) {
    ids.push_back(1000 + i);
    const int predicted = right(i) ? i % 2 : 1 - i % 2;
    probs.push_back(predicted == 0 ? 0.9f : 0.1f);
    probs.push_back(predicted == 0 ? 0.1f : 0.9f);
  }
  write_label_shard(dir + "/" + label_shard_name(0, 1), meta, ids, probs, probs);
  write_label_manifest(dir, meta);
}

}  // namespace

TEST(AnalyzeImitation, AgreementSplitBySupervisorCorrectness) {
  // Weak right on the first 120 of 200. The student agrees with it on all of those, and on the 80
  // where the weak model is wrong it copies the error on the last 40 (both wrong: same class in a
  // binary task) and is right on the other 40: agreement 1.0 where weak is right, 0.5 where wrong.
  test::TempDir dir;
  const AnalyzeResult r = analyze_tree(dir, right_on(0, 120), right_on(0, 160), right_on(0, 180));
  const auto& x = only_row(r.report);
  EXPECT_DOUBLE_EQ(x["agreement_weak_right"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(x["agreement_weak_wrong"].get<double>(), 0.5);
  EXPECT_NEAR(x["agreement"].get<double>(), 0.8, 1e-12);  // (120 + 40) / 200
  EXPECT_DOUBLE_EQ(x["per_seed"][1]["agreement_weak_wrong"].get<double>(), 0.5);
  EXPECT_TRUE(has(r.table, "| task | weak -> strong | xent | 1.000 | 0.500 | n/a |")) << r.table;
}

TEST(AnalyzeImitation, WeakLabelAccuracyOnHalfB) {
  // Seed 0's labels are right on 3 of every 4 examples of B (0.75), seed 1's on every other one
  // (0.5): pooled 0.625.
  test::TempDir dir;
  const int nb = 80;
  test::weak_strong_tree(dir.path(), "task", right_on(0, 120), right_on(0, 140), right_on(0, 160));
  for (int seed : {0, 1}) {
    const std::string b = write_half_b(dir.path(), "task", seed, nb);
    const std::string labels = layout::labels(layout::seed_dir(dir.path(), "task", seed), "weak");
    if (seed == 0) write_labels(labels, sha256_file(b), nb, [](int i) { return i % 4 != 3; });
    else write_labels(labels, sha256_file(b), nb, [](int i) { return i % 2 == 0; });
  }
  const AnalyzeResult r = analyze_experiment(options(dir.path()));
  const auto& x = only_row(r.report);
  EXPECT_DOUBLE_EQ(x["per_seed"][0]["weak_label_accuracy_b"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(x["per_seed"][1]["weak_label_accuracy_b"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(x["weak_label_accuracy_b"].get<double>(), 0.625);
  EXPECT_TRUE(r.report["warnings"].empty()) << r.report["warnings"].dump();
  EXPECT_TRUE(has(r.table, "| 0.625 |")) << r.table;
}

TEST(AnalyzeImitation, MissingOrForeignLabelsLeaveNullWithAWarning) {
  // Seed 0 has no labels at all; seed 1's were computed over another dataset. Both seeds' values
  // are null, the pooled value too, and each reason is a warning naming the folder.
  test::TempDir dir;
  const int nb = 40;
  test::weak_strong_tree(dir.path(), "task", right_on(0, 120), right_on(0, 140), right_on(0, 160));
  write_half_b(dir.path(), "task", 0, nb);
  write_half_b(dir.path(), "task", 1, nb);
  const std::string labels1 = layout::labels(layout::seed_dir(dir.path(), "task", 1), "weak");
  write_labels(labels1, sha256_hex("some other dataset"), nb, [](int) { return true; });
  const AnalyzeResult r = analyze_experiment(options(dir.path()));
  const auto& x = only_row(r.report);
  EXPECT_TRUE(x["weak_label_accuracy_b"].is_null());
  EXPECT_TRUE(x["per_seed"][0]["weak_label_accuracy_b"].is_null());
  EXPECT_TRUE(x["per_seed"][1]["weak_label_accuracy_b"].is_null());
  const std::string warnings = r.report["warnings"].dump();
  EXPECT_TRUE(has(warnings, "seed 0: weak labels' accuracy on half B left null")) << warnings;
  EXPECT_TRUE(has(warnings, "labels-weak missing")) << warnings;
  EXPECT_TRUE(has(warnings, "dataset_sha256 differs")) << warnings;
}
