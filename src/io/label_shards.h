// Weak-label shards: where `w2s label` writes and `w2s train --labels` reads. DIR holds
// shard-KKKKK-of-NNNNN.h5 files and manifest.json; their schema is docs/formats.md §4.
// Shards are written under a temporary name and renamed when complete; the manifest is
// rewritten atomically after every shard set is complete. A reader refuses a set whose manifest
// is missing or disagrees with the files (missing, extra, truncated, tampered shard), naming the
// file. The rows of shard 0, then shard 1, ... are the dataset's examples in inference order
// (infer/inference.h), whatever the number of shards: `w2s train` joins them to the dataset by
// that position and checks every id, so a student of any DP×TP shape reads the same label for
// every example whatever number of ranks wrote them. Writing and reading stream a block of
// rows at a time: memory does not grow with the number of examples.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/atomic_file.h"
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

// Writes one shard a block of rows at a time, atomically: rows go to a temporary file that
// commit() renames into place; a writer destroyed before commit() leaves no file. A non-finite
// value is refused where it arises (DataError naming the file and the example id), since every
// reader would refuse it later.
class LabelShardWriter {
 public:
  LabelShardWriter(const std::string& path, const LabelShardMeta& meta);  // RuntimeError if k or C is out of range
  // n rows: ids [n], probs and logits [n, C].
  void append(const int64_t* ids, const float* probs, const float* logits, size_t n);
  void commit();
  int64_t count() const { return count_; }

 private:
  void flush();
  std::string path_;
  LabelShardMeta meta_;
  size_t C_;
  AtomicOutput out_;
  h5::File file_;
  std::vector<int64_t> ids_;  // rows not yet written: less than one chunk
  std::vector<float> probs_, logits_;
  int64_t count_ = 0;
};

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

// A verified shard set. Labels are read in row order (shard 0's rows, then shard 1's, ...), a
// block at a time; only the shard table is kept in memory.
class LabelSet {
 public:
  // Verifies: manifest present and parseable; every listed shard present with the listed
  // sha256 and count; no extra shard-*.h5 files; attributes consistent; every value finite;
  // ids unique. Streams the shards: memory does not grow with the number of labels.
  static LabelSet open(const std::string& dir);

  int num_classes() const { return num_classes_; }
  size_t size() const { return static_cast<size_t>(first_row_.back()); }
  const std::string& dir() const { return dir_; }
  // Rows [first, first + n) of the set: ids [n], probs and logits [n, C]; any output may be
  // null when not wanted.
  void read_rows(int64_t first, int64_t n, int64_t* ids, float* probs, float* logits) const;
  // The shard file that holds row `row`, for error messages.
  const std::string& path_of_row(int64_t row) const;

  // Lookup by example id for small sets (tests, tools): the first call loads every label and
  // an id index into memory. Training streams read_rows instead.
  bool contains(int64_t id) const;
  // Pointers to C values; DataError naming the label dir when the id is absent.
  const float* probs(int64_t id) const;
  const float* logits(int64_t id) const;
  const std::string& supervisor_sha256() const { return supervisor_sha256_; }
  const std::string& dataset_sha256() const { return dataset_sha256_; }
  double temperature() const { return temperature_; }

 private:
  size_t shard_of_row(int64_t row) const;
  void refuse_duplicate_ids() const;
  const h5::File& shard_file(size_t k) const;
  void load_index() const;

  std::string dir_;
  int num_classes_ = 0;
  double temperature_ = 1.0;
  std::string supervisor_sha256_, dataset_sha256_;
  std::vector<std::string> paths_;   // shard files, in order
  std::vector<int64_t> first_row_;   // first row of each shard; back(): all rows
  mutable std::unique_ptr<h5::File> open_file_;  // the shard read last, kept open for the next block
  mutable size_t open_index_ = 0;
  mutable bool loaded_ = false;  // by-id lookup only
  mutable std::vector<float> probs_, logits_;
  mutable std::unordered_map<int64_t, size_t> index_;  // id → row
};

}  // namespace w2s
