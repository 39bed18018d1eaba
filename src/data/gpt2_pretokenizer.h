// GPT-2's pre-tokenization: the regular expression that cuts text into "words" before byte-level
// BPE runs on each word separately. Compiled once with PCRE2 (UTF mode, JIT when available);
// the compiled pattern is shared, so split() may run on many threads at once.
#pragma once
#include <string_view>
#include <vector>

namespace w2s {

class Gpt2Pretokenizer {
 public:
  Gpt2Pretokenizer();
  ~Gpt2Pretokenizer();
  Gpt2Pretokenizer(const Gpt2Pretokenizer&) = delete;
  Gpt2Pretokenizer& operator=(const Gpt2Pretokenizer&) = delete;

  // Calls on_word(piece) for each match, in order; the pieces tile the text exactly. The text
  // must already be valid UTF-8 (the caller checks; PCRE2's own check is skipped for speed).
  template <typename OnWord>
  void split(std::string_view text, OnWord&& on_word) const {
    size_t offset = 0;
    std::string_view piece;
    MatchScratch scratch(*this);
    while (next_match(text, offset, scratch, piece)) on_word(piece);
  }

  // The pattern as compiled (for messages and tests).
  static const char* pattern();

 private:
  // Per-call PCRE2 match data: not shareable between threads, so each split() owns one.
  struct MatchScratch {
    explicit MatchScratch(const Gpt2Pretokenizer& p);
    ~MatchScratch();
    void* data;
  };
  bool next_match(std::string_view text, size_t& offset, MatchScratch& scratch, std::string_view& piece) const;

  void* code_ = nullptr;  // pcre2_code_8 (kept opaque so the header does not pull in pcre2.h)
  bool jit_ = false;
};

}  // namespace w2s
