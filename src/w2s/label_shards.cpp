#include "w2s/label_shards.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/sha256.h"
#include "core/strings.h"
#include "io/h5.h"

namespace w2s {
namespace {

namespace fs = std::filesystem;
const char* kKind = "label_shard";
const char* kManifest = "manifest.json";

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

Manifest read_manifest(const std::string& manifest_path) {
  if (!file_exists(manifest_path))
    throw DataError(manifest_path, "missing: the label set is incomplete (re-run w2s label)");
  Manifest m;
  try {
    nlohmann::json j = nlohmann::json::parse(read_text_file(manifest_path));
    m.common.num_shards = j.at("num_shards").get<int>();
    m.common.num_classes = j.at("num_classes").get<int>();
    m.common.supervisor_sha256 = j.at("supervisor_sha256").get<std::string>();
    m.common.dataset_sha256 = j.at("dataset_sha256").get<std::string>();
    m.common.temperature = j.at("temperature").get<double>();
    m.common.batch = j.at("batch").get<int>();
    m.total = j.at("total").get<int64_t>();
    const auto& shards = j.at("shards");
    if (!shards.is_array()) throw DataError(manifest_path, "'shards' is not a list");
    for (const auto& s : shards)
      m.shards.push_back({s.at("file").get<std::string>(), s.at("count").get<int64_t>(), s.at("sha256").get<std::string>()});
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
  const hsize_t n = ids.size(), C = static_cast<hsize_t>(std::max(meta.num_classes, 1));
  f.stamp(kKind);
  f.write<int64_t>("/ids", {n}, ids.data());
  f.write<float>("/probs", {n, C}, probs.data());
  f.write<float>("/logits", {n, C}, logits.data());
  f.set_attr("/", "supervisor_sha256", meta.supervisor_sha256);
  f.set_attr("/", "dataset_sha256", meta.dataset_sha256);
  f.set_attr("/", "shard_index", int64_t{meta.shard_index});
  f.set_attr("/", "num_shards", int64_t{meta.num_shards});
  f.set_attr("/", "temperature", meta.temperature);
  f.set_attr("/", "num_classes", int64_t{meta.num_classes});
  f.set_attr("/", "batch", int64_t{meta.batch});
  f.set_attr("/", "count", static_cast<int64_t>(n));
}

void write_label_shard(const std::string& path, const LabelShardMeta& meta, const std::vector<int64_t>& ids,
                       const std::vector<float>& probs, const std::vector<float>& logits) {
  const size_t n = ids.size(), C = static_cast<size_t>(std::max(meta.num_classes, 0));
  if (C < 1 || probs.size() != n * C || logits.size() != n * C)
    throw RuntimeError(strfmt("%s: %zu ids but %zu probs / %zu logits for %d classes (need ids x classes each)",
                              path.c_str(), n, probs.size(), logits.size(), meta.num_classes));
  if (meta.num_shards < 1 || meta.shard_index < 0 || meta.shard_index >= meta.num_shards)
    throw RuntimeError(strfmt("%s: shard %d of %d is out of range", path.c_str(), meta.shard_index, meta.num_shards));
  // A non-finite label would only be refused later by every reader; refuse it where it arises.
  require_finite(path, "prob", probs.data(), probs.size(), C, ids.data());
  require_finite(path, "logit", logits.data(), logits.size(), C, ids.data());
  AtomicOutput out(path);
  {
    h5::File f = h5::File::create(out.temp_path());
    write_label_shard_contents(f, meta, ids, probs, logits);
    f.close();
  }
  out.commit();
}

std::optional<std::string> verify_label_shard(const std::string& path, const LabelShardMeta& expected) {
  try {
    if (!file_exists(path)) return path + ": missing";
    h5::File f = h5::File::open_read(path);
    ShardHeader h = read_header(f);
    std::string diff = meta_difference(h.meta, expected);
    if (!diff.empty()) return path + ": " + diff;
    std::vector<int64_t> ids = f.read<int64_t>("/ids");
    const size_t C = static_cast<size_t>(h.meta.num_classes);
    require_finite(path, "prob", f.read<float>("/probs").data(), ids.size() * C, C, ids.data());
    require_finite(path, "logit", f.read<float>("/logits").data(), ids.size() * C, C, ids.data());
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
  // Pass 1: verify every shard without reading its labels, so pass 2 can size the arrays once.
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
  const size_t C = static_cast<size_t>(m.common.num_classes), total = static_cast<size_t>(m.total);
  set.probs_.resize(total * C);
  set.logits_.resize(total * C);
  set.index_.reserve(total);

  // Pass 2: read each shard's rows straight into place; ids must be unique across the set.
  std::vector<size_t> first_row;  // first row of each shard, to name the shard that holds a row
  size_t row = 0;
  for (const ManifestEntry& e : m.shards) {
    const std::string path = dir + "/" + e.file;
    const size_t n = static_cast<size_t>(e.count);
    h5::File f = h5::File::open_read(path);
    std::vector<int64_t> ids = f.read<int64_t>("/ids");
    if (ids.size() != n) throw DataError(path, "truncated: /ids changed while the label set was being read");
    float* probs = set.probs_.data() + row * C;
    float* logits = set.logits_.data() + row * C;
    f.read_rows<float>("/probs", 0, n, probs);
    f.read_rows<float>("/logits", 0, n, logits);
    require_finite(path, "prob", probs, n * C, C, ids.data());
    require_finite(path, "logit", logits, n * C, C, ids.data());
    first_row.push_back(row);
    for (size_t i = 0; i < n; ++i, ++row) {
      auto [it, fresh] = set.index_.emplace(ids[i], row);
      if (!fresh) {
        size_t owner = static_cast<size_t>(std::upper_bound(first_row.begin(), first_row.end(), it->second) -
                                           first_row.begin()) - 1;
        throw DataError(path, strfmt("example id %lld appears twice (also in %s)", static_cast<long long>(ids[i]),
                                     m.shards[owner].file.c_str()));
      }
    }
  }
  return set;
}

const float* LabelSet::probs(int64_t id) const {
  auto it = index_.find(id);
  if (it == index_.end()) throw DataError(dir_, "no weak label for example id " + std::to_string(id));
  return probs_.data() + it->second * static_cast<size_t>(num_classes_);
}

const float* LabelSet::logits(int64_t id) const {
  auto it = index_.find(id);
  if (it == index_.end()) throw DataError(dir_, "no weak label for example id " + std::to_string(id));
  return logits_.data() + it->second * static_cast<size_t>(num_classes_);
}

}  // namespace w2s
