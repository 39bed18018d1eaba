// What keeps memory independent of the dataset size (docs/reliability.md §7): scratch files,
// the bounded duplicate-id check, point reads of per-example columns, the seeded bijection the
// sampler draws with, the streamed inference plan, and the positional join of weak labels to
// their dataset (with its refusals and --select-confident's radix select).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <numeric>
#include <set>

#include "core/duplicates.h"
#include "core/error.h"
#include "core/philox.h"
#include "core/scratch_file.h"
#include "data/sampler.h"
#include "data/token_dataset.h"
#include "io/h5.h"
#include "test_util.h"
#include "tiny_data.h"
#include "infer/inference.h"
#include "io/label_shards.h"
#include "loss/losses.h"
#include "train/train_targets.h"

using namespace w2s;

namespace {

using test::expect_error;

// A dataset of n examples with lengths drawn from Philox in [1, max_len] and ids 1000 + 7·i.
std::string write_dataset(const test::TempDir& dir, int n, int max_len, int C, std::vector<int64_t> ids = {}) {
  std::vector<TokenizedExample> rows;
  for (int i = 0; i < n; ++i) {
    TokenizedExample row;
    row.id = ids.empty() ? 1000 + 7 * i : ids[static_cast<size_t>(i)];
    const int length = 1 + static_cast<int>(philox_uniform(3, 1, static_cast<uint64_t>(i)) * max_len) % max_len;
    for (int t = 0; t < length; ++t) row.tokens.push_back((i * 31 + t) % 250);
    row.label = i % C;
    rows.push_back(std::move(row));
  }
  const std::string path = dir.file("ds.h5");
  write_token_dataset(path, test::byte_dataset_info(max_len, C, "train_b"), rows);
  return path;
}

// The inference order by definition: (length, index), batches of at most `batch` of one length.
InferenceBatches reference_plan(const std::vector<int32_t>& lengths, int batch) {
  std::vector<int64_t> order(lengths.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return lengths[a] < lengths[b]; });
  InferenceBatches batches;
  for (int64_t i : order) {
    if (batches.empty() || static_cast<int>(batches.back().size()) == batch || lengths[batches.back()[0]] != lengths[i])
      batches.emplace_back();
    batches.back().push_back(i);
  }
  return batches;
}

}  // namespace

TEST(ScratchFile, AppendsReadsAndRefusesPastTheEnd) {
  ScratchFile f;
  std::vector<int64_t> values(1000);
  std::iota(values.begin(), values.end(), int64_t{-3});
  f.append(values.data(), values.size() * sizeof(int64_t));
  EXPECT_EQ(f.size(), values.size() * sizeof(int64_t));
  int64_t v[3];
  f.read(500 * sizeof(int64_t), v, sizeof v);
  EXPECT_EQ(v[0], 497);
  EXPECT_EQ(v[2], 499);
  EXPECT_THROW(f.read(999 * sizeof(int64_t), v, sizeof v), Error);
  ScratchFile moved = std::move(f);
  moved.read(0, v, sizeof(int64_t));
  EXPECT_EQ(v[0], -3);
}

TEST(FindDuplicate, InOneRunAndAcrossSpilledRuns) {
  auto reader = [](const std::vector<int64_t>& values) {
    return [&values](int64_t first, int64_t count, int64_t* out) {
      std::copy(values.begin() + first, values.begin() + first + count, out);
    };
  };
  std::vector<int64_t> few = {5, -2, 9, 40};
  EXPECT_FALSE(find_duplicate(static_cast<int64_t>(few.size()), reader(few)));
  few.push_back(9);
  EXPECT_EQ(find_duplicate(static_cast<int64_t>(few.size()), reader(few)), 9);
  EXPECT_FALSE(find_duplicate(0, reader(few)));

  // 300,000 distinct values (three sorted runs in the scratch file), then one repeated across runs.
  std::vector<int64_t> many(300000);
  for (size_t i = 0; i < many.size(); ++i) many[i] = static_cast<int64_t>((i * 2654435761ull) % (1ull << 40)) - (1ll << 39);
  EXPECT_FALSE(find_duplicate(static_cast<int64_t>(many.size()), reader(many)));
  many[250000] = many[5];
  EXPECT_EQ(find_duplicate(static_cast<int64_t>(many.size()), reader(many)), many[5]);
}

