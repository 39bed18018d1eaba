#include "io/label_shards.h"

#include <algorithm>
#include <cmath>
#include <climits>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/duplicates.h"
#include "core/error.h"
#include "core/sha256.h"
#include "core/strings.h"
#include "io/h5.h"

namespace w2s {
namespace {

namespace fs = std::filesystem;
const char* kKind = "label_shard";
const char* kManifest = "manifest.json";
// Rows per block when a shard is verified or read back.
constexpr int64_t kScanRows = 16384;

// Rows per chunk of a shard's datasets (about 32 KiB of probabilities); the writer also
// buffers this many rows, so each append writes whole chunks.
size_t chunk_rows(size_t C) { return std::max<size_t>(16, 8192 / std::max<size_t>(C, 1)); }

bool is_shard_file(const std::string& name) {
  return starts_with(name, "shard-") && ends_with(name, ".h5") && name.find(".tmp.") == std::string::npos;
}

// What a shard's root attributes say, checked against its dataset shapes.
struct ShardHeader {
  LabelShardMeta meta;
  int64_t count = 0;
};

ShardHeader read_header(const h5::File& f) {
  f.require_kind(kKind);
  ShardHeader h;
  h.meta.supervisor_sha256 = f.attr_string("/", "supervisor_sha256");
  h.meta.dataset_sha256 = f.attr_string("/", "dataset_sha256");
  h.meta.shard_index = static_cast<int>(f.attr_int("/", "shard_index"));
  h.meta.num_shards = static_cast<int>(f.attr_int("/", "num_shards"));
  h.meta.temperature = f.attr_double("/", "temperature");
  h.meta.num_classes = static_cast<int>(f.attr_int("/", "num_classes"));
  h.meta.batch = static_cast<int>(f.attr_int("/", "batch"));
  h.count = f.attr_int("/", "count");
  if (h.count < 0 || h.meta.num_classes < 1)
    throw DataError(f.path(), strfmt("count %lld / num_classes %d out of range", static_cast<long long>(h.count),
                                     h.meta.num_classes));
  const hsize_t n = static_cast<hsize_t>(h.count), C = static_cast<hsize_t>(h.meta.num_classes);
  if (f.shape("/ids") != h5::Shape{n} || f.shape("/probs") != h5::Shape{n, C} || f.shape("/logits") != h5::Shape{n, C})
    throw DataError(f.path(), "truncated or inconsistent: dataset shapes disagree with count " + std::to_string(n));
  return h;
}

// Index of the first non-finite value in [p, p + n), or n.
size_t first_non_finite(const float* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return i;
  return n;
}

void require_finite(const std::string& path, const char* what, const float* values, size_t n, size_t C,
                    const int64_t* ids) {
  size_t bad = first_non_finite(values, n);
  if (bad < n)
    throw DataError(path, strfmt("non-finite %s (%g) for example id %lld", what, static_cast<double>(values[bad]),
                                 static_cast<long long>(ids[bad / C])));
}

// The first attribute in which `actual` differs from `expected`, as "name is X, expected Y";
// empty when they agree.
std::string meta_difference(const LabelShardMeta& actual, const LabelShardMeta& expected) {
  auto differs = [](const char* name, const std::string& a, const std::string& e) {
    return strfmt("%s is '%s', expected '%s'", name, a.c_str(), e.c_str());
  };
  if (actual.supervisor_sha256 != expected.supervisor_sha256)
    return differs("supervisor_sha256", actual.supervisor_sha256, expected.supervisor_sha256);
  if (actual.dataset_sha256 != expected.dataset_sha256)
    return differs("dataset_sha256", actual.dataset_sha256, expected.dataset_sha256);
  if (actual.shard_index != expected.shard_index || actual.num_shards != expected.num_shards)
    return strfmt("shard is %d of %d, expected %d of %d", actual.shard_index, actual.num_shards,
                  expected.shard_index, expected.num_shards);
  if (actual.temperature != expected.temperature)
    return strfmt("temperature is %g, expected %g", actual.temperature, expected.temperature);
  if (actual.num_classes != expected.num_classes)
    return strfmt("num_classes is %d, expected %d", actual.num_classes, expected.num_classes);
  if (actual.batch != expected.batch) return strfmt("batch is %d, expected %d", actual.batch, expected.batch);
  return "";
}

// A DataError's message without its leading "path: ", for nesting inside another message.
std::string reason_of(const Error& e, const std::string& path) {
  std::string m = e.what();
  return starts_with(m, path + ": ") ? m.substr(path.size() + 2) : m;
}

// Why a shard whose sha256 differs from the manifest's does so, as precisely as the file allows:
// unreadable or short (truncated) or readable with the listed count (changed in place).
std::string sha_mismatch_reason(const std::string& path, int64_t listed_count) {
  const std::string changed = "sha256 differs from manifest.json: tampered or changed since the manifest was written";
  try {
    ShardHeader h = read_header(h5::File::open_read(path));
    if (h.count != listed_count)
      return strfmt("truncated: holds %lld labels, manifest.json lists %lld (%s)", static_cast<long long>(h.count),
                    static_cast<long long>(listed_count), changed.c_str());
  } catch (const Error& e) {
    return "truncated or corrupt: no longer reads as a label shard (" + reason_of(e, path) + "); " + changed;
  }
  return changed;
}

// One manifest entry, validated against the name shard k of N must have.
struct ManifestEntry {
  std::string file;
  int64_t count = 0;
  std::string sha256;
};

struct Manifest {
  LabelShardMeta common;
  int64_t total = 0;
  std::vector<ManifestEntry> shards;
};

// An integer field of the manifest within [lo, hi]. nlohmann's get<int>() of a float converts it
// (undefined behaviour when it does not fit: "num_shards": 1e40) and of a large integer wraps.
int64_t manifest_int(const nlohmann::json& j, const char* key, int64_t lo, int64_t hi, const std::string& path) {
  const nlohmann::json& v = j.at(key);
  if (!v.is_number_integer()) throw DataError(path, strfmt("'%s' is not an integer (%s)", key, v.type_name()));
  const bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(hi)
                                           : v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
  if (!fits)
    throw DataError(path, strfmt("'%s' = %s is out of range [%lld, %lld]", key, v.dump().c_str(),
                                 static_cast<long long>(lo), static_cast<long long>(hi)));
  return v.get<int64_t>();
}

Manifest read_manifest(const std::string& manifest_path) {
  if (!file_exists(manifest_path))
    throw DataError(manifest_path, "missing: the label set is incomplete (re-run w2s label)");
  Manifest m;
  try {
    nlohmann::json j = nlohmann::json::parse(read_text_file(manifest_path));
    constexpr int64_t kIntMax = std::numeric_limits<int>::max(), kInt64Max = std::numeric_limits<int64_t>::max();
    m.common.num_shards = static_cast<int>(manifest_int(j, "num_shards", INT_MIN, kIntMax, manifest_path));
    m.common.num_classes = static_cast<int>(manifest_int(j, "num_classes", INT_MIN, kIntMax, manifest_path));
    m.common.supervisor_sha256 = j.at("supervisor_sha256").get<std::string>();
    m.common.dataset_sha256 = j.at("dataset_sha256").get<std::string>();
    m.common.temperature = j.at("temperature").get<double>();
    m.common.batch = static_cast<int>(manifest_int(j, "batch", INT_MIN, kIntMax, manifest_path));
    m.total = manifest_int(j, "total", INT64_MIN, kInt64Max, manifest_path);
    const auto& shards = j.at("shards");
    if (!shards.is_array()) throw DataError(manifest_path, "'shards' is not a list");
    for (const auto& s : shards)
      m.shards.push_back({s.at("file").get<std::string>(), manifest_int(s, "count", INT64_MIN, kInt64Max, manifest_path),
                          s.at("sha256").get<std::string>()});
  } catch (const nlohmann::json::exception& e) {
    throw DataError(manifest_path, std::string("not a valid label manifest: ") + e.what());
  }
  if (m.common.num_shards < 1 || m.common.num_classes < 1)
    throw DataError(manifest_path, strfmt("num_shards %d / num_classes %d out of range", m.common.num_shards,
                                          m.common.num_classes));
  if (static_cast<int>(m.shards.size()) != m.common.num_shards)
    throw DataError(manifest_path, strfmt("lists %zu shards, expected %d", m.shards.size(), m.common.num_shards));
  int64_t sum = 0;
  for (size_t k = 0; k < m.shards.size(); ++k) {
    const ManifestEntry& e = m.shards[k];
    const std::string expected = label_shard_name(static_cast<int>(k), m.common.num_shards);
    if (e.file != expected)
      throw DataError(manifest_path, strfmt("shard %zu is listed as '%s', expected '%s'", k, e.file.c_str(),
                                            expected.c_str()));
    if (e.count < 0) throw DataError(manifest_path, e.file + ": negative count");
    sum += e.count;
  }
  if (sum != m.total)
    throw DataError(manifest_path, strfmt("total %lld differs from the sum of the shard counts %lld",
                                          static_cast<long long>(m.total), static_cast<long long>(sum)));
  return m;
}

// First pass over a listed shard: present, unchanged since the manifest (sha256), attributes
// as the manifest says, count as listed. Reads no label data.
void verify_listed_shard(const std::string& path, const ManifestEntry& entry, const LabelShardMeta& expected) {
  if (!file_exists(path)) throw DataError(path, "shard listed in manifest.json is missing");
  if (sha256_file(path) != entry.sha256) throw DataError(path, sha_mismatch_reason(path, entry.count));
  ShardHeader h = read_header(h5::File::open_read(path));
  std::string diff = meta_difference(h.meta, expected);
  if (!diff.empty())
    throw DataError(path, "attributes inconsistent with manifest.json and the other shards: " + diff);
  if (h.count != entry.count)
    throw DataError(path, strfmt("holds %lld labels, manifest.json lists %lld: truncated, or manifest.json does "
                                 "not belong to these files",
                                 static_cast<long long>(h.count), static_cast<long long>(entry.count)));
}

// Calls fn(first, ids, probs, logits, n) on consecutive blocks of a shard's rows.
template <class Fn>
void scan_shard(const h5::File& f, int64_t count, size_t C, Fn fn) {
  std::vector<int64_t> ids;
  std::vector<float> probs, logits;
  for (int64_t first = 0; first < count; first += kScanRows) {
    const size_t n = static_cast<size_t>(std::min(kScanRows, count - first));
    ids.resize(n);
    probs.resize(n * C);
    logits.resize(n * C);
    f.read_rows<int64_t>("/ids", static_cast<hsize_t>(first), n, ids.data());
    f.read_rows<float>("/probs", static_cast<hsize_t>(first), n, probs.data());
    f.read_rows<float>("/logits", static_cast<hsize_t>(first), n, logits.data());
    fn(first, ids.data(), probs.data(), logits.data(), n);
  }
}

// Every value of a shard finite (DataError naming the file and the example otherwise).
void require_finite_shard(const h5::File& f, int64_t count, size_t C) {
  scan_shard(f, count, C, [&](int64_t, const int64_t* ids, const float* probs, const float* logits, size_t n) {
    require_finite(f.path(), "prob", probs, n * C, C, ids);
    require_finite(f.path(), "logit", logits, n * C, C, ids);
  });
}

// The shard schema, in one place: stamp and attributes (but `count`), then /ids [n], /probs
// and /logits [n, C] as extendable datasets that rows are appended to, then `count`.
void begin_shard(h5::File& f, const LabelShardMeta& meta) {
  const size_t C = static_cast<size_t>(std::max(meta.num_classes, 1));
  f.stamp(kKind);
  f.create_extendable<int64_t>("/ids", {}, chunk_rows(C));
  f.create_extendable<float>("/probs", {C}, chunk_rows(C));
  f.create_extendable<float>("/logits", {C}, chunk_rows(C));
  f.set_attr("/", "supervisor_sha256", meta.supervisor_sha256);
  f.set_attr("/", "dataset_sha256", meta.dataset_sha256);
  f.set_attr("/", "shard_index", int64_t{meta.shard_index});
  f.set_attr("/", "num_shards", int64_t{meta.num_shards});
  f.set_attr("/", "temperature", meta.temperature);
  f.set_attr("/", "num_classes", int64_t{meta.num_classes});
  f.set_attr("/", "batch", int64_t{meta.batch});
}

void append_shard_rows(h5::File& f, const int64_t* ids, const float* probs, const float* logits, size_t n) {
  f.append_rows<int64_t>("/ids", ids, n);
  f.append_rows<float>("/probs", probs, n);
  f.append_rows<float>("/logits", logits, n);
}

void end_shard(h5::File& f, int64_t count) { f.set_attr("/", "count", count); }

}  // namespace

std::string label_shard_name(int shard_index, int num_shards) {
  return strfmt("shard-%05d-of-%05d.h5", shard_index, num_shards);
}

std::vector<std::string> list_label_shard_files(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (is_shard_file(name)) names.push_back(name);
  }
  if (ec) throw DataError(dir, "cannot list the label directory: " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

void write_label_shard_contents(h5::File& f, const LabelShardMeta& meta, const std::vector<int64_t>& ids,
                                const std::vector<float>& probs, const std::vector<float>& logits) {
  const size_t C = static_cast<size_t>(std::max(meta.num_classes, 1));
  W2S_CHECK(probs.size() == ids.size() * C && logits.size() == ids.size() * C, "ids x classes probs and logits");
  begin_shard(f, meta);
  append_shard_rows(f, ids.data(), probs.data(), logits.data(), ids.size());
  end_shard(f, static_cast<int64_t>(ids.size()));
}

namespace {
// The writer's checks of its metadata, before any file exists.
const LabelShardMeta& checked_meta(const std::string& path, const LabelShardMeta& meta) {
  if (meta.num_classes < 1)
    throw RuntimeError(strfmt("%s: a label shard needs at least one class, not %d", path.c_str(), meta.num_classes));
  if (meta.num_shards < 1 || meta.shard_index < 0 || meta.shard_index >= meta.num_shards)
    throw RuntimeError(strfmt("%s: shard %d of %d is out of range", path.c_str(), meta.shard_index, meta.num_shards));
  return meta;
}
}  // namespace

LabelShardWriter::LabelShardWriter(const std::string& path, const LabelShardMeta& meta)
    : path_(path),
      meta_(checked_meta(path, meta)),
      C_(static_cast<size_t>(meta.num_classes)),
      out_(path),
      file_(h5::File::create(out_.temp_path())) {
  begin_shard(file_, meta_);
}

void LabelShardWriter::append(const int64_t* ids, const float* probs, const float* logits, size_t n) {
  require_finite(path_, "prob", probs, n * C_, C_, ids);
  require_finite(path_, "logit", logits, n * C_, C_, ids);
  ids_.insert(ids_.end(), ids, ids + n);
  probs_.insert(probs_.end(), probs, probs + n * C_);
  logits_.insert(logits_.end(), logits, logits + n * C_);
  count_ += static_cast<int64_t>(n);
  if (ids_.size() >= chunk_rows(C_)) flush();
}

void LabelShardWriter::flush() {
  append_shard_rows(file_, ids_.data(), probs_.data(), logits_.data(), ids_.size());
  ids_.clear();
  probs_.clear();
  logits_.clear();
}

void LabelShardWriter::commit() {
  flush();
  end_shard(file_, count_);
  file_.close();
  out_.commit();
}

void write_label_shard(const std::string& path, const LabelShardMeta& meta, const std::vector<int64_t>& ids,
                       const std::vector<float>& probs, const std::vector<float>& logits) {
  const size_t n = ids.size(), C = static_cast<size_t>(std::max(meta.num_classes, 0));
  if (C < 1 || probs.size() != n * C || logits.size() != n * C)
    throw RuntimeError(strfmt("%s: %zu ids but %zu probs / %zu logits for %d classes (need ids x classes each)",
                              path.c_str(), n, probs.size(), logits.size(), meta.num_classes));
  LabelShardWriter writer(path, meta);
  writer.append(ids.data(), probs.data(), logits.data(), n);
  writer.commit();
}

std::optional<std::string> verify_label_shard(const std::string& path, const LabelShardMeta& expected) {
  try {
    if (!file_exists(path)) return path + ": missing";
    h5::File f = h5::File::open_read(path);
    ShardHeader h = read_header(f);
    std::string diff = meta_difference(h.meta, expected);
    if (!diff.empty()) return path + ": " + diff;
    require_finite_shard(f, h.count, static_cast<size_t>(h.meta.num_classes));
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
}

bool label_shard_matches(const std::string& path, const LabelShardMeta& expected) {
  return !verify_label_shard(path, expected).has_value();
}

void write_label_manifest(const std::string& dir, const LabelShardMeta& common) {
  const int N = common.num_shards;
  if (N < 1) throw RuntimeError(strfmt("%s: cannot write a manifest for %d shards", dir.c_str(), N));
  // Everything named shard-*.h5 must belong to this set: a reader would refuse the set otherwise.
  const std::string suffix = strfmt("-of-%05d.h5", N);
  for (const std::string& name : list_label_shard_files(dir))
    if (!ends_with(name, suffix))
      throw DataError(dir + "/" + name, strfmt("not a shard of this %d-shard set; remove it", N));
  std::vector<std::string> missing;
  for (int k = 0; k < N; ++k)
    if (!file_exists(dir + "/" + label_shard_name(k, N))) missing.push_back(label_shard_name(k, N));
  if (!missing.empty())
    throw RuntimeError(strfmt("%s: cannot write %s: %zu of %d shards missing (%s)", dir.c_str(), kManifest,
                              missing.size(), N, join(missing, ", ").c_str()));

  nlohmann::json shards = nlohmann::json::array();
  int64_t total = 0;
  for (int k = 0; k < N; ++k) {
    const std::string name = label_shard_name(k, N), path = dir + "/" + name;
    LabelShardMeta expected = common;
    expected.shard_index = k;
    if (auto reason = verify_label_shard(path, expected)) throw DataError(dir + "/" + kManifest, "not written: " + *reason);
    const int64_t count = h5::File::open_read(path).attr_int("/", "count");
    shards.push_back({{"file", name}, {"count", count}, {"sha256", sha256_file(path)}});
    total += count;
  }
  nlohmann::json m = {{"num_shards", N},
                      {"num_classes", common.num_classes},
                      {"supervisor_sha256", common.supervisor_sha256},
                      {"dataset_sha256", common.dataset_sha256},
                      {"temperature", common.temperature},
                      {"batch", common.batch},
                      {"total", total},
                      {"shards", shards}};
  write_text_atomic(dir + "/" + kManifest, m.dump(2) + "\n");
}

LabelSet LabelSet::open(const std::string& dir) {
  const Manifest m = read_manifest(dir + "/" + kManifest);
  // No shard file may be present that the manifest does not list (a stale or foreign shard).
  for (const std::string& name : list_label_shard_files(dir)) {
    bool listed = std::any_of(m.shards.begin(), m.shards.end(), [&](const ManifestEntry& e) { return e.file == name; });
    if (!listed) throw DataError(dir + "/" + name, "extra shard not listed in manifest.json");
  }
  // Pass 1: verify every shard without reading its labels.
  for (size_t k = 0; k < m.shards.size(); ++k) {
    LabelShardMeta expected = m.common;
    expected.shard_index = static_cast<int>(k);
    verify_listed_shard(dir + "/" + m.shards[k].file, m.shards[k], expected);
  }

  LabelSet set;
  set.dir_ = dir;
  set.num_classes_ = m.common.num_classes;
  set.temperature_ = m.common.temperature;
  set.supervisor_sha256_ = m.common.supervisor_sha256;
  set.dataset_sha256_ = m.common.dataset_sha256;
  set.first_row_.push_back(0);
  for (const ManifestEntry& e : m.shards) {
    set.paths_.push_back(dir + "/" + e.file);
    set.first_row_.push_back(set.first_row_.back() + e.count);
  }
  // Pass 2: every value finite, a block at a time.
  for (size_t k = 0; k < m.shards.size(); ++k)
    require_finite_shard(set.shard_file(k), m.shards[k].count, static_cast<size_t>(set.num_classes_));
  set.refuse_duplicate_ids();
  return set;
}

void LabelSet::refuse_duplicate_ids() const {
  const int64_t total = first_row_.back();
  auto repeated = find_duplicate(total, [&](int64_t first, int64_t n, int64_t* out) {
    read_rows(first, n, out, nullptr, nullptr);
  });
  if (!repeated) return;
  // Name the shards of its first two occurrences.
  std::vector<size_t> holders;
  std::vector<int64_t> ids;
  for (int64_t first = 0; first < total && holders.size() < 2; first += kScanRows) {
    const int64_t n = std::min(kScanRows, total - first);
    ids.resize(static_cast<size_t>(n));
    read_rows(first, n, ids.data(), nullptr, nullptr);
    for (int64_t i = 0; i < n && holders.size() < 2; ++i)
      if (ids[static_cast<size_t>(i)] == *repeated) holders.push_back(shard_of_row(first + i));
  }
  W2S_CHECK(holders.size() == 2, "a repeated id is found twice");
  throw DataError(paths_[holders[1]], strfmt("example id %lld appears twice (also in %s)", static_cast<long long>(*repeated),
                                             fs::path(paths_[holders[0]]).filename().c_str()));
}

size_t LabelSet::shard_of_row(int64_t row) const {
  return static_cast<size_t>(std::upper_bound(first_row_.begin(), first_row_.end(), row) - first_row_.begin()) - 1;
}

const std::string& LabelSet::path_of_row(int64_t row) const {
  return paths_[std::min(shard_of_row(row), paths_.size() - 1)];
}

const h5::File& LabelSet::shard_file(size_t k) const {
  if (!open_file_ || open_index_ != k) {
    open_file_ = std::make_unique<h5::File>(h5::File::open_read(paths_[k]));
    open_index_ = k;
  }
  return *open_file_;
}

void LabelSet::read_rows(int64_t first, int64_t n, int64_t* ids, float* probs, float* logits) const {
  if (first < 0 || n < 0 || first + n > first_row_.back())
    throw RuntimeError(strfmt("%s: label rows [%lld, %lld) out of range [0, %lld)", dir_.c_str(),
                              static_cast<long long>(first), static_cast<long long>(first + n),
                              static_cast<long long>(first_row_.back())));
  const size_t C = static_cast<size_t>(num_classes_);
  while (n > 0) {
    // Rows may span shards (empty shards included): take what this shard holds, then go on.
    const size_t k = shard_of_row(first);
    const int64_t offset = first - first_row_[k];
    const int64_t m = std::min(n, first_row_[k + 1] - first);
    const h5::File& f = shard_file(k);
    const hsize_t r0 = static_cast<hsize_t>(offset), rows = static_cast<hsize_t>(m);
    if (ids) f.read_rows<int64_t>("/ids", r0, rows, ids);
    if (probs) f.read_rows<float>("/probs", r0, rows, probs);
    if (logits) f.read_rows<float>("/logits", r0, rows, logits);
    first += m;
    n -= m;
    if (ids) ids += m;
    if (probs) probs += m * C;
    if (logits) logits += m * C;
  }
}

void LabelSet::load_index() const {
  if (loaded_) return;
  const size_t C = static_cast<size_t>(num_classes_), total = size();
  std::vector<int64_t> ids(total);
  probs_.resize(total * C);
  logits_.resize(total * C);
  read_rows(0, static_cast<int64_t>(total), ids.data(), probs_.data(), logits_.data());
  index_.reserve(total);
  for (size_t row = 0; row < total; ++row) index_.emplace(ids[row], row);
  loaded_ = true;
}

bool LabelSet::contains(int64_t id) const {
  load_index();
  return index_.count(id) != 0;
}

const float* LabelSet::probs(int64_t id) const {
  load_index();
  auto it = index_.find(id);
  if (it == index_.end()) throw DataError(dir_, "no weak label for example id " + std::to_string(id));
  return probs_.data() + it->second * static_cast<size_t>(num_classes_);
}

const float* LabelSet::logits(int64_t id) const {
  load_index();
  auto it = index_.find(id);
  if (it == index_.end()) throw DataError(dir_, "no weak label for example id " + std::to_string(id));
  return logits_.data() + it->second * static_cast<size_t>(num_classes_);
}

}  // namespace w2s
