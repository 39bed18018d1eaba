#include "infer/inference.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/timer.h"
#include "io/checkpoint.h"
#include "loss/losses.h"

namespace w2s {

namespace {
// Rows of /lengths read at a time while a plan looks for the rows of its batches.
constexpr int64_t kScanRows = int64_t{1} << 16;
}  // namespace

std::vector<int64_t> inference_order_starts(const TokenDataset& ds) {
  const std::vector<int64_t>& counts = ds.length_counts();
  std::vector<int64_t> starts(counts.size() + 1, 0);
  for (size_t L = 0; L < counts.size(); ++L) starts[L + 1] = starts[L] + counts[L];
  return starts;
}

InferencePlan::InferencePlan(const TokenDataset& ds, int batch) : ds_(&ds), batch_(batch) {
  if (batch < 1) throw UsageError("--batch must be at least 1");
  starts_ = inference_order_starts(ds);
  const std::vector<int64_t>& counts = ds.length_counts();
  first_batch_.assign(counts.size() + 1, 0);
  for (size_t L = 0; L < counts.size(); ++L) first_batch_[L + 1] = first_batch_[L] + (counts[L] + batch_ - 1) / batch_;
}

std::pair<int64_t, int64_t> InferencePlan::part(int k, int parts) const {
  const int64_t B = num_batches();
  return {B * k / parts, B * (k + 1) / parts};
}

int64_t InferencePlan::rows_before(int64_t b) const {
  // The last length whose batches start at or before b; every batch but a length's last is full.
  size_t L = static_cast<size_t>(std::upper_bound(first_batch_.begin(), first_batch_.end(), b) - first_batch_.begin()) - 1;
  return starts_[L] + (b - first_batch_[L]) * batch_;
}

void InferencePlan::for_each_batch(int64_t first, int64_t last,
                                   const std::function<void(const std::vector<int64_t>&)>& fn) const {
  const int64_t N = ds_->size();
  std::vector<int32_t> lengths;
  std::vector<int64_t> rows;
  for (size_t L = 1; L + 1 < first_batch_.size(); ++L) {
    const int64_t lo = std::max(first, first_batch_[L]), hi = std::min(last, first_batch_[L + 1]);
    if (lo >= hi) continue;
    // Ranks [r0, r1) among the examples of length L, in index order; r0 starts a batch.
    const int64_t r0 = (lo - first_batch_[L]) * batch_;
    const int64_t r1 = std::min(starts_[L + 1] - starts_[L], (hi - first_batch_[L]) * batch_);
    int64_t rank = 0;
    rows.clear();
    for (int64_t row0 = 0; row0 < N && rank < r1; row0 += kScanRows) {
      const int64_t n = std::min(kScanRows, N - row0);
      lengths.resize(static_cast<size_t>(n));
      ds_->read_lengths(row0, n, lengths.data());
      for (int64_t i = 0; i < n && rank < r1; ++i) {
        if (lengths[static_cast<size_t>(i)] != static_cast<int32_t>(L)) continue;
        if (rank++ < r0) continue;
        rows.push_back(row0 + i);
        if (static_cast<int64_t>(rows.size()) == batch_ || rank == r1) {
          fn(rows);
          rows.clear();
        }
      }
    }
    if (rank < r1)
      throw DataError(ds_->info().path, strfmt("/lengths changed while it was being read (%lld of %lld examples of "
                                               "length %zu found)",
                                               static_cast<long long>(rank), static_cast<long long>(r1), L));
  }
}

InferenceBatches plan_inference_batches(const TokenDataset& ds, int batch) {
  InferencePlan plan(ds, batch);
  InferenceBatches batches;
  plan.for_each_batch(0, plan.num_batches(), [&](const std::vector<int64_t>& rows) { batches.push_back(rows); });
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

HeadForward head_forward(Model& model, const ModelConfig& config) {
  return {config, [&model](const int32_t* tokens, const int32_t* lengths, int B, int T, float* logits) {
            model.classifier_forward(tokens, lengths, B, T, logits);
          }};
}

void infer_batch(const HeadForward& model, const TokenDataset& ds, const std::vector<int64_t>& rows,
                 double temperature, bool regression, ExampleBatch& eb, std::vector<float>& logits,
                 std::vector<float>& probs) {
  const int C = model.config.num_classes;
  if (C <= 0) throw UsageError("the model has no classification head (it is a pretrained LM checkpoint)");
  ds.read(rows, eb);
  logits.resize(static_cast<size_t>(eb.n) * C);
  probs.resize(logits.size());
  model.forward(eb.tokens.data(), eb.lengths.data(), eb.n, eb.T, logits.data());
  for (int i = 0; i < eb.n; ++i) {
    const float* z = logits.data() + static_cast<size_t>(i) * C;
    float* pr = probs.data() + static_cast<size_t>(i) * C;
    if (regression) std::copy(z, z + C, pr);
    else soft_labels_from_logits(z, 1, C, temperature, pr);
  }
}

Inference run_inference(const HeadForward& model, const TokenDataset& ds, const InferenceBatches& batches,
                        double temperature, bool regression, bool progress) {
  Inference out;
  out.C = model.config.num_classes;
  if (out.C <= 0) throw UsageError("the model has no classification head (it is a pretrained LM checkpoint)");
  ExampleBatch eb;
  std::vector<float> logits, probs;
  Timer timer;
  double last_report = 0;
  size_t done = 0, total = 0;
  for (const auto& b : batches) total += b.size();
  out.logits.reserve(total * out.C);
  out.probs.reserve(total * out.C);
  for (const auto& rows : batches) {
    infer_batch(model, ds, rows, temperature, regression, eb, logits, probs);
    out.logits.insert(out.logits.end(), logits.begin(), logits.end());
    out.probs.insert(out.probs.end(), probs.begin(), probs.end());
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
    throw DataError(path, "vocabulary (tokenizer sha256) differs from the one " + ckpt +
                              " was trained or imported with (prepare the data with the model's own files: "
                              "--tokenizer-files, experiment.tokenizer_files)");
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
