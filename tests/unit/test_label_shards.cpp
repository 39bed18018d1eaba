// Weak-label shards: round trip through shards + manifest, the skip check `w2s label` uses, and
// every refusal of LabelSet::open naming the offending file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/philox.h"
#include "core/sha256.h"
#include "io/h5.h"
#include "test_util.h"
#include "io/label_shards.h"

using namespace w2s;
namespace fs = std::filesystem;

namespace {

constexpr int kClasses = 3;

LabelShardMeta meta_of(int k, int n) {
  LabelShardMeta m;
  m.supervisor_sha256 = sha256_hex("supervisor checkpoint");
  m.dataset_sha256 = sha256_hex("train_b.h5");
  m.shard_index = k;
  m.num_shards = n;
  m.temperature = 1.5;
  m.num_classes = kClasses;
  m.batch = 8;
  return m;
}

// One shard's labels: values drawn from Philox so every (id, class) has its own value.
struct ShardData {
  std::vector<int64_t> ids;
  std::vector<float> probs, logits;
};

ShardData make_shard(const std::vector<int64_t>& ids) {
  ShardData s{ids, {}, {}};
  for (int64_t id : ids)
    for (int c = 0; c < kClasses; ++c) {
      uint64_t at = static_cast<uint64_t>(id) * kClasses + static_cast<uint64_t>(c);
      s.logits.push_back(static_cast<float>(philox_normal(5, 1, at)));
      s.probs.push_back(static_cast<float>(philox_uniform(5, 2, at)));
    }
  return s;
}

// Shard k gets ids with k in the hundreds: sizes 5, 0 (an empty shard is legal: more shards
// than inference batches) and 9.
std::vector<ShardData> three_shards() {
  std::vector<ShardData> shards;
  for (int k = 0; k < 3; ++k) {
    std::vector<int64_t> ids;
    int n = k == 0 ? 5 : k == 1 ? 0 : 9;
    for (int i = 0; i < n; ++i) ids.push_back(1000 * (k + 1) + 7 * i);
    shards.push_back(make_shard(ids));
  }
  return shards;
}

std::string shard_path(const test::TempDir& dir, int k, int n = 3) { return dir.file(label_shard_name(k, n)); }

std::vector<ShardData> write_set(const test::TempDir& dir) {
  std::vector<ShardData> shards = three_shards();
  for (int k = 0; k < 3; ++k)
    write_label_shard(shard_path(dir, k), meta_of(k, 3), shards[k].ids, shards[k].probs, shards[k].logits);
  write_label_manifest(dir.path(), meta_of(0, 3));
  return shards;
}

// Writes a shard through the raw HDF5 wrapper, bypassing write_label_shard's checks, to plant
// files the writer would never produce (non-finite values).
void write_raw_shard(const std::string& path, const LabelShardMeta& meta, const ShardData& s) {
  h5::File f = h5::File::create(path);
  write_label_shard_contents(f, meta, s.ids, s.probs, s.logits);
  f.close();
}

// Brings manifest.json's sha256/count/total up to date with the files, as a forger would, so a
// test reaches the checks that sit behind the sha256 check.
void rehash_manifest(const test::TempDir& dir) {
  nlohmann::json m = nlohmann::json::parse(read_text_file(dir.file("manifest.json")));
  int64_t total = 0;
  for (auto& s : m["shards"]) {
    std::string path = dir.file(s["file"].get<std::string>());
    s["sha256"] = sha256_file(path);
    s["count"] = h5::File::open_read(path).attr_int("/", "count");
    total += s["count"].get<int64_t>();
  }
  m["total"] = total;
  test::write_file(dir.file("manifest.json"), m.dump(2));
}

void flip_byte(const std::string& path, uintmax_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0xFF);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

// Runs fn, expecting a data error (exit code 2) whose message contains every one of `parts`.
void expect_data_error(const std::function<void()>& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    FAIL() << "no error; expected one mentioning " << parts[0];
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::Data) << e.what();
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

void expect_open_refused(const test::TempDir& dir, const std::vector<std::string>& parts) {
  expect_data_error([&] { LabelSet::open(dir.path()); }, parts);
}

bool has_temp_files(const std::string& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) return true;
  return false;
}

}  // namespace

TEST(LabelShards, NameIsZeroPadded) {
  EXPECT_EQ(label_shard_name(3, 8), "shard-00003-of-00008.h5");
  EXPECT_EQ(label_shard_name(0, 12345), "shard-00000-of-12345.h5");
}

