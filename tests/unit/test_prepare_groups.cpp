// The A/B split by group (w2s prepare --group-divisor) and B's pools for the bootstrapping chain
// (--b-pools): no group in two parts, parts close to equal, deterministic per seed; ids without
// groups split exactly as split_ab always has. And the grouping the experiment file gives each task.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "test_util.h"
#include "data/prepare.h"
#include "experiment/experiment_config.h"

namespace w2s {
namespace {

// sotu-party-like ids: 40 sources (speeches) of 3 to 60 examples each, id = source * 10000 + k.
std::vector<int64_t> grouped_ids() {
  std::vector<int64_t> ids;
  for (int64_t source = 0; source < 40; ++source)
    for (int64_t k = 0; k < 3 + (source * 7) % 58; ++k) ids.push_back(source * 10000 + k);
  return ids;
}

std::set<int64_t> groups_at(const std::vector<int64_t>& ids, const std::vector<size_t>& positions) {
  std::set<int64_t> groups;
  for (size_t p : positions) groups.insert(group_of(ids[p], 10000));
  return groups;
}

size_t largest_group(const std::vector<int64_t>& ids) {
  std::map<int64_t, size_t> sizes;
  for (int64_t id : ids) ++sizes[group_of(id, 10000)];
  size_t most = 0;
  for (const auto& [g, n] : sizes) most = std::max(most, n);
  return most;
}

TEST(PrepareGroups, GroupOfIsFloorDivision) {
  EXPECT_EQ(group_of(123456, 10000), 12);
  EXPECT_EQ(group_of(120000, 10000), 12);
  EXPECT_EQ(group_of(-1, 10000), -1);
  EXPECT_EQ(group_of(-10000, 10000), -1);
  EXPECT_EQ(group_of(-10001, 10000), -2);
  EXPECT_EQ(group_of(77, 0), 77);  // no grouping: every example alone
  EXPECT_EQ(group_of(77, 1), 77);
}

TEST(PrepareGroups, AbSplitKeepsEveryGroupInOneHalf) {
  const std::vector<int64_t> ids = grouped_ids();
  for (uint64_t seed : {0u, 1u, 2u, 3u}) {
    AbSplit s = split_ab_grouped(ids, seed, 10000);
    std::set<int64_t> a = groups_at(ids, s.a), b = groups_at(ids, s.b);
    for (int64_t g : a) EXPECT_FALSE(b.count(g)) << "seed " << seed << ": group " << g << " in both halves";
    EXPECT_EQ(s.a.size() + s.b.size(), ids.size());
    const size_t gap = s.a.size() > s.b.size() ? s.a.size() - s.b.size() : s.b.size() - s.a.size();
    EXPECT_LE(gap, largest_group(ids)) << "seed " << seed;
    EXPECT_LE(gap, ids.size() / 20) << "seed " << seed << ": halves " << s.a.size() << " / " << s.b.size();
    EXPECT_TRUE(std::is_sorted(s.a.begin(), s.a.end()));
    EXPECT_TRUE(std::is_sorted(s.b.begin(), s.b.end()));
  }
  // Deterministic per seed, different across seeds.
  EXPECT_EQ(split_ab_grouped(ids, 5, 10000).a, split_ab_grouped(ids, 5, 10000).a);
  EXPECT_NE(split_ab_grouped(ids, 5, 10000).a, split_ab_grouped(ids, 6, 10000).a);
  // The ungrouped split of the same ids does put groups in both halves (what the grouping fixes).
  AbSplit plain = split_ab(ids, 0);
  std::set<int64_t> a = groups_at(ids, plain.a), b = groups_at(ids, plain.b);
  EXPECT_TRUE(std::any_of(a.begin(), a.end(), [&](int64_t g) { return b.count(g) > 0; }));
}

TEST(PrepareGroups, WithoutGroupsTheSplitIsTheExampleSplit) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 101; ++i) ids.push_back(i * 3 + 1);
  for (int64_t divisor : {0, 1}) {
    EXPECT_EQ(split_ab_grouped(ids, 7, divisor).a, split_ab(ids, 7).a);
    EXPECT_EQ(split_ab_grouped(ids, 7, divisor).b, split_ab(ids, 7).b);
  }
  // split_ab itself, pinned: data prepared before grouping existed splits the same way now.
  std::vector<int64_t> small;
  for (int64_t i = 0; i < 12; ++i) small.push_back(i);
  EXPECT_EQ(split_ab(small, 0).a, (std::vector<size_t>{4, 5, 6, 8, 9, 10}));
}

