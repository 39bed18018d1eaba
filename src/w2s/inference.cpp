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

Inference run_inference(Gpt2& model, const TokenDataset& ds, const std::vector<int64_t>& indices, int batch,
                        double temperature, bool regression, bool progress) {
  const int C = model.config().num_classes;
  if (C <= 0) throw UsageError("the model has no classification head (it is a pretrained LM checkpoint)");
  Inference out;
  out.C = C;
  const size_t n = indices.size();
  out.logits.assign(n * C, 0.0f);
  out.probs.assign(n * C, 0.0f);
  // Length order: batches of similar lengths waste little on padding.
  std::vector<int32_t> lengths = ds.lengths();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return lengths[static_cast<size_t>(indices[a])] < lengths[static_cast<size_t>(indices[b])];
  });
  ExampleBatch eb;
  std::vector<float> logits;
  Timer timer;
  double last_report = 0;
  for (size_t start = 0; start < n; start += static_cast<size_t>(batch)) {
    size_t end = std::min(n, start + static_cast<size_t>(batch));
    std::vector<int64_t> rows;
    for (size_t i = start; i < end; ++i) rows.push_back(indices[order[i]]);
    ds.read(rows, eb);
    logits.resize(static_cast<size_t>(eb.n) * C);
    model.classifier_forward(eb.tokens.data(), eb.lengths.data(), eb.n, eb.T, logits.data());
    for (size_t i = start; i < end; ++i) {
      const float* z = logits.data() + (i - start) * C;
      float* lo = out.logits.data() + order[i] * C;
      float* pr = out.probs.data() + order[i] * C;
      std::copy(z, z + C, lo);
      if (regression) std::copy(z, z + C, pr);
      else soft_labels_from_logits(z, 1, C, temperature, pr);
    }
    if (progress && timer.seconds() - last_report > 10.0) {
      last_report = timer.seconds();
      log_info(strfmt("  %zu/%zu examples (%.0f/s)", end, n, end / timer.seconds()));
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

std::vector<int64_t> dp_block(int64_t n, int dp_rank, int dp_size) {
  int64_t begin = n * dp_rank / dp_size, end = n * (dp_rank + 1) / dp_size;
  std::vector<int64_t> out(static_cast<size_t>(end - begin));
  std::iota(out.begin(), out.end(), begin);
  return out;
}

void require_same_tokenizer(const TokenDatasetInfo& data, const std::string& ckpt) {
  CheckpointInfo info = read_checkpoint_info(ckpt);
  if (data.tokenizer != info.config.tokenizer)
    throw DataError(data.path, "tokenized with '" + data.tokenizer + "', but " + ckpt + " expects '" +
                                   info.config.tokenizer + "'");
  auto it = info.attrs.find("tokenizer_sha256");
  if (it != info.attrs.end() && !it->second.empty() && !data.tokenizer_sha256.empty() &&
      it->second != data.tokenizer_sha256)
    throw DataError(data.path, "vocabulary (tokenizer sha256) differs from the one " + ckpt + " was trained with");
  if (data.vocab_size > info.config.vocab_size)
    throw DataError(data.path, strfmt("vocabulary of %d tokens exceeds the model's %d", data.vocab_size,
                                      info.config.vocab_size));
}

}  // namespace w2s
