#include "w2s/inference.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/timer.h"
#include "io/checkpoint.h"
#include "w2s/losses.h"

namespace w2s {

InferenceBatches plan_inference_batches(const TokenDataset& ds, int batch) {
  if (batch < 1) throw UsageError("--batch must be at least 1");
  const std::vector<int32_t> lengths = ds.lengths();
  std::vector<int64_t> order(lengths.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return lengths[static_cast<size_t>(a)] < lengths[static_cast<size_t>(b)];
  });
  InferenceBatches batches;
  for (size_t i = 0; i < order.size(); ++i) {
    bool new_batch = batches.empty() || batches.back().size() == static_cast<size_t>(batch) ||
                     lengths[static_cast<size_t>(batches.back().front())] != lengths[static_cast<size_t>(order[i])];
    if (new_batch) batches.emplace_back();
    batches.back().push_back(order[i]);
  }
  return batches;
}

InferenceBatches batch_range(const InferenceBatches& all, int k, int parts) {
  size_t n = all.size();
  size_t begin = n * static_cast<size_t>(k) / static_cast<size_t>(parts);
  size_t end = n * static_cast<size_t>(k + 1) / static_cast<size_t>(parts);
  return InferenceBatches(all.begin() + static_cast<std::ptrdiff_t>(begin), all.begin() + static_cast<std::ptrdiff_t>(end));
}

std::vector<int64_t> rows_of(const InferenceBatches& batches) {
  std::vector<int64_t> rows;
  for (const auto& b : batches) rows.insert(rows.end(), b.begin(), b.end());
  return rows;
}

Inference run_inference(Gpt2& model, const TokenDataset& ds, const InferenceBatches& batches, double temperature,
                        bool regression, bool progress) {
  const int C = model.config().num_classes;
  if (C <= 0) throw UsageError("the model has no classification head (it is a pretrained LM checkpoint)");
  Inference out;
  out.C = C;
  ExampleBatch eb;
  std::vector<float> logits;
  Timer timer;
  double last_report = 0;
  size_t done = 0, total = 0;
  for (const auto& b : batches) total += b.size();
  out.logits.reserve(total * C);
  out.probs.reserve(total * C);
  for (const auto& rows : batches) {
    ds.read(rows, eb);
    logits.resize(static_cast<size_t>(eb.n) * C);
    model.classifier_forward(eb.tokens.data(), eb.lengths.data(), eb.n, eb.T, logits.data());
    for (int i = 0; i < eb.n; ++i) {
      const float* z = logits.data() + static_cast<size_t>(i) * C;
      out.logits.insert(out.logits.end(), z, z + C);
      out.probs.resize(out.probs.size() + C);
      float* pr = out.probs.data() + out.probs.size() - C;
      if (regression) std::copy(z, z + C, pr);
      else soft_labels_from_logits(z, 1, C, temperature, pr);
    }
    done += rows.size();
    if (progress && timer.seconds() - last_report > 10.0) {
      last_report = timer.seconds();
      log_info(strfmt("  %zu/%zu examples (%.0f/s)", done, total, done / timer.seconds()));
    }
  }
  return out;
}

std::unique_ptr<Gpt2> load_model_for_inference(const std::string& ckpt, const ProcessGrid& grid) {
  CheckpointInfo info = read_checkpoint_info(ckpt);
  info.config.validate_tp(grid.tp_size());
  auto model = std::make_unique<Gpt2>(info.config, grid.tp(), 0);
  load_checkpoint(ckpt, *model, nullptr, false, grid, {});
  return model;
}

namespace {
// The checks both dataset kinds share: what the dataset says of its tokenizer against the checkpoint.
void require_tokenizer_matches(const std::string& path, const std::string& tokenizer,
                               const std::string& tokenizer_sha256, int32_t vocab_size, const std::string& ckpt) {
  CheckpointInfo info = read_checkpoint_info(ckpt);
  if (tokenizer != info.config.tokenizer)
    throw DataError(path, "tokenized with '" + tokenizer + "', but " + ckpt + " expects '" + info.config.tokenizer + "'");
  auto it = info.attrs.find("tokenizer_sha256");
  if (it != info.attrs.end() && !it->second.empty() && !tokenizer_sha256.empty() && it->second != tokenizer_sha256)
    throw DataError(path, "vocabulary (tokenizer sha256) differs from the one " + ckpt + " was trained with");
  if (vocab_size > info.config.vocab_size)
    throw DataError(path, strfmt("vocabulary of %d tokens exceeds the model's %d", vocab_size, info.config.vocab_size));
}
}  // namespace

void require_same_tokenizer(const TokenDatasetInfo& data, const std::string& ckpt) {
  require_tokenizer_matches(data.path, data.tokenizer, data.tokenizer_sha256, data.vocab_size, ckpt);
}

void require_same_tokenizer(const LmDatasetInfo& data, const std::string& ckpt) {
  require_tokenizer_matches(data.path, data.tokenizer, data.tokenizer_sha256, data.vocab_size, ckpt);
}

}  // namespace w2s
