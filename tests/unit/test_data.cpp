// Data preparation: the JSONL reader and its errors, token and LM datasets (round trips,
// compaction, validation on open), the A/B split, and the task converters' text rules.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/jsonl.h"
#include "data/lm_dataset.h"
#include "data/prepare.h"
#include "data/tasks/email_text.h"
#include "data/tasks/passages.h"
#include "data/tasks/text_matcher.h"
#include "data/tasks/text_util.h"
#include "data/token_dataset.h"
#include "data/tokenizer.h"
#include "io/h5.h"
#include "test_util.h"
#include "tiny_data.h"

using namespace w2s;

namespace {

using test::expect_error;

// Writes `text` to a JSONL file and expects reading it to fail naming FILE:line and `what`.
void expect_jsonl_error(const std::string& text, int line, const std::string& what, JsonlOptions options = {}) {
  test::TempDir dir;
  const std::string path = dir.file("bad.jsonl");
  test::write_file(path, text);
  expect_error([&] { read_jsonl(path, options); }, ExitCode::Data, {path + ":" + std::to_string(line) + ":", what});
}

std::vector<TokenizedExample> make_rows(int n, int max_len, int num_classes, bool soft) {
  std::vector<TokenizedExample> rows;
  for (int i = 0; i < n; ++i) {
    TokenizedExample row;
    row.id = 1000 + 7 * i;
    int length = 1 + (i * 13) % max_len;
    for (int t = 0; t < length; ++t) row.tokens.push_back((i * 31 + t) % 250);
    row.label = i % num_classes;
    if (soft) {
      row.soft.assign(static_cast<size_t>(num_classes), 0.0f);
      row.soft[static_cast<size_t>(row.label)] = 1.0f;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

TokenDatasetInfo make_info(int max_len, int num_classes, bool soft) {
  TokenDatasetInfo info = test::byte_dataset_info(max_len, num_classes, "train_a");
  info.has_soft_labels = soft;
  return info;
}

}  // namespace

// ---- JSONL ----------------------------------------------------------------------------------

TEST(Jsonl, ReadsFieldsDefaultsIdsAndSkipsBlankLines) {
  test::TempDir dir;
  const std::string path = dir.file("ok.jsonl");
  test::write_file(path,
                   "\xEF\xBB\xBF{\"txt\": \"first\", \"hard_label\": 1, \"extra\": [1, 2]}\n"
                   "\n   \n"
                   "{\"txt\": \"second\", \"hard_label\": 0}\r\n"
                   "{\"txt\": \"caf\\u00e9\", \"hard_label\": 2, \"id\": 99}\n");
  JsonlOptions options;
  options.num_classes = 3;
  auto rows = read_jsonl(path, options);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].txt, "first");
  EXPECT_EQ(rows[0].id, 0);  // index among data lines, not the file line
  EXPECT_EQ(rows[1].id, 1);
  EXPECT_EQ(rows[1].line, 4);
  EXPECT_EQ(rows[1].label, 0);
  EXPECT_EQ(rows[2].id, 99);
  EXPECT_EQ(rows[2].txt, "caf\xC3\xA9");
  EXPECT_TRUE(rows[0].soft.empty());
}

TEST(Jsonl, SoftLabelsRegressionAndText) {
  test::TempDir dir;
  test::write_file(dir.file("soft.jsonl"), "{\"txt\": \"a\", \"hard_label\": 1, \"soft_label\": [0.25, 0.75]}\n"
                                           "{\"txt\": \"b\", \"hard_label\": 0, \"soft_label\": [1, 0]}\n");
  auto soft = read_jsonl(dir.file("soft.jsonl"), {});
  EXPECT_EQ(soft[0].soft, (std::vector<float>{0.25f, 0.75f}));

  test::write_file(dir.file("reg.jsonl"), "{\"txt\": \"a\", \"target\": -1.5}\n{\"txt\": \"b\", \"target\": 3}\n");
  JsonlOptions regression;
  regression.task = JsonlTask::Regression;
  auto reg = read_jsonl(dir.file("reg.jsonl"), regression);
  EXPECT_FLOAT_EQ(reg[0].target, -1.5f);
  EXPECT_FLOAT_EQ(reg[1].target, 3.0f);

  test::write_file(dir.file("text.jsonl"), "{\"txt\": \"doc one\"}\n{\"txt\": \"doc two\", \"source\": \"x\"}\n");
  JsonlOptions text;
  text.task = JsonlTask::Text;
  EXPECT_EQ(read_jsonl(dir.file("text.jsonl"), text).size(), 2u);
  expect_jsonl_error("{\"txt\": \"a\", \"target\": \"high\"}\n", 1, "'target' must be a number", regression);
  expect_jsonl_error("{\"txt\": \"a\"}\n", 1, "missing field 'target'", regression);
}

TEST(Jsonl, MalformedJsonNamesFileAndLine) {
  expect_jsonl_error("{\"txt\": \"a\", \"hard_label\": 0}\n{\"txt\": \"b\", \"hard_label\": 1\n", 2, "malformed JSON");
  expect_jsonl_error("[1, 2]\n", 1, "expected a JSON object");
}

TEST(Jsonl, MissingFields) {
  expect_jsonl_error("{\"txt\": \"a\", \"hard_label\": 0}\n\n{\"hard_label\": 1}\n", 3, "missing field 'txt'");
  expect_jsonl_error("{\"txt\": \"a\"}\n", 1, "missing field 'hard_label'");
}

TEST(Jsonl, WrongTypes) {
  expect_jsonl_error("{\"txt\": 5, \"hard_label\": 0}\n", 1, "'txt' must be a string");
  expect_jsonl_error("{\"txt\": \"a\", \"hard_label\": \"1\"}\n", 1, "'hard_label' must be an integer");
  expect_jsonl_error("{\"txt\": \"a\", \"hard_label\": 1.5}\n", 1, "'hard_label' must be an integer");
  expect_jsonl_error("{\"txt\": \"a\", \"hard_label\": 1, \"id\": \"x7\"}\n", 1, "'id' must be an integer");
  expect_jsonl_error("{\"txt\": \"a\", \"hard_label\": 1, \"soft_label\": 0.5}\n", 1, "'soft_label' must be an array");
}

TEST(Jsonl, LabelOutOfRange) {
  expect_jsonl_error("{\"txt\": \"a\", \"hard_label\": 2}\n", 1, "hard_label 2 is out of range [0, 2)");
  expect_jsonl_error("{\"txt\": \"a\", \"hard_label\": 0}\n{\"txt\": \"b\", \"hard_label\": -1}\n", 2, "out of range");
}

TEST(Jsonl, BadSoftLabels) {
  expect_jsonl_error("{\"txt\": \"a\", \"hard_label\": 1, \"soft_label\": [0.2, 0.3, 0.5]}\n", 1, "has 3 values");
  expect_jsonl_error("{\"txt\": \"a\", \"hard_label\": 1, \"soft_label\": [-0.5, 1.5]}\n", 1, "negative");
  expect_jsonl_error("{\"txt\": \"a\", \"hard_label\": 1, \"soft_label\": [0.5, 0.6]}\n", 1, "sums to 1.1");
  expect_jsonl_error("{\"txt\": \"a\", \"hard_label\": 1, \"soft_label\": [0.5, 0.5]}\n{\"txt\": \"b\", \"hard_label\": 1}\n",
                     2, "soft_label is missing here");
}

TEST(Jsonl, DuplicateIds) {
  expect_jsonl_error("{\"txt\": \"a\", \"hard_label\": 1, \"id\": 5}\n{\"txt\": \"b\", \"hard_label\": 0, \"id\": 5}\n", 2,
                     "duplicate id 5 (first on line 1)");
  // An explicit id may collide with a defaulted one (the index among data lines).
  expect_jsonl_error("{\"txt\": \"a\", \"hard_label\": 1}\n{\"txt\": \"b\", \"hard_label\": 0, \"id\": 0}\n", 2,
                     "duplicate id 0");
}

TEST(Jsonl, InvalidUtf8) {
  expect_jsonl_error("{\"txt\": \"ok\", \"hard_label\": 1}\n{\"txt\": \"bad \xC3\x28 byte\", \"hard_label\": 1}\n", 2,
                     "invalid UTF-8");
  expect_jsonl_error("{\"txt\": \"\xED\xA0\x80\", \"hard_label\": 1}\n", 1, "invalid UTF-8");  // encoded surrogate
}

TEST(Jsonl, EmptyFileNamesTheFile) {
  test::TempDir dir;
  for (const char* content : {"", "\n\n  \n"}) {
    const std::string path = dir.file("empty.jsonl");
    test::write_file(path, content);
    expect_error([&] { read_jsonl(path, {}); }, ExitCode::Data, {path, "no examples"});
  }
  expect_error([&] { read_jsonl(dir.file("absent.jsonl"), {}); }, ExitCode::Data, {dir.file("absent.jsonl")});
}

// ---- token datasets ---------------------------------------------------------------------------

TEST(TokenDataset, RoundTripAndCompaction) {
  test::TempDir dir;
  const std::string path = dir.file("ds.h5");
  auto rows = make_rows(40, 24, 3, /*soft=*/true);
  write_token_dataset(path, make_info(24, 3, true), rows);
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << "temporary left: " << e.path();

  TokenDataset ds = TokenDataset::open(path);
  EXPECT_EQ(ds.size(), 40);
  EXPECT_EQ(ds.info().max_len, 24);
  EXPECT_EQ(ds.info().num_classes, 3);
  EXPECT_EQ(ds.info().pad_id, 257);
  EXPECT_EQ(ds.info().tokenizer, "byte");
  EXPECT_EQ(ds.info().split, "train_a");
  EXPECT_TRUE(ds.info().has_soft_labels);
  EXPECT_EQ(ds.ids()[3], rows[3].id);
  EXPECT_EQ(ds.labels()[5], rows[5].label);
  EXPECT_EQ(ds.lengths()[7], static_cast<int32_t>(rows[7].tokens.size()));
  EXPECT_EQ(ds.sha256().size(), 64u);

  // Any order, repeats allowed; T is the longest example in the batch, not max_len.
  std::vector<int64_t> indices = {5, 2, 5, 39, 3};
  ExampleBatch batch;
  ds.read(indices, batch);
  size_t longest = 0;
  for (int64_t i : indices) longest = std::max(longest, rows[static_cast<size_t>(i)].tokens.size());
  ASSERT_EQ(batch.n, 5);
  ASSERT_EQ(batch.T, static_cast<int>(longest));
  ASSERT_LT(batch.T, 24);
  for (int b = 0; b < batch.n; ++b) {
    const auto& row = rows[static_cast<size_t>(indices[b])];
    EXPECT_EQ(batch.ids[b], row.id);
    EXPECT_EQ(batch.labels[b], row.label);
    EXPECT_EQ(batch.lengths[b], static_cast<int32_t>(row.tokens.size()));
    EXPECT_EQ(batch.soft[b * 3 + row.label], 1.0f);
    for (int t = 0; t < batch.T; ++t) {
      int32_t expected = t < static_cast<int>(row.tokens.size()) ? row.tokens[t] : 257;
      EXPECT_EQ(batch.tokens[b * batch.T + t], expected) << "example " << b << " position " << t;
    }
  }
}

TEST(TokenDataset, LongRunsAndRegression) {
  test::TempDir dir;
  const std::string path = dir.file("reg.h5");
  auto rows = make_rows(700, 8, 2, false);
  for (size_t i = 0; i < rows.size(); ++i) rows[i].target = 0.5f * static_cast<float>(i);
  TokenDatasetInfo info = make_info(8, 1, false);
  info.task = "regression";
  write_token_dataset(path, info, rows);
  TokenDataset ds = TokenDataset::open(path);
  EXPECT_EQ(ds.info().task, "regression");
  EXPECT_TRUE(ds.labels().empty());
  std::vector<int64_t> all(700);
  for (int64_t i = 0; i < 700; ++i) all[static_cast<size_t>(i)] = 699 - i;  // longer than one read run
  ExampleBatch batch;
  ds.read(all, batch);
  EXPECT_EQ(batch.T, 8);
  EXPECT_TRUE(batch.labels.empty());
  for (int b = 0; b < 700; b += 37) {
    const auto& row = rows[static_cast<size_t>(all[b])];
    EXPECT_FLOAT_EQ(batch.targets[b], row.target);
    EXPECT_EQ(batch.tokens[b * 8], row.tokens[0]);
    EXPECT_EQ(batch.tokens[b * 8 + batch.lengths[b] - 1], row.tokens.back());
  }
  EXPECT_THROW(ds.read({700}, batch), Error);
}

TEST(TokenDataset, RefusesForeignTruncatedAndInconsistentFiles) {
  test::TempDir dir;
  // Not HDF5 at all.
  test::write_file(dir.file("text.h5"), "hello");
  expect_error([&] { TokenDataset::open(dir.file("text.h5")); }, ExitCode::Data, {dir.file("text.h5")});
  // HDF5, but not a w2s file.
  {
    h5::File f = h5::File::create(dir.file("foreign.h5"));
    f.write("/x", std::vector<float>{1, 2, 3});
  }
  expect_error([&] { TokenDataset::open(dir.file("foreign.h5")); }, ExitCode::Data, {dir.file("foreign.h5"), "not a w2s file"});
  // A w2s file of another kind.
  {
    LmDatasetInfo info;
    info.tokenizer = "byte";
    info.eot_id = 256;
    write_lm_dataset(dir.file("lm.h5"), info, {{1, 2, 3}}, {0});
  }
  expect_error([&] { TokenDataset::open(dir.file("lm.h5")); }, ExitCode::Data, {dir.file("lm.h5"), "lm_dataset"});
  // Truncated.
  const std::string good = dir.file("good.h5");
  write_token_dataset(good, make_info(64, 2, false), make_rows(3000, 64, 2, false));
  std::filesystem::copy_file(good, dir.file("cut.h5"));
  std::filesystem::resize_file(dir.file("cut.h5"), std::filesystem::file_size(good) / 2);
  expect_error(
      [&] {
        TokenDataset ds = TokenDataset::open(dir.file("cut.h5"));
        std::vector<int64_t> all(3000);
        for (int64_t i = 0; i < 3000; ++i) all[static_cast<size_t>(i)] = i;
        ExampleBatch batch;
        ds.read(all, batch);
      },
      ExitCode::Data, {dir.file("cut.h5")});
  // Attributes that disagree with the datasets.
  {
    const std::string path = dir.file("max_len.h5");
    write_token_dataset(path, make_info(8, 2, false), make_rows(10, 8, 2, false));
    h5::File f = h5::File::open_rw(path);
    f.set_attr("/", "max_len", int64_t{3});  // input_ids are 8 wide: inconsistent
    f.close();
    expect_error([&] { TokenDataset::open(path); }, ExitCode::Data, {path, "/input_ids"});
  }
  {
    // A copy whose /ids has one entry too few.
    const std::string path = dir.file("short_ids.h5");
    write_token_dataset(path, make_info(8, 2, false), make_rows(10, 8, 2, false));
    h5::File src = h5::File::open_read(path);
    const std::string path2 = dir.file("short_ids2.h5");
    {
      h5::File dst = h5::File::create(path2);
      auto ids = src.read<int64_t>("/ids");
      ids.pop_back();
      std::vector<int32_t> input_ids = src.read<int32_t>("/input_ids");
      dst.write<int32_t>("/input_ids", {10, 8}, input_ids.data());
      dst.write("/lengths", src.read<int32_t>("/lengths"));
      dst.write("/ids", ids);
      dst.write("/labels", src.read<int32_t>("/labels"));
      dst.stamp("token_dataset");
      for (const char* key : {"task", "tokenizer", "tokenizer_sha256", "source_sha256", "split"})
        dst.set_attr("/", key, src.attr_string("/", key));
      for (const char* key : {"num_classes", "max_len", "pad_id"}) dst.set_attr("/", key, src.attr_int("/", key));
    }
    expect_error([&] { TokenDataset::open(path2); }, ExitCode::Data, {path2, "'/ids'"});
  }
}

TEST(TokenDataset, RefusesOutOfRangeColumns) {
  test::TempDir dir;
  auto build = [&](const std::string& name, const std::function<void(std::vector<int32_t>&, std::vector<int32_t>&)>& edit,
                   bool drop_labels = false) {
    const std::string path = dir.file(name);
    h5::File f = h5::File::create(path);
    std::vector<int32_t> input_ids(4 * 5, 1), lengths = {1, 2, 3, 4}, labels = {0, 1, 0, 1};
    edit(lengths, labels);
    f.write<int32_t>("/input_ids", {4, 5}, input_ids.data());
    f.write("/lengths", lengths);
    f.write("/ids", std::vector<int64_t>{1, 2, 3, 4});
    if (!drop_labels) f.write("/labels", labels);
    f.stamp("token_dataset");
    f.set_attr("/", "task", std::string("classification"));
    f.set_attr("/", "num_classes", int64_t{2});
    f.set_attr("/", "max_len", int64_t{5});
    f.set_attr("/", "pad_id", int64_t{0});
    for (const char* key : {"tokenizer", "tokenizer_sha256", "source_sha256", "split"}) f.set_attr("/", key, std::string("x"));
    return path;
  };
  auto ok = build("ok.h5", [](auto&, auto&) {});
  EXPECT_NO_THROW(TokenDataset::open(ok));
  auto long_row = build("long.h5", [](auto& lengths, auto&) { lengths[2] = 6; });
  expect_error([&] { TokenDataset::open(long_row); }, ExitCode::Data, {long_row, "/lengths[2] = 6"});
  auto empty_row = build("zero.h5", [](auto& lengths, auto&) { lengths[0] = 0; });
  expect_error([&] { TokenDataset::open(empty_row); }, ExitCode::Data, {empty_row, "/lengths[0] = 0"});
  auto bad_label = build("label.h5", [](auto&, auto& labels) { labels[3] = 2; });
  expect_error([&] { TokenDataset::open(bad_label); }, ExitCode::Data, {bad_label, "/labels[3] = 2"});
  auto no_labels = build("nolabels.h5", [](auto&, auto&) {}, true);
  expect_error([&] { TokenDataset::open(no_labels); }, ExitCode::Data, {no_labels, "'/labels' missing"});
}

// ---- LM datasets -------------------------------------------------------------------------------

TEST(LmDataset, WindowsAndDocuments) {
  test::TempDir dir;
  const std::string path = dir.file("lm.h5");
  std::vector<std::vector<int32_t>> docs = {{1, 2, 3}, {4, 5}, {6, 7, 8, 9, 10}};
  LmDatasetInfo info;
  info.tokenizer = "byte";
  info.tokenizer_sha256 = "t";
  info.source_sha256 = "s";
  info.eot_id = 256;
  info.vocab_size = 258;
  write_lm_dataset(path, info, docs, {10, 11, 12});
  LmDataset lm = LmDataset::open(path);
  // Packed: 1 2 3 E 4 5 E 6 7 8 9 10 E  (13 tokens)
  const std::vector<int32_t> packed = {1, 2, 3, 256, 4, 5, 256, 6, 7, 8, 9, 10, 256};
  EXPECT_EQ(lm.info().num_tokens, 13);
  EXPECT_EQ(lm.info().num_documents, 3);
  EXPECT_EQ(lm.doc_offsets(), (std::vector<int64_t>{0, 4, 7, 13}));
  EXPECT_EQ(lm.doc_ids(), (std::vector<int64_t>{10, 11, 12}));
  EXPECT_EQ(lm.read_document(1), (std::vector<int32_t>{4, 5, 256}));
  const int T = 4;
  ASSERT_EQ(lm.num_windows(T), 3);  // (13 - 1) / 4
  for (int64_t k = 0; k < lm.num_windows(T); ++k) {
    int32_t inputs[T], targets[T];
    lm.read_window(k, T, inputs, targets);
    for (int t = 0; t < T; ++t) {
      EXPECT_EQ(inputs[t], packed[k * T + t]);
      EXPECT_EQ(targets[t], packed[k * T + t + 1]);
    }
  }
  int32_t a[T], b[T];
  EXPECT_THROW(lm.read_window(3, T, a, b), Error);
  EXPECT_EQ(lm.num_windows(13), 0);
}

TEST(LmDataset, RefusesBadOffsets) {
  test::TempDir dir;
  const std::string path = dir.file("bad.h5");
  {
    h5::File f = h5::File::create(path);
    f.write("/tokens", std::vector<int32_t>{1, 256, 2, 256});
    f.write("/doc_offsets", std::vector<int64_t>{0, 3, 2});
    f.write("/doc_ids", std::vector<int64_t>{0, 1});
    f.stamp("lm_dataset");
    for (const char* key : {"tokenizer", "tokenizer_sha256", "source_sha256"}) f.set_attr("/", key, std::string("x"));
    f.set_attr("/", "eot_id", int64_t{256});
    f.set_attr("/", "num_documents", int64_t{2});
  }
  expect_error([&] { LmDataset::open(path); }, ExitCode::Data, {path, "/doc_offsets"});
  expect_error([&] { LmDataset::open(dir.file("missing.h5")); }, ExitCode::Data, {dir.file("missing.h5")});
}

// ---- prepare steps ------------------------------------------------------------------------------

TEST(Prepare, AbSplitIsDeterministicDisjointAndHalves) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 101; ++i) ids.push_back(i * 3 + 1);
  AbSplit s1 = split_ab(ids, 7), s2 = split_ab(ids, 7), s3 = split_ab(ids, 8);
  EXPECT_EQ(s1.a, s2.a);
  EXPECT_EQ(s1.b, s2.b);
  EXPECT_NE(s1.a, s3.a);
  EXPECT_EQ(s1.a.size(), 51u);  // ceil(101 / 2)
  EXPECT_EQ(s1.b.size(), 50u);
  EXPECT_TRUE(std::is_sorted(s1.a.begin(), s1.a.end()));
  std::set<size_t> all(s1.a.begin(), s1.a.end());
  for (size_t p : s1.b) EXPECT_TRUE(all.insert(p).second) << "position " << p << " in both halves";
  EXPECT_EQ(all.size(), 101u);

  // Membership follows the ids, not the file order.
  std::vector<int64_t> reversed(ids.rbegin(), ids.rend());
  AbSplit r = split_ab(reversed, 7);
  std::set<int64_t> a_ids, r_ids;
  for (size_t p : s1.a) a_ids.insert(ids[p]);
  for (size_t p : r.a) r_ids.insert(reversed[p]);
  EXPECT_EQ(a_ids, r_ids);
}

