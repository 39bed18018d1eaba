#include "data/tasks/passages.h"

#include <string_view>
#include <unordered_set>

#include "data/tasks/text_util.h"

namespace w2s::tasks {

namespace {

// Words that end with a period without ending a sentence (compared without the period).
const std::unordered_set<std::string>& abbreviations() {
  static const std::unordered_set<std::string> kWords = {
      "mr", "mrs", "ms", "messrs", "dr", "st", "gen", "gov", "sen", "rep", "hon", "jr", "sr", "col", "capt", "lt",
      "maj", "adm", "rev", "prof", "no", "nos", "art", "sec", "ft", "mt", "vs", "co", "inc", "ltd", "jan", "feb",
      "mar", "apr", "jun", "jul", "aug", "sept", "sep", "oct", "nov", "dec", "u.s", "u.s.a", "i.e", "e.g", "viz",
      "cf", "p.m", "a.m", "d.c", "n.y", "ch", "vol", "pp", "approx", "est", "dept", "univ", "assn", "bros"};
  return kWords;
}

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The word that ends at position `dot` (exclusive), without leading quotes/brackets, lower-cased.
std::string word_before(const std::string& text, size_t dot) {
  size_t start = text.rfind(' ', dot == 0 ? 0 : dot - 1);
  start = start == std::string::npos ? 0 : start + 1;
  while (start < dot && (text[start] == '"' || text[start] == '(' || text[start] == '[' || text[start] == '\''))
    ++start;
  return to_lower_ascii(text.substr(start, dot - start));
}

// Length of a closing quote or bracket at i (ASCII, or the UTF-8 right quotes ’ ”), else 0.
size_t closer_length(const std::string& s, size_t i) {
  if (i < s.size() && (s[i] == '"' || s[i] == '\'' || s[i] == ')' || s[i] == ']')) return 1;
  if (s.compare(i, 3, "\xE2\x80\x99") == 0 || s.compare(i, 3, "\xE2\x80\x9D") == 0) return 3;
  return 0;
}

bool starts_sentence(const std::string& s, size_t i) {
  if (i >= s.size()) return false;
  char c = s[i];
  return is_upper(c) || is_digit(c) || c == '"' || c == '\'' || c == '(' || c == '[' ||
         s.compare(i, 3, "\xE2\x80\x9C") == 0 || s.compare(i, 3, "\xE2\x80\x98") == 0;
}

}  // namespace

std::vector<std::string> split_sentences(const std::string& raw) {
  const std::string text = collapse_whitespace(raw);
  std::vector<std::string> sentences;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '.' && c != '!' && c != '?') continue;
    size_t end = i + 1;
    while (size_t n = closer_length(text, end)) end += n;
    if (end >= text.size() || text[end] != ' ' || !starts_sentence(text, end + 1)) continue;
    if (c == '.') {
      std::string word = word_before(text, i);
      bool initial = word.size() == 1 && is_upper(text[i - 1]);
      if (initial || abbreviations().count(word)) continue;
    }
    sentences.push_back(text.substr(start, end - start));
    start = end + 1;
    i = end;
  }
  if (start < text.size()) sentences.push_back(text.substr(start));
  return sentences;
}

std::vector<std::string> make_passages(const std::vector<std::string>& sentences, size_t min_bytes, size_t max_bytes) {
  std::vector<std::string> passages;
  size_t i = 0;
  while (i < sentences.size()) {
    std::string passage;
    size_t j = i;
    while (passage.size() < min_bytes && j < sentences.size()) {
      if (!passage.empty()) passage += ' ';
      passage += sentences[j++];
    }
    if (passage.size() >= min_bytes && passage.size() <= max_bytes) {
      passages.push_back(std::move(passage));
      i = j;
    } else {
      ++i;
    }
  }
  return passages;
}

}  // namespace w2s::tasks