TEST(LabelShards, RoundTripEveryIdExact) {
  test::TempDir dir;
  std::vector<ShardData> shards = write_set(dir);
  LabelSet set = LabelSet::open(dir.path());
  EXPECT_EQ(set.num_classes(), kClasses);
  EXPECT_EQ(set.size(), 14u);
  EXPECT_EQ(set.temperature(), 1.5);
  EXPECT_EQ(set.supervisor_sha256(), meta_of(0, 3).supervisor_sha256);
  EXPECT_EQ(set.dataset_sha256(), meta_of(0, 3).dataset_sha256);
  for (const ShardData& s : shards)
    for (size_t i = 0; i < s.ids.size(); ++i) {
      ASSERT_TRUE(set.contains(s.ids[i]));
      for (int c = 0; c < kClasses; ++c) {
        EXPECT_EQ(set.probs(s.ids[i])[c], s.probs[i * kClasses + c]) << "id " << s.ids[i];
        EXPECT_EQ(set.logits(s.ids[i])[c], s.logits[i * kClasses + c]) << "id " << s.ids[i];
      }
    }
  EXPECT_FALSE(set.contains(1001));
  expect_data_error([&] { set.probs(1001); }, {dir.path(), "1001"});
  expect_data_error([&] { set.logits(-5); }, {dir.path(), "-5"});
}

TEST(LabelShards, ManifestListsCountsAndHashes) {
  test::TempDir dir;
  write_set(dir);
  nlohmann::json m = nlohmann::json::parse(read_text_file(dir.file("manifest.json")));
  EXPECT_EQ(m["num_shards"], 3);
  EXPECT_EQ(m["num_classes"], kClasses);
  EXPECT_EQ(m["temperature"], 1.5);
  EXPECT_EQ(m["total"], 14);
  ASSERT_EQ(m["shards"].size(), 3u);
  const int counts[3] = {5, 0, 9};
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(m["shards"][k]["file"], label_shard_name(k, 3));
    EXPECT_EQ(m["shards"][k]["count"], counts[k]);
    EXPECT_EQ(m["shards"][k]["sha256"], sha256_file(shard_path(dir, k)));
  }
  EXPECT_FALSE(has_temp_files(dir.path()));
}

TEST(LabelShards, ManifestRequiresEveryShardOfTheSet) {
  test::TempDir dir;
  write_set(dir);
  fs::remove(shard_path(dir, 1));
  try {
    write_label_manifest(dir.path(), meta_of(0, 3));
    FAIL() << "manifest written without shard 1";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(label_shard_name(1, 3)), std::string::npos) << e.what();
  }
}

TEST(LabelShards, ManifestRefusesShardsThatDoNotBelong) {
  test::TempDir dir;
  write_set(dir);
  // A shard of another shard count left in the folder.
  ShardData s = make_shard({1, 2});
  write_label_shard(shard_path(dir, 0, 4), meta_of(0, 4), s.ids, s.probs, s.logits);
  expect_data_error([&] { write_label_manifest(dir.path(), meta_of(0, 3)); }, {label_shard_name(0, 4)});
  fs::remove(shard_path(dir, 0, 4));
  // A shard of this count but another supervisor.
  LabelShardMeta other = meta_of(2, 3);
  other.supervisor_sha256 = sha256_hex("another supervisor");
  write_label_shard(shard_path(dir, 2), other, s.ids, s.probs, s.logits);
  expect_data_error([&] { write_label_manifest(dir.path(), meta_of(0, 3)); },
                    {label_shard_name(2, 3), "supervisor_sha256"});
}

