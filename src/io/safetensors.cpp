#include "io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/strings.h"

namespace w2s {
namespace {

constexpr uint64_t kMaxHeader = 100ull << 20;  // 100 MB: anything larger is not a real header

size_t dtype_bytes(const std::string& dtype) {
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL") return 1;
  return 0;
}

uint64_t read_le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

int64_t SafetensorsEntry::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

float half_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ffu) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | mant << 13;  // inf / nan
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  return std::bit_cast<float>(bits);
}

float bf16_to_float(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

SafetensorsReader::SafetensorsReader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
  if (!in_) throw DataError(path, "cannot open safetensors file");
  const uint64_t file_size = std::filesystem::file_size(path);
  unsigned char len_bytes[8];
  if (file_size < 8 || !in_.read(reinterpret_cast<char*>(len_bytes), 8))
    throw DataError(path, "truncated: shorter than the 8-byte header length");
  const uint64_t header_len = read_le64(len_bytes);
  if (header_len > kMaxHeader || header_len > file_size - 8)
    throw DataError(path, strfmt("header length %llu exceeds the file (%llu bytes) or 100 MB",
                                 static_cast<unsigned long long>(header_len), static_cast<unsigned long long>(file_size)));
  std::string header(header_len, '\0');
  in_.read(header.data(), static_cast<std::streamsize>(header_len));
  data_start_ = 8 + header_len;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw DataError(path, "header is not a JSON object");
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, v] : j.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) throw DataError(path, "__metadata__ is not an object");
      for (const auto& [k, s] : v.items()) {
        if (!s.is_string()) throw DataError(path, "__metadata__ value '" + k + "' is not a string");
        metadata_[k] = s.get<std::string>();
      }
      continue;
    }
    SafetensorsEntry e;
    try {
      e.dtype = v.at("dtype").get<std::string>();
      e.shape = v.at("shape").get<std::vector<int64_t>>();
      auto off = v.at("data_offsets").get<std::vector<uint64_t>>();
      if (off.size() != 2) throw DataError(path, "tensor '" + name + "': data_offsets needs 2 values");
      e.begin = off[0];
      e.end = off[1];
    } catch (const nlohmann::json::exception& ex) {
      throw DataError(path, "tensor '" + name + "': missing or malformed field (" + ex.what() + ")");
    }
    size_t width = dtype_bytes(e.dtype);
    if (width == 0) throw DataError(path, "tensor '" + name + "': unknown dtype '" + e.dtype + "'");
    for (int64_t d : e.shape)
      if (d < 0) throw DataError(path, "tensor '" + name + "': negative dimension");
    if (e.end < e.begin || e.end > file_size - data_start_)
      throw DataError(path, strfmt("tensor '%s': data_offsets [%llu, %llu] out of range (data section is %llu bytes)",
                                   name.c_str(), static_cast<unsigned long long>(e.begin),
                                   static_cast<unsigned long long>(e.end),
                                   static_cast<unsigned long long>(file_size - data_start_)));
    if (e.end - e.begin != static_cast<uint64_t>(e.numel()) * width)
      throw DataError(path, strfmt("tensor '%s': %llu bytes for shape of %lld %s values", name.c_str(),
                                   static_cast<unsigned long long>(e.end - e.begin), static_cast<long long>(e.numel()),
                                   e.dtype.c_str()));
    ranges.emplace_back(e.begin, e.end);
    tensors_[name] = e;
  }
  // The data section must be covered exactly: contiguous, non-overlapping, no gaps.
  std::sort(ranges.begin(), ranges.end());
  uint64_t pos = 0;
  for (const auto& [b, e] : ranges) {
    if (b != pos) throw DataError(path, b < pos ? "tensor data ranges overlap" : "gap between tensor data ranges");
    pos = e;
  }
  if (pos != file_size - data_start_)
    throw DataError(path, strfmt("tensor data covers %llu of %llu bytes after the header (truncated or padded file)",
                                 static_cast<unsigned long long>(pos),
                                 static_cast<unsigned long long>(file_size - data_start_)));
}

std::vector<float> SafetensorsReader::read_f32(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw DataError(path_, "tensor '" + name + "' missing");
  const SafetensorsEntry& e = it->second;
  std::vector<char> raw(e.end - e.begin);
  in_.clear();
  in_.seekg(static_cast<std::streamoff>(data_start_ + e.begin));
  if (!in_.read(raw.data(), static_cast<std::streamsize>(raw.size())))
    throw DataError(path_, "tensor '" + name + "': read failed (truncated?)");
  std::vector<float> out(static_cast<size_t>(e.numel()));
  if (e.dtype == "F32") {
    if (!raw.empty()) std::memcpy(out.data(), raw.data(), raw.size());  // an empty tensor has no buffers
  } else if (e.dtype == "F16" || e.dtype == "BF16") {
    for (size_t i = 0; i < out.size(); ++i) {
      uint16_t v;
      std::memcpy(&v, raw.data() + 2 * i, 2);
      out[i] = e.dtype == "F16" ? half_to_float(v) : bf16_to_float(v);
    }
  } else {
    throw DataError(path_, "tensor '" + name + "': dtype " + e.dtype + " is not a floating-point weight type");
  }
  return out;
}

