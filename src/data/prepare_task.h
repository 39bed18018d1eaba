// `w2s prepare`'s task data: a train JSONL (and optionally a test JSONL) read and checked, the
// train examples split into halves A and B (by example or by whole groups, balanced by class),
// each half's validation part and B's pools cut, everything tokenized and written as
// OUT_DIR/<split>.h5. Every split is prepared in memory before anything is written and all are
// committed together, so a failed run leaves no output behind.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/jsonl.h"
#include "data/prepare.h"
#include "data/tokenizer.h"

namespace w2s {

struct TaskPrepareOptions {
  std::string train_path;
  std::string test_path;  // "": no test split
  std::string out_dir;
  JsonlOptions jsonl;     // task and number of classes
  int32_t max_len = 1024;
  Overlong overlong = Overlong::Truncate;
  uint64_t seed = 0;          // the A/B split, the validation parts, B's pools and the subsets
  int64_t group_divisor = 0;  // 0 or 1: every example its own group
  int64_t b_pools = 0;        // 0: B alone, else at least 2 disjoint pools of B
  double valid_fraction = 0;  // of each half, held out as valid_a / valid_b (0: none)
  int64_t max_train = 0;      // seeded subsets (0: all)
  int64_t max_test = 0;
};

// Writes OUT_DIR/train_a.h5, train_b.h5 [, valid_a.h5, valid_b.h5][, train_b_poolK.h5][,
// test.h5] and logs what each holds; returns the paths written, in that order.
std::vector<std::string> prepare_task_data(const TaskPrepareOptions& options, const Tokenizer& tokenizer);

}  // namespace w2s
