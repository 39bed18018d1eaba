// The safetensors reader (src/io/safetensors.h): the input is the whole file. An accepted file
// must read every tensor it lists (the header was validated against the data section).
#include "fuzz_util.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace w2s;
  const std::string path = fuzz::scratch_path("model.safetensors");
  fuzz::write_file(path, data, size);
  fuzz::accepts([&] {
    SafetensorsReader reader(path);
    for (const auto& item : reader.tensors()) {
      std::vector<float> values;
      if (!fuzz::accepts([&] { values = reader.read_f32(item.first); })) continue;  // e.g. an integer dtype
      if (static_cast<int64_t>(values.size()) != item.second.numel()) std::abort();
    }
  });
  return 0;
}
