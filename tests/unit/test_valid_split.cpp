// The validation split (prepare --valid-fraction, data/prepare.h split_valid) and its experiment
// keys: held-out examples are disjoint from the rest of their half, about the fraction asked,
// other examples for another seed, whole groups when grouped; data.valid_fraction,
// finetune.eval_every and finetune.early_stop are off by default and refused without what they need.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "test_util.h"
#include "data/prepare.h"
#include "experiment/experiment_config.h"

namespace w2s {
namespace {

std::vector<int64_t> ids_from(int64_t first, int64_t n) {
  std::vector<int64_t> ids(static_cast<size_t>(n));
  std::iota(ids.begin(), ids.end(), first);
  return ids;
}

std::set<int64_t> ids_at(const std::vector<int64_t>& ids, const std::vector<size_t>& positions) {
  std::set<int64_t> out;
  for (size_t p : positions) out.insert(ids[p]);
  return out;
}

TEST(ValidSplit, DisjointCompleteAndOfTheFractionAsked) {
  const std::vector<int64_t> ids = ids_from(100, 200);
  const ValidSplit s = split_valid(ids, 0.1, 0);
  EXPECT_EQ(s.valid.size(), 20u);
  EXPECT_EQ(s.train.size(), 180u);
  std::set<int64_t> valid = ids_at(ids, s.valid), train = ids_at(ids, s.train);
  for (int64_t id : valid) EXPECT_EQ(train.count(id), 0u) << id;
  EXPECT_EQ(valid.size() + train.size(), ids.size());
  EXPECT_TRUE(std::is_sorted(s.valid.begin(), s.valid.end()));  // file order
}

TEST(ValidSplit, DiffersPerSeedAndIsReproducible) {
  const std::vector<int64_t> ids = ids_from(0, 100);
  EXPECT_EQ(split_valid(ids, 0.2, 4).valid, split_valid(ids, 0.2, 4).valid);
  EXPECT_NE(split_valid(ids, 0.2, 4).valid, split_valid(ids, 0.2, 5).valid);
}

TEST(ValidSplit, NoneAtZeroAtLeastOneOtherwise) {
  const std::vector<int64_t> ids = ids_from(0, 7);
  EXPECT_TRUE(split_valid(ids, 0.0, 0).valid.empty());
  EXPECT_EQ(split_valid(ids, 0.0, 0).train.size(), 7u);
  EXPECT_EQ(split_valid(ids, 0.01, 0).valid.size(), 1u);
}

TEST(ValidSplit, KeepsGroupsWhole) {
  std::vector<int64_t> ids;  // 30 groups (id / 100) of 5
  for (int64_t g = 0; g < 30; ++g)
    for (int64_t k = 0; k < 5; ++k) ids.push_back(g * 100 + k);
  const ValidSplit s = split_valid(ids, 0.2, 1, 100);
  std::set<int64_t> valid_groups, train_groups;
  for (size_t p : s.valid) valid_groups.insert(ids[p] / 100);
  for (size_t p : s.train) train_groups.insert(ids[p] / 100);
  for (int64_t g : valid_groups) EXPECT_EQ(train_groups.count(g), 0u) << "group " << g << " on both sides";
  EXPECT_EQ(s.valid.size(), 30u);
}

const std::string kExperiment = W2S_SOURCE_DIR "/configs/experiments/tiny-test.ini";

TEST(ExperimentValidation, OffByDefault) {
  const ExperimentConfig c = load_experiment(kExperiment, {});
  EXPECT_EQ(c.valid_fraction, 0.0);
  EXPECT_EQ(c.eval_every, 0);
  EXPECT_EQ(c.early_stop, 0);
  const ExperimentConfig v =
      load_experiment(kExperiment, {"data.valid_fraction=0.1", "finetune.eval_every=5", "finetune.early_stop=3"});
  EXPECT_EQ(v.valid_fraction, 0.1);
  EXPECT_EQ(v.eval_every, 5);
  EXPECT_EQ(v.early_stop, 3);
}

TEST(ExperimentValidation, RefusesWhatCannotWork) {
  test::expect_error([] { load_experiment(kExperiment, {"finetune.eval_every=5"}); }, ExitCode::Usage,
                     {"tiny-test.ini", "data.valid_fraction"});
  test::expect_error([] { load_experiment(kExperiment, {"data.valid_fraction=0.1", "finetune.early_stop=2"}); },
                     ExitCode::Usage, {"finetune.early_stop needs finetune.eval_every"});
  test::expect_error([] { load_experiment(kExperiment, {"data.valid_fraction=1"}); }, ExitCode::Usage,
                     {"data.valid_fraction"});
}

}  // namespace
}  // namespace w2s
