// `w2s prepare`: JSONL task data → tokenized HDF5 splits (train_a, train_b, test, ...), or plain
// text → a packed LM dataset (--lm). The options are read here; the work is data/prepare_task.h
// and data/prepare_lm.h, and the effective configuration is written beside the outputs.
#include <filesystem>
#include <memory>

#include "cli/command.h"
#include "cli/options.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/strings.h"
#include "data/jsonl.h"
#include "data/prepare.h"
#include "data/prepare_lm.h"
#include "data/prepare_task.h"
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

int prepare_task(const po::variables_map& vm) {
  if (vm.count("text") || vm.count("lm-jsonl") || !vm["out"].as<std::string>().empty())
    throw UsageError("--text, --lm-jsonl and --out are for LM data: add --lm");
  TaskPrepareOptions o;
  o.jsonl.task = parse_jsonl_task(vm["task"].as<std::string>());
  if (o.jsonl.task == JsonlTask::Text) throw UsageError("--task must be classification or regression");
  o.jsonl.num_classes = vm["num-classes"].as<int>();
  if (o.jsonl.task == JsonlTask::Classification && o.jsonl.num_classes < 2)
    throw UsageError(strfmt("--num-classes must be at least 2, got %d", o.jsonl.num_classes));
  o.max_len = vm["max-len"].as<int>();
  if (o.max_len < 1) throw UsageError(strfmt("--max-len must be positive, got %d", o.max_len));
  o.overlong = parse_overlong(vm["overlong"].as<std::string>());
  o.seed = vm["seed"].as<uint64_t>();
  o.group_divisor = vm["group-divisor"].as<int64_t>();
  o.b_pools = vm["b-pools"].as<int64_t>();
  if (o.b_pools == 1) throw UsageError("--b-pools must be 0 (none) or at least 2, got 1");
  o.train_path = require_string(vm, "train");
  o.test_path = vm["test"].as<std::string>();
  o.out_dir = require_string(vm, "out-dir");
  o.max_train = vm["max-train"].as<int64_t>();
  o.max_test = vm["max-test"].as<int64_t>();
  o.valid_fraction = vm["valid-fraction"].as<double>();

  prepare_task_data(o, *tokenizer_from(vm));
  write_config_beside(vm, o.out_dir + "/prepare.ini");
  return 0;
}

int prepare_lm(const po::variables_map& vm) {
  LmPrepareOptions o;
  o.out = require_string(vm, "out");
  auto files = [&](const char* key) {
    return vm.count(key) ? vm[key].as<std::vector<std::string>>() : std::vector<std::string>{};
  };
  o.text_files = files("text");
  o.jsonl_files = files("lm-jsonl");
  if (o.text_files.empty() && o.jsonl_files.empty())
    throw UsageError("w2s prepare --lm needs --text FILE or --lm-jsonl FILE");
  if (vm.count("train") && !vm["train"].as<std::string>().empty())
    throw UsageError("--train is for task data; with --lm give --text or --lm-jsonl");
  const int64_t doc_bytes = vm["doc-bytes"].as<int64_t>();
  if (doc_bytes < 1) throw UsageError("--doc-bytes must be positive");
  o.doc_bytes = static_cast<size_t>(doc_bytes);

  prepare_lm_data(o, *tokenizer_from(vm));
  std::filesystem::path config = o.out;
  config.replace_extension(".prepare.ini");
  write_config_beside(vm, config.string());
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
