// `w2s prepare`: JSONL task data → tokenized HDF5 splits (train_a, train_b, test), or plain text
// → a packed LM dataset (--lm). Everything is read, validated and tokenized before anything is
// written, and all outputs are committed together, so a failed run leaves no output behind.
#include <filesystem>
#include <memory>
#include <unordered_set>

#include "cli/command.h"
#include "cli/options.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/strings.h"
#include "data/jsonl.h"
#include "data/lm_dataset.h"
#include "data/prepare.h"
#include "data/token_dataset.h"
#include "data/tokenizer.h"

namespace w2s {

namespace {

constexpr const char* kUsage =
    "--train train.jsonl [--test test.jsonl] --out-dir DIR [options]\n"
    "   or: w2s prepare --lm (--text FILE | --lm-jsonl FILE)... --out FILE.h5 [options]\n\n"
    "Task data: tokenizes openai/weak-to-strong JSONL ({\"txt\", \"hard_label\"[, \"id\"][, \"soft_label\"]},\n"
    "or {\"txt\", \"target\"} with --task regression) into DIR/train_a.h5, DIR/train_b.h5 and DIR/test.h5.\n"
    "The train file is halved by a seeded permutation of the example ids: A (weak supervisor and\n"
    "ceiling, ground truth) gets the first ceil(N/2), B (the student's data) the rest; --max-train\n"
    "first keeps a seeded subset. --group-divisor D splits whole groups (ids sharing floor(id / D),\n"
    "e.g. 10000 for sotu-party's speeches) so that no group is in both halves; --b-pools N also\n"
    "writes B in N disjoint parts (DIR/train_b_pool1.h5 ...: the bootstrapping chain's pools).\n"
    "--valid-fraction F holds out a seeded fraction F of each half as DIR/valid_a.h5 and\n"
    "DIR/valid_b.h5: validation data for tuning, so that the test set is read only for the final\n"
    "numbers. Examples longer than --max-len tokens are truncated (their\n"
    "beginning is kept), truncated from the start (their end is kept: --overlong truncate-start)\n"
    "or dropped (--overlong drop).\n"
    "LM data: each --text file is cut into documents at blank lines (paragraphs, grouped up to\n"
    "--doc-bytes); each --lm-jsonl line's \"txt\" is one document. Documents are packed, each followed\n"
    "by <|endoftext|>.\n"
    "Tokenizer: --tokenizer byte, or gpt2 with OpenAI's files from the w2s cache, named files\n"
    "(--encoder-json, --vocab-bpe), or a model's own (--tokenizer-files DIR: vocab.json + merges.txt).";

void write_config_beside(const po::variables_map& vm, const std::string& path) {
  write_text_atomic(path, "# w2s prepare: effective configuration\n" + effective_config_ini(vm));
}

std::unique_ptr<Tokenizer> tokenizer_from(const po::variables_map& vm) {
  return load_tokenizer_option(vm["tokenizer"].as<std::string>(), vm["tokenizer-files"].as<std::string>(),
                               vm["encoder-json"].as<std::string>(), vm["vocab-bpe"].as<std::string>());
}

std::string percent(int64_t part, int64_t whole) {
  return strfmt("%.1f%%", whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
}

std::string describe(const std::string& split, const TokenizeStats& s, JsonlTask task) {
  std::string line = strfmt("  %-8s %lld kept of %lld (%lld dropped overlong, %lld dropped empty, %lld truncated), "
                            "mean %.1f tokens",
                            split.c_str(), (long long)s.kept, (long long)s.read, (long long)s.dropped_overlong,
                            (long long)s.dropped_empty, (long long)s.truncated,
                            s.kept ? static_cast<double>(s.total_tokens) / static_cast<double>(s.kept) : 0.0);
  if (task == JsonlTask::Classification) {
    std::vector<std::string> parts;
    for (size_t c = 0; c < s.class_counts.size(); ++c)
      parts.push_back(strfmt("%zu: %lld (%s)", c, (long long)s.class_counts[c], percent(s.class_counts[c], s.kept).c_str()));
    line += "; classes " + join(parts, ", ");
  } else {
    line += strfmt("; mean target %.4g", s.kept ? s.target_sum / static_cast<double>(s.kept) : 0.0);
  }
  return line;
}

// One output split, fully prepared in memory before anything is written.
struct PreparedSplit {
  std::string name;
  std::string source;
  TokenDatasetInfo info;
  std::vector<TokenizedExample> rows;
  TokenizeStats stats;
};

struct TaskSettings {
  JsonlOptions jsonl;
  int32_t max_len = 0;
  Overlong overlong = Overlong::Truncate;
  uint64_t seed = 0;
  int64_t group_divisor = 0;  // 0 or 1: every example its own group
  int64_t b_pools = 0;        // 0: B alone
};

// Every part of a split must hold an example; with groups, too few groups can leave one empty.
void require_nonempty_parts(const std::vector<std::vector<size_t>>& parts, const std::string& what,
                            const std::string& train_path, int64_t group_divisor) {
  for (const auto& part : parts)
    if (part.empty())
      throw DataError(train_path, strfmt("too few examples%s to split %s into %zu non-empty parts",
                                         group_divisor > 1 ? strfmt(" or groups (--group-divisor %lld)",
                                                                    (long long)group_divisor).c_str()
                                                           : "",
                                         what.c_str(), parts.size()));
}

PreparedSplit prepare_split(const std::string& name, const std::string& source, const std::vector<JsonlExample>& examples,
                            const std::vector<size_t>& positions, const Tokenizer& tokenizer, const TaskSettings& settings,
                            const std::string& source_sha256) {
  PreparedSplit split;
  split.name = name;
  split.source = source;
  split.rows = tokenize_examples(examples, positions, tokenizer, settings.max_len, settings.overlong, settings.jsonl.task,
                                 settings.jsonl.num_classes, split.stats);
  if (split.rows.empty())
    throw DataError(source, strfmt("no examples left for split %s (%lld given: %lld longer than max_len %d and dropped, "
                                   "%lld empty)",
                                   name.c_str(), (long long)split.stats.read, (long long)split.stats.dropped_overlong,
                                   settings.max_len, (long long)split.stats.dropped_empty));
  TokenDatasetInfo& info = split.info;
  info.task = settings.jsonl.task == JsonlTask::Regression ? "regression" : "classification";
  info.num_examples = static_cast<int64_t>(split.rows.size());
  info.max_len = settings.max_len;
  info.num_classes = settings.jsonl.task == JsonlTask::Regression ? 1 : settings.jsonl.num_classes;
  info.pad_id = tokenizer.pad_id();
  info.vocab_size = tokenizer.vocab_size();
  info.tokenizer = tokenizer.kind();
  info.tokenizer_sha256 = tokenizer.sha256();
  info.source_sha256 = source_sha256;
  info.split = name;
  info.has_soft_labels = !examples.empty() && !examples.front().soft.empty();
  return split;
}

std::vector<int64_t> ids_at(const std::vector<JsonlExample>& examples, const std::vector<size_t>& positions) {
  std::vector<int64_t> ids;
  for (size_t p : positions) ids.push_back(examples[p].id);
  return ids;
}

// The classes the grouped splits balance (classification); none for regression.
std::vector<int32_t> classes_at(const std::vector<JsonlExample>& examples, const std::vector<size_t>& positions,
                                JsonlTask task) {
  std::vector<int32_t> classes;
  if (task != JsonlTask::Classification) return classes;
  for (size_t p : positions) classes.push_back(examples[p].label);
  return classes;
}

// Texts shared by train and test leak the answer; say so (the data is the user's to fix).
void warn_on_shared_texts(const std::vector<JsonlExample>& train, const std::vector<JsonlExample>& test,
                          const std::string& test_path) {
  std::unordered_set<std::string> train_texts;
  for (const auto& ex : train) train_texts.insert(ex.txt);
  int64_t shared = 0, first_line = 0;
  for (const auto& ex : test) {
    if (train_texts.count(ex.txt)) {
      if (!shared) first_line = ex.line;
      ++shared;
    }
  }
  if (shared)
    log_warn(strfmt("%lld test texts also appear in the train file (first: %s)", (long long)shared,
                    jsonl_where(test_path, first_line).c_str()));
}

// Removes a seeded validation part from `half` (positions into examples) and returns it: valid_a
// (ground truth, for supervisors and ceilings) and valid_b (the students' held-out part,
// weak-labelled like train_b). Whole groups stay on one side, like the A/B split.
std::vector<size_t> hold_out_valid(const std::vector<JsonlExample>& examples, double fraction,
                                   const TaskSettings& settings, std::vector<size_t>& half) {
  const ValidSplit held = split_valid(ids_at(examples, half), fraction, settings.seed, settings.group_divisor);
  std::vector<size_t> rest, valid;
  for (size_t k : held.train) rest.push_back(half[k]);
  for (size_t k : held.valid) valid.push_back(half[k]);
  half = std::move(rest);
  return valid;
}

int prepare_task(const po::variables_map& vm) {
  if (vm.count("text") || vm.count("lm-jsonl") || !vm["out"].as<std::string>().empty())
    throw UsageError("--text, --lm-jsonl and --out are for LM data: add --lm");
  TaskSettings settings;
  settings.jsonl.task = parse_jsonl_task(vm["task"].as<std::string>());
  if (settings.jsonl.task == JsonlTask::Text) throw UsageError("--task must be classification or regression");
  settings.jsonl.num_classes = vm["num-classes"].as<int>();
  if (settings.jsonl.task == JsonlTask::Classification && settings.jsonl.num_classes < 2)
    throw UsageError(strfmt("--num-classes must be at least 2, got %d", settings.jsonl.num_classes));
  settings.max_len = vm["max-len"].as<int>();
  if (settings.max_len < 1) throw UsageError(strfmt("--max-len must be positive, got %d", settings.max_len));
  settings.overlong = parse_overlong(vm["overlong"].as<std::string>());
  settings.seed = vm["seed"].as<uint64_t>();
  settings.group_divisor = vm["group-divisor"].as<int64_t>();
  settings.b_pools = vm["b-pools"].as<int64_t>();
  if (settings.b_pools == 1) throw UsageError("--b-pools must be 0 (none) or at least 2, got 1");
  const std::string train_path = require_string(vm, "train");
  const std::string test_path = vm["test"].as<std::string>();
  const std::string out_dir = require_string(vm, "out-dir");
  const int64_t max_train = vm["max-train"].as<int64_t>(), max_test = vm["max-test"].as<int64_t>();

  std::unique_ptr<Tokenizer> tokenizer = tokenizer_from(vm);
  std::vector<JsonlExample> train = read_jsonl(train_path, settings.jsonl);
  std::vector<JsonlExample> test;
  if (!test_path.empty()) test = read_jsonl(test_path, settings.jsonl);
  if (!test.empty() && train.front().soft.empty() != test.front().soft.empty())
    throw DataError(test_path, "soft_label must be present in both train and test files or in neither");
  if (!test.empty()) warn_on_shared_texts(train, test, test_path);

  std::vector<int64_t> train_ids;
  for (const auto& ex : train) train_ids.push_back(ex.id);
  std::vector<size_t> kept = seeded_subset(train_ids, max_train, settings.seed, "subset.train");
  AbSplit ab = split_ab_grouped(ids_at(train, kept), settings.seed, settings.group_divisor,
                                classes_at(train, kept, settings.jsonl.task));
  require_nonempty_parts({ab.a, ab.b}, "train into A and B", train_path, settings.group_divisor);
  std::vector<size_t> a_positions, b_positions;
  for (size_t k : ab.a) a_positions.push_back(kept[k]);
  for (size_t k : ab.b) b_positions.push_back(kept[k]);
  // Each half gives up its validation examples first (B's pools are cut from what B keeps).
  const double valid_fraction = vm["valid-fraction"].as<double>();
  const std::vector<size_t> valid_a = hold_out_valid(train, valid_fraction, settings, a_positions);
  const std::vector<size_t> valid_b = hold_out_valid(train, valid_fraction, settings, b_positions);
  // B's pools: disjoint parts of B, whole groups at a time like A/B (split_by_group).
  std::vector<std::vector<size_t>> pools;
  if (settings.b_pools > 0) {
    pools = split_by_group(ids_at(train, b_positions), settings.seed, "b-pools", static_cast<size_t>(settings.b_pools),
                           settings.group_divisor, classes_at(train, b_positions, settings.jsonl.task));
    require_nonempty_parts(pools, "B into pools", train_path, settings.group_divisor);
    for (auto& pool : pools)
      for (size_t& k : pool) k = b_positions[k];
  }

  const std::string train_sha = sha256_file(train_path);
  std::vector<PreparedSplit> splits;
  splits.push_back(prepare_split("train_a", train_path, train, a_positions, *tokenizer, settings, train_sha));
  splits.push_back(prepare_split("train_b", train_path, train, b_positions, *tokenizer, settings, train_sha));
  if (valid_fraction > 0) {
    splits.push_back(prepare_split("valid_a", train_path, train, valid_a, *tokenizer, settings, train_sha));
    splits.push_back(prepare_split("valid_b", train_path, train, valid_b, *tokenizer, settings, train_sha));
  }
  for (size_t k = 0; k < pools.size(); ++k)
    splits.push_back(prepare_split("train_b_pool" + std::to_string(k + 1), train_path, train, pools[k], *tokenizer,
                                   settings, train_sha));
  if (!test.empty()) {
    std::vector<int64_t> test_ids;
    for (const auto& ex : test) test_ids.push_back(ex.id);
    std::vector<size_t> test_positions = seeded_subset(test_ids, max_test, settings.seed, "subset.test");
    splits.push_back(
        prepare_split("test", test_path, test, test_positions, *tokenizer, settings, sha256_file(test_path)));
  }

  // Write every split to its temporary, then commit them all.
  std::vector<std::unique_ptr<AtomicOutput>> outputs;
  for (const auto& split : splits) {
    outputs.push_back(std::make_unique<AtomicOutput>(out_dir + "/" + split.name + ".h5"));
    write_token_dataset_file(outputs.back()->temp_path(), split.info, split.rows);
  }
  for (auto& out : outputs) out->commit();
  write_config_beside(vm, out_dir + "/prepare.ini");

  log_info(strfmt("prepare: %s (%zu examples%s), tokenizer %s, max_len %d, overlong %s, seed %llu%s",
                  train_path.c_str(), train.size(),
                  kept.size() < train.size() ? strfmt(", %zu kept by --max-train", kept.size()).c_str() : "",
                  tokenizer->kind().c_str(), settings.max_len, vm["overlong"].as<std::string>().c_str(),
                  (unsigned long long)settings.seed,
                  settings.group_divisor > 1
                      ? strfmt(", A/B by group (id / %lld)", (long long)settings.group_divisor).c_str()
                      : ""));
  for (const auto& split : splits) log_info(describe(split.name, split.stats, settings.jsonl.task));
  std::vector<std::string> written;
  for (const auto& split : splits) written.push_back(out_dir + "/" + split.name + ".h5");
  log_info("wrote " + join(written, ", "));
  return 0;
}

// LM inputs → documents, in the order given: all --text files, then all --lm-jsonl files.
std::vector<std::string> lm_documents(const std::vector<std::string>& text_files,
                                      const std::vector<std::string>& jsonl_files, size_t doc_bytes,
                                      std::vector<std::string>& file_hashes) {
  std::vector<std::string> documents;
  for (const auto& path : text_files) {
    std::string text = read_text_file(path);
    require_valid_utf8(text, path);
    std::vector<std::string> docs = split_documents(text, doc_bytes);
    if (docs.empty()) throw DataError(path, "no text (the file is empty or blank)");
    for (auto& d : docs) documents.push_back(std::move(d));
    file_hashes.push_back(sha256_hex(text));
  }
  JsonlOptions options;
  options.task = JsonlTask::Text;
  for (const auto& path : jsonl_files) {
    for (auto& ex : read_jsonl(path, options)) {
      if (!ex.txt.empty()) documents.push_back(std::move(ex.txt));
    }
    file_hashes.push_back(sha256_file(path));
  }
  return documents;
}

int prepare_lm(const po::variables_map& vm) {
  const std::string out = require_string(vm, "out");
  auto files = [&](const char* key) {
    return vm.count(key) ? vm[key].as<std::vector<std::string>>() : std::vector<std::string>{};
  };
  const std::vector<std::string> text_files = files("text"), jsonl_files = files("lm-jsonl");
  if (text_files.empty() && jsonl_files.empty()) throw UsageError("w2s prepare --lm needs --text FILE or --lm-jsonl FILE");
  if (vm.count("train") && !vm["train"].as<std::string>().empty())
    throw UsageError("--train is for task data; with --lm give --text or --lm-jsonl");
  const int64_t doc_bytes = vm["doc-bytes"].as<int64_t>();
  if (doc_bytes < 1) throw UsageError("--doc-bytes must be positive");

  std::unique_ptr<Tokenizer> tokenizer = tokenizer_from(vm);
  std::vector<std::string> hashes;
  std::vector<std::string> documents = lm_documents(text_files, jsonl_files, static_cast<size_t>(doc_bytes), hashes);
  std::vector<const std::string*> texts;
  for (const auto& d : documents) texts.push_back(&d);
  std::vector<std::vector<int32_t>> encoded = encode_all(*tokenizer, texts);

  std::vector<int64_t> doc_ids(encoded.size());
  int64_t tokens = 0;
  for (size_t d = 0; d < encoded.size(); ++d) {
    doc_ids[d] = static_cast<int64_t>(d);
    tokens += static_cast<int64_t>(encoded[d].size()) + 1;
  }
  LmDatasetInfo info;
  info.tokenizer = tokenizer->kind();
  info.tokenizer_sha256 = tokenizer->sha256();
  // One input: its sha256. Several: the sha256 of their hashes, one per line, in input order.
  info.source_sha256 = hashes.size() == 1 ? hashes[0] : sha256_hex(join(hashes, "\n") + "\n");
  info.eot_id = tokenizer->eot_id();
  info.vocab_size = tokenizer->vocab_size();
  info.num_documents = static_cast<int64_t>(encoded.size());
  info.num_tokens = tokens;
  write_lm_dataset(out, info, encoded, doc_ids);
  std::filesystem::path config = out;
  config.replace_extension(".prepare.ini");
  write_config_beside(vm, config.string());

  log_info(strfmt("prepare --lm: %zu files, %zu documents, %lld tokens (%s, mean %.0f per document) → %s",
                  text_files.size() + jsonl_files.size(), documents.size(), (long long)tokens, tokenizer->kind().c_str(),
                  static_cast<double>(tokens) / static_cast<double>(documents.size()), out.c_str()));
  return 0;
}

int cmd_prepare(const std::vector<std::string>& args) {
  po::options_description options("w2s prepare");
  options.add_options()
      ("train", po::value<std::string>()->default_value(""), "train JSONL (task data)")
      ("test", po::value<std::string>()->default_value(""), "test JSONL (task data, optional)")
      ("out-dir", po::value<std::string>()->default_value(""), "output folder for train_a.h5, train_b.h5, test.h5")
      ("task", po::value<std::string>()->default_value("classification"), "classification | regression")
      ("num-classes", number<int>(nullptr, "num-classes", NumberRange::at_least(1))->default_value(2), "classes (classification)")
      ("max-len", number<int>(nullptr, "max-len", NumberRange::at_least(1))->default_value(1024), "most tokens per example")
      ("overlong", po::value<std::string>()->default_value("truncate"),
       "examples longer than --max-len: truncate (keep the beginning) | truncate-start (keep the end) | drop")
      ("seed", number<uint64_t>(nullptr, "seed", NumberRange::non_negative())->default_value(0), "seed of the A/B split and the --max-* subsets")
      ("group-divisor", number<int64_t>(nullptr, "group-divisor", NumberRange::non_negative())->default_value(0),
       "split A/B (and --b-pools) by group: examples whose ids share floor(id / D) stay together (0: by example)")
      ("b-pools", number<int64_t>(nullptr, "b-pools", NumberRange::non_negative())->default_value(0),
       "also write B as this many disjoint pools, DIR/train_b_pool1.h5 ... (0: none)")
      ("valid-fraction", number<double>(nullptr, "valid-fraction", NumberRange::half_open(0, 1))->default_value(0.0),
       "hold out this seeded fraction of each half as DIR/valid_a.h5 and DIR/valid_b.h5 (0: none)")
      ("max-train", number<int64_t>(nullptr, "max-train", NumberRange::non_negative())->default_value(0), "keep a seeded subset of this many train examples (0: all)")
      ("max-test", number<int64_t>(nullptr, "max-test", NumberRange::non_negative())->default_value(0), "keep a seeded subset of this many test examples (0: all)")
      ("tokenizer", po::value<std::string>()->default_value("gpt2"), "gpt2 | byte")
      ("encoder-json", po::value<std::string>()->default_value(""), "gpt2: encoder.json (default: the w2s cache)")
      ("vocab-bpe", po::value<std::string>()->default_value(""), "gpt2: vocab.bpe (default: the w2s cache)")
      ("tokenizer-files", po::value<std::string>()->default_value(""),
       "gpt2: a model's folder with its vocab.json + merges.txt (or encoder.json + vocab.bpe), e.g. the folder "
       "given to import-hf")
      ("lm", po::bool_switch(), "prepare a packed LM dataset instead")
      ("text", po::value<std::vector<std::string>>(), "--lm: a plain-text file (repeatable)")
      ("lm-jsonl", po::value<std::vector<std::string>>(),
       "--lm: a JSONL file, one document per line in \"txt\" (repeatable)")
      ("doc-bytes", number<int64_t>(nullptr, "doc-bytes", NumberRange::at_least(1))->default_value(4096), "--lm --text: most bytes per document (paragraphs are never split)")
      ("out", po::value<std::string>()->default_value(""), "--lm: the output .h5");
  ParsedCommand parsed = parse_command("prepare", kUsage, options, args);
  if (parsed.help) return 0;
  return parsed.vm["lm"].as<bool>() ? prepare_lm(parsed.vm) : prepare_task(parsed.vm);
}

}  // namespace

W2S_COMMAND("prepare", "tokenize JSONL task data into train_a/train_b/test HDF5 (or text into an LM dataset)",
            cmd_prepare);

}  // namespace w2s
