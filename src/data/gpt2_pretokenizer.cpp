#include "data/gpt2_pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string>

#include "core/error.h"

namespace w2s {

namespace {

// OpenAI's pattern (gpt-2/src/encoder.py) is
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// run by Python's `regex` module, where \s is exactly the Unicode White_Space property. Every
// engine spells \s differently, so it is written out here as that property's 25 code points:
//   - PCRE2 (even with UCP) also counts U+180E MONGOLIAN VOWEL SEPARATOR, which Unicode 6.3
//     moved out of White_Space;
//   - ECMAScript (the gpt-3-encoder JavaScript port) counts U+FEFF (BOM) and not U+0085 (NEL),
//     so that port splits text containing those two characters differently from OpenAI's
//     encoder. We follow OpenAI; tests/reference/test_tokenizer_js.sh checks against the port
//     with this one class corrected, and that the correction only touches lines with them.
// \p{L} and \p{N} are General_Category classes in every engine; they differ only by the
// Unicode version of the engine's tables. Debian's PCRE2 10.42 has Unicode 14, node 20 has
// Unicode 17: 14,049 code points (CJK extensions H and I, scripts such as Kawi or Garay) are
// letters or numbers there but "other" here, and are split accordingly. (?![^WS]) is \S
// negated: "not followed by a non-space".
#define W2S_WS "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
constexpr const char* kPattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" W2S_WS "\\p{L}\\p{N}]+|[" W2S_WS "]+(?![^" W2S_WS
    "])|[" W2S_WS "]+";
#undef W2S_WS

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

pcre2_code* as_code(void* p) { return static_cast<pcre2_code*>(p); }

}  // namespace

const char* Gpt2Pretokenizer::pattern() { return kPattern; }

Gpt2Pretokenizer::Gpt2Pretokenizer() {
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  // UTF: match code points, not bytes. UCP: Unicode semantics for any class shorthand (the
  // pattern spells its classes out, so this only guards later edits).
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kPattern), PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP, &error, &error_offset, nullptr);
  if (!code) {
    throw RuntimeError("GPT-2 pre-tokenizer: PCRE2 cannot compile the pattern at offset " +
                       std::to_string(error_offset) + ": " + pcre2_message(error));
  }
  code_ = code;
  // JIT is several times faster; without it (e.g. a PCRE2 built without JIT) the interpreter
  // gives the same matches.
  jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
}

Gpt2Pretokenizer::~Gpt2Pretokenizer() { pcre2_code_free(as_code(code_)); }

Gpt2Pretokenizer::MatchScratch::MatchScratch(const Gpt2Pretokenizer& p)
    : data(pcre2_match_data_create_from_pattern(as_code(p.code_), nullptr)) {
  if (!data) throw RuntimeError("GPT-2 pre-tokenizer: out of memory for PCRE2 match data");
}

Gpt2Pretokenizer::MatchScratch::~MatchScratch() { pcre2_match_data_free(static_cast<pcre2_match_data*>(data)); }

bool Gpt2Pretokenizer::next_match(std::string_view text, size_t& offset, MatchScratch& scratch,
                                  std::string_view& piece) const {
  if (offset >= text.size()) return false;
  auto* md = static_cast<pcre2_match_data*>(scratch.data);
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  int rc = jit_ ? pcre2_jit_match(as_code(code_), subject, text.size(), offset, 0, md, nullptr)
                : pcre2_match(as_code(code_), subject, text.size(), offset, PCRE2_NO_UTF_CHECK, md, nullptr);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) throw RuntimeError("GPT-2 pre-tokenizer: PCRE2 match failed: " + pcre2_message(rc));
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(md);
  // Every code point is a space, a letter, a number or "other", so the matches tile the text;
  // a gap or an empty match would mean the pattern was broken by an edit.
  W2S_CHECK(ovector[0] == offset && ovector[1] > offset, "GPT-2 pre-tokenizer matches must tile the text");
  piece = text.substr(offset, ovector[1] - offset);
  offset = ovector[1];
  return true;
}

}  // namespace w2s