TEST(H5, ReadRowSetAnyOrderAndRepeats) {
  test::TempDir dir;
  h5::File f = h5::File::create(dir.file("t.h5"));
  std::vector<float> m(10 * 3);
  std::iota(m.begin(), m.end(), 0.0f);
  f.write<float>("/m", {10, 3}, m.data());
  f.write("/v", std::vector<int64_t>{10, 11, 12, 13, 14});
  std::vector<float> rows(4 * 3);
  f.read_row_set<float>("/m", {7, 2, 2, 9}, rows.data());
  EXPECT_EQ(rows, (std::vector<float>{21, 22, 23, 6, 7, 8, 6, 7, 8, 27, 28, 29}));
  std::vector<int64_t> v(2);
  f.read_row_set<int64_t>("/v", {4, 0}, v.data());
  EXPECT_EQ(v, (std::vector<int64_t>{14, 10}));
  EXPECT_THROW(f.read_row_set<int64_t>("/v", {5}, v.data()), Error);
}

TEST(TokenDataset, RefusesDuplicateIdsAndCountsLengths) {
  test::TempDir dir;
  TokenDataset ds = TokenDataset::open(write_dataset(dir, 50, 6, 2));
  const std::vector<int32_t> lengths = ds.lengths();
  for (int L = 0; L <= 6; ++L)
    EXPECT_EQ(ds.length_counts()[static_cast<size_t>(L)], std::count(lengths.begin(), lengths.end(), L)) << L;
  std::vector<int64_t> ids(50);
  std::iota(ids.begin(), ids.end(), int64_t{100});
  ids[41] = 107;
  test::TempDir dir2;
  const std::string path = write_dataset(dir2, 50, 6, 2, ids);
  expect_error([&] { TokenDataset::open(path); }, ExitCode::Data, {path, "/ids holds id 107 more than once"});
}

TEST(SeededBijection, IsAPermutationOfEveryRange) {
  for (int64_t n : {1, 2, 3, 4, 5, 17, 100, 1000, 4097}) {
    SeededBijection p(n, 7, 1);
    std::vector<int64_t> out;
    for (int64_t x = 0; x < n; ++x) out.push_back(p(x));
    std::vector<int64_t> sorted = out;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t x = 0; x < n; ++x) ASSERT_EQ(sorted[static_cast<size_t>(x)], x) << "n = " << n;
    if (n >= 100) {
      // Another stream (epoch) or seed gives another order; the same gives the same.
      SeededBijection q(n, 7, 2), r(n, 8, 1), same(n, 7, 1);
      int64_t moved_q = 0, moved_r = 0;
      for (int64_t x = 0; x < n; ++x) {
        moved_q += q(x) != out[static_cast<size_t>(x)];
        moved_r += r(x) != out[static_cast<size_t>(x)];
        ASSERT_EQ(same(x), out[static_cast<size_t>(x)]);
      }
      EXPECT_GT(moved_q, n * 9 / 10);
      EXPECT_GT(moved_r, n * 9 / 10);
    }
  }
}