SafetensorsFolder::SafetensorsFolder(const std::string& dir) {
  const std::string single = dir + "/model.safetensors", index = dir + "/model.safetensors.index.json";
  if (file_exists(single)) {
    source_ = single;
    shard_paths_.push_back(single);
    shards_.push_back(std::make_unique<SafetensorsReader>(single));
    for (const auto& [name, entry] : shards_.back()->tensors()) shard_of_[name] = 0;
    return;
  }
  if (!file_exists(index))
    throw DataError(dir, "no model.safetensors and no model.safetensors.index.json (the weights of a Hugging Face model)");
  source_ = index;
  open_shards(dir, index);
}

void SafetensorsFolder::open_shards(const std::string& dir, const std::string& index_path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(index_path));
  } catch (const nlohmann::json::exception& e) {
    throw DataError(index_path, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object() || j["weight_map"].empty())
    throw DataError(index_path, "expected {\"weight_map\": {tensor: shard file, ...}}");
  std::map<std::string, size_t> shard_index;  // shard file name → position in shards_
  for (const auto& [name, file] : j["weight_map"].items()) {
    if (!file.is_string()) throw DataError(index_path, "weight_map['" + name + "'] is not a file name");
    const std::string shard = file.get<std::string>();
    // Shards sit beside the index: a path elsewhere is not part of this model.
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
      throw DataError(index_path, "weight_map['" + name + "'] = '" + shard + "' is not a file name beside the index");
    auto [it, added] = shard_index.emplace(shard, shard_paths_.size());
    if (added) {
      shard_paths_.push_back(dir + "/" + shard);
      if (!file_exists(shard_paths_.back())) throw DataError(index_path, "shard '" + shard + "' not found beside the index");
      shards_.push_back(std::make_unique<SafetensorsReader>(shard_paths_.back()));
    }
    if (!shards_[it->second]->has(name))
      throw DataError(shard_paths_[it->second], "tensor '" + name + "' missing (the index puts it in this shard)");
    shard_of_[name] = it->second;
  }
  for (size_t k = 0; k < shards_.size(); ++k)
    for (const auto& [name, entry] : shards_[k]->tensors()) {
      auto it = shard_of_.find(name);
      if (it == shard_of_.end())
        throw DataError(shard_paths_[k], "tensor '" + name + "' is not in " + index_path + "'s weight_map");
      if (it->second != k)
        throw DataError(shard_paths_[k], "tensor '" + name + "' is also in " + shard_paths_[it->second] +
                                             " (the index names that shard)");
    }
}

const SafetensorsReader& SafetensorsFolder::reader_of(const std::string& name) const {
  auto it = shard_of_.find(name);
  if (it == shard_of_.end()) throw DataError(source_, "tensor '" + name + "' missing");
  return *shards_[it->second];
}

const SafetensorsEntry& SafetensorsFolder::entry(const std::string& name) const {
  return reader_of(name).tensors().at(name);
}

std::vector<float> SafetensorsFolder::read_f32(const std::string& name) const { return reader_of(name).read_f32(name); }

const std::string& SafetensorsFolder::file_of(const std::string& name) const {
  auto it = shard_of_.find(name);
  return it == shard_of_.end() ? source_ : shard_paths_[it->second];
}

std::vector<std::string> SafetensorsFolder::names() const {
  std::vector<std::string> out;
  for (const auto& [name, shard] : shard_of_) out.push_back(name);
  return out;
}

void write_safetensors(const std::string& path, const std::vector<SafetensorsTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + 4 * static_cast<uint64_t>(n)}}};
    offset += 4 * static_cast<uint64_t>(n);
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // align the data section to 8 bytes
  AtomicOutput out(path);
  {
    std::ofstream f(out.temp_path(), std::ios::binary);
    uint64_t len = h.size();
    unsigned char le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(len >> (8 * i));
    f.write(reinterpret_cast<const char*>(le), 8);
    f.write(h.data(), static_cast<std::streamsize>(h.size()));
    for (const auto& t : tensors) {
      int64_t n = 1;
      for (int64_t d : t.shape) n *= d;
      f.write(reinterpret_cast<const char*>(t.data), static_cast<std::streamsize>(4 * n));
    }
    if (!f) throw RuntimeError("write failed: " + out.temp_path());
  }
  out.commit();
}

}  // namespace w2s
