// Small text and file helpers shared by the task converters (spam, sotu-party, corpus).
#pragma once
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace w2s::tasks {

// Every run of whitespace (space, tab, CR, LF, FF, VT) becomes one space; ends trimmed.
std::string collapse_whitespace(std::string_view text);

// Control characters other than \t \n \r become spaces (they are noise in e-mail bodies).
std::string replace_controls(std::string_view text);

// At most max_bytes bytes of text, cut at the last space when one lies in the second half of
// the allowance, otherwise at max_bytes moved back to a UTF-8 character boundary.
std::string cut_at_word_boundary(const std::string& text, size_t max_bytes);

// Valid UTF-8 kept as is; every byte that is not part of a valid sequence is read as Latin-1
// (0xA0-0xFF become their code points, C1 controls 0x80-0x9F are dropped).
std::string repair_utf8(std::string_view bytes);

std::string to_lower_ascii(std::string_view text);

// The UTF-8 bytes of a code point (callers pass valid scalar values: no surrogates, <= 0x10FFFF).
std::string utf8_encode(uint32_t code_point);

// Files in `dir` whose names end with `suffix`, sorted by name (so converters never depend on
// directory order). DataError naming the folder if it is missing.
std::vector<std::string> list_files(const std::string& dir, const std::string& suffix);

// Parses a whole JSON file; DataError naming the file on failure.
nlohmann::json read_json_file(const std::string& path);

// One JSON object per line (keys in insertion order), '\n' after each.
std::string to_jsonl(const std::vector<nlohmann::ordered_json>& rows);

// Writes every (path, content) to its temporary first and renames them all only when every
// write succeeded, so a failure leaves none of them.
void write_files_atomically(const std::vector<std::pair<std::string, std::string>>& files);

// Positions 0..n-1 ordered by a seeded key of (seed, purpose, key_ids[i]): a permutation that
// depends only on the seed and the stable ids, not on how the inputs were listed.
std::vector<size_t> seeded_order(const std::vector<int64_t>& key_ids, uint64_t seed, const std::string& purpose);

}  // namespace w2s::tasks
