// The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of
// JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, …, "__metadata__": {…}},
// then the raw little-endian tensor bytes (offsets relative to the data section). A reader and
// writer of our own (the format is small); the reader validates everything and refuses an
// inconsistent file with a reason naming the file and the tensor.
#pragma once
#include <cstdint>
#include <fstream>
#include <map>
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
