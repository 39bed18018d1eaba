#include "w2s/label_shards.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/sha256.h"
#include "core/strings.h"
#include "io/h5.h"

namespace w2s {
namespace {

namespace fs = std::filesystem;
const char* kKind = "label_shard";

bool is_shard_file(const std::string& name) {
  return starts_with(name, "shard-") && ends_with(name, ".h5") && name.find(".tmp.") == std::string::npos;
}

struct ShardContents {
  LabelShardMeta meta;
  int64_t count = 0;
  std::vector<int64_t> ids;
  std::vector<float> probs, logits;
};

// Opens and validates one shard; throws DataError naming the file on any inconsistency.
ShardContents read_shard(const std::string& path, bool with_data) {
  h5::File f = h5::File::open_read(path);
  f.require_kind(kKind);
  ShardContents s;
  s.meta.supervisor_sha256 = f.attr_string("/", "supervisor_sha256");
  s.meta.dataset_sha256 = f.attr_string("/", "dataset_sha256");
  s.meta.shard_index = static_cast<int>(f.attr_int("/", "shard_index"));
  s.meta.num_shards = static_cast<int>(f.attr_int("/", "num_shards"));
  s.meta.temperature = f.attr_double("/", "temperature");
  s.meta.num_classes = static_cast<int>(f.attr_int("/", "num_classes"));
  s.meta.batch = static_cast<int>(f.attr_int("/", "batch"));
  s.count = f.attr_int("/", "count");
  const hsize_t n = static_cast<hsize_t>(s.count), C = static_cast<hsize_t>(s.meta.num_classes);
  if (f.shape("/ids") != h5::Shape{n} || f.shape("/probs") != h5::Shape{n, C} || f.shape("/logits") != h5::Shape{n, C})
    throw DataError(path, "truncated or inconsistent: dataset shapes disagree with count " + std::to_string(n));
  if (with_data) {
    s.ids = f.read<int64_t>("/ids");
    s.probs = f.read<float>("/probs");
    s.logits = f.read<float>("/logits");
    for (size_t i = 0; i < s.probs.size(); ++i)
      if (!std::isfinite(s.probs[i]) || !std::isfinite(s.logits[i]))
        throw DataError(path, "non-finite label values");
  }
  return s;
}

bool same_meta(const LabelShardMeta& a, const LabelShardMeta& b) {
  return a.supervisor_sha256 == b.supervisor_sha256 && a.dataset_sha256 == b.dataset_sha256 &&
         a.shard_index == b.shard_index && a.num_shards == b.num_shards && a.temperature == b.temperature &&
         a.num_classes == b.num_classes && a.batch == b.batch;
}

}  // namespace

std::string label_shard_name(int shard_index, int num_shards) {
  return strfmt("shard-%05d-of-%05d.h5", shard_index, num_shards);
}

void write_label_shard(const std::string& path, const LabelShardMeta& meta, const std::vector<int64_t>& ids,
                       const std::vector<float>& probs, const std::vector<float>& logits) {
  const size_t n = ids.size(), C = static_cast<size_t>(meta.num_classes);
  if (C < 1 || probs.size() != n * C || logits.size() != n * C)
    throw RuntimeError(strfmt("%s: %zu ids but %zu probs / %zu logits for %zu classes", path.c_str(), n, probs.size(),
                              logits.size(), C));
  AtomicOutput out(path);
  {
    h5::File f = h5::File::create(out.temp_path());
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
    f.close();
  }
  out.commit();
}

bool label_shard_matches(const std::string& path, const LabelShardMeta& expected) {
  if (!file_exists(path)) return false;
  try {
    return same_meta(read_shard(path, true).meta, expected);
  } catch (const Error&) {
    return false;
  }
}

void write_label_manifest(const std::string& dir, const LabelShardMeta& common) {
  nlohmann::json shards = nlohmann::json::array();
  int64_t total = 0;
  for (int k = 0; k < common.num_shards; ++k) {
    std::string name = label_shard_name(k, common.num_shards);
    std::string path = dir + "/" + name;
    if (!file_exists(path)) throw RuntimeError(path + ": shard missing; cannot write the manifest");
    ShardContents s = read_shard(path, false);
    shards.push_back({{"file", name}, {"count", s.count}, {"sha256", sha256_file(path)}});
    total += s.count;
  }
  nlohmann::json m = {{"num_shards", common.num_shards},
                      {"num_classes", common.num_classes},
                      {"supervisor_sha256", common.supervisor_sha256},
                      {"dataset_sha256", common.dataset_sha256},
                      {"temperature", common.temperature},
                      {"batch", common.batch},
                      {"total", total},
                      {"shards", shards}};
  write_text_atomic(dir + "/manifest.json", m.dump(2) + "\n");
}

LabelSet LabelSet::open(const std::string& dir) {
  const std::string manifest_path = dir + "/manifest.json";
  if (!file_exists(manifest_path))
    throw DataError(manifest_path, "missing: the label set is incomplete (re-run w2s label)");
  nlohmann::json m;
  try {
    m = nlohmann::json::parse(read_text_file(manifest_path));
  } catch (const nlohmann::json::exception& e) {
    throw DataError(manifest_path, std::string("not valid JSON: ") + e.what());
  }
  LabelSet set;
  set.dir_ = dir;
  LabelShardMeta common;
  std::vector<std::string> listed;
  try {
    common.num_shards = m.at("num_shards").get<int>();
    common.num_classes = m.at("num_classes").get<int>();
    common.supervisor_sha256 = m.at("supervisor_sha256").get<std::string>();
    common.dataset_sha256 = m.at("dataset_sha256").get<std::string>();
    common.temperature = m.at("temperature").get<double>();
    common.batch = m.at("batch").get<int>();
    const auto& shards = m.at("shards");
    if (!shards.is_array() || static_cast<int>(shards.size()) != common.num_shards)
      throw DataError(manifest_path, "lists " + std::to_string(shards.size()) + " shards, expected " +
                                         std::to_string(common.num_shards));
    for (const auto& s : shards) listed.push_back(s.at("file").get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    throw DataError(manifest_path, std::string("missing or malformed field: ") + e.what());
  }
  // No shard file may be present that the manifest does not list.
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (is_shard_file(name) && std::find(listed.begin(), listed.end(), name) == listed.end())
      throw DataError(dir + "/" + name, "extra shard not listed in manifest.json");
  }
  set.num_classes_ = common.num_classes;
  set.temperature_ = common.temperature;
  set.supervisor_sha256_ = common.supervisor_sha256;
  set.dataset_sha256_ = common.dataset_sha256;
  const size_t C = static_cast<size_t>(common.num_classes);
  for (size_t k = 0; k < listed.size(); ++k) {
    const auto& entry = m["shards"][k];
    std::string path = dir + "/" + listed[k];
    if (!file_exists(path)) throw DataError(path, "shard listed in manifest.json is missing");
    if (sha256_file(path) != entry.at("sha256").get<std::string>())
      throw DataError(path, "sha256 differs from manifest.json: tampered or changed since the manifest was written");
    ShardContents s = read_shard(path, true);
    LabelShardMeta expected = common;
    expected.shard_index = static_cast<int>(k);
    if (!same_meta(s.meta, expected))
      throw DataError(path, "attributes (supervisor, dataset, shard index, temperature or classes) disagree with "
                            "manifest.json");
    if (s.count != entry.at("count").get<int64_t>())
      throw DataError(path, "truncated: holds " + std::to_string(s.count) + " labels, manifest.json says " +
                                entry.at("count").dump());
    for (size_t i = 0; i < s.ids.size(); ++i) {
      if (!set.index_.emplace(s.ids[i], set.index_.size()).second)
        throw DataError(path, "example id " + std::to_string(s.ids[i]) + " appears in more than one shard");
      set.probs_.insert(set.probs_.end(), s.probs.begin() + i * C, s.probs.begin() + (i + 1) * C);
      set.logits_.insert(set.logits_.end(), s.logits.begin() + i * C, s.logits.begin() + (i + 1) * C);
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
