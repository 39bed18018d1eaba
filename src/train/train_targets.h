// The targets `w2s train` fits on a token dataset: one row of C values per example, in dataset
// order — the one-hot ground truth, the regression target, or the weak label (its
// probabilities, or its logits softened at --kd-temperature). They are computed once by
// streaming the dataset (and the label shards) into a scratch file and read back per
// micro-step, so memory does not grow with the dataset.
#pragma once
#include <cstdint>
#include <vector>

#include "core/scratch_file.h"
#include "data/token_dataset.h"
#include "train/train_config.h"

namespace w2s {

class TrainTargets {
 public:
  // Ground truth when cfg.labels_dir is empty, else the weak labels there, joined to `ds` by
  // position in inference order and checked id by id (DataError naming the shard otherwise).
  static TrainTargets build(const TrainConfig& cfg, const TokenDataset& ds, int num_classes);

  int num_classes() const { return C_; }
  // Targets of `rows` (dataset indices, any order): out [rows.size(), C].
  void read(const std::vector<int64_t>& rows, float* out) const;
  // The examples to train on: empty for all of them, else the --select-confident subset
  // (dataset indices, ascending). The one per-example structure a run keeps: O(selected).
  const std::vector<int64_t>& selected() const { return selected_; }

 private:
  TrainTargets(int C, int64_t n) : C_(C), n_(n) {}
  void append(const float* rows, size_t n);
  // Calls fn(first, rows, n) on consecutive blocks of the targets.
  template <class Fn>
  void scan(Fn fn) const;
  std::vector<int64_t> most_confident(int64_t keep) const;

  int C_;
  int64_t n_;
  ScratchFile file_;
  std::vector<int64_t> selected_;
};

}  // namespace w2s