TEST(Sampler, EveryEpochVisitsThePoolOnceAndRanksSplitEachMicroStep) {
  const int64_t n = 103, batch = 10;
  Sampler s(n, batch, 4, 11);
  EXPECT_EQ(s.micro_steps(), 3);
  std::vector<int64_t> stream;
  for (int64_t step = 0; step < 21; ++step)
    for (int64_t k = 0; k < s.micro_steps(); ++k) {
      std::vector<int64_t> micro = s.micro_batch(step, k);
      std::vector<int64_t> split;
      for (int r = 0; r < 3; ++r)
        for (int64_t i : Sampler::rank_slice(micro, r, 3)) split.push_back(i);
      std::sort(split.begin(), split.end());
      std::vector<int64_t> sorted = micro;
      std::sort(sorted.begin(), sorted.end());
      EXPECT_EQ(split, sorted);
      stream.insert(stream.end(), micro.begin(), micro.end());
    }
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::set<int64_t> seen(stream.begin() + epoch * n, stream.begin() + (epoch + 1) * n);
    EXPECT_EQ(seen.size(), static_cast<size_t>(n));
    EXPECT_EQ(*seen.begin(), 0);
    EXPECT_EQ(*seen.rbegin(), n - 1);
  }
  EXPECT_FALSE(std::equal(stream.begin(), stream.begin() + n, stream.begin() + n));  // epochs differ

  Sampler pool({5, 9, 20, 31}, 3, 0, 11);
  std::set<int64_t> drawn;
  for (int64_t step = 0; step < 8; ++step)
    for (int64_t i : pool.micro_batch(step, 0)) drawn.insert(i);
  EXPECT_EQ(drawn, (std::set<int64_t>{5, 9, 20, 31}));
  Sampler ordered(5, 5, 0, 11, false);
  EXPECT_EQ(ordered.micro_batch(1, 0), (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

TEST(InferencePlan, StreamedBatchesAreTheLengthIndexOrder) {
  test::TempDir dir;
  TokenDataset ds = TokenDataset::open(write_dataset(dir, 500, 9, 2));
  for (int batch : {1, 4, 64, 1000}) {
    const InferenceBatches expected = reference_plan(ds.lengths(), batch);
    EXPECT_EQ(plan_inference_batches(ds, batch), expected) << "batch " << batch;
    InferencePlan plan(ds, batch);
    ASSERT_EQ(plan.num_batches(), static_cast<int64_t>(expected.size()));
    // Parts are contiguous ranges of the same batches, and rows_before counts what precedes them.
    for (int parts : {1, 3, 7}) {
      InferenceBatches joined;
      for (int k = 0; k < parts; ++k) {
        auto [first, last] = plan.part(k, parts);
        int64_t rows = 0;
        for (int64_t b = 0; b < first; ++b) rows += static_cast<int64_t>(expected[static_cast<size_t>(b)].size());
        EXPECT_EQ(plan.rows_before(first), rows);
        plan.for_each_batch(first, last, [&](const std::vector<int64_t>& r) { joined.push_back(r); });
      }
      EXPECT_EQ(joined, expected) << "batch " << batch << ", " << parts << " parts";
    }
    EXPECT_EQ(plan.rows_before(plan.num_batches()), ds.size());
  }
  EXPECT_THROW(InferencePlan(ds, 0), Error);
}

// ---- weak labels joined to their dataset --------------------------------------------------------

namespace {

constexpr int kC = 3;

// A label per example id, drawn from Philox; probabilities take few values, so confidence ties.
void label_of(int64_t id, float* probs, float* logits) {
  for (int c = 0; c < kC; ++c) logits[c] = static_cast<float>(philox_normal(9, 1, static_cast<uint64_t>(id * kC + c)));
  const int top = static_cast<int>(philox_uniform(9, 2, static_cast<uint64_t>(id)) * kC) % kC;
  const float p = 0.4f + 0.1f * static_cast<float>(static_cast<int>(philox_uniform(9, 3, static_cast<uint64_t>(id)) * 5));
  for (int c = 0; c < kC; ++c) probs[c] = c == top ? p : (1.0f - p) / (kC - 1);
}

// The labels' probabilities for `ids`, as written (kC per id).
std::vector<float> written_probabilities(const std::vector<int64_t>& ids) {
  std::vector<float> probs(ids.size() * kC), logits(ids.size() * kC);
  for (size_t i = 0; i < ids.size(); ++i) label_of(ids[i], &probs[i * kC], &logits[i * kC]);
  return probs;
}

// The soft labels at `temperature` that training recomputes from the written logits of `ids`.
std::vector<float> from_logits_at(const std::vector<int64_t>& ids, double temperature) {
  std::vector<float> probs(kC), logits(kC), soft(ids.size() * kC);
  for (size_t i = 0; i < ids.size(); ++i) {
    label_of(ids[i], probs.data(), logits.data());
    soft_labels_from_logits(logits.data(), 1, kC, temperature, &soft[i * kC]);
  }
  return soft;
}

struct LabelFixture {
  test::TempDir dir;
  std::string data;
  std::string labels;
  TrainConfig cfg;
};

// Labels `ds` as w2s label does (inference order, 3 shards), after `edit` of each shard's ids;
// `temperature` is the one the set records for its probabilities.
void write_labels(const TokenDataset& ds, const std::string& out_dir,
                  const std::function<void(int, std::vector<int64_t>&)>& edit = nullptr, double temperature = 1.0) {
  InferencePlan plan(ds, 8);
  LabelShardMeta meta;
  meta.temperature = temperature;
  meta.supervisor_sha256 = "s";
  meta.dataset_sha256 = ds.sha256();
  meta.num_shards = 3;
  meta.num_classes = kC;
  meta.batch = 8;
  std::filesystem::create_directories(out_dir);
  for (int k = 0; k < 3; ++k) {
    meta.shard_index = k;
    auto [first, last] = plan.part(k, 3);
    std::vector<int64_t> ids;
    ExampleBatch eb;
    plan.for_each_batch(first, last, [&](const std::vector<int64_t>& rows) {
      ds.read(rows, eb);
      ids.insert(ids.end(), eb.ids.begin(), eb.ids.end());
    });
    if (edit) edit(k, ids);
    std::vector<float> probs(ids.size() * kC), logits(ids.size() * kC);
    for (size_t i = 0; i < ids.size(); ++i) label_of(ids[i], &probs[i * kC], &logits[i * kC]);
    write_label_shard(out_dir + "/" + label_shard_name(k, 3), meta, ids, probs, logits);
  }
  meta.shard_index = 0;
  write_label_manifest(out_dir, meta);
}

std::unique_ptr<LabelFixture> label_fixture() {
  auto f = std::make_unique<LabelFixture>();
  f->data = write_dataset(f->dir, 400, 12, kC);
  f->labels = f->dir.file("labels");
  write_labels(TokenDataset::open(f->data), f->labels);
  f->cfg.data = f->data;
  f->cfg.labels_dir = f->labels;
  return f;
}

std::vector<float> targets_of(const TrainTargets& t, int64_t n) {
  std::vector<int64_t> rows(static_cast<size_t>(n));
  std::iota(rows.rbegin(), rows.rend(), int64_t{0});  // any order
  std::vector<float> out(rows.size() * kC);
  t.read(rows, out.data());
  std::vector<float> in_order(out.size());
  for (size_t i = 0; i < rows.size(); ++i)
    std::copy(&out[i * kC], &out[(i + 1) * kC], &in_order[static_cast<size_t>(rows[i]) * kC]);
  return in_order;
}

}  // namespace

TEST(TrainTargets, WeakLabelsJoinByPositionToEveryExample) {
  auto f = label_fixture();
  TokenDataset ds = TokenDataset::open(f->data);
  const std::vector<int64_t> ids = ds.ids();
  const std::vector<float> got = targets_of(TrainTargets::build(f->cfg, ds, kC), ds.size());
  f->cfg.kd_temperature = 2.0;
  const std::vector<float> soft = targets_of(TrainTargets::build(f->cfg, ds, kC), ds.size());
  EXPECT_EQ(got, written_probabilities(ids));
  EXPECT_EQ(soft, from_logits_at(ids, 2.0));
  // Ground truth: one-hot labels, in the same layout.
  f->cfg.labels_dir.clear();
  const std::vector<float> gt = targets_of(TrainTargets::build(f->cfg, ds, kC), ds.size());
  const std::vector<int32_t> labels = ds.labels();
  for (size_t i = 0; i < labels.size(); ++i)
    for (int c = 0; c < kC; ++c) ASSERT_EQ(gt[i * kC + c], c == labels[i] ? 1.0f : 0.0f);
}

TEST(TrainTargets, LabelsWrittenAtAnotherTemperatureAreRecomputedFromLogits) {
  // Labels written at T = 2: their stored probabilities are the T = 2 ones. Training at T = 1
  // (the default) must get softmax(logits), not those probabilities; training at T = 2 gets them.
  auto f = label_fixture();
  std::filesystem::remove_all(f->labels);
  TokenDataset ds = TokenDataset::open(f->data);
  write_labels(ds, f->labels, nullptr, 2.0);
  const std::vector<int64_t> ids = ds.ids();
  f->cfg.kd_temperature = 1.0;
  const std::vector<float> at_one = targets_of(TrainTargets::build(f->cfg, ds, kC), ds.size());
  f->cfg.kd_temperature = 2.0;
  const std::vector<float> at_two = targets_of(TrainTargets::build(f->cfg, ds, kC), ds.size());
  EXPECT_EQ(at_one, from_logits_at(ids, 1.0)) << "T = 1 training used the T = 2 probabilities";
  EXPECT_EQ(at_two, written_probabilities(ids));
}

TEST(TrainTargets, SelectConfidentKeepsTheMostConfidentLowerIndexFirst) {
  auto f = label_fixture();
  TokenDataset ds = TokenDataset::open(f->data);
  const std::vector<int64_t> ids = ds.ids();
  for (double q : {0.01, 0.3, 0.5, 0.999}) {
    f->cfg.select_confident = q;
    TrainTargets t = TrainTargets::build(f->cfg, ds, kC);
    // The reference: stable sort by confidence, descending; keep the first; back to index order.
    std::vector<int64_t> order(ids.size());
    std::iota(order.begin(), order.end(), int64_t{0});
    std::vector<float> conf(ids.size());
    const std::vector<float> probs = written_probabilities(ids);
    for (size_t i = 0; i < ids.size(); ++i) conf[i] = *std::max_element(&probs[i * kC], &probs[(i + 1) * kC]);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return conf[a] > conf[b]; });
    order.resize(static_cast<size_t>(std::max<long long>(1, std::llround(q * static_cast<double>(ids.size())))));
    std::sort(order.begin(), order.end());
    EXPECT_EQ(t.selected(), order) << "q = " << q;
  }
}

