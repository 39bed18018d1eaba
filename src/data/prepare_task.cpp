// The A/B split and everything cut from it (validation parts, B's pools), tokenized and written
// together: see prepare_task.h.
#include "data/prepare_task.h"

#include <memory>
#include <unordered_set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/strings.h"
#include "data/token_dataset.h"

namespace w2s {

namespace {

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
                            const std::vector<size_t>& positions, const Tokenizer& tokenizer,
                            const TaskPrepareOptions& options, const std::string& source_sha256) {
  PreparedSplit split;
  split.name = name;
  split.source = source;
  split.rows = tokenize_examples(examples, positions, tokenizer, options.max_len, options.overlong, options.jsonl.task,
                                 options.jsonl.num_classes, split.stats);
  if (split.rows.empty())
    throw DataError(source, strfmt("no examples left for split %s (%lld given: %lld longer than max_len %d and dropped, "
                                   "%lld empty)",
                                   name.c_str(), (long long)split.stats.read, (long long)split.stats.dropped_overlong,
                                   options.max_len, (long long)split.stats.dropped_empty));
  TokenDatasetInfo& info = split.info;
  info.task = options.jsonl.task == JsonlTask::Regression ? "regression" : "classification";
  info.num_examples = static_cast<int64_t>(split.rows.size());
  info.max_len = options.max_len;
  info.num_classes = options.jsonl.task == JsonlTask::Regression ? 1 : options.jsonl.num_classes;
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

std::vector<int64_t> all_ids(const std::vector<JsonlExample>& examples) {
  std::vector<int64_t> ids;
  for (const auto& ex : examples) ids.push_back(ex.id);
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
std::vector<size_t> hold_out_valid(const std::vector<JsonlExample>& examples, const TaskPrepareOptions& options,
                                   std::vector<size_t>& half) {
  const ValidSplit held = split_valid(ids_at(examples, half), options.valid_fraction, options.seed, options.group_divisor);
  std::vector<size_t> rest, valid;
  for (size_t k : held.train) rest.push_back(half[k]);
  for (size_t k : held.valid) valid.push_back(half[k]);
  half = std::move(rest);
  return valid;
}

// The train file's parts, as positions into its examples.
struct TrainParts {
  std::vector<size_t> kept;  // after --max-train
  std::vector<size_t> a, b, valid_a, valid_b;
  std::vector<std::vector<size_t>> pools;  // of B
};

TrainParts split_train(const std::vector<JsonlExample>& train, const TaskPrepareOptions& options) {
  TrainParts parts;
  parts.kept = seeded_subset(all_ids(train), options.max_train, options.seed, "subset.train");
  AbSplit ab = split_ab_grouped(ids_at(train, parts.kept), options.seed, options.group_divisor,
                                classes_at(train, parts.kept, options.jsonl.task));
  require_nonempty_parts({ab.a, ab.b}, "train into A and B", options.train_path, options.group_divisor);
  for (size_t k : ab.a) parts.a.push_back(parts.kept[k]);
  for (size_t k : ab.b) parts.b.push_back(parts.kept[k]);
  // Each half gives up its validation examples first (B's pools are cut from what B keeps).
  parts.valid_a = hold_out_valid(train, options, parts.a);
  parts.valid_b = hold_out_valid(train, options, parts.b);
  // B's pools: disjoint parts of B, whole groups at a time like A/B (split_by_group).
  if (options.b_pools > 0) {
    parts.pools = split_by_group(ids_at(train, parts.b), options.seed, "b-pools", static_cast<size_t>(options.b_pools),
                                 options.group_divisor, classes_at(train, parts.b, options.jsonl.task));
    require_nonempty_parts(parts.pools, "B into pools", options.train_path, options.group_divisor);
    for (auto& pool : parts.pools)
      for (size_t& k : pool) k = parts.b[k];
  }
  return parts;
}

// Writes every split to its temporary, then commits them all; returns the paths.
std::vector<std::string> write_splits(const std::string& out_dir, const std::vector<PreparedSplit>& splits) {
  std::vector<std::unique_ptr<AtomicOutput>> outputs;
  std::vector<std::string> written;
  for (const auto& split : splits) {
    written.push_back(out_dir + "/" + split.name + ".h5");
    outputs.push_back(std::make_unique<AtomicOutput>(written.back()));
    write_token_dataset_file(outputs.back()->temp_path(), split.info, split.rows);
  }
  for (auto& out : outputs) out->commit();
  return written;
}

}  // namespace

std::vector<std::string> prepare_task_data(const TaskPrepareOptions& options, const Tokenizer& tokenizer) {
  std::vector<JsonlExample> train = read_jsonl(options.train_path, options.jsonl);
  std::vector<JsonlExample> test;
  if (!options.test_path.empty()) test = read_jsonl(options.test_path, options.jsonl);
  if (!test.empty() && train.front().soft.empty() != test.front().soft.empty())
    throw DataError(options.test_path, "soft_label must be present in both train and test files or in neither");
  if (!test.empty()) warn_on_shared_texts(train, test, options.test_path);

  const TrainParts parts = split_train(train, options);
  const std::string train_sha = sha256_file(options.train_path);
  auto train_split = [&](const std::string& name, const std::vector<size_t>& positions) {
    return prepare_split(name, options.train_path, train, positions, tokenizer, options, train_sha);
  };
  std::vector<PreparedSplit> splits;
  splits.push_back(train_split("train_a", parts.a));
  splits.push_back(train_split("train_b", parts.b));
  if (options.valid_fraction > 0) {
    splits.push_back(train_split("valid_a", parts.valid_a));
    splits.push_back(train_split("valid_b", parts.valid_b));
  }
  for (size_t k = 0; k < parts.pools.size(); ++k)
    splits.push_back(train_split("train_b_pool" + std::to_string(k + 1), parts.pools[k]));
  if (!test.empty()) {
    std::vector<size_t> test_positions = seeded_subset(all_ids(test), options.max_test, options.seed, "subset.test");
    splits.push_back(prepare_split("test", options.test_path, test, test_positions, tokenizer, options,
                                   sha256_file(options.test_path)));
  }
  const std::vector<std::string> written = write_splits(options.out_dir, splits);

  log_info(strfmt("prepare: %s (%zu examples%s), tokenizer %s, max_len %d, overlong %s, seed %llu%s",
                  options.train_path.c_str(), train.size(),
                  parts.kept.size() < train.size() ? strfmt(", %zu kept by --max-train", parts.kept.size()).c_str() : "",
                  tokenizer.kind().c_str(), options.max_len, overlong_name(options.overlong),
                  (unsigned long long)options.seed,
                  options.group_divisor > 1
                      ? strfmt(", A/B by group (id / %lld)", (long long)options.group_divisor).c_str()
                      : ""));
  for (const auto& split : splits) log_info(describe(split.name, split.stats, options.jsonl.task));
  log_info("wrote " + join(written, ", "));
  return written;
}

}  // namespace w2s
