// The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of
// JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, …, "__metadata__": {…}},
// then the raw little-endian tensor bytes (offsets relative to the data section). A reader and
// writer of our own (the format is small); the reader validates everything and refuses an
// inconsistent file with a reason naming the file and the tensor.
#pragma once
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace w2s {

struct SafetensorsEntry {
  std::string dtype;             // "F32", "F16", "BF16", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;   // byte offsets in the data section
  int64_t numel() const;
};

class SafetensorsReader {
 public:
  // Parses and validates the header (offsets in range, contiguous, non-overlapping, covering
  // the data section exactly, sizes matching shape × dtype). DataError naming the file otherwise.
  explicit SafetensorsReader(const std::string& path);
  const std::map<std::string, SafetensorsEntry>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  // One tensor converted to fp32 (F32, F16 and BF16 are supported), read on demand.
  std::vector<float> read_f32(const std::string& name) const;

 private:
  std::string path_;
  uint64_t data_start_ = 0;
  std::map<std::string, SafetensorsEntry> tensors_;
  std::map<std::string, std::string> metadata_;
  mutable std::ifstream in_;
};

// A model's weights in a Hugging Face folder: DIR/model.safetensors, else the shards that
// DIR/model.safetensors.index.json lists ({"weight_map": {tensor: "model-0000K-of-0000N.safetensors"}},
// how large models such as GPT-2 XL ship). The index and the shards must agree exactly: every
// tensor the index names is in its shard, every shard tensor is named by the index for that
// shard, no name is in two shards; otherwise a DataError naming the index or the shard.
class SafetensorsFolder {
 public:
  explicit SafetensorsFolder(const std::string& dir);
  // The file the weights were read from: model.safetensors or the index.
  const std::string& source() const { return source_; }
  bool has(const std::string& name) const { return shard_of_.count(name) != 0; }
  const SafetensorsEntry& entry(const std::string& name) const;
  std::vector<float> read_f32(const std::string& name) const;
  // The shard (or single file) holding a tensor, for messages.
  const std::string& file_of(const std::string& name) const;
  std::vector<std::string> names() const;
  size_t shard_count() const { return shards_.size(); }

 private:
  const SafetensorsReader& reader_of(const std::string& name) const;
  void open_shards(const std::string& dir, const std::string& index_path);

  std::string source_;
  std::vector<std::string> shard_paths_;
  std::vector<std::unique_ptr<SafetensorsReader>> shards_;
  std::map<std::string, size_t> shard_of_;
};

struct SafetensorsTensor {
  std::string name;
  std::vector<int64_t> shape;
  const float* data;  // fp32, numel(shape) values
};

// Writes F32 tensors (in the given order) atomically.
void write_safetensors(const std::string& path, const std::vector<SafetensorsTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// IEEE half and bfloat16 to float.
float half_to_float(uint16_t h);
float bf16_to_float(uint16_t b);

}  // namespace w2s
