// The tasks w2s builds from the npm data packages in its cache (docs/data.md describes each:
// source, labels, cleaning, split, sizes, balance):
//   spam        SpamAssassin e-mails: ham (0) vs spam (1)
//   sotu-party  State of the Union passages: Democratic (0) vs Republican (1) speaker, test split
//               by speech (default) or by passage
//   corpus      pretraining text: Moby Dick + SOTU speeches + SpamAssassin e-mails, minus every
//               document that contains or overlaps a test example of the tasks above
// Converters are deterministic (same cache and seed → byte-identical files) and write
// atomically: DIR/train.jsonl + DIR/test.jsonl, or DIR/corpus.jsonl.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace w2s::tasks {

struct ConvertOptions {
  std::string cache_dir;      // holds npm/<package>/package/data/...
  std::string out_dir;
  uint64_t seed = 0;
  int64_t test_size = 400;    // spam, sotu-party: balanced, so even
  int64_t max_body_bytes = 1500;  // spam and corpus: e-mail bodies are cut here
  std::vector<std::string> exclude;  // corpus: test.jsonl files whose texts must not appear
  bool year_prefix = false;  // sotu-party: each passage starts with its speech's year ("1905: ...")
  bool year_suffix = false;  // sotu-party: each passage ends with a new line and its year ("...\n1905 ")
  std::string split = "speech";  // sotu-party: "speech" (test speeches unseen) | "passage" (random passages)
  bool sotu_passages = false;    // corpus: SOTU speeches enter as their passages, one document each
  std::string sotu_headers = "none";  // corpus: SOTU documents lead with nothing | "1861: " (year) | "1861 Republican: " (party)
  int64_t sotu_facts = 0;  // corpus: this many documents listing "1861 Republican" for every speech, each in its own seeded order
};

// Summary of what was written, for the command's report and for tests.
struct ConvertSummary {
  std::vector<std::string> lines;  // human-readable report
  std::vector<std::string> files;  // paths written
};

ConvertSummary convert_spam(const ConvertOptions& options);
ConvertSummary convert_sotu_party(const ConvertOptions& options);
ConvertSummary build_corpus(const ConvertOptions& options);
// The values of ConvertOptions::sotu_headers: none, year, party.
bool valid_sotu_headers(const std::string& value);

// sotu-party numbers a passage speech index * kSotuIdsPerSpeech + passage number.
constexpr int64_t kSotuIdsPerSpeech = 10000;
// The grouping a built-in task's ids declare, as a divisor (ids sharing floor(id / D) come from
// one source): sotu-party's speeches; 0 (none) for any other task. Spam's id blocks are the
// package's folders, which are its classes, not sources, so spam has none.
int64_t natural_group_divisor(const std::string& task);

// ---- the raw sources, shared by the converters ----
std::string npm_data_dir(const std::string& cache_dir, const std::string& package);  // .../npm/<pkg>/package/data

struct Email {
  int64_t id = 0;     // stable: group number * 100000 + position in the group's sorted file list
  std::string group;  // easy-ham-1, easy-ham-2, hard-ham-1, spam-1, spam-2
  std::string file;   // the package's file name
  int32_t label = 0;  // 1 = spam
  std::string txt;    // email_example_text(clean_email(...)); body may be empty
  bool empty_body = false;
};
// Every e-mail of every group, cleaned, in group then file order.
std::vector<Email> load_emails(const std::string& cache_dir, size_t max_body_bytes);

struct Speech {
  int64_t index = 0;  // position in the sorted file list
  std::string file;   // e.g. 1961_john_f_kennedy_d
  int year = 0;
  std::string name, party, text;
};
std::vector<Speech> load_speeches(const std::string& cache_dir);

}  // namespace w2s::tasks