// Single-class groups (a speech has one party): the halves are balanced per class as well, where
// dealing groups by size alone would skew each half towards one class.
TEST(PrepareGroups, SingleClassGroupsKeepEachHalfBalancedByClass) {
  const std::vector<int64_t> ids = grouped_ids();
  std::vector<int32_t> classes;
  for (int64_t id : ids) classes.push_back(static_cast<int32_t>((id / 10000) % 2));
  for (uint64_t seed : {0u, 1u, 2u, 3u, 4u, 5u}) {
    AbSplit s = split_ab_grouped(ids, seed, 10000, classes);
    std::set<int64_t> a = groups_at(ids, s.a), b = groups_at(ids, s.b);
    for (int64_t g : a) EXPECT_FALSE(b.count(g)) << "seed " << seed << ": group " << g << " in both halves";
    for (int32_t c : {0, 1}) {
      auto count = [&](const std::vector<size_t>& half) {
        return std::count_if(half.begin(), half.end(), [&](size_t p) { return classes[p] == c; });
      };
      EXPECT_LE(std::abs(count(s.a) - count(s.b)), static_cast<long>(largest_group(ids)))
          << "seed " << seed << ", class " << c << ": " << count(s.a) << " in A, " << count(s.b) << " in B";
    }
  }
}

TEST(PrepareGroups, PoolsAreDisjointGroupedAndBalanced) {
  const std::vector<int64_t> ids = grouped_ids();
  std::vector<std::vector<size_t>> pools = split_by_group(ids, 3, "b-pools", 3, 10000);
  ASSERT_EQ(pools.size(), 3u);
  std::set<size_t> seen;
  std::map<int64_t, size_t> pool_of_group;
  for (size_t k = 0; k < pools.size(); ++k) {
    for (size_t p : pools[k]) {
      EXPECT_TRUE(seen.insert(p).second) << "position " << p << " in two pools";
      auto [it, fresh] = pool_of_group.emplace(group_of(ids[p], 10000), k);
      EXPECT_EQ(it->second, k) << "group " << it->first << " in pools " << it->second << " and " << k;
    }
  }
  EXPECT_EQ(seen.size(), ids.size());
  auto [lo, hi] = std::minmax_element(pools.begin(), pools.end(), [](auto& x, auto& y) { return x.size() < y.size(); });
  EXPECT_LE(hi->size() - lo->size(), largest_group(ids));

  // Without groups the pools differ by at most one example.
  std::vector<std::vector<size_t>> plain = split_by_group(ids, 3, "b-pools", 4, 0);
  for (const auto& pool : plain) EXPECT_NEAR(static_cast<double>(pool.size()), ids.size() / 4.0, 1.0);
}

const std::string kExperiment = W2S_SOURCE_DIR "/configs/experiments/tiny-test.ini";

TEST(PrepareGroups, ExperimentGroupsSotuBySpeechAndOwnDataNotAtAll) {
  ExperimentConfig sotu = load_experiment(kExperiment, {"experiment.tasks=sotu-party"});
  EXPECT_EQ(sotu.group_divisor_of(sotu.tasks.at(0)), 10000);
  ExperimentConfig spam = load_experiment(kExperiment, {"experiment.tasks=spam"});
  EXPECT_EQ(spam.group_divisor_of(spam.tasks.at(0)), 0);
  ExperimentConfig own = load_experiment(kExperiment, {"experiment.tasks=toy", "task.toy.train=t.jsonl",
                                                       "task.toy.test=s.jsonl"});
  EXPECT_EQ(own.group_divisor_of(own.tasks.at(0)), 0);
  ExperimentConfig own_grouped = load_experiment(
      kExperiment, {"experiment.tasks=toy", "task.toy.train=t.jsonl", "task.toy.test=s.jsonl", "task.toy.group_divisor=100"});
  EXPECT_EQ(own_grouped.group_divisor_of(own_grouped.tasks.at(0)), 100);
  ExperimentConfig sotu_off = load_experiment(kExperiment, {"experiment.tasks=sotu-party", "task.sotu-party.group_divisor=0"});
  EXPECT_EQ(sotu_off.group_divisor_of(sotu_off.tasks.at(0)), 0);
}

// experiment.pretrain_seeds: the i-th fine-tuning seed uses the (i mod n)-th pretraining seed.
TEST(PretrainSeeds, EachSeedMapsToItsFamily) {
  ExperimentConfig none = load_experiment(kExperiment, {"experiment.seeds=3 5"});
  EXPECT_EQ(none.pretrain_seed_of(3), -1);
  ExperimentConfig two = load_experiment(kExperiment, {"experiment.seeds=3 5 8", "experiment.pretrain_seeds=10 11"});
  EXPECT_EQ(two.pretrain_seed_of(3), 10);
  EXPECT_EQ(two.pretrain_seed_of(5), 11);
  EXPECT_EQ(two.pretrain_seed_of(8), 10);
  test::expect_error([] { load_experiment(kExperiment, {"experiment.pretrain_seeds=1 1"}); }, ExitCode::Usage,
                     {"tiny-test.ini", "experiment.pretrain_seeds", "twice"});
  test::expect_error(
      [] { load_experiment(kExperiment, {"experiment.pretrain_seeds=0 1", "model.ta.init=ckpt.h5"}); },
      ExitCode::Usage, {"experiment.pretrain_seeds", "model.ta.init"});
}

}  // namespace
}  // namespace w2s
