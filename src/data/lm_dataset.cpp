// Packed LM datasets: writing, validating on open, and reading windows and documents.
#include "data/lm_dataset.h"

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/sha256.h"
#include "core/strings.h"

namespace w2s {

namespace {

constexpr const char* kKind = "lm_dataset";

int32_t int32_attr(const h5::File& file, const std::string& key) {
  int64_t v = file.attr_int("/", key);
  if (v < 0 || v > INT32_MAX)
    throw DataError(file.path(), strfmt("attribute '%s' = %lld is out of range", key.c_str(), static_cast<long long>(v)));
  return static_cast<int32_t>(v);
}

h5::Shape require_rank1(const h5::File& file, const std::string& name, hsize_t expected_or_0) {
  h5::Shape shape = file.shape(name);
  if (shape.size() != 1) throw DataError(file.path(), "dataset '" + name + "' must be one-dimensional");
  if (expected_or_0 && shape[0] != expected_or_0)
    throw DataError(file.path(), strfmt("dataset '%s' has %llu entries, expected %llu", name.c_str(),
                                        (unsigned long long)shape[0], (unsigned long long)expected_or_0));
  return shape;
}

}  // namespace

void write_lm_dataset(const std::string& path, const LmDatasetInfo& info,
                      const std::vector<std::vector<int32_t>>& documents, const std::vector<int64_t>& doc_ids) {
  W2S_CHECK(documents.size() == doc_ids.size(), "one id per document");
  W2S_CHECK(!documents.empty(), "an LM dataset holds at least one document");
  std::vector<int32_t> tokens;
  std::vector<int64_t> offsets{0};
  for (const auto& doc : documents) {
    tokens.insert(tokens.end(), doc.begin(), doc.end());
    tokens.push_back(info.eot_id);
    offsets.push_back(static_cast<int64_t>(tokens.size()));
  }
  AtomicOutput out(path);
  {
    h5::File file = h5::File::create(out.temp_path());
    file.write("/tokens", tokens);
    file.write("/doc_offsets", offsets);
    file.write("/doc_ids", doc_ids);
    file.stamp(kKind);
    file.set_attr("/", "tokenizer", info.tokenizer);
    file.set_attr("/", "tokenizer_sha256", info.tokenizer_sha256);
    file.set_attr("/", "source_sha256", info.source_sha256);
    file.set_attr("/", "eot_id", static_cast<int64_t>(info.eot_id));
    file.set_attr("/", "vocab_size", static_cast<int64_t>(info.vocab_size));
    file.set_attr("/", "num_documents", static_cast<int64_t>(documents.size()));
    file.close();
  }
  out.commit();
}

LmDataset LmDataset::open(const std::string& path) {
  LmDataset ds;
  ds.file_ = std::make_shared<h5::File>(h5::File::open_read(path));
  const h5::File& file = *ds.file_;
  file.require_kind(kKind);
  LmDatasetInfo& info = ds.info_;
  info.path = path;
  info.tokenizer = file.attr_string("/", "tokenizer");
  info.tokenizer_sha256 = file.attr_string("/", "tokenizer_sha256");
  info.source_sha256 = file.attr_string("/", "source_sha256");
  info.eot_id = int32_attr(file, "eot_id");
  info.vocab_size = file.has_attr("/", "vocab_size") ? int32_attr(file, "vocab_size") : 0;
  int64_t D = file.attr_int("/", "num_documents");
  if (D < 1) throw DataError(path, strfmt("attribute 'num_documents' = %lld; an LM dataset needs at least one", (long long)D));
  info.num_documents = D;

  info.num_tokens = static_cast<int64_t>(require_rank1(file, "/tokens", 0)[0]);
  require_rank1(file, "/doc_offsets", static_cast<hsize_t>(D + 1));
  require_rank1(file, "/doc_ids", static_cast<hsize_t>(D));
  int32_t probe = 0;
  if (info.num_tokens > 0) file.read_rows<int32_t>("/tokens", 0, 1, &probe);  // checks the element type

  // Offsets start at 0, grow strictly (every document ends with its eot) and end at num_tokens.
  ds.doc_offsets_ = file.read<int64_t>("/doc_offsets");
  const auto& off = ds.doc_offsets_;
  if (off.front() != 0 || off.back() != info.num_tokens)
    throw DataError(path, strfmt("/doc_offsets must run from 0 to the token count %lld", (long long)info.num_tokens));
  for (int64_t d = 0; d < D; ++d) {
    if (off[d + 1] <= off[d])
      throw DataError(path, strfmt("/doc_offsets is not strictly increasing at document %lld", (long long)d));
  }
  if (info.vocab_size > 0 && info.eot_id >= info.vocab_size)
    throw DataError(path, strfmt("eot_id %d is not below vocab_size %d", info.eot_id, info.vocab_size));
  return ds;
}

void LmDataset::check_token_ids(const int32_t* ids, int64_t n, int64_t first) const {
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || (info_.vocab_size > 0 && ids[i] >= info_.vocab_size))
      throw DataError(info_.path, strfmt("/tokens[%lld] = %d is not a token id (vocab_size %d)",
                                         static_cast<long long>(first + i), ids[i], info_.vocab_size));
  }
}

void LmDataset::read_window(int64_t k, int T, int32_t* inputs, int32_t* targets) const {
  if (T < 1 || k < 0 || k >= num_windows(T))
    throw RuntimeError(strfmt("%s: window %lld of length %d is out of range (%lld windows)", info_.path.c_str(),
                              static_cast<long long>(k), T, static_cast<long long>(num_windows(T))));
  std::vector<int32_t> buffer(static_cast<size_t>(T) + 1);
  const int64_t first = k * T;
  file_->read_rows<int32_t>("/tokens", static_cast<hsize_t>(first), static_cast<hsize_t>(T) + 1, buffer.data());
  check_token_ids(buffer.data(), T + 1, first);
  std::copy(buffer.begin(), buffer.begin() + T, inputs);
  std::copy(buffer.begin() + 1, buffer.end(), targets);
}

std::vector<int64_t> LmDataset::doc_offsets() const { return doc_offsets_; }

std::vector<int64_t> LmDataset::doc_ids() const { return file_->read<int64_t>("/doc_ids"); }

std::vector<int32_t> LmDataset::read_document(int64_t d) const {
  if (d < 0 || d >= info_.num_documents)
    throw RuntimeError(strfmt("%s: document %lld out of range [0, %lld)", info_.path.c_str(), static_cast<long long>(d),
                              static_cast<long long>(info_.num_documents)));
  const int64_t begin = doc_offsets_[d], end = doc_offsets_[d + 1];
  std::vector<int32_t> doc(static_cast<size_t>(end - begin));
  file_->read_rows<int32_t>("/tokens", static_cast<hsize_t>(begin), static_cast<hsize_t>(end - begin), doc.data());
  check_token_ids(doc.data(), end - begin, begin);
  if (doc.back() != info_.eot_id)
    throw DataError(info_.path, strfmt("document %lld does not end with eot_id %d", static_cast<long long>(d), info_.eot_id));
  return doc;
}

const std::string& LmDataset::sha256() const {
  if (sha256_.empty()) sha256_ = sha256_file(info_.path);
  return sha256_;
}

}  // namespace w2s
