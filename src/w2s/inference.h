// Batched inference with a classification/regression head: the shared core of `w2s eval`,
// `w2s label` and `w2s cascade`. Examples are processed in length order (less padding) and the
// results returned in the caller's order. With TP > 1 the TP ranks compute together and all
// receive the same outputs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "comm/process_grid.h"
#include "data/token_dataset.h"
#include "model/gpt2.h"

namespace w2s {

struct Inference {
  int C = 0;                    // outputs per example
  std::vector<float> logits;    // [n, C]
  std::vector<float> probs;     // [n, C]: softmax(logits / T); regression: the prediction itself
};

// Runs the model's head over dataset rows `indices` in batches of `batch` examples.
Inference run_inference(Gpt2& model, const TokenDataset& ds, const std::vector<int64_t>& indices, int batch,
                        double temperature = 1.0, bool regression = false, bool progress = false);

// Builds the model described by a checkpoint, sharded over grid.tp(), and loads its weights.
std::unique_ptr<Gpt2> load_model_for_inference(const std::string& ckpt, const ProcessGrid& grid);

// Dataset indices this DP rank handles when n examples are split into dp contiguous blocks.
std::vector<int64_t> dp_block(int64_t n, int dp_rank, int dp_size);

// Refuses a dataset whose tokenizer differs from the model's (kind, and sha256 when both known).
void require_same_tokenizer(const TokenDatasetInfo& data, const std::string& ckpt);

}  // namespace w2s