TEST(LabelShards, MatchesOnlyACompleteShardWithTheSameAttributes) {
  test::TempDir dir;
  write_set(dir);
  const std::string path = shard_path(dir, 0);
  EXPECT_TRUE(label_shard_matches(path, meta_of(0, 3)));
  EXPECT_TRUE(label_shard_matches(shard_path(dir, 1), meta_of(1, 3)));  // the empty shard

  LabelShardMeta m = meta_of(0, 3);
  m.supervisor_sha256 = sha256_hex("another supervisor");
  EXPECT_FALSE(label_shard_matches(path, m));
  ASSERT_TRUE(verify_label_shard(path, m).has_value());
  EXPECT_NE(verify_label_shard(path, m)->find("supervisor_sha256"), std::string::npos);
  m = meta_of(0, 3);
  m.dataset_sha256 = sha256_hex("another dataset");
  EXPECT_FALSE(label_shard_matches(path, m));
  EXPECT_FALSE(label_shard_matches(path, meta_of(1, 3)));  // wrong k
  EXPECT_FALSE(label_shard_matches(path, meta_of(0, 4)));  // wrong N
  m = meta_of(0, 3);
  m.temperature = 2.0;
  EXPECT_FALSE(label_shard_matches(path, m));
  m = meta_of(0, 3);
  m.num_classes = 2;
  EXPECT_FALSE(label_shard_matches(path, m));
  m = meta_of(0, 3);
  m.batch = 16;
  EXPECT_FALSE(label_shard_matches(path, m));

  EXPECT_FALSE(label_shard_matches(dir.file("no-such-shard.h5"), meta_of(0, 3)));
  EXPECT_NE(verify_label_shard(dir.file("no-such-shard.h5"), meta_of(0, 3))->find("missing"), std::string::npos);

  // A foreign HDF5 file (another w2s kind) and a non-HDF5 file.
  {
    h5::File f = h5::File::create(dir.file("foreign.h5"));
    f.stamp("predictions");
    f.write<int64_t>("/ids", std::vector<int64_t>{1, 2});
  }
  EXPECT_FALSE(label_shard_matches(dir.file("foreign.h5"), meta_of(0, 3)));
  test::write_file(dir.file("text.h5"), "not an HDF5 file\n");
  EXPECT_FALSE(label_shard_matches(dir.file("text.h5"), meta_of(0, 3)));

  // Truncated to half its length.
  fs::resize_file(path, fs::file_size(path) / 2);
  EXPECT_FALSE(label_shard_matches(path, meta_of(0, 3)));
  fs::resize_file(path, 0);
  EXPECT_FALSE(label_shard_matches(path, meta_of(0, 3)));
}

TEST(LabelShards, MatchRefusesNonFiniteValues) {
  test::TempDir dir;
  ShardData s = make_shard({1, 2, 3});
  s.logits[4] = std::numeric_limits<float>::infinity();
  write_raw_shard(shard_path(dir, 0, 1), meta_of(0, 1), s);
  ASSERT_TRUE(verify_label_shard(shard_path(dir, 0, 1), meta_of(0, 1)).has_value());
  EXPECT_NE(verify_label_shard(shard_path(dir, 0, 1), meta_of(0, 1))->find("non-finite"), std::string::npos);
}

TEST(LabelShards, WriterRefusesMismatchedSizesAndLeavesNoFile) {
  test::TempDir dir;
  ShardData s = make_shard({1, 2, 3});
  s.probs.pop_back();
  const std::string path = shard_path(dir, 0, 1);
  try {
    write_label_shard(path, meta_of(0, 1), s.ids, s.probs, s.logits);
    FAIL() << "short probs accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("3 ids"), std::string::npos) << e.what();
  }
  s = make_shard({1, 2, 3});
  s.probs[2] = std::nanf("");
  EXPECT_THROW(write_label_shard(path, meta_of(0, 1), s.ids, s.probs, s.logits), Error);
  EXPECT_THROW(write_label_shard(path, meta_of(1, 1), s.ids, s.logits, s.logits), Error);  // k out of range
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(has_temp_files(dir.path()));
}

