// Token datasets: writing, validating on open, and streaming batches by index.
#include "data/token_dataset.h"

#include <algorithm>
#include <cmath>

#include "core/atomic_file.h"
#include "core/duplicates.h"
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
// Rows per read of a per-example column while open() validates it.
constexpr int64_t kColumnBlock = int64_t{1} << 16;

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

// Refuses a per-example dataset whose shape is not [n] (or [n, cols] when cols > 0).
void require_column_shape(const h5::File& file, const std::string& name, hsize_t n, hsize_t cols = 0) {
  h5::Shape expected = cols ? h5::Shape{n, cols} : h5::Shape{n};
  h5::Shape actual = file.shape(name);
  if (actual != expected)
    throw DataError(file.path(), "dataset '" + name + "' has shape " + shape_str(actual) + ", expected " +
                                     shape_str(expected) + " to match /input_ids");
}

// Calls check(first, values, count) on consecutive blocks of a per-example column, so that
// validating a column of any length holds one block of it.
template <class T, class Check>
void scan_column(const h5::File& file, const std::string& name, int64_t n, int64_t row_size, Check check) {
  std::vector<T> block;
  for (int64_t first = 0; first < n; first += kColumnBlock) {
    const int64_t count = std::min(kColumnBlock, n - first);
    block.resize(static_cast<size_t>(count * row_size));
    file.read_rows<T>(name, static_cast<hsize_t>(first), static_cast<hsize_t>(count), block.data());
    check(first, block.data(), count);
  }
}

// Checks every length and counts the examples of each length.
std::vector<int64_t> scan_lengths(const h5::File& file, const TokenDatasetInfo& info) {
  std::vector<int64_t> counts(static_cast<size_t>(info.max_len) + 1, 0);
  scan_column<int32_t>(file, "/lengths", info.num_examples, 1, [&](int64_t first, const int32_t* v, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      if (v[i] < 1 || v[i] > info.max_len)
        throw DataError(file.path(), strfmt("/lengths[%lld] = %d is outside [1, max_len = %d]",
                                            static_cast<long long>(first + i), v[i], info.max_len));
      ++counts[static_cast<size_t>(v[i])];
    }
  });
  return counts;
}

void scan_labels(const h5::File& file, const TokenDatasetInfo& info) {
  scan_column<int32_t>(file, "/labels", info.num_examples, 1, [&](int64_t first, const int32_t* v, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      if (v[i] < 0 || v[i] >= info.num_classes)
        throw DataError(file.path(), strfmt("/labels[%lld] = %d is outside [0, num_classes = %d)",
                                            static_cast<long long>(first + i), v[i], info.num_classes));
  });
}

void scan_targets(const h5::File& file, const TokenDatasetInfo& info) {
  scan_column<float>(file, "/targets", info.num_examples, 1, [&](int64_t first, const float* v, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(v[i]))
        throw DataError(file.path(), strfmt("/targets[%lld] is not finite", static_cast<long long>(first + i)));
  });
}

void scan_soft_labels(const h5::File& file, const TokenDatasetInfo& info) {
  const int64_t C = info.num_classes;
  scan_column<float>(file, "/soft_labels", info.num_examples, C, [&](int64_t first, const float* v, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      const long long row = static_cast<long long>(first + i);
      double sum = 0;
      for (int64_t c = 0; c < C; ++c) {
        float p = v[i * C + c];
        if (!(p >= 0.0f) || !std::isfinite(p))
          throw DataError(file.path(), strfmt("/soft_labels[%lld] has a negative or non-finite value", row));
        sum += p;
      }
      if (std::fabs(sum - 1.0) > 1e-3) throw DataError(file.path(), strfmt("/soft_labels[%lld] sums to %.6f, not 1", row, sum));
    }
  });
}

// Ids must be unique: w2s analyze matches predictions to examples by id, and a label set
// refuses a repeated id (it would be refused only at training time otherwise).
void refuse_duplicate_ids(const h5::File& file, int64_t n) {
  auto repeated = find_duplicate(n, [&](int64_t first, int64_t count, int64_t* out) {
    file.read_rows<int64_t>("/ids", static_cast<hsize_t>(first), static_cast<hsize_t>(count), out);
  });
  if (repeated) throw DataError(file.path(), strfmt("/ids holds id %lld more than once", static_cast<long long>(*repeated)));
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

  const bool classification = info.task == "classification";
  info.has_soft_labels = file.exists("/soft_labels");
  require_column_shape(file, "/lengths", n);
  require_column_shape(file, "/ids", n);
  require_column_shape(file, classification ? "/labels" : "/targets", n);
  if (info.has_soft_labels) require_column_shape(file, "/soft_labels", n, static_cast<hsize_t>(info.num_classes));

  ds.length_counts_ = scan_lengths(file, info);
  refuse_duplicate_ids(file, info.num_examples);
  if (classification) scan_labels(file, info);
  else scan_targets(file, info);
  if (info.has_soft_labels) scan_soft_labels(file, info);
  return ds;
}

