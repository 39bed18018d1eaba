// The sotu-party task: passages of State of the Union speeches, Democratic (0) vs Republican (1)
// speaker. The test set is balanced and split by speech: test speeches are drawn by seed, each
// giving at most kTestPassagesPerSpeech passages, and no passage of a test speech is ever used
// for training. Train takes every passage of the other speeches, balanced by undersampling.
// With year_prefix each passage starts with "YYYY: ", the year of its speech: the text alone
// carries little party signal for small models (docs/results.md), the year a graded one
// (coarse era → party is easy, the exact administration from nearby years is harder).
#include <algorithm>

#include "core/error.h"
#include "core/strings.h"
#include "data/tasks/passages.h"
#include "data/tasks/task_rows.h"
#include "data/tasks/tasks.h"
#include "data/tasks/text_util.h"

namespace w2s::tasks {

namespace {

constexpr size_t kMinPassageBytes = 300, kMaxPassageBytes = 600;
// Few passages per test speech, so the test set spans many speakers and years.
constexpr size_t kTestPassagesPerSpeech = 10;
constexpr int64_t kPassagesPerSpeechId = 10000;  // passage id = speech index * this + passage number

int32_t party_label(const std::string& party) { return party == "Democratic" ? 0 : party == "Republican" ? 1 : -1; }

std::vector<TaskRow> speech_rows(const Speech& speech, int32_t label, bool year_prefix) {
  std::vector<std::string> passages = make_passages(split_sentences(speech.text), kMinPassageBytes, kMaxPassageBytes);
  std::vector<TaskRow> rows;
  for (size_t k = 0; k < passages.size() && k < static_cast<size_t>(kPassagesPerSpeechId); ++k) {
    TaskRow row;
    row.id = speech.index * kPassagesPerSpeechId + static_cast<int64_t>(k);
    row.label = label;
    row.txt = year_prefix ? strfmt("%d: ", speech.year) + passages[k] : std::move(passages[k]);
    row.extra["year"] = speech.year;
    row.extra["speaker"] = speech.name;
    row.extra["speech"] = speech.file;
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

ConvertSummary convert_sotu_party(const ConvertOptions& options) {
  if (options.test_size < 2 || options.test_size % 2 != 0)
    throw UsageError(strfmt("--test-size must be even and at least 2 (the test set is balanced), got %lld",
                            (long long)options.test_size));
  ConvertSummary summary;
  std::vector<Speech> speeches = load_speeches(options.cache_dir);

  // Speeches of each party in a seeded order; test speeches are taken from the front.
  std::vector<std::vector<TaskRow>> speech_passages[2];
  int64_t other_parties = 0;
  for (int32_t label : {0, 1}) {
    std::vector<int64_t> indices;
    for (const auto& s : speeches) {
      if (party_label(s.party) == label) indices.push_back(s.index);
    }
    for (size_t k : seeded_order(indices, options.seed, "sotu.test-speeches"))
      speech_passages[label].push_back(
          speech_rows(speeches[static_cast<size_t>(indices[k])], label, options.year_prefix));
  }
  for (const auto& s : speeches) other_parties += party_label(s.party) < 0;

  const size_t per_class = static_cast<size_t>(options.test_size / 2);
  std::vector<TaskRow> train, test;
  size_t test_speeches = 0;
  for (auto& per_speech : speech_passages) {
    size_t taken = 0;
    for (auto& rows : per_speech) {
      if (taken < per_class) {  // a test speech: a seeded sample of its passages, the rest unused
        std::vector<TaskRow> sample = seeded_shuffle(std::move(rows), options.seed, "sotu.test-passages");
        size_t n = std::min({sample.size(), kTestPassagesPerSpeech, per_class - taken});
        for (size_t i = 0; i < n; ++i) test.push_back(std::move(sample[i]));
        taken += n;
        ++test_speeches;
      } else {
        for (auto& row : rows) train.push_back(std::move(row));
      }
    }
    if (taken < per_class)
      throw UsageError(strfmt("--test-size %lld is too large for the SOTU speeches of one party",
                              (long long)options.test_size));
  }
  const size_t train_before = train.size();
  train = seeded_shuffle(undersample_to_balance(std::move(train), options.seed, "sotu.balance"), options.seed, "sotu.order");
  test = seeded_shuffle(std::move(test), options.seed, "sotu.order");
  if (train.empty()) throw UsageError("no training passages left: lower --test-size");

  summary.files = write_task_files(options.out_dir, train, test);
  summary.lines.push_back(strfmt("speeches: %zu read, %lld by other parties skipped; %zu test speeches (at most %zu "
                                 "passages each), passages of %zu-%zu bytes",
                                 speeches.size(), (long long)other_parties, test_speeches, kTestPassagesPerSpeech,
                                 kMinPassageBytes, kMaxPassageBytes));
  if (options.year_prefix) summary.lines.push_back("each passage starts with its speech's year (--year-prefix)");
  summary.lines.push_back(describe_rows("train", train) +
                          strfmt(" (undersampled to balance from %zu passages)", train_before));
  summary.lines.push_back(describe_rows("test", test));
  return summary;
}

}  // namespace w2s::tasks