TEST(Prepare, SeededSubsetKeepsFileOrder) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 50; ++i) ids.push_back(i);
  auto sub = seeded_subset(ids, 10, 1, "subset.train");
  EXPECT_EQ(sub.size(), 10u);
  EXPECT_TRUE(std::is_sorted(sub.begin(), sub.end()));
  EXPECT_EQ(sub, seeded_subset(ids, 10, 1, "subset.train"));
  EXPECT_NE(sub, seeded_subset(ids, 10, 2, "subset.train"));
  EXPECT_EQ(seeded_subset(ids, 0, 1, "subset.train").size(), 50u);
}

TEST(Prepare, TokenizeTruncatesOrDrops) {
  auto tok = load_tokenizer("byte");
  std::vector<JsonlExample> examples(3);
  examples[0].txt = "abcdefgh";
  examples[0].label = 1;
  examples[1].txt = "abc";
  examples[2].txt = "";
  std::vector<size_t> all = {0, 1, 2};
  TokenizeStats stats;
  auto rows = tokenize_examples(examples, all, *tok, 4, Overlong::Truncate, JsonlTask::Classification, 2, stats);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].tokens, (std::vector<int32_t>{'a', 'b', 'c', 'd'}));  // the beginning is kept
  EXPECT_EQ(stats.truncated, 1);
  EXPECT_EQ(stats.dropped_empty, 1);
  EXPECT_EQ(stats.class_counts, (std::vector<int64_t>{1, 1}));
  rows = tokenize_examples(examples, all, *tok, 4, Overlong::TruncateStart, JsonlTask::Classification, 2, stats);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].tokens, (std::vector<int32_t>{'e', 'f', 'g', 'h'}));  // the end is kept
  EXPECT_EQ(rows[1].tokens, (std::vector<int32_t>{'a', 'b', 'c'}));       // a short one is untouched
  EXPECT_EQ(stats.truncated, 1);
  rows = tokenize_examples(examples, all, *tok, 4, Overlong::Drop, JsonlTask::Classification, 2, stats);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(stats.dropped_overlong, 1);
  EXPECT_EQ(parse_overlong("truncate-start"), Overlong::TruncateStart);
  EXPECT_THROW(parse_overlong("keep"), Error);
}

