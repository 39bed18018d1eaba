#include "data/bpe_tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/sha256.h"
#include "core/strings.h"

namespace w2s {

namespace {

// GPT-2's bytes_to_unicode(): every byte gets a printable stand-in character so that
// encoder.json and vocab.bpe can be text. Printable Latin-1 bytes stand for themselves; the
// other 68 bytes (controls, space, NBSP, soft hyphen, ...) become U+0100, U+0101, ... in order.
constexpr int kByteAliasLimit = 256 + 68;

std::array<int32_t, 256> byte_aliases() {
  std::array<int32_t, 256> alias{};
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    alias[b] = printable ? b : 256 + extra++;
  }
  return alias;
}

std::string utf8_of(int32_t code_point) {
  std::string s;
  if (code_point < 0x80) {
    s += static_cast<char>(code_point);
  } else {  // aliases are below U+0800: two bytes
    s += static_cast<char>(0xC0 | (code_point >> 6));
    s += static_cast<char>(0x80 | (code_point & 0x3F));
  }
  return s;
}

// A token as written in encoder.json (byte aliases, UTF-8) back to the raw bytes it stands
// for; false if it holds a character that is no byte's alias.
bool unalias(const std::string& text, const std::array<int16_t, kByteAliasLimit>& byte_of, std::string& bytes) {
  bytes.clear();
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    int32_t code_point = -1;
    if (c < 0x80) {
      code_point = c;
      i += 1;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < text.size()) {
      code_point = ((c & 0x1F) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3F);
      i += 2;
    }
    if (code_point < 0 || code_point >= kByteAliasLimit || byte_of[code_point] < 0) return false;
    bytes += static_cast<char>(byte_of[code_point]);
  }
  return true;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

}  // namespace

BpeTokenizer::BpeTokenizer(const std::string& encoder_json_path, const std::string& vocab_bpe_path) {
  const std::string encoder_json = read_text_file(encoder_json_path);
  const std::string vocab_bpe = read_text_file(vocab_bpe_path);
  std::unordered_map<std::string, int32_t> id_of;  // token as written in the files → id
  load_encoder(encoder_json_path, encoder_json, id_of);
  load_merges(vocab_bpe_path, vocab_bpe, id_of);
  // The identity of the vocabulary: both files' bytes, in this order.
  sha256_ = sha256_hex(encoder_json + vocab_bpe);
}

void BpeTokenizer::load_encoder(const std::string& path, const std::string& text,
                                std::unordered_map<std::string, int32_t>& id_of) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path, std::string("not valid JSON: ") + e.what());
  }
  if (!json.is_object() || json.empty()) throw DataError(path, "expected a JSON object {token: id, ...}");

  const auto alias = byte_aliases();
  std::array<int16_t, kByteAliasLimit> byte_of;
  byte_of.fill(-1);
  for (int b = 0; b < 256; ++b) byte_of[alias[b]] = static_cast<int16_t>(b);

  // Ids must be exactly 0..N-1: the embedding table has one row per id.
  const auto size = static_cast<int64_t>(json.size());
  token_bytes_.assign(size, std::string());
  std::vector<bool> seen(size, false);
  for (const auto& [token, value] : json.items()) {
    if (!value.is_number_integer()) throw DataError(path, "token " + quoted(token) + " has an id that is not an integer");
    int64_t id = value.get<int64_t>();
    if (id < 0 || id >= size || seen[id]) {
      throw DataError(path, strfmt("token '%s' has id %lld; ids must be 0..%lld, each once", token.c_str(),
                                   static_cast<long long>(id), static_cast<long long>(size - 1)));
    }
    seen[id] = true;
    if (!unalias(token, byte_of, token_bytes_[id])) {
      throw DataError(path, "token " + quoted(token) + " has a character outside GPT-2's byte alphabet");
    }
    id_of.emplace(token, static_cast<int32_t>(id));
  }

  for (int b = 0; b < 256; ++b) {
    auto it = id_of.find(utf8_of(alias[b]));
    if (it == id_of.end()) throw DataError(path, strfmt("has no token for the single byte 0x%02X", b));
    byte_token_[b] = it->second;
  }
  auto eot = id_of.find("<|endoftext|>");
  if (eot == id_of.end()) throw DataError(path, "has no <|endoftext|> token");
  eot_id_ = eot->second;
}

