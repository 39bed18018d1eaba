// The shared numeric checks (core/number_range.h) as the experiment file and the resume guard
// (train/run_settings.h) use them: NaN, infinities, negative and out-of-range values and blank
// output roots are refused with one line naming the key; a resume under other result-changing
// settings lists each differing key with both values.
#include <gtest/gtest.h>

#include <cmath>

#include "core/number_range.h"
#include "experiment/experiment_config.h"
#include "test_util.h"
#include "train/run_settings.h"

namespace w2s {
namespace {

const std::string kExperiment = W2S_SOURCE_DIR "/configs/experiments/tiny-test.ini";

// Loading the tiny experiment with `setting` (key=value) must fail as a usage error whose one
// line holds every fragment.
void expect_key_refused(const std::string& setting, const std::vector<std::string>& fragments) {
  test::expect_error([&] { load_experiment(kExperiment, {setting}); }, ExitCode::Usage, fragments);
}

TEST(NumberRange, RefusesNonFiniteEvenWithoutBounds) {
  EXPECT_TRUE(NumberRange::any_finite().contains(-1e300));
  EXPECT_FALSE(NumberRange::any_finite().contains(std::nan("")));
  EXPECT_FALSE(NumberRange::non_negative().contains(std::nan("")));
  EXPECT_FALSE(NumberRange::non_negative().contains(INFINITY));
  test::expect_error([] { require_number("--lr", std::nan(""), NumberRange::positive()); }, ExitCode::Usage,
                     {"--lr", "must be > 0", "nan"});
}

TEST(NumberRange, OpenAndClosedEnds) {
  EXPECT_FALSE(NumberRange::positive().contains(0.0));
  EXPECT_TRUE(NumberRange::non_negative().contains(0.0));
  EXPECT_TRUE(NumberRange::half_open(0, 1).contains(0.0));
  EXPECT_FALSE(NumberRange::half_open(0, 1).contains(1.0));
  EXPECT_EQ(NumberRange::half_open(0, 1).describe(), "in [0, 1)");
  test::expect_error([] { require_integer("--batch-size", 0, NumberRange::at_least(1)); }, ExitCode::Usage,
                     {"--batch-size must be >= 1, got 0"});
}

TEST(NumberRange, ParsesWholeTextOnly) {
  EXPECT_EQ(parse_checked_integer("k", " 12 ", NumberRange::non_negative()), 12);
  test::expect_error([] { parse_checked_integer("k", "1.5", NumberRange::any_finite()); }, ExitCode::Usage,
                     {"k expects a whole number", "'1.5'"});
  test::expect_error([] { parse_checked_number("k", "3e-3x", NumberRange::any_finite()); }, ExitCode::Usage,
                     {"k expects a number"});
  test::expect_error([] { parse_checked_number("k", "inf", NumberRange::any_finite()); }, ExitCode::Usage,
                     {"k must be a finite number, got inf"});
}

TEST(ExperimentNumbers, RefusesNegativeNanAndOutOfRangeKeys) {
  expect_key_refused("finetune.lr=-1", {"tiny-test.ini", "'finetune.lr' must be > 0, got -1"});
  expect_key_refused("pretrain.lr=nan", {"'pretrain.lr' must be > 0", "nan"});
  expect_key_refused("finetune.batch_size=0", {"'finetune.batch_size' must be >= 1, got 0"});
  expect_key_refused("experiment.seeds=0 -3", {"'experiment.seeds' must be >= 0, got -3"});
  expect_key_refused("finetune.epochs=-2", {"'finetune.epochs'", "got -2"});
  expect_key_refused("finetune.aux_alpha_max=1.5", {"'finetune.aux_alpha_max' must be in [0, 1], got 1.5"});
  expect_key_refused("model.ta.finetune_lr=-1", {"'model.ta.finetune_lr' must be > 0"});
  expect_key_refused("data.max_len=3000000000", {"'data.max_len' must be <= 2147483647, got 3000000000"});
  EXPECT_EQ(load_experiment(kExperiment, {"finetune.lr=1e-4"}).finetune_lr, 1e-4);
}

TEST(ExperimentNumbers, RefusesBlankOutputRoot) {
  expect_key_refused("experiment.out=", {"experiment.out is empty"});
  expect_key_refused("experiment.out=   ", {"experiment.out is empty"});
}

TEST(ResumeSettings, DifferencesNameEveryKeyWithBothValues) {
  TrainConfig a;
  a.data = "data/train_a.h5";
  TrainConfig b = a;
  EXPECT_TRUE(settings_differences(result_settings(a), result_settings(b)).empty());
  b.lr.lr = 3e-3;
  b.seed = 7;
  b.log_every = 1;       // bookkeeping: may differ
  b.stop_after = 3;
  b.tp = 2;              // layout: may differ
  b.micro_batch = 4;
  const auto diffs = settings_differences(parse_settings_text(settings_text(result_settings(a))), result_settings(b));
  ASSERT_EQ(diffs.size(), 2u);
  EXPECT_EQ(diffs[0], "--lr: 0.001 in the checkpoint, now 0.003");
  EXPECT_EQ(diffs[1], "--seed: 0 in the checkpoint, now 7");
}

TEST(ResumeSettings, InputsCompareByPathFromAnyWorkingDirectory) {
  TrainConfig a;
  a.data = "data/train_a.h5";
  TrainConfig same = a, other = a;
  same.data = "./data/../data/train_a.h5";
  other.data = "data/train_b.h5";
  EXPECT_TRUE(settings_differences(result_settings(a), result_settings(same)).empty());
  const auto diffs = settings_differences(result_settings(a), result_settings(other));
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_NE(diffs[0].find("--data: "), std::string::npos) << diffs[0];
  EXPECT_NE(diffs[0].find("train_b.h5"), std::string::npos) << diffs[0];
}

}  // namespace
}  // namespace w2s