TEST(Prepare, SplitDocumentsAtBlankLines) {
  const std::string text = "p1 line1\np1 line2\n\n  \np2\n\n\np3 is longer than the rest\n";
  auto docs = split_documents(text, 1000);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0], "p1 line1\np1 line2\n\np2\n\np3 is longer than the rest");
  docs = split_documents(text, 22);  // "p1 line1\np1 line2" (17) + "\n\np2" fits; p3 does not
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0], "p1 line1\np1 line2\n\np2");
  EXPECT_EQ(docs[1], "p3 is longer than the rest");  // never split, even past max_bytes
  EXPECT_TRUE(split_documents("\n \n", 10).empty());
}

// ---- task text rules --------------------------------------------------------------------------

TEST(Tasks, CleanEmailHeadersMimeHtmlQuotedPrintable) {
  const std::string raw =
      "From: a@b.c\nSubject: Cheap\n  stuff now\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n"
      "This is a multi-part message in MIME format.\n"
      "--XX\nContent-Type: multipart/alternative; boundary=YY\n\n"
      "--YY\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n"
      "<html><head><style>p {color: red}</style></head><body><p>Buy =\nnow &amp; save</p></body></html>\n"
      "--YY\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n"
      "Buy now =26 save=20\n--YY--\n"
      "--XX\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
      "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5eg==\n"
      "--XX\nContent-Type: text/html\n\n<div>Second&nbsp;part</div>\n--XX--\nepilogue text\n";
  tasks::EmailText email = tasks::clean_email(raw, 1500);
  EXPECT_EQ(email.subject, "Cheap stuff now");
  EXPECT_EQ(email.body, "Buy now & save Second part");
  EXPECT_EQ(tasks::email_example_text(email), "Subject: Cheap stuff now\nBuy now & save Second part");

  // A single-part message: the body is cut at a word boundary, base64-looking lines dropped.
  const std::string plain = "Subject: hi\n\nword word word word\n" + std::string(60, 'A') + "\nlast words here\n";
  EXPECT_EQ(tasks::clean_email(plain, 1500).body, "word word word word last words here");
  EXPECT_EQ(tasks::clean_email(plain, 12).body, "word word");
  EXPECT_TRUE(tasks::clean_email("Subject: headers only\n", 100).body.empty());
}

