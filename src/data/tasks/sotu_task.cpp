// The sotu-party task: passages of State of the Union speeches, Democratic (0) vs Republican (1)
// speaker. The test set is balanced and split by speech: test speeches are drawn by seed, each
// giving at most kTestPassagesPerSpeech passages, and no passage of a test speech is ever used
// for training. Train takes every passage of the other speeches, balanced by undersampling.
// With split "passage" the test passages are drawn from all passages of all speeches instead, so a
// test passage's speech (and year) has other passages in training: the task is then to recognise
// the speech (its era, topics, year) rather than to generalise to unseen ones.
// With year_prefix each passage starts with "YYYY: ", the year of its speech: the text alone
// carries little party signal for small models, the year a graded one
// (coarse era → party is easy, the exact administration from nearby years is harder).
// With year_suffix each passage ends with "\nYYYY " instead: the input then stops where a corpus
// with party headers ("1861 Republican: ", or the facts lists of convert corpus --sotu-facts) has
// the party next, so the last token — the one the classification head reads — is where a
// pretrained LM recalls it (prepare such data with --overlong truncate-start to keep the end).
#include <algorithm>

#include "core/error.h"
#include "core/strings.h"
#include "data/tasks/passages.h"
#include "data/tasks/task_rows.h"
#include "data/tasks/tasks.h"
#include "data/tasks/text_util.h"

