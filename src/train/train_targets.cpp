#include "train/train_targets.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/strings.h"
#include "infer/inference.h"
#include "io/label_shards.h"
#include "loss/losses.h"

namespace w2s {
namespace {

// Examples per block of a streaming pass over the dataset or the targets.
constexpr int64_t kBlockRows = 8192;
// Read-ahead of all label cursors together (see write_weak_labels).
constexpr size_t kCursorBytes = size_t{4} << 20;

// One length's stretch of the label set, [begin, end) in row order, read a block at a time.
class LabelCursor {
 public:
  LabelCursor(int64_t begin, int64_t end) : next_(begin), end_(end) {}
  // The next row of the stretch (false past its end): its position in the set, id, probs, logits.
  bool next(const LabelSet& labels, int64_t block, int64_t* row, int64_t* id, const float** probs, const float** logits) {
    const size_t C = static_cast<size_t>(labels.num_classes());
    if (pos_ == ids_.size()) {
      if (next_ == end_) return false;
      const int64_t m = std::min(block, end_ - next_);
      ids_.resize(static_cast<size_t>(m));
      probs_.resize(ids_.size() * C);
      logits_.resize(ids_.size() * C);
      labels.read_rows(next_, m, ids_.data(), probs_.data(), logits_.data());
      first_ = next_;
      next_ += m;
      pos_ = 0;
    }
    *row = first_ + static_cast<int64_t>(pos_);
    *id = ids_[pos_];
    *probs = &probs_[pos_ * C];
    *logits = &logits_[pos_ * C];
    ++pos_;
    return true;
  }

