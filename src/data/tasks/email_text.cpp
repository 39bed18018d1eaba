#include "data/tasks/email_text.h"

#include <string_view>
#include <utility>
#include <vector>

#include "data/tasks/text_util.h"

namespace w2s::tasks {

namespace {

constexpr size_t kMaxSubjectBytes = 200;
constexpr int kMaxMimeDepth = 8;

// Header fields of one header block, names lower-cased, continuation lines unfolded.
class Headers {
 public:
  explicit Headers(std::string_view block) {
    size_t start = 0;
    while (start < block.size()) {
      size_t end = block.find('\n', start);
      if (end == std::string_view::npos) end = block.size();
      std::string_view line = block.substr(start, end - start);
      start = end + 1;
      if ((line.starts_with(" ") || line.starts_with("\t")) && !fields_.empty()) {
        fields_.back().second += " ";
        fields_.back().second += line;
        continue;
      }
      size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) continue;
      fields_.emplace_back(to_lower_ascii(line.substr(0, colon)), std::string(line.substr(colon + 1)));
    }
  }
  std::string get(const std::string& name) const {
    for (const auto& [key, value] : fields_) {
      if (key == name) return value;
    }
    return "";
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// Does this line start a header block ("Name: value", name made of token characters)?
bool looks_like_header_line(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  for (size_t i = 0; i < colon; ++i) {
    char c = line[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return true;
}

// Splits an entity (message or MIME part) into its header block and body. A part that starts
// with a blank line has no headers; one that does not start with a header line is all body.
std::pair<std::string_view, std::string_view> split_entity(std::string_view entity) {
  if (entity.starts_with("\n")) return {std::string_view(), entity.substr(1)};
  size_t first_end = entity.find('\n');
  if (!looks_like_header_line(entity.substr(0, first_end))) return {std::string_view(), entity};
  size_t blank = entity.find("\n\n");
  if (blank == std::string_view::npos) return {entity, std::string_view()};
  return {entity.substr(0, blank), entity.substr(blank + 2)};
}

std::string media_type(const std::string& content_type) {
  std::string type = collapse_whitespace(to_lower_ascii(content_type.substr(0, content_type.find(';'))));
  return type.empty() ? "text/plain" : type;
}

// The value of a parameter (e.g. boundary) in a Content-Type header, quoted or not.
std::string header_param(const std::string& value, const std::string& name) {
  std::string lower = to_lower_ascii(value);
  size_t pos = lower.find(name + "=");
  if (pos == std::string::npos) return "";
  pos += name.size() + 1;
  if (pos < value.size() && value[pos] == '"') {
    size_t end = value.find('"', pos + 1);
    return value.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
  }
  size_t end = value.find_first_of("; \t", pos);
  return value.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

// The parts of a multipart body: text between "--boundary" lines, the preamble and the epilogue
// after "--boundary--" left out. Empty when no delimiter line is found.
std::vector<std::string_view> split_multipart(std::string_view body, const std::string& boundary) {
  const std::string delimiter = "--" + boundary;
  std::vector<std::string_view> parts;
  bool inside = false;
  size_t part_start = 0, start = 0;
  while (start <= body.size()) {
    size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view line = body.substr(start, end - start);
    if (line.starts_with(delimiter)) {
      if (inside) parts.push_back(body.substr(part_start, start > part_start ? start - part_start - 1 : 0));
      bool closing = line.substr(delimiter.size()).starts_with("--");
      if (closing) return parts;
      inside = true;
      part_start = end + 1;
    }
    if (end == body.size()) break;
    start = end + 1;
  }
  if (inside && part_start < body.size()) parts.push_back(body.substr(part_start));
  return parts;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string decode_quoted_printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '=') {
      out += text[i];
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '\n') {  // soft line break
      ++i;
      continue;
    }
    int hi = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
    int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
    if (hi >= 0 && lo >= 0) {
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += '=';
    }
  }
  return out;
}

bool looks_like_html(const std::string& lower) {
  for (const char* tag : {"<html", "<body", "<br>", "<br/", "<br ", "<p>", "<font", "<table", "<div", "<a href"}) {
    if (lower.find(tag) != std::string::npos) return true;
  }
  return false;
}

bool is_tag_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '/' || c == '!' || c == '?'; }

// Position after the block that starts at `pos` with "<name" (e.g. <style ...>...</style>), or
// npos when no block of that name starts there.
size_t skip_block(const std::string& lower, size_t pos, const std::string& name) {
  if (lower.compare(pos + 1, name.size(), name) != 0) return std::string::npos;
  char after = pos + 1 + name.size() < lower.size() ? lower[pos + 1 + name.size()] : '>';
  if (after != '>' && after != ' ' && after != '\t' && after != '\n') return std::string::npos;
  size_t close = lower.find("</" + name, pos);
  if (close == std::string::npos) return lower.size();
  size_t end = lower.find('>', close);
  return end == std::string::npos ? lower.size() : end + 1;
}

std::string decode_entities(const std::string& text) {
  static const std::pair<const char*, const char*> kNamed[] = {
      {"nbsp", " "}, {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}};
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    size_t semi = text[i] == '&' ? text.find(';', i) : std::string::npos;
    if (semi == std::string::npos || semi - i > 10) {
      out += text[i];
      continue;
    }
    std::string name = to_lower_ascii(text.substr(i + 1, semi - i - 1));
    std::string replacement;
    bool known = false;
    for (const auto& [entity, value] : kNamed) {
      if (name == entity) {
        replacement = value;
        known = true;
      }
    }
    if (!known && name.size() > 1 && name[0] == '#') {
      bool hex = name[1] == 'x';
      const std::string digits = name.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      known = !digits.empty();
      for (char c : digits) {
        int v = hex ? hex_value(c) : (c >= '0' && c <= '9' ? c - '0' : -1);
        if (v < 0 || cp > 0x10FFFF) known = false;
        else cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
      }
      if (known) {
        // Printable code points only; controls (C0, C1) and surrogates become a space.
        bool printable = cp >= 0x20 && cp != 0x7F && !(cp >= 0x80 && cp < 0xA0) && !(cp >= 0xD800 && cp < 0xE000) &&
                         cp <= 0x10FFFF;
        replacement = printable ? utf8_encode(cp) : " ";
      }
    }
    if (!known) {
      out += text[i];
      continue;
    }
    out += replacement;
    i = semi;
  }
  return out;
}

std::string strip_html(const std::string& html) {
  const std::string lower = to_lower_ascii(html);
  std::string out;
  out.reserve(html.size());
  size_t i = 0;
  while (i < html.size()) {
    if (html[i] != '<' || i + 1 >= html.size() || !is_tag_start(html[i + 1])) {
      out += html[i++];
      continue;
    }
    size_t next = std::string::npos;
    if (lower.compare(i, 4, "<!--") == 0) {
      size_t end = lower.find("-->", i + 4);
      next = end == std::string::npos ? html.size() : end + 3;
    }
    for (const char* block : {"style", "script", "head"}) {
      if (next == std::string::npos) next = skip_block(lower, i, block);
    }
    if (next == std::string::npos) {
      size_t end = html.find('>', i);
      next = end == std::string::npos ? html.size() : end + 1;
    }
    out += ' ';
    i = next;
  }
  return decode_entities(out);
}

bool is_base64_line(std::string_view line) {
  if (line.size() < 40) return false;
  for (char c : line) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
    if (!ok) return false;
  }
  return true;
}

bool is_boundary_line(std::string_view line) {
  if (!line.starts_with("--")) return false;
  size_t first = line.find_first_not_of('-');
  if (first == std::string_view::npos) return false;  // a row of dashes is a separator, not MIME
  return line.size() - first >= 10 && line.find_first_of(" \t") == std::string_view::npos;
}

std::string drop_noise_lines(const std::string& text) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (!is_base64_line(line) && !is_boundary_line(line)) {
      out.append(line);
      out += '\n';
    }
    start = end + 1;
  }
  return out;
}