TEST(LabelShards, InterruptedWriteLeavesNoFinalFile) {
  test::TempDir dir;
  const std::string path = shard_path(dir, 0, 1);
  {
    // What a writer killed before commit() leaves: the temporary, never the final name.
    AtomicOutput out(path);
    h5::File f = h5::File::create(out.temp_path());
    f.stamp("label_shard");
    f.close();
    EXPECT_TRUE(fs::exists(out.temp_path()));
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(has_temp_files(dir.path()));
  // A temporary left by a killed process is not a shard: listing and LabelSet::open ignore it.
  write_set(dir);
  test::write_file(shard_path(dir, 2) + ".tmp.12345", "half-written");
  EXPECT_EQ(list_label_shard_files(dir.path()).size(), 3u);
  EXPECT_EQ(LabelSet::open(dir.path()).size(), 14u);
}

TEST(LabelSetRefuses, MissingManifest) {
  test::TempDir dir;
  write_set(dir);
  fs::remove(dir.file("manifest.json"));
  expect_open_refused(dir, {"manifest.json", "missing"});
}

TEST(LabelSetRefuses, CorruptManifest) {
  test::TempDir dir;
  write_set(dir);
  std::string text = read_text_file(dir.file("manifest.json"));
  test::write_file(dir.file("manifest.json"), text.substr(0, text.size() / 2));
  expect_open_refused(dir, {"manifest.json", "not a valid label manifest"});
  nlohmann::json m = nlohmann::json::parse(text);
  m.erase("dataset_sha256");
  test::write_file(dir.file("manifest.json"), m.dump());
  expect_open_refused(dir, {"manifest.json", "dataset_sha256"});
  m = nlohmann::json::parse(text);
  m["shards"].erase(1);
  test::write_file(dir.file("manifest.json"), m.dump());
  expect_open_refused(dir, {"manifest.json", "lists 2 shards, expected 3"});
  m = nlohmann::json::parse(text);
  m["total"] = 15;
  test::write_file(dir.file("manifest.json"), m.dump());
  expect_open_refused(dir, {"manifest.json", "total 15"});
  m = nlohmann::json::parse(text);
  m["shards"][1]["file"] = "../elsewhere.h5";
  test::write_file(dir.file("manifest.json"), m.dump());
  expect_open_refused(dir, {"manifest.json", "../elsewhere.h5"});
}

TEST(LabelSetRefuses, MissingShard) {
  test::TempDir dir;
  write_set(dir);
  fs::remove(shard_path(dir, 2));
  expect_open_refused(dir, {label_shard_name(2, 3), "missing"});
}

TEST(LabelSetRefuses, ExtraShard) {
  test::TempDir dir;
  write_set(dir);
  fs::copy_file(shard_path(dir, 0), shard_path(dir, 0, 4));
  expect_open_refused(dir, {label_shard_name(0, 4), "extra shard"});
}

TEST(LabelSetRefuses, TamperedShard) {
  test::TempDir dir;
  write_set(dir);
  const std::string path = shard_path(dir, 2);
  flip_byte(path, fs::file_size(path) / 2);
  expect_open_refused(dir, {label_shard_name(2, 3), "tampered"});
}

TEST(LabelSetRefuses, TamperedLabelValue) {
  // A changed value that still reads as a complete shard: only the sha256 can tell.
  test::TempDir dir;
  std::vector<ShardData> shards = write_set(dir);
  ShardData s = shards[0];
  s.probs[3] += 0.25f;
  write_label_shard(shard_path(dir, 0), meta_of(0, 3), s.ids, s.probs, s.logits);
  expect_open_refused(dir, {label_shard_name(0, 3), "tampered or changed since the manifest was written"});
}

TEST(LabelSetRefuses, TruncatedShard) {
  test::TempDir dir;
  write_set(dir);
  const std::string path = shard_path(dir, 0);
  fs::resize_file(path, fs::file_size(path) * 2 / 3);
  expect_open_refused(dir, {label_shard_name(0, 3), "truncated"});
}

TEST(LabelSetRefuses, ShardWithFewerRows) {
  test::TempDir dir;
  std::vector<ShardData> shards = write_set(dir);
  ShardData s = make_shard({shards[2].ids.begin(), shards[2].ids.begin() + 4});
  write_label_shard(shard_path(dir, 2), meta_of(2, 3), s.ids, s.probs, s.logits);
  expect_open_refused(dir, {label_shard_name(2, 3), "truncated: holds 4 labels, manifest.json lists 9"});
  // Even with a manifest whose sha256 matches, a count that disagrees is refused.
  rehash_manifest(dir);
  nlohmann::json m = nlohmann::json::parse(read_text_file(dir.file("manifest.json")));
  m["shards"][2]["count"] = 9;
  m["total"] = 14;
  test::write_file(dir.file("manifest.json"), m.dump());
  expect_open_refused(dir, {label_shard_name(2, 3), "truncated"});
}

TEST(LabelSetRefuses, InconsistentAttributes) {
  test::TempDir dir;
  std::vector<ShardData> shards = write_set(dir);
  const std::pair<const char*, std::function<void(LabelShardMeta&)>> changes[] = {
      {"supervisor_sha256", [](LabelShardMeta& m) { m.supervisor_sha256 = sha256_hex("x"); }},
      {"dataset_sha256", [](LabelShardMeta& m) { m.dataset_sha256 = sha256_hex("y"); }},
      {"temperature", [](LabelShardMeta& m) { m.temperature = 3.0; }},
  };
  for (const auto& [field, change] : changes) {
    LabelShardMeta m = meta_of(2, 3);
    change(m);
    write_label_shard(shard_path(dir, 2), m, shards[2].ids, shards[2].probs, shards[2].logits);
    rehash_manifest(dir);
    expect_open_refused(dir, {label_shard_name(2, 3), field});
  }
  // A different number of classes (same ids).
  LabelShardMeta m = meta_of(2, 3);
  m.num_classes = 1;
  std::vector<float> one(shards[2].ids.size(), 0.5f);
  write_label_shard(shard_path(dir, 2), m, shards[2].ids, one, one);
  rehash_manifest(dir);
  expect_open_refused(dir, {label_shard_name(2, 3), "num_classes"});
}

TEST(LabelSetRefuses, DuplicateIds) {
  test::TempDir dir;
  std::vector<ShardData> shards = write_set(dir);
  // Shard 2 also labels id 1007, which shard 0 holds.
  std::vector<int64_t> ids = shards[2].ids;
  ids[3] = shards[0].ids[1];
  ShardData s = make_shard(ids);
  write_label_shard(shard_path(dir, 2), meta_of(2, 3), s.ids, s.probs, s.logits);
  write_label_manifest(dir.path(), meta_of(0, 3));
  expect_open_refused(dir, {label_shard_name(2, 3), label_shard_name(0, 3), std::to_string(shards[0].ids[1])});
}

TEST(LabelSetRefuses, NonFiniteProbs) {
  test::TempDir dir;
  std::vector<ShardData> shards = write_set(dir);
  ShardData s = shards[0];
  s.probs[7] = std::nanf("");
  write_raw_shard(shard_path(dir, 0), meta_of(0, 3), s);
  rehash_manifest(dir);
  expect_open_refused(dir, {label_shard_name(0, 3), "non-finite", std::to_string(s.ids[7 / kClasses])});
}

TEST(LabelShards, ManyRowsStayContiguous) {
  // A larger set (4 shards, 60K rows) opens and every row sits where its id says.
  test::TempDir dir;
  const int N = 4, rows = 15000;
  for (int k = 0; k < N; ++k) {
    std::vector<int64_t> ids;
    for (int i = 0; i < rows; ++i) ids.push_back(static_cast<int64_t>(i) * N + k);
    ShardData s = make_shard(ids);
    write_label_shard(shard_path(dir, k, N), meta_of(k, N), s.ids, s.probs, s.logits);
  }
  write_label_manifest(dir.path(), meta_of(0, N));
  LabelSet set = LabelSet::open(dir.path());
  ASSERT_EQ(set.size(), static_cast<size_t>(N * rows));
  for (int64_t id = 0; id < N * rows; id += 997) {
    ShardData expect = make_shard({id});
    for (int c = 0; c < kClasses; ++c) EXPECT_EQ(set.probs(id)[c], expect.probs[c]);
  }
}

TEST(LabelShards, ReadRowsSpansShardsInOrder) {
  // The set reads as one sequence of rows: shard 0's, then shard 1's (empty), then shard 2's.
  test::TempDir dir;
  std::vector<ShardData> shards = write_set(dir);
  LabelSet set = LabelSet::open(dir.path());
  std::vector<int64_t> ids(6);
  std::vector<float> probs(6 * kClasses), logits(6 * kClasses);
  set.read_rows(3, 6, ids.data(), probs.data(), logits.data());
  const std::pair<int, int> expected[6] = {{0, 3}, {0, 4}, {2, 0}, {2, 1}, {2, 2}, {2, 3}};
  for (int i = 0; i < 6; ++i) {
    const ShardData& s = shards[static_cast<size_t>(expected[i].first)];
    const size_t row = static_cast<size_t>(expected[i].second);
    EXPECT_EQ(ids[static_cast<size_t>(i)], s.ids[row]);
    for (int c = 0; c < kClasses; ++c) {
      EXPECT_EQ(probs[static_cast<size_t>(i * kClasses + c)], s.probs[row * kClasses + c]);
      EXPECT_EQ(logits[static_cast<size_t>(i * kClasses + c)], s.logits[row * kClasses + c]);
    }
  }
  std::vector<int64_t> all(14);
  set.read_rows(0, 14, all.data(), nullptr, nullptr);
  EXPECT_EQ(all[13], shards[2].ids[8]);
  EXPECT_EQ(set.path_of_row(4), shard_path(dir, 0));
  EXPECT_EQ(set.path_of_row(5), shard_path(dir, 2));
  EXPECT_THROW(set.read_rows(10, 5, ids.data(), nullptr, nullptr), Error);
}