TEST(TrainTargets, RefusesLabelsOutOfOrderOrIncomplete) {
  auto f = label_fixture();
  TokenDataset ds = TokenDataset::open(f->data);
  // Two labels of shard 1 swapped: the set verifies, but not against the dataset's order.
  const std::string swapped = f->dir.file("swapped");
  write_labels(ds, swapped, [](int k, std::vector<int64_t>& ids) {
    if (k == 1) std::swap(ids[3], ids[4]);
  });
  f->cfg.labels_dir = swapped;
  expect_error([&] { TrainTargets::build(f->cfg, ds, kC); }, ExitCode::Data,
               {label_shard_name(1, 3), "inference order", f->data});
  // One label short.
  const std::string short_set = f->dir.file("short");
  write_labels(ds, short_set, [](int k, std::vector<int64_t>& ids) {
    if (k == 2) ids.pop_back();
  });
  f->cfg.labels_dir = short_set;
  expect_error([&] { TrainTargets::build(f->cfg, ds, kC); }, ExitCode::Data, {short_set, "399 labels", "400 examples"});
  // Another dataset's labels.
  test::TempDir other;
  TokenDataset ds2 = TokenDataset::open(write_dataset(other, 400, 11, kC));
  f->cfg.labels_dir = f->labels;
  f->cfg.data = ds2.info().path;
  expect_error([&] { TrainTargets::build(f->cfg, ds2, kC); }, ExitCode::Data, {f->labels, "different dataset"});
}
