// Weak-label shards (DESIGN §3): where `w2s label` writes and `w2s train --labels` reads.
//   DIR/shard-KKKKK-of-NNNNN.h5  (w2s_kind "label_shard"): /ids int64 [n], /probs float32 [n, C],
//       /logits float32 [n, C]; attributes supervisor_sha256, dataset_sha256, shard_index,
//       num_shards, temperature, num_classes, batch, count.
//   DIR/manifest.json  written last: {"num_shards", "num_classes", "supervisor_sha256",
//       "dataset_sha256", "temperature", "batch", "total", "shards": [{"file", "count", "sha256"}]}.
// Shards are written under a temporary name and renamed when complete; the manifest is
// rewritten atomically after every shard set is complete. A reader refuses a set whose manifest
// is missing or disagrees with the files (missing, extra, truncated, tampered shard), naming the
// file. Labels are joined by example id, so a student of any DP×TP shape reads the same label
// for every example whatever number of ranks wrote them.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/h5.h"

namespace w2s {

struct LabelShardMeta {
  std::string supervisor_sha256;
  std::string dataset_sha256;
  int shard_index = 0;
  int num_shards = 1;
  double temperature = 1.0;
  int num_classes = 2;
  int batch = 0;  // inference batch size: with it, the shard's examples are fixed (see inference.h)
};

std::string label_shard_name(int shard_index, int num_shards);  // "shard-00003-of-00008.h5"

// Writes one shard atomically: ids [n], probs/logits [n, C].
void write_label_shard(const std::string& path, const LabelShardMeta& meta, const std::vector<int64_t>& ids,
                       const std::vector<float>& probs, const std::vector<float>& logits);

// The shard schema itself, written into an open file with no checks: write_label_shard validates
// first and writes through this; tests use it to forge files the writer refuses.
void write_label_shard_contents(h5::File& f, const LabelShardMeta& meta, const std::vector<int64_t>& ids,
                                const std::vector<float>& probs, const std::vector<float>& logits);

// True when `path` is a complete shard whose attributes match `expected` (supervisor,
// dataset, k, N, temperature); used by `w2s label` to skip shards that already verify.
bool label_shard_matches(const std::string& path, const LabelShardMeta& expected);
// The same check with its reason: nullopt when the shard verifies, else a one-line message
// naming the file and what is wrong (missing, truncated, foreign, attribute X differs, ...).
// Never throws.
std::optional<std::string> verify_label_shard(const std::string& path, const LabelShardMeta& expected);

// Names of the shard files in DIR ("shard-*.h5", temporaries "*.tmp.*" excluded), sorted.
std::vector<std::string> list_label_shard_files(const std::string& dir);

// Writes DIR/manifest.json from the shards on disk (counts and sha256 of each). Throws if a
// shard is missing (RuntimeError listing them), or if a shard does not verify against `common`
// or belongs to another shard count (DataError naming the file).
void write_label_manifest(const std::string& dir, const LabelShardMeta& common);

// All labels of a shard set, verified against the manifest, indexed by example id.
class LabelSet {
 public:
  // Verifies: manifest present and parseable; every listed shard present with the listed
  // sha256 and count; no extra shard-*.h5 files; attributes consistent; ids unique.
  static LabelSet open(const std::string& dir);

  int num_classes() const { return num_classes_; }
  size_t size() const { return index_.size(); }
  bool contains(int64_t id) const { return index_.count(id) != 0; }
  // Pointers to C values; DataError naming the label dir when the id is absent.
  const float* probs(int64_t id) const;
  const float* logits(int64_t id) const;
  const std::string& supervisor_sha256() const { return supervisor_sha256_; }
  const std::string& dataset_sha256() const { return dataset_sha256_; }
  double temperature() const { return temperature_; }

 private:
  std::string dir_;
  int num_classes_ = 0;
  double temperature_ = 1.0;
  std::string supervisor_sha256_, dataset_sha256_;
  std::vector<float> probs_, logits_;
  std::unordered_map<int64_t, size_t> index_;  // id → row
};

}  // namespace w2s
