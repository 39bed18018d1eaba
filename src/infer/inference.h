// Batched inference with a classification/regression head: the shared core of `w2s eval`,
// `w2s label` and `w2s cascade`. Examples are processed in length order (less padding) and the
// results returned in the caller's order. With TP > 1 the TP ranks compute together and all
// receive the same outputs.
#pragma once
#include <cstdint>
#include <functional>
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

// The inference order of a dataset: its examples in (length, index) order, cut into batches
// of at most `batch` examples of one length (no padding). It is fixed by the dataset and
// `batch` alone, so every example is computed with the same shapes — and gets bit-identical
// outputs — however the batches are later split over ranks or shards (BLAS results can depend
// on the matrix height, so batch composition must not). Label shards hold their examples in
// this order (io/label_shards.h).
//
// The plan keeps only the number of examples of each length (and a reference to the dataset,
// which must outlive it); the rows of a batch are found by streaming the dataset's /lengths
// column, so memory does not grow with the dataset.
class InferencePlan {
 public:
  InferencePlan(const TokenDataset& ds, int batch);
  int64_t num_batches() const { return first_batch_.back(); }
  // Batches [B·k/parts, B·(k+1)/parts): part k of `parts` contiguous ranges of batches.
  std::pair<int64_t, int64_t> part(int k, int parts) const;
  // Examples in batches [0, b): where batch b starts in the inference order.
  int64_t rows_before(int64_t b) const;
  // Calls fn(rows) for each batch in [first, last), in order: its dataset indices, ascending.
  // Memory: one batch.
  void for_each_batch(int64_t first, int64_t last, const std::function<void(const std::vector<int64_t>&)>& fn) const;

 private:
  const TokenDataset* ds_;
  int64_t batch_;
  std::vector<int64_t> starts_;       // starts_[L]: position in the inference order of the first example of length L
  std::vector<int64_t> first_batch_;  // first_batch_[L]: index of the first batch of length L; back(): all batches
};

// Where each length's examples begin in the inference order: [L] for L in [0, max_len + 1]
// (the last entry is the dataset size). Shared by the plan and by readers of label shards.
std::vector<int64_t> inference_order_starts(const TokenDataset& ds);

// The whole plan at once, for callers that keep every example's outputs anyway (eval, cascade).
using InferenceBatches = std::vector<std::vector<int64_t>>;
InferenceBatches plan_inference_batches(const TokenDataset& ds, int batch);

// Batches [k·B/parts, (k+1)·B/parts): part k of `parts` contiguous ranges of batches.
InferenceBatches batch_range(const InferenceBatches& all, int k, int parts);
std::vector<int64_t> rows_of(const InferenceBatches& batches);  // dataset indices, batch order

// What inference needs of a model: its configuration and the head's forward on one batch
// (logits [B, num_classes] from tokens [B, T] and lengths [B]), whatever backend computes it —
// the CPU Gpt2 (head_forward below) or the GPU model (infer/inference_model.h).
struct HeadForward {
  ModelConfig config;
  std::function<void(const int32_t* tokens, const int32_t* lengths, int B, int T, float* logits)> forward;
};
// The head of a model on either device (model/model.h); it refers to the model, which must
// outlive the result.
HeadForward head_forward(Model& model, const ModelConfig& config);
inline HeadForward head_forward(Gpt2& model) { return head_forward(model, model.config()); }

// The head's outputs for one batch of rows: logits [n, C], and probs = softmax(logits / T)
// (regression: the prediction itself). `eb` is scratch space; it holds the batch afterwards.
void infer_batch(const HeadForward& model, const TokenDataset& ds, const std::vector<int64_t>& rows,
                 double temperature, bool regression, ExampleBatch& eb, std::vector<float>& logits,
                 std::vector<float>& probs);

// Runs the model's head over the batches; outputs in rows_of(batches) order.
Inference run_inference(const HeadForward& model, const TokenDataset& ds, const InferenceBatches& batches,
                        double temperature = 1.0, bool regression = false, bool progress = false);
inline Inference run_inference(Gpt2& model, const TokenDataset& ds, const InferenceBatches& batches,
                               double temperature = 1.0, bool regression = false, bool progress = false) {
  return run_inference(head_forward(model), ds, batches, temperature, regression, progress);
}

// Builds the model described by a checkpoint, sharded over grid.tp(), and loads its weights.
std::unique_ptr<Gpt2> load_model_for_inference(const std::string& ckpt, const ProcessGrid& grid);


// Refuses a dataset whose tokenizer differs from the model's (kind, and sha256 when both known),
// or whose vocabulary is larger than the model's. DataError naming the dataset.
void require_same_tokenizer(const TokenDatasetInfo& data, const std::string& ckpt);
void require_same_tokenizer(const LmDatasetInfo& data, const std::string& ckpt);

}  // namespace w2s