namespace w2s::tasks {

std::vector<std::string> sotu_passages(const std::string& speech_text) {
  return make_passages(split_sentences(speech_text), kSotuMinPassageBytes, kSotuMaxPassageBytes);
}

namespace {

// Few passages per test speech, so the test set spans many speakers and years.
constexpr size_t kTestPassagesPerSpeech = 10;

int32_t party_label(const std::string& party) { return party == "Democratic" ? 0 : party == "Republican" ? 1 : -1; }

std::string passage_text(const Speech& speech, std::string passage, const ConvertOptions& options) {
  if (options.year_prefix) return strfmt("%d: ", speech.year) + passage;
  if (options.year_suffix) return passage + strfmt("\n%d ", speech.year);
  return passage;
}

std::vector<TaskRow> speech_rows(const Speech& speech, int32_t label, const ConvertOptions& options) {
  std::vector<std::string> passages = sotu_passages(speech.text);
  std::vector<TaskRow> rows;
  for (size_t k = 0; k < passages.size() && k < static_cast<size_t>(kSotuIdsPerSpeech); ++k) {
    TaskRow row;
    row.id = speech.index * kSotuIdsPerSpeech + static_cast<int64_t>(k);
    row.label = label;
    row.txt = passage_text(speech, std::move(passages[k]), options);
    row.extra["year"] = speech.year;
    row.extra["speaker"] = speech.name;
    row.extra["speech"] = speech.file;
    rows.push_back(std::move(row));
  }
  return rows;
}

struct Split {
  std::vector<TaskRow> train, test;
  size_t test_speeches = 0;
};

// Per party, speeches in a seeded order; test speeches are taken from the front, each giving a
// seeded sample of at most kTestPassagesPerSpeech passages; the rest of a test speech is unused.
Split split_by_speech(std::vector<std::vector<TaskRow>> (&speech_passages)[2], size_t per_class, uint64_t seed) {
  Split split;
  for (auto& per_speech : speech_passages) {
    size_t taken = 0;
    for (auto& rows : per_speech) {
      if (taken < per_class) {
        std::vector<TaskRow> sample = seeded_shuffle(std::move(rows), seed, "sotu.test-passages");
        size_t n = std::min({sample.size(), kTestPassagesPerSpeech, per_class - taken});
        for (size_t i = 0; i < n; ++i) split.test.push_back(std::move(sample[i]));
        taken += n;
        ++split.test_speeches;
      } else {
        for (auto& row : rows) split.train.push_back(std::move(row));
      }
    }
    if (taken < per_class)
      throw UsageError(strfmt("--test-size %zu is too large for the SOTU speeches of one party", 2 * per_class));
  }
  return split;
}

// Per party, every passage of every speech in a seeded order; the first per_class are test.
Split split_by_passage(std::vector<std::vector<TaskRow>> (&speech_passages)[2], size_t per_class, uint64_t seed) {
  Split split;
  for (auto& per_speech : speech_passages) {
    std::vector<TaskRow> pool;
    for (auto& rows : per_speech)
      for (auto& row : rows) pool.push_back(std::move(row));
    if (pool.size() <= per_class)
      throw UsageError(strfmt("--test-size %zu is too large for the SOTU passages of one party", 2 * per_class));
    pool = seeded_shuffle(std::move(pool), seed, "sotu.test-passages");
    std::vector<std::string> speeches;
    for (size_t i = 0; i < pool.size(); ++i) {
      if (i < per_class) {
        speeches.push_back(pool[i].extra["speech"].get<std::string>());
        split.test.push_back(std::move(pool[i]));
      } else {
        split.train.push_back(std::move(pool[i]));
      }
    }
    std::sort(speeches.begin(), speeches.end());
    split.test_speeches += static_cast<size_t>(std::unique(speeches.begin(), speeches.end()) - speeches.begin());
  }
  return split;
}

}  // namespace

int64_t natural_group_divisor(const std::string& task) { return task == "sotu-party" ? kSotuIdsPerSpeech : 0; }

ConvertSummary convert_sotu_party(const ConvertOptions& options) {
  if (options.test_size < 2 || options.test_size % 2 != 0)
    throw UsageError(strfmt("--test-size must be even and at least 2 (the test set is balanced), got %lld",
                            (long long)options.test_size));
  if (options.split != "speech" && options.split != "passage")
    throw UsageError("--split must be speech or passage, got '" + options.split + "'");
  if (options.year_prefix && options.year_suffix) throw UsageError("--year-prefix and --year-suffix exclude each other");
  ConvertSummary summary;
  std::vector<Speech> speeches = load_speeches(options.cache_dir);

  // Speeches of each party in a seeded order, each as its passages.
  std::vector<std::vector<TaskRow>> speech_passages[2];
  int64_t other_parties = 0;
  for (int32_t label : {0, 1}) {
    std::vector<int64_t> indices;
    for (const auto& s : speeches) {
      if (party_label(s.party) == label) indices.push_back(s.index);
    }
    for (size_t k : seeded_order(indices, options.seed, "sotu.test-speeches"))
      speech_passages[label].push_back(
          speech_rows(speeches[static_cast<size_t>(indices[k])], label, options));
  }
  for (const auto& s : speeches) other_parties += party_label(s.party) < 0;

  const size_t per_class = static_cast<size_t>(options.test_size / 2);
  Split split = options.split == "passage" ? split_by_passage(speech_passages, per_class, options.seed)
                                           : split_by_speech(speech_passages, per_class, options.seed);
  const size_t train_before = split.train.size();
  std::vector<TaskRow> train = seeded_shuffle(
      undersample_to_balance(std::move(split.train), options.seed, "sotu.balance"), options.seed, "sotu.order");
  std::vector<TaskRow> test = seeded_shuffle(std::move(split.test), options.seed, "sotu.order");
  if (train.empty()) throw UsageError("no training passages left: lower --test-size");

  summary.files = write_task_files(options.out_dir, train, test);
  if (options.split == "passage")
    summary.lines.push_back(strfmt("speeches: %zu read, %lld by other parties skipped; split by passage: the %zu test "
                                   "passages come from %zu speeches that also have training passages; passages of "
                                   "%zu-%zu bytes",
                                   speeches.size(), (long long)other_parties, test.size(), split.test_speeches,
                                   kSotuMinPassageBytes, kSotuMaxPassageBytes));
  else
    summary.lines.push_back(strfmt("speeches: %zu read, %lld by other parties skipped; %zu test speeches (at most %zu "
                                   "passages each), passages of %zu-%zu bytes",
                                   speeches.size(), (long long)other_parties, split.test_speeches,
                                   kTestPassagesPerSpeech, kSotuMinPassageBytes, kSotuMaxPassageBytes));
  if (options.year_prefix) summary.lines.push_back("each passage starts with its speech's year (--year-prefix)");
  if (options.year_suffix) summary.lines.push_back("each passage ends with a new line and its speech's year (--year-suffix)");
  summary.lines.push_back(describe_rows("train", train) +
                          strfmt(" (undersampled to balance from %zu passages)", train_before));
  summary.lines.push_back(describe_rows("test", test));
  return summary;
}

}  // namespace w2s::tasks
