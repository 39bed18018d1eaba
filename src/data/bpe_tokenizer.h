// GPT-2's byte-level BPE tokenizer, token for token the same as OpenAI's encoder
// (gpt-2/src/encoder.py): pre-tokenize with GPT-2's regex, map each word's UTF-8 bytes to
// single-byte tokens, then apply the merges of vocab.bpe lowest rank first.
//
// Internally tokens are ids and merges are keyed by the id pair, so the printable-unicode
// alias of each byte that encoder.json and vocab.bpe use (bytes_to_unicode) is only needed
// while loading.
#pragma once
#include <array>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/gpt2_pretokenizer.h"
#include "data/tokenizer.h"

namespace w2s {

class BpeTokenizer final : public Tokenizer {
 public:
  // Reads both files; a missing, unreadable or malformed file is a DataError naming it.
  BpeTokenizer(const std::string& encoder_json_path, const std::string& vocab_bpe_path);

  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(std::span<const int32_t> ids) const override;
  int32_t vocab_size() const override { return static_cast<int32_t>(token_bytes_.size()); }
  int32_t eot_id() const override { return eot_id_; }
  int32_t pad_id() const override { return eot_id_; }  // GPT-2 has no pad token; rows are masked by length
  std::string kind() const override { return "gpt2"; }
  std::string sha256() const override { return sha256_; }

 private:
  struct Merge {
    int32_t rank;    // line number in vocab.bpe (after the header): lower merges first
    int32_t result;  // id of the merged token
  };
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }

  void load_encoder(const std::string& path, const std::string& text, std::unordered_map<std::string, int32_t>& id_of);
  void load_merges(const std::string& path, const std::string& text,
                   const std::unordered_map<std::string, int32_t>& id_of);
  // Appends the ids of one pre-tokenized word (its raw UTF-8 bytes).
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;

  Gpt2Pretokenizer pretokenizer_;
  std::array<int32_t, 256> byte_token_{};       // byte value → id of its single-byte token
  std::vector<std::string> token_bytes_;        // id → the raw bytes it stands for
  std::unordered_map<uint64_t, Merge> merges_;  // pair_key(left, right) → merge
  int32_t eot_id_ = -1;
  std::string sha256_;

  // word bytes → ids. Shared by all threads calling encode(); bounded: emptied when full.
  // Only short words are cached: they repeat, while long ones (URLs, base64) rarely do.
  static constexpr size_t kCacheMaxEntries = 1 << 16;
  static constexpr size_t kCacheMaxWordBytes = 48;
  mutable std::shared_mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace w2s
