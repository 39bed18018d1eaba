#include "data/byte_tokenizer.h"

#include "core/error.h"
#include "core/sha256.h"
#include "core/strings.h"

namespace w2s {

namespace {
constexpr const char* kDescription =
    "w2s byte tokenizer v1: token ids 0..255 are the UTF-8 bytes of the text, 256 is <|endoftext|>, "
    "257 is padding; vocab_size 258";
}  // namespace

std::vector<int32_t> ByteTokenizer::encode(std::string_view text) const {
  require_valid_utf8(text, "tokenizer input");
  std::vector<int32_t> ids(text.size());
  for (size_t i = 0; i < text.size(); ++i) ids[i] = static_cast<unsigned char>(text[i]);
  return ids;
}

std::string ByteTokenizer::decode(std::span<const int32_t> ids) const {
  std::string text;
  text.reserve(ids.size());
  for (int32_t id : ids) {
    if (id >= 0 && id < 256) {
      text += static_cast<char>(id);
    } else if (id != kEot && id != kPad) {
      throw DataError("byte decode", strfmt("token id %d is outside the vocabulary [0, %d)", id, vocab_size()));
    }
  }
  return text;
}

std::string ByteTokenizer::sha256() const { return sha256_hex(std::string(kDescription)); }

}  // namespace w2s
