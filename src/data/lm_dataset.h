// Packed language-modelling datasets, HDF5 `w2s_kind` = "lm_dataset": documents concatenated,
// each followed by eot (schema: docs/formats.md §2).
// Training reads fixed windows: window k of context T is tokens[k*T, k*T + T] (inputs are the
// first T, targets the last T), so there are (Ntok - 1) / T windows.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/h5.h"

namespace w2s {

struct LmDatasetInfo {
  std::string path;
  int64_t num_tokens = 0;
  int64_t num_documents = 0;
  int32_t eot_id = 0;
  std::string tokenizer;
  std::string tokenizer_sha256;
  std::string source_sha256;
  int32_t vocab_size = 0;  // 0: unknown (token ids are then not range-checked on read)
};

class LmDataset {
 public:
  static LmDataset open(const std::string& path);  // DataError naming the file when invalid
  const LmDatasetInfo& info() const { return info_; }
  int64_t num_windows(int T) const { return info_.num_tokens > T ? (info_.num_tokens - 1) / T : 0; }
  // inputs/targets: T tokens each.
  void read_window(int64_t k, int T, int32_t* inputs, int32_t* targets) const;
  std::vector<int64_t> doc_offsets() const;
  std::vector<int64_t> doc_ids() const;
  std::vector<int32_t> read_document(int64_t d) const;  // with its trailing eot
  const std::string& sha256() const;

 private:
  LmDatasetInfo info_;
  std::shared_ptr<h5::File> file_;
  mutable std::string sha256_;
  std::vector<int64_t> doc_offsets_;  // read and validated by open()
  void check_token_ids(const int32_t* ids, int64_t n, int64_t first) const;
};

// Writes documents (each gets eot appended) atomically.
void write_lm_dataset(const std::string& path, const LmDatasetInfo& info,
                      const std::vector<std::vector<int32_t>>& documents, const std::vector<int64_t>& doc_ids);

}  // namespace w2s