// Appends the readable text of one entity (message or part) to `out`.
void collect_text(const Headers& headers, std::string_view body, int depth, std::vector<std::string>& out) {
  const std::string content_type = headers.get("content-type");
  const std::string type = media_type(content_type);
  const std::string encoding = collapse_whitespace(to_lower_ascii(headers.get("content-transfer-encoding")));

  if (type.starts_with("multipart/") && depth < kMaxMimeDepth) {
    std::string boundary = header_param(content_type, "boundary");
    std::vector<std::string_view> parts = boundary.empty() ? std::vector<std::string_view>{} : split_multipart(body, boundary);
    if (!parts.empty()) {
      std::vector<std::pair<Headers, std::string_view>> entities;
      for (std::string_view part : parts) {
        auto [head, part_body] = split_entity(part);
        entities.emplace_back(Headers(head), part_body);
      }
      if (type == "multipart/alternative") {  // the same content twice: keep one rendering
        const std::pair<Headers, std::string_view>* chosen = nullptr;
        for (const char* preferred : {"text/plain", "text/html"}) {
          for (const auto& entity : entities) {
            if (!chosen && media_type(entity.first.get("content-type")) == preferred) chosen = &entity;
          }
        }
        if (!chosen) chosen = &entities.front();
        collect_text(chosen->first, chosen->second, depth + 1, out);
      } else {
        for (const auto& [part_headers, part_body] : entities) collect_text(part_headers, part_body, depth + 1, out);
      }
      return;
    }
    // A multipart without findable parts: read it as text; the noise filter removes leftovers.
  } else if (!type.starts_with("text/") && !type.starts_with("multipart/")) {
    return;  // attachments, images, ...
  }
  if (encoding == "base64") return;
  std::string text = encoding == "quoted-printable" ? decode_quoted_printable(body) : std::string(body);
  if (type == "text/html" || looks_like_html(to_lower_ascii(text))) text = strip_html(text);
  out.push_back(std::move(text));
}

std::string remove_carriage_returns(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c != '\r') out += c;
  }
  return out;
}

// U+FFFD marks bytes the package could not decode (mostly Asian-charset spam): no information.
std::string remove_replacement_characters(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "\xEF\xBF\xBD") == 0) {
      out += ' ';
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

EmailText clean_email(const std::string& raw, size_t max_body_bytes) {
  const std::string message = remove_carriage_returns(raw);
  size_t blank = message.find("\n\n");
  std::string_view head(message.data(), blank == std::string::npos ? message.size() : blank);
  std::string_view body = blank == std::string::npos ? std::string_view() : std::string_view(message).substr(blank + 2);
  Headers headers(head);

  std::vector<std::string> texts;
  collect_text(headers, body, 0, texts);
  std::string joined;
  for (const auto& t : texts) joined += t + "\n";

  EmailText email;
  auto tidy = [](const std::string& text) {
    return collapse_whitespace(replace_controls(remove_replacement_characters(repair_utf8(text))));
  };
  email.subject = cut_at_word_boundary(tidy(headers.get("subject")), kMaxSubjectBytes);
  email.body = cut_at_word_boundary(tidy(drop_noise_lines(joined)), max_body_bytes);
  return email;
}

std::string email_example_text(const EmailText& email) {
  return (email.subject.empty() ? "Subject:" : "Subject: " + email.subject) + "\n" + email.body;
}

}  // namespace w2s::tasks