 private:
  int64_t next_, end_, first_ = 0;
  std::vector<int64_t> ids_;
  std::vector<float> probs_, logits_;
  size_t pos_ = 0;
};

// The label set `labels` must be the one w2s label wrote over `ds`.
void require_labels_match(const TrainConfig& cfg, const TokenDataset& ds, const LabelSet& labels, int C) {
  if (labels.num_classes() != C)
    throw DataError(cfg.labels_dir, strfmt("labels have %d classes, the task has %d", labels.num_classes(), C));
  if (labels.dataset_sha256() != ds.sha256())
    throw DataError(cfg.labels_dir, "labels were computed over a different dataset than " + cfg.data +
                                        " (dataset sha256 differs)");
  if (static_cast<int64_t>(labels.size()) != ds.size())
    throw DataError(cfg.labels_dir, strfmt("holds %zu labels, but %s has %lld examples", labels.size(), cfg.data.c_str(),
                                           static_cast<long long>(ds.size())));
}

// Order key of a float: unsigned comparison of keys orders like the floats themselves.
uint32_t order_key(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
}

float confidence(const float* row, int C) { return *std::max_element(row, row + C); }

}  // namespace

TrainTargets TrainTargets::build(const TrainConfig& cfg, const TokenDataset& ds, int C) {
  TrainTargets t(C, ds.size());
  const bool regression = cfg.objective == "regress";
  const int64_t N = ds.size();
  std::vector<float> rows;
  if (cfg.labels_dir.empty()) {
    // Ground truth: one-hot labels, or the regression target itself.
    std::vector<int32_t> labels;
    for (int64_t first = 0; first < N; first += kBlockRows) {
      const int64_t n = std::min(kBlockRows, N - first);
      rows.assign(static_cast<size_t>(n * C), 0.0f);
      if (regression) {
        ds.read_targets(first, n, rows.data());
      } else {
        labels.resize(static_cast<size_t>(n));
        ds.read_labels(first, n, labels.data());
        for (int64_t i = 0; i < n; ++i) rows[static_cast<size_t>(i * C + labels[static_cast<size_t>(i)])] = 1.0f;
      }
      t.append(rows.data(), static_cast<size_t>(n));
    }
    return t;
  }

  // Weak labels. w2s label wrote the dataset's examples in inference order ((length, index),
  // infer/inference.h), so the label of dataset row i, of length L, is the next unread one among
  // those of length L: a cursor per length walks its stretch of the set while the dataset is
  // read in index order. Every id is checked, so a set that is not in that order is refused.
  LabelSet labels = LabelSet::open(cfg.labels_dir);
  require_labels_match(cfg, ds, labels, C);
  const std::vector<int64_t> starts = inference_order_starts(ds);
  std::vector<LabelCursor> cursors;
  int64_t lengths_present = 0;
  for (size_t L = 0; L + 1 < starts.size(); ++L) {
    cursors.emplace_back(starts[L], starts[L + 1]);
    lengths_present += starts[L + 1] > starts[L];
  }
  const int64_t row_bytes = static_cast<int64_t>(sizeof(int64_t) + 2 * sizeof(float) * static_cast<size_t>(C));
  const int64_t block = std::clamp<int64_t>(static_cast<int64_t>(kCursorBytes) / (std::max<int64_t>(lengths_present, 1) * row_bytes),
                                            16, 4096);
  // The stored probabilities are softmax(logits / T_label). They are the targets only when
  // training asks for that same temperature; any other (including the default 1) is recomputed
  // from the stored logits, so labels written at T = 2 never train a T = 1 run.
  const bool from_probs = cfg.kd_temperature == labels.temperature();
  std::vector<int32_t> lengths;
  std::vector<int64_t> ids;
  for (int64_t first = 0; first < N; first += kBlockRows) {
    const int64_t n = std::min(kBlockRows, N - first);
    lengths.resize(static_cast<size_t>(n));
    ids.resize(static_cast<size_t>(n));
    ds.read_lengths(first, n, lengths.data());
    ds.read_ids(first, n, ids.data());
    rows.resize(static_cast<size_t>(n * C));
    for (int64_t i = 0; i < n; ++i) {
      int64_t row = 0, id = 0;
      const float *probs = nullptr, *logits = nullptr;
      if (!cursors[static_cast<size_t>(lengths[static_cast<size_t>(i)])].next(labels, block, &row, &id, &probs, &logits))
        throw DataError(cfg.data, "/lengths changed while the labels were being joined to it");
      if (id != ids[static_cast<size_t>(i)])
        throw DataError(labels.path_of_row(row),
                        strfmt("holds example id %lld where the inference order of %s puts id %lld (dataset row %lld): "
                               "not the labels w2s label writes for this dataset",
                               static_cast<long long>(id), cfg.data.c_str(), static_cast<long long>(ids[static_cast<size_t>(i)]),
                               static_cast<long long>(first + i)));
      float* out = rows.data() + i * C;
      if (regression) out[0] = probs[0];
      else if (from_probs) std::copy(probs, probs + C, out);
      else soft_labels_from_logits(logits, 1, C, cfg.kd_temperature, out);
    }
    t.append(rows.data(), static_cast<size_t>(n));
  }
  if (cfg.select_confident < 1.0) {
    // Data selection by the weak model: keep the q most confident weak labels (ties: lower index).
    const int64_t keep = std::max<int64_t>(1, std::llround(cfg.select_confident * static_cast<double>(N)));
    t.selected_ = t.most_confident(std::min(keep, N));
  }
  return t;
}

void TrainTargets::append(const float* rows, size_t n) { file_.append(rows, n * static_cast<size_t>(C_) * sizeof(float)); }

void TrainTargets::read(const std::vector<int64_t>& rows, float* out) const {
  const size_t row_bytes = static_cast<size_t>(C_) * sizeof(float);
  for (size_t i = 0; i < rows.size(); ++i) {
    W2S_CHECK(rows[i] >= 0 && rows[i] < n_, "target row in range");
    file_.read(static_cast<uint64_t>(rows[i]) * row_bytes, out + i * static_cast<size_t>(C_), row_bytes);
  }
}

template <class Fn>
void TrainTargets::scan(Fn fn) const {
  std::vector<float> rows;
  for (int64_t first = 0; first < n_; first += kBlockRows) {
    const int64_t n = std::min(kBlockRows, n_ - first);
    rows.resize(static_cast<size_t>(n * C_));
    file_.read(static_cast<uint64_t>(first * C_) * sizeof(float), rows.data(), rows.size() * sizeof(float));
    fn(first, rows.data(), n);
  }
}

// The `keep` examples of highest confidence (largest target value; ties: lower index), in
// index order. The keep-th largest confidence is found by a radix select on its order key —
// high 16 bits, then low 16 bits — in two passes over the targets; a third collects the rows
// above it and the first rows equal to it. Memory: one 2^16-bin histogram and the result.
std::vector<int64_t> TrainTargets::most_confident(int64_t keep) const {
  std::vector<int64_t> hist(size_t{1} << 16);
  auto find_bin = [&](int64_t before, int64_t* above) {  // highest bin whose cumulative count reaches keep
    int64_t acc = before;
    for (size_t b = hist.size(); b-- > 0;) {
      if (acc + hist[b] >= keep) {
        *above = acc;
        return static_cast<uint32_t>(b);
      }
      acc += hist[b];
    }
    W2S_CHECK(false, "keep <= number of examples");
    return 0u;
  };
  scan([&](int64_t, const float* rows, int64_t n) {
    for (int64_t i = 0; i < n; ++i) ++hist[order_key(confidence(rows + i * C_, C_)) >> 16];
  });
  int64_t above = 0;
  const uint32_t high = find_bin(0, &above);
  std::fill(hist.begin(), hist.end(), 0);
  scan([&](int64_t, const float* rows, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t key = order_key(confidence(rows + i * C_, C_));
      if (key >> 16 == high) ++hist[key & 0xFFFFu];
    }
  });
  const uint32_t threshold = (high << 16) | find_bin(above, &above);
  int64_t equal_left = keep - above;  // rows at the threshold to keep, lowest indices first
  std::vector<int64_t> kept;
  kept.reserve(static_cast<size_t>(keep));
  scan([&](int64_t first, const float* rows, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t key = order_key(confidence(rows + i * C_, C_));
      if (key > threshold || (key == threshold && equal_left-- > 0)) kept.push_back(first + i);
    }
  });
  return kept;
}

}  // namespace w2s
