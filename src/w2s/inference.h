// Batched inference with a classification/regression head: the shared core of `w2s eval`,
// `w2s label` and `w2s cascade`. Examples are processed in length order (less padding) and the
// results returned in the caller's order. With TP > 1 the TP ranks compute together and all
// receive the same outputs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "comm/process_grid.h"
#include "data/lm_dataset.h"
#include "data/token_dataset.h"
#include "model/gpt2.h"

namespace w2s {

struct Inference {
  int C = 0;                    // outputs per example
  std::vector<float> logits;    // [n, C]
  std::vector<float> probs;     // [n, C]: softmax(logits / T); regression: the prediction itself
};

// The inference batches of a whole dataset, fixed by the dataset and `batch` alone: examples
// in (length, index) order, cut into batches of at most `batch` examples of one length (no
// padding). Every example is therefore computed with the same shapes — and gets bit-identical
// outputs — however the batches are later split over ranks or shards (BLAS results can depend
// on the matrix height, so batch composition must not).
using InferenceBatches = std::vector<std::vector<int64_t>>;
InferenceBatches plan_inference_batches(const TokenDataset& ds, int batch);

// Batches [k·B/parts, (k+1)·B/parts): part k of `parts` contiguous ranges of batches.
InferenceBatches batch_range(const InferenceBatches& all, int k, int parts);
std::vector<int64_t> rows_of(const InferenceBatches& batches);  // dataset indices, batch order

// Runs the model's head over the batches; outputs in rows_of(batches) order.
Inference run_inference(Gpt2& model, const TokenDataset& ds, const InferenceBatches& batches,
                        double temperature = 1.0, bool regression = false, bool progress = false);

// Builds the model described by a checkpoint, sharded over grid.tp(), and loads its weights.
std::unique_ptr<Gpt2> load_model_for_inference(const std::string& ckpt, const ProcessGrid& grid);


// Refuses a dataset whose tokenizer differs from the model's (kind, and sha256 when both known),
// or whose vocabulary is larger than the model's. DataError naming the dataset.
void require_same_tokenizer(const TokenDatasetInfo& data, const std::string& ckpt);
void require_same_tokenizer(const LmDatasetInfo& data, const std::string& ckpt);

}  // namespace w2s