void BpeTokenizer::load_merges(const std::string& path, const std::string& text,
                               const std::unordered_map<std::string, int32_t>& id_of) {
  std::istringstream lines(text);
  std::string line;
  std::vector<int32_t> made_by(token_bytes_.size(), -1);  // token id → rank of the merge making it
  std::vector<std::pair<int32_t, int>> part_ranks;        // (part id, line) to check below
  for (int line_no = 1; std::getline(lines, line); ++line_no) {
    auto where = [&] { return strfmt("%s:%d", path.c_str(), line_no); };
    if (line_no == 1 && starts_with(line, "#version")) continue;  // header
    std::istringstream fields(line);
    std::string left, right, extra;
    if (!(fields >> left)) continue;  // blank line (the file ends with one)
    if (!(fields >> right) || (fields >> extra)) throw DataError(where(), "expected a merge: two tokens separated by a space");
    auto l = id_of.find(left), r = id_of.find(right), m = id_of.find(left + right);
    if (l == id_of.end() || r == id_of.end() || m == id_of.end()) {
      const std::string& missing = l == id_of.end() ? left : r == id_of.end() ? right : left + right;
      throw DataError(where(), "token " + quoted(missing) + " is not in encoder.json");
    }
    auto rank = static_cast<int32_t>(merges_.size());
    if (!merges_.emplace(pair_key(l->second, r->second), Merge{rank, m->second}).second) {
      throw DataError(where(), "merge " + quoted(left + " " + right) + " appears twice");
    }
    if (made_by[m->second] < 0) made_by[m->second] = rank;
    part_ranks.push_back({l->second, line_no});
    part_ranks.push_back({r->second, line_no});
  }
  if (merges_.empty()) throw DataError(path, "has no merges");

  // merge_word() applies merges in heap order, which equals OpenAI's "all occurrences of the
  // lowest-ranked pair, then look again" only if a merge never uses a token made by a later
  // merge. Real BPE training guarantees it; check it rather than assume it.
  for (size_t i = 0; i < part_ranks.size(); ++i) {
    auto [part, line_no] = part_ranks[i];
    int32_t rank = static_cast<int32_t>(i / 2);
    if (made_by[part] >= rank) {
      throw DataError(strfmt("%s:%d", path.c_str(), line_no),
                      "merge uses a token that only a later merge creates; merges must be in training order");
    }
  }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text) const {
  require_valid_utf8(text, "tokenizer input");
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 1);
  pretokenizer_.split(text, [&](std::string_view word) { encode_word(word, ids); });
  return ids;
}

void BpeTokenizer::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.size() == 1) {
    out.push_back(byte_token_[static_cast<unsigned char>(word[0])]);
    return;
  }
  const bool cacheable = word.size() <= kCacheMaxWordBytes;
  std::string key;
  if (cacheable) {
    key.assign(word);
    std::shared_lock lock(cache_mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  size_t first = out.size();
  merge_word(word, out);
  if (cacheable) {
    std::unique_lock lock(cache_mutex_);
    if (cache_.size() >= kCacheMaxEntries) cache_.clear();
    cache_.emplace(std::move(key), std::vector<int32_t>(out.begin() + static_cast<ptrdiff_t>(first), out.end()));
  }
}

// Byte-pair merging of one word in O(n log n): symbols form a linked list over the word's
// bytes; a min-heap holds candidate pairs ordered by (rank, position). Popping the lowest rank
// and, within it, the leftmost position reproduces OpenAI's loop (merge every occurrence of the
// lowest-ranked pair left to right, then recompute) because a merge only creates pairs of
// higher rank (checked in load_merges). A candidate whose symbols changed since it was pushed
// is stale and skipped: a symbol's id only ever grows into a longer token, so comparing ids
// detects every change.
void BpeTokenizer::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  struct Symbol {
    int32_t id, prev, next;  // id -1: merged into its left neighbour
  };
  struct Candidate {
    int32_t rank, left, left_id, right_id, result;
  };
  const auto n = static_cast<int32_t>(word.size());
  std::vector<Symbol> symbols(n);
  for (int32_t i = 0; i < n; ++i) {
    symbols[i] = {byte_token_[static_cast<unsigned char>(word[i])], i - 1, i + 1 < n ? i + 1 : -1};
  }

  std::vector<Candidate> heap;
  auto pops_later = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
  };
  auto consider = [&](int32_t left) {
    const Symbol& l = symbols[left];
    const Symbol& r = symbols[l.next];
    auto it = merges_.find(pair_key(l.id, r.id));
    if (it == merges_.end()) return;
    heap.push_back({it->second.rank, left, l.id, r.id, it->second.result});
    std::push_heap(heap.begin(), heap.end(), pops_later);
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), pops_later);
    Candidate c = heap.back();
    heap.pop_back();
    Symbol& left = symbols[c.left];
    if (left.id != c.left_id || left.next < 0 || symbols[left.next].id != c.right_id) continue;  // stale
    Symbol& right = symbols[left.next];
    left.id = c.result;
    right.id = -1;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = c.left;
    if (left.prev >= 0) consider(left.prev);
    if (left.next >= 0) consider(c.left);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids) const {
  std::string text;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size()) {
      throw DataError("gpt2 decode", strfmt("token id %d is outside the vocabulary [0, %d)", id, vocab_size()));
    }
    text += token_bytes_[id];
  }
  return text;
}

}  // namespace w2s