void TokenDataset::read(const std::vector<int64_t>& indices, ExampleBatch& out) const {
  const int64_t N = info_.num_examples;
  const int64_t max_len = info_.max_len;
  for (int64_t index : indices) {
    if (index < 0 || index >= N)
      throw RuntimeError(strfmt("%s: example index %lld out of range [0, %lld)", info_.path.c_str(),
                                static_cast<long long>(index), static_cast<long long>(N)));
  }
  // The batch's per-example values, read for its distinct rows in one read per column.
  std::vector<hsize_t> rows(indices.begin(), indices.end());
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  const size_t R = rows.size(), C = static_cast<size_t>(info_.num_classes);
  std::vector<int32_t> lengths(R), labels;
  std::vector<int64_t> ids(R);
  std::vector<float> targets, soft;
  file_->read_row_set<int32_t>("/lengths", rows, lengths.data());
  file_->read_row_set<int64_t>("/ids", rows, ids.data());
  if (info_.task == "classification") {
    labels.resize(R);
    file_->read_row_set<int32_t>("/labels", rows, labels.data());
  } else {
    targets.resize(R);
    file_->read_row_set<float>("/targets", rows, targets.data());
  }
  if (info_.has_soft_labels) {
    soft.resize(R * C);
    file_->read_row_set<float>("/soft_labels", rows, soft.data());
  }

  out.n = static_cast<int>(indices.size());
  out.T = 0;
  out.lengths.resize(out.n);
  out.ids.resize(out.n);
  out.labels.clear();
  out.targets.clear();
  out.soft.clear();
  for (int i = 0; i < out.n; ++i) {
    const size_t r = static_cast<size_t>(std::lower_bound(rows.begin(), rows.end(), static_cast<hsize_t>(indices[i])) -
                                         rows.begin());
    if (lengths[r] < 1 || lengths[r] > max_len)  // checked by open(); the file may have changed since
      throw DataError(info_.path, strfmt("/lengths[%lld] = %d is outside [1, max_len = %lld]",
                                         static_cast<long long>(indices[i]), lengths[r], static_cast<long long>(max_len)));
    out.lengths[i] = lengths[r];
    out.ids[i] = ids[r];
    out.T = std::max(out.T, lengths[r]);
    if (!labels.empty()) out.labels.push_back(labels[r]);
    if (!targets.empty()) out.targets.push_back(targets[r]);
    if (!soft.empty()) out.soft.insert(out.soft.end(), &soft[r * C], &soft[(r + 1) * C]);
  }
  const int64_t T = out.T;
  out.tokens.assign(static_cast<size_t>(out.n * T), info_.pad_id);

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
    const int64_t run = last - first + 1;
    staged.resize(static_cast<size_t>(run * max_len));
    file_->read_rows<int32_t>("/input_ids", static_cast<hsize_t>(first), static_cast<hsize_t>(run), staged.data());
    for (size_t j = k; j < end; ++j) {
      auto [index, position] = order[j];
      const int32_t* row = &staged[static_cast<size_t>((index - first) * max_len)];
      const int32_t length = out.lengths[static_cast<size_t>(position)];
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

void TokenDataset::read_lengths(int64_t first, int64_t n, int32_t* out) const {
  file_->read_rows<int32_t>("/lengths", static_cast<hsize_t>(first), static_cast<hsize_t>(n), out);
}
void TokenDataset::read_ids(int64_t first, int64_t n, int64_t* out) const {
  file_->read_rows<int64_t>("/ids", static_cast<hsize_t>(first), static_cast<hsize_t>(n), out);
}
void TokenDataset::read_labels(int64_t first, int64_t n, int32_t* out) const {
  file_->read_rows<int32_t>("/labels", static_cast<hsize_t>(first), static_cast<hsize_t>(n), out);
}
void TokenDataset::read_targets(int64_t first, int64_t n, float* out) const {
  file_->read_rows<float>("/targets", static_cast<hsize_t>(first), static_cast<hsize_t>(n), out);
}

std::vector<int64_t> TokenDataset::ids() const { return file_->read<int64_t>("/ids"); }
std::vector<int32_t> TokenDataset::labels() const {
  return info_.task == "classification" ? file_->read<int32_t>("/labels") : std::vector<int32_t>();
}
std::vector<float> TokenDataset::targets() const {
  return info_.task == "regression" ? file_->read<float>("/targets") : std::vector<float>();
}
std::vector<int32_t> TokenDataset::lengths() const { return file_->read<int32_t>("/lengths"); }

const std::string& TokenDataset::sha256() const {
  if (sha256_.empty()) sha256_ = sha256_file(info_.path);
  return sha256_;
}

}  // namespace w2s
