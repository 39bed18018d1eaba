// Token datasets (DESIGN §3): writing, validating on open, and streaming batches by index.
#include "data/token_dataset.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/sha256.h"
#include "core/strings.h"

namespace w2s {

namespace {

constexpr const char* kKind = "token_dataset";
// /input_ids is chunked at about 64 KiB: a random batch then touches little more than its rows.
constexpr hsize_t kChunkBytes = 64 * 1024;
// Most rows one read_rows call fetches, bounding the staging buffer for long index runs.
constexpr int64_t kMaxRunRows = 256;
// Rows staged per write of /input_ids.
constexpr size_t kWriteBlockRows = 1024;

void check_rows(const TokenDatasetInfo& info, const std::vector<TokenizedExample>& rows) {
  const bool classification = info.task == "classification";
  W2S_CHECK(classification || info.task == "regression", "task is classification or regression");
  W2S_CHECK(info.max_len >= 1, "max_len >= 1");
  W2S_CHECK(!classification || info.num_classes >= 2, "classification has num_classes >= 2");
  for (const auto& row : rows) {
    W2S_CHECK(!row.tokens.empty() && static_cast<int64_t>(row.tokens.size()) <= info.max_len,
              strfmt("example %lld has %zu tokens, outside [1, %d]", static_cast<long long>(row.id), row.tokens.size(),
                     info.max_len));
    W2S_CHECK(!classification || (row.label >= 0 && row.label < info.num_classes), "label in range");
    W2S_CHECK(!info.has_soft_labels || static_cast<int>(row.soft.size()) == info.num_classes,
              "every row has num_classes soft labels");
  }
}

void write_input_ids(h5::File& file, const TokenDatasetInfo& info, const std::vector<TokenizedExample>& rows) {
  const size_t T = static_cast<size_t>(info.max_len);
  hsize_t chunk_rows = std::max<hsize_t>(1, kChunkBytes / (T * sizeof(int32_t)));
  file.create_extendable<int32_t>("/input_ids", {T}, chunk_rows);
  std::vector<int32_t> block;
  for (size_t r0 = 0; r0 < rows.size(); r0 += kWriteBlockRows) {
    size_t n = std::min(kWriteBlockRows, rows.size() - r0);
    block.assign(n * T, info.pad_id);
    for (size_t i = 0; i < n; ++i) std::copy(rows[r0 + i].tokens.begin(), rows[r0 + i].tokens.end(), &block[i * T]);
    file.append_rows<int32_t>("/input_ids", block.data(), n);
  }
}

void write_attributes(h5::File& file, const TokenDatasetInfo& info) {
  file.stamp(kKind);
  file.set_attr("/", "task", info.task);
  file.set_attr("/", "num_classes", static_cast<int64_t>(info.num_classes));
  file.set_attr("/", "max_len", static_cast<int64_t>(info.max_len));
  file.set_attr("/", "pad_id", static_cast<int64_t>(info.pad_id));
  file.set_attr("/", "vocab_size", static_cast<int64_t>(info.vocab_size));
  file.set_attr("/", "tokenizer", info.tokenizer);
  file.set_attr("/", "tokenizer_sha256", info.tokenizer_sha256);
  file.set_attr("/", "source_sha256", info.source_sha256);
  file.set_attr("/", "split", info.split);
}

std::string shape_str(const h5::Shape& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  out += "]";
  return out;
}

// A per-example dataset of shape [n] (or [n, cols] when cols > 0), read whole.
template <class T>
std::vector<T> read_column(const h5::File& file, const std::string& name, hsize_t n, hsize_t cols = 0) {
  h5::Shape expected = cols ? h5::Shape{n, cols} : h5::Shape{n};
  h5::Shape actual = file.shape(name);
  if (actual != expected)
    throw DataError(file.path(), "dataset '" + name + "' has shape " + shape_str(actual) + ", expected " +
                                     shape_str(expected) + " to match /input_ids");
  return file.read<T>(name);
}

int32_t int32_attr(const h5::File& file, const std::string& key, int64_t lo, int64_t hi) {
  int64_t v = file.attr_int("/", key);
  if (v < lo || v > hi)
    throw DataError(file.path(), strfmt("attribute '%s' = %lld is out of range [%lld, %lld]", key.c_str(),
                                        static_cast<long long>(v), static_cast<long long>(lo), static_cast<long long>(hi)));
  return static_cast<int32_t>(v);
}

TokenDatasetInfo read_info(const h5::File& file) {
  TokenDatasetInfo info;
  info.path = file.path();
  info.task = file.attr_string("/", "task");
  if (info.task != "classification" && info.task != "regression")
    throw DataError(file.path(), "attribute 'task' is '" + info.task + "', expected classification or regression");
  info.num_classes = int32_attr(file, "num_classes", info.task == "classification" ? 2 : 1,
                                info.task == "classification" ? 1 << 20 : 1);
  info.max_len = int32_attr(file, "max_len", 1, 1 << 24);
  info.pad_id = int32_attr(file, "pad_id", 0, INT32_MAX);
  info.vocab_size = file.has_attr("/", "vocab_size") ? int32_attr(file, "vocab_size", 0, INT32_MAX) : 0;
  info.tokenizer = file.attr_string("/", "tokenizer");
  info.tokenizer_sha256 = file.attr_string("/", "tokenizer_sha256");
  info.source_sha256 = file.attr_string("/", "source_sha256");
  info.split = file.attr_string("/", "split");
  return info;
}

}  // namespace

void write_token_dataset_file(const std::string& path, const TokenDatasetInfo& info,
                              const std::vector<TokenizedExample>& rows) {
  check_rows(info, rows);
  const bool classification = info.task == "classification";
  h5::File file = h5::File::create(path);
  write_input_ids(file, info, rows);
  std::vector<int32_t> lengths, labels;
  std::vector<int64_t> ids;
  std::vector<float> targets, soft;
  for (const auto& row : rows) {
    lengths.push_back(static_cast<int32_t>(row.tokens.size()));
    ids.push_back(row.id);
    if (classification) labels.push_back(row.label);
    else targets.push_back(row.target);
    if (info.has_soft_labels) soft.insert(soft.end(), row.soft.begin(), row.soft.end());
  }
  file.write("/lengths", lengths);
  file.write("/ids", ids);
  if (classification) file.write("/labels", labels);
  else file.write("/targets", targets);
  if (info.has_soft_labels)
    file.write<float>("/soft_labels", {rows.size(), static_cast<hsize_t>(info.num_classes)}, soft.data());
  write_attributes(file, info);
  file.close();
}

void write_token_dataset(const std::string& path, const TokenDatasetInfo& info,
                         const std::vector<TokenizedExample>& rows) {
  AtomicOutput out(path);
  write_token_dataset_file(out.temp_path(), info, rows);
  out.commit();
}

TokenDataset TokenDataset::open(const std::string& path) {
  TokenDataset ds;
  ds.file_ = std::make_shared<h5::File>(h5::File::open_read(path));
  const h5::File& file = *ds.file_;
  file.require_kind(kKind);
  ds.info_ = read_info(file);
  TokenDatasetInfo& info = ds.info_;

  h5::Shape shape = file.shape("/input_ids");
  if (shape.size() != 2 || shape[1] != static_cast<hsize_t>(info.max_len))
    throw DataError(path, strfmt("dataset '/input_ids' must have shape [N, max_len = %d]", info.max_len));
  const hsize_t n = shape[0];
  if (n == 0) throw DataError(path, "holds no examples");
  info.num_examples = static_cast<int64_t>(n);
  std::vector<int32_t> first_row(static_cast<size_t>(info.max_len));
  file.read_rows<int32_t>("/input_ids", 0, 1, first_row.data());  // checks the element type

  ds.lengths_ = read_column<int32_t>(file, "/lengths", n);
  for (size_t i = 0; i < n; ++i) {
    if (ds.lengths_[i] < 1 || ds.lengths_[i] > info.max_len)
      throw DataError(path, strfmt("/lengths[%zu] = %d is outside [1, max_len = %d]", i, ds.lengths_[i], info.max_len));
  }
  ds.ids_ = read_column<int64_t>(file, "/ids", n);
  std::unordered_set<int64_t> seen(ds.ids_.begin(), ds.ids_.end());
  if (seen.size() != n) throw DataError(path, "/ids holds duplicate ids");

  if (info.task == "classification") {
    ds.labels_ = read_column<int32_t>(file, "/labels", n);
    for (size_t i = 0; i < n; ++i) {
      if (ds.labels_[i] < 0 || ds.labels_[i] >= info.num_classes)
        throw DataError(path, strfmt("/labels[%zu] = %d is outside [0, num_classes = %d)", i, ds.labels_[i],
                                     info.num_classes));
    }
  } else {
    ds.targets_ = read_column<float>(file, "/targets", n);
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(ds.targets_[i])) throw DataError(path, strfmt("/targets[%zu] is not finite", i));
    }
  }

  info.has_soft_labels = file.exists("/soft_labels");
  if (info.has_soft_labels) {
    const size_t C = static_cast<size_t>(info.num_classes);
    ds.soft_ = read_column<float>(file, "/soft_labels", n, C);
    for (size_t i = 0; i < n; ++i) {
      double sum = 0;
      for (size_t c = 0; c < C; ++c) {
        float p = ds.soft_[i * C + c];
        if (!(p >= 0.0f) || !std::isfinite(p)) throw DataError(path, strfmt("/soft_labels[%zu] has a negative or non-finite value", i));
        sum += p;
      }
      if (std::fabs(sum - 1.0) > 1e-3) throw DataError(path, strfmt("/soft_labels[%zu] sums to %.6f, not 1", i, sum));
    }
  }
  return ds;
}

