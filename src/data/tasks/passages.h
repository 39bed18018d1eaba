// Sentences and passages of running prose (State of the Union speeches).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace w2s::tasks {

// Sentences of a text, whitespace collapsed. A sentence ends at '.', '!' or '?' (plus any
// closing quotes or brackets) followed by whitespace and then an upper-case letter, a digit or
// an opening quote/bracket — except after a common abbreviation (Mr., Dr., Gen., U.S., ...) or a
// single-letter initial (John F. Kennedy).
std::vector<std::string> split_sentences(const std::string& text);

// Passages of consecutive sentences, joined by single spaces: starting at a sentence, sentences
// are added until the passage holds at least min_bytes; it is kept if it then holds at most
// max_bytes (the next passage starts after it), otherwise the start moves on by one sentence.
// Passages never overlap, and each is a substring of the whitespace-collapsed text.
std::vector<std::string> make_passages(const std::vector<std::string>& sentences, size_t min_bytes, size_t max_bytes);

// The sotu-party task's passages of one speech (300-600 bytes); the corpus cuts speeches the same
// way when it must exclude test passages one by one. Defined in sotu_task.cpp.
constexpr size_t kSotuMinPassageBytes = 300, kSotuMaxPassageBytes = 600;
std::vector<std::string> sotu_passages(const std::string& speech_text);

}  // namespace w2s::tasks
