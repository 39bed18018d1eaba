// Tokenizer decode of arbitrary ids (and encode of arbitrary bytes): the first byte picks the
// tokenizer (byte, or GPT-2's BPE when its vocabulary is in the w2s cache), the rest is read
// as little-endian int32 ids to decode and, as-is, as text to encode. Contracts checked: an
// out-of-range id is a DataError; encode(text) of valid UTF-8 decodes back to the same bytes.
#include <filesystem>
#include <memory>

#include "data/tokenizer.h"
#include "fuzz_util.h"

namespace {
const w2s::Tokenizer* tokenizer(int which) {
  static std::unique_ptr<w2s::Tokenizer> byte = w2s::load_tokenizer("byte");
  static std::unique_ptr<w2s::Tokenizer> gpt2 = [] {
    std::unique_ptr<w2s::Tokenizer> t;
    try {
      t = w2s::load_tokenizer("gpt2");
    } catch (const w2s::Error& e) {
      std::fprintf(stderr, "fuzz_tokenizer: GPT-2 vocabulary unavailable (%s); fuzzing the byte tokenizer only\n",
                   e.what());
    }
    return t;
  }();
  return which == 1 && gpt2 ? gpt2.get() : byte.get();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace w2s;
  fuzz::Bytes in(data, size);
  const Tokenizer* tok = tokenizer(in.byte() & 1);
  const std::string_view rest = in.rest();

  std::vector<int32_t> ids(rest.size() / 4);
  if (!ids.empty()) std::memcpy(ids.data(), rest.data(), ids.size() * 4);
  bool in_range = true;
  for (int32_t id : ids) in_range = in_range && id >= 0 && id < tok->vocab_size();
  const bool decoded = fuzz::accepts([&] { (void)tok->decode(ids); });
  if (decoded != in_range) std::abort();  // refuse exactly the out-of-range ids

  std::vector<int32_t> encoded;
  if (!fuzz::accepts([&] { encoded = tok->encode(rest); })) return 0;  // invalid UTF-8
  for (int32_t id : encoded)
    if (id < 0 || id >= tok->vocab_size()) std::abort();
  if (tok->decode(encoded) != rest) std::abort();  // byte-level BPE is lossless
  return 0;
}