void TokenDataset::read(const std::vector<int64_t>& indices, ExampleBatch& out) const {
  const int64_t N = info_.num_examples;
  const int64_t max_len = info_.max_len;
  out.n = static_cast<int>(indices.size());
  out.T = 0;
  for (int64_t index : indices) {
    if (index < 0 || index >= N)
      throw RuntimeError(strfmt("%s: example index %lld out of range [0, %lld)", info_.path.c_str(),
                                static_cast<long long>(index), static_cast<long long>(N)));
    out.T = std::max(out.T, lengths_[index]);
  }
  const int64_t T = out.T;
  const size_t C = static_cast<size_t>(info_.num_classes);
  out.tokens.assign(static_cast<size_t>(out.n * T), info_.pad_id);
  out.lengths.resize(out.n);
  out.ids.resize(out.n);
  out.labels.clear();
  out.targets.clear();
  out.soft.clear();
  for (int i = 0; i < out.n; ++i) {
    int64_t index = indices[i];
    out.lengths[i] = lengths_[index];
    out.ids[i] = ids_[index];
    if (!labels_.empty()) out.labels.push_back(labels_[index]);
    if (!targets_.empty()) out.targets.push_back(targets_[index]);
    if (!soft_.empty()) out.soft.insert(out.soft.end(), &soft_[index * C], &soft_[(index + 1) * C]);
  }

  // Visit the requested rows in file order, reading each run of consecutive indices with one
  // hyperslab read, and copy each row's first `length` tokens to every position that asked for it.
  std::vector<std::pair<int64_t, int>> order;  // (index, position in the batch)
  for (int i = 0; i < out.n; ++i) order.emplace_back(indices[i], i);
  std::sort(order.begin(), order.end());
  std::vector<int32_t> staged;
  size_t k = 0;
  while (k < order.size()) {
    int64_t first = order[k].first, last = first;
    size_t end = k + 1;
    while (end < order.size() && order[end].first <= last + 1 && order[end].first - first < kMaxRunRows) {
      last = order[end].first;
      ++end;
    }
    const int64_t rows = last - first + 1;
    staged.resize(static_cast<size_t>(rows * max_len));
    file_->read_rows<int32_t>("/input_ids", static_cast<hsize_t>(first), static_cast<hsize_t>(rows), staged.data());
    for (size_t j = k; j < end; ++j) {
      auto [index, position] = order[j];
      const int32_t* row = &staged[static_cast<size_t>((index - first) * max_len)];
      const int32_t length = lengths_[index];
      for (int32_t t = 0; t < length; ++t) {
        if (row[t] < 0 || (info_.vocab_size > 0 && row[t] >= info_.vocab_size))
          throw DataError(info_.path, strfmt("/input_ids[%lld, %d] = %d is not a token id (vocab_size %d)",
                                             static_cast<long long>(index), t, row[t], info_.vocab_size));
      }
      std::copy(row, row + length, &out.tokens[static_cast<size_t>(position * T)]);
    }
    k = end;
  }
}

std::vector<int64_t> TokenDataset::ids() const { return ids_; }
std::vector<int32_t> TokenDataset::labels() const { return labels_; }
std::vector<float> TokenDataset::targets() const { return targets_; }
std::vector<int32_t> TokenDataset::lengths() const { return lengths_; }

const std::string& TokenDataset::sha256() const {
  if (sha256_.empty()) sha256_ = sha256_file(info_.path);
  return sha256_;
}

}  // namespace w2s
