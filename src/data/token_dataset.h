// Token datasets for classification and regression tasks, HDF5 `w2s_kind` = "token_dataset"
// (schema: docs/formats.md §1).
// Reads are by index and stream from the file (rows are chunked), so a dataset is never loaded
// whole: not even its per-example columns, which a batch reads for its own rows.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/h5.h"

namespace w2s {

// A batch of examples, compacted to the longest example in it (T = max length in the batch).
struct ExampleBatch {
  int n = 0;                     // examples
  int T = 0;                     // row length of `tokens`
  std::vector<int32_t> tokens;   // [n, T], padded with pad_id past each length
  std::vector<int32_t> lengths;  // [n], each >= 1
  std::vector<int64_t> ids;      // [n]
  std::vector<int32_t> labels;   // [n] (classification; empty otherwise)
  std::vector<float> targets;    // [n] (regression; empty otherwise)
  std::vector<float> soft;       // [n, C] when the dataset has soft labels, else empty
};

struct TokenDatasetInfo {
  std::string path;
  std::string task = "classification";  // or "regression"
  int64_t num_examples = 0;
  int32_t max_len = 0;
  int32_t num_classes = 2;
  int32_t pad_id = 0;
  std::string tokenizer;         // "gpt2" | "byte"
  std::string tokenizer_sha256;
  std::string source_sha256;     // of the JSONL it was prepared from
  std::string split;             // "train_a" | "train_b" | "test" | ...
  bool has_soft_labels = false;
  int32_t vocab_size = 0;        // 0: unknown (token ids are then not range-checked on read)
};

class TokenDataset {
 public:
  // Validates kind, schema, datasets and their shapes, and every per-example value (lengths,
  // labels or targets, soft labels, unique ids) in one streaming pass; DataError naming the
  // file otherwise. Holds nothing per example: memory does not grow with the dataset.
  static TokenDataset open(const std::string& path);
  const TokenDatasetInfo& info() const { return info_; }
  int64_t size() const { return info_.num_examples; }
  // Examples of each length: length_counts()[L] for L in [0, max_len] (entry 0 is 0).
  const std::vector<int64_t>& length_counts() const { return length_counts_; }

  // Reads the examples at `indices` (any order, repeats allowed) into `out`.
  void read(const std::vector<int64_t>& indices, ExampleBatch& out) const;
  // Rows [first, first + n) of one per-example column, for streaming passes.
  void read_lengths(int64_t first, int64_t n, int32_t* out) const;
  void read_ids(int64_t first, int64_t n, int64_t* out) const;
  void read_labels(int64_t first, int64_t n, int32_t* out) const;  // classification
  void read_targets(int64_t first, int64_t n, float* out) const;   // regression
  // Whole columns, N values each: for callers that keep per-example results anyway (eval,
  // cascade). Streaming code uses the range reads above.
  std::vector<int64_t> ids() const;
  std::vector<int32_t> labels() const;    // classification (empty otherwise)
  std::vector<float> targets() const;     // regression (empty otherwise)
  std::vector<int32_t> lengths() const;
  const std::string& sha256() const;      // of the file, computed once on first use

 private:
  TokenDatasetInfo info_;
  std::shared_ptr<h5::File> file_;
  mutable std::string sha256_;
  std::vector<int64_t> length_counts_;
};

// One example before tokenization or after it.
struct TokenizedExample {
  int64_t id = 0;
  std::vector<int32_t> tokens;
  int32_t label = 0;
  float target = 0.0f;
  std::vector<float> soft;  // empty or num_classes values
};

// Writes a token dataset atomically (temp name, then rename). rows must fit info.max_len.
void write_token_dataset(const std::string& path, const TokenDatasetInfo& info,
                         const std::vector<TokenizedExample>& rows);
// The same, written straight to `path` with no rename: for a caller that writes several files
// to AtomicOutput temporaries and commits them together (w2s prepare).
void write_token_dataset_file(const std::string& path, const TokenDatasetInfo& info,
                              const std::vector<TokenizedExample>& rows);

}  // namespace w2s
