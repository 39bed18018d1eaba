// The byte-level tokenizer of the small CPU family: a text's UTF-8 bytes are its
// token ids (0..255), plus <|endoftext|> = 256 and a pad token = 257. No files, no merges: at
// tiny widths a 258-row LM head costs almost nothing, where GPT-2's 50257 rows would dominate.
#pragma once
#include "data/tokenizer.h"

namespace w2s {

class ByteTokenizer final : public Tokenizer {
 public:
  static constexpr int32_t kEot = 256;
  static constexpr int32_t kPad = 257;

  std::vector<int32_t> encode(std::string_view text) const override;
  // Ids 0..255 become their bytes; eot and pad render as nothing (they mark document and row
  // ends, not text, so decoding a padded row gives back just its text); any other id is a
  // DataError naming it.
  std::string decode(std::span<const int32_t> ids) const override;
  int32_t vocab_size() const override { return 258; }
  int32_t eot_id() const override { return kEot; }
  int32_t pad_id() const override { return kPad; }
  std::string kind() const override { return "byte"; }
  // There is no vocabulary file, so the identity is the hash of a fixed description of the
  // scheme; change the description if the scheme ever changes.
  std::string sha256() const override;
};

}  // namespace w2s