TEST(Tasks, TextHelpers) {
  EXPECT_EQ(tasks::collapse_whitespace("  a \t\n b  "), "a b");
  EXPECT_EQ(tasks::cut_at_word_boundary("hello world again", 12), "hello world");
  EXPECT_EQ(tasks::cut_at_word_boundary("\xC3\xA9\xC3\xA9\xC3\xA9", 3), "\xC3\xA9");  // never inside a character
  EXPECT_EQ(tasks::repair_utf8("caf\xE9 ok \xC3\xA9"), "caf\xC3\xA9 ok \xC3\xA9");
}

TEST(Tasks, SentencesAndPassages) {
  auto s = tasks::split_sentences("Mr. Smith went to Washington. He met Gen. Grant and John F. Kennedy!  \"Why?\" "
                                  "he asked. The U.S. is large. 3 cats ran.");
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0], "Mr. Smith went to Washington.");
  EXPECT_EQ(s[1], "He met Gen. Grant and John F. Kennedy!");
  EXPECT_EQ(s[2], "\"Why?\" he asked.");
  EXPECT_EQ(s[3], "The U.S. is large.");
  EXPECT_EQ(s[4], "3 cats ran.");
  std::vector<std::string> sentences = {std::string(100, 'a'), std::string(150, 'b'), std::string(500, 'c'),
                                        std::string(200, 'd'), std::string(120, 'e'), std::string(10, 'f')};
  auto p = tasks::make_passages(sentences, 300, 600);
  // a+b+c (752 bytes) and b+c (651) are too long; c alone fits; then d+e (321); f is too short.
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], std::string(500, 'c'));
  EXPECT_EQ(p[1], std::string(200, 'd') + " " + std::string(120, 'e'));
}

TEST(Tasks, TextMatcherContainsAndOverlaps) {
  std::string needle;
  for (int i = 0; i < 40; ++i) needle += "word" + std::to_string(i) + " ";
  needle = tasks::collapse_whitespace(needle);  // ~270 bytes
  tasks::TextMatcher matcher({needle, "short one"}, 64);
  auto hits = matcher.find("prefix " + needle + " suffix");
  EXPECT_EQ(hits.contained, (std::vector<int64_t>{0}));
  hits = matcher.find("prefix " + needle.substr(100) + " suffix");  // 170 common bytes >= 2*64-1
  EXPECT_TRUE(hits.contained.empty());
  ASSERT_FALSE(hits.tiles.empty());
  EXPECT_EQ(matcher.tile_needle(hits.tiles[0]), 0);
  hits = matcher.find("this has a short one inside");
  EXPECT_EQ(hits.contained, (std::vector<int64_t>{1}));
  hits = matcher.find("unrelated text " + needle.substr(0, 60));
  EXPECT_TRUE(hits.contained.empty());
  EXPECT_TRUE(hits.tiles.empty());
}
