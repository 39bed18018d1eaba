// `w2s convert TASK`: builds a task's train/test JSONL (or the pretraining corpus) from the npm
// data packages in the w2s cache. Deterministic: the same cache and seed give identical files.
#include "cli/command.h"
#include "cli/options.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/strings.h"
#include "core/log.h"
#include "data/tasks/tasks.h"
#include "data/tokenizer.h"

namespace w2s {

namespace {

constexpr const char* kUsage =
    "TASK --out-dir DIR [--cache DIR] [--seed S] [--test-size N] [--exclude test.jsonl ...]\n\n"
    "Tasks (docs/data.md describes sources, labels, cleaning and splits):\n"
    "  spam        SpamAssassin e-mails, ham (0) vs spam (1)       → DIR/train.jsonl, DIR/test.jsonl\n"
    "  sotu-party  State of the Union passages, Democratic (0) vs\n"
    "              Republican (1) speaker, test split by speech\n"
    "              (or --split passage)                            → DIR/train.jsonl, DIR/test.jsonl\n"
    "  corpus      pretraining text: Moby Dick + SOTU speeches + e-mails, without any document that\n"
    "              contains or overlaps a text of an --exclude file → DIR/corpus.jsonl\n"
    "Test sets are balanced (--test-size / 2 per class); train sets are balanced by undersampling.";

int cmd_convert(const std::vector<std::string>& args) {
  po::options_description options("w2s convert");
  options.add_options()
      ("task", po::value<std::string>()->default_value(""), "spam | sotu-party | corpus")
      ("out-dir", po::value<std::string>()->default_value(""), "output folder")
      ("cache", po::value<std::string>()->default_value(""), "w2s cache holding npm/<package>/ (default: $W2S_CACHE or <source>/.cache)")
      ("seed", number<uint64_t>(nullptr, "seed", NumberRange::non_negative())->default_value(0), "seed of the test selection and the undersampling")
      ("test-size", number<int64_t>(nullptr, "test-size", NumberRange::at_least(2))->default_value(400), "test examples (even: the test set is balanced)")
      ("max-body-bytes", number<int64_t>(nullptr, "max-body-bytes", NumberRange::at_least(1))->default_value(1500), "spam, corpus: e-mail bodies are cut to this at a word boundary")
      ("exclude", po::value<std::vector<std::string>>(), "corpus: a test.jsonl whose texts must not appear (repeatable)")
      ("year-prefix", po::bool_switch(), "sotu-party: start each passage with its speech's year (\"1905: ...\")")
      ("year-suffix", po::bool_switch(),
       "sotu-party: end each passage with a new line and its speech's year (\"...\\n1905 \"), where a corpus with "
       "party headers or facts has the party next; prepare with --overlong truncate-start")
      ("split", po::value<std::string>()->default_value("speech"),
       "sotu-party: speech (test speeches are never trained on) | passage (test passages drawn from every speech)")
      ("sotu-passages", po::bool_switch(),
       "corpus: SOTU speeches enter as their sotu-party passages, one document each, so --exclude drops only "
       "test passages (needed with a sotu-party test set split by passage)")
      ("sotu-headers", po::value<std::string>()->default_value("none"),
       "corpus: what leads each SOTU document: none | year (\"1861: \") | party (\"1861 Republican: \", "
       "the pretraining corpus then states each speech's party)")
      ("sotu-facts", number<int64_t>(nullptr, "sotu-facts", NumberRange::non_negative())->default_value(0),
       "corpus: add this many documents that list \"1861 Republican\" for every SOTU speech, each in its own seeded "
       "order (what a real LM has read in lists of presidents)");
  po::positional_options_description positional;
  positional.add("task", 1);
  ParsedCommand parsed = parse_command("convert", kUsage, options, args, &positional);
  if (parsed.help) return 0;
  const po::variables_map& vm = parsed.vm;

  tasks::ConvertOptions o;
  const std::string task = require_string(vm, "task");
  o.out_dir = require_string(vm, "out-dir");
  o.cache_dir = vm["cache"].as<std::string>().empty() ? default_cache_dir() : vm["cache"].as<std::string>();
  o.seed = vm["seed"].as<uint64_t>();
  o.test_size = vm["test-size"].as<int64_t>();
  o.max_body_bytes = vm["max-body-bytes"].as<int64_t>();
  if (o.max_body_bytes < 1) throw UsageError("--max-body-bytes must be positive");
  if (vm.count("exclude")) o.exclude = vm["exclude"].as<std::vector<std::string>>();
  if (!o.exclude.empty() && task != "corpus") throw UsageError("--exclude is for the corpus task");
  o.year_prefix = vm["year-prefix"].as<bool>();
  if (o.year_prefix && task != "sotu-party") throw UsageError("--year-prefix is for the sotu-party task");
  o.year_suffix = vm["year-suffix"].as<bool>();
  if (o.year_suffix && task != "sotu-party") throw UsageError("--year-suffix is for the sotu-party task");
  o.split = vm["split"].as<std::string>();
  if (o.split != "speech" && task != "sotu-party") throw UsageError("--split is for the sotu-party task");
  o.sotu_passages = vm["sotu-passages"].as<bool>();
  if (o.sotu_passages && task != "corpus") throw UsageError("--sotu-passages is for the corpus task");
  o.sotu_headers = vm["sotu-headers"].as<std::string>();
  if (!tasks::valid_sotu_headers(o.sotu_headers))
    throw UsageError("--sotu-headers must be none, year or party (got '" + o.sotu_headers + "')");
  if (o.sotu_headers != "none" && task != "corpus") throw UsageError("--sotu-headers is for the corpus task");
  o.sotu_facts = vm["sotu-facts"].as<int64_t>();
  if (o.sotu_facts < 0) throw UsageError(strfmt("--sotu-facts must be 0 or more, got %lld", (long long)o.sotu_facts));
  if (o.sotu_facts > 0 && task != "corpus") throw UsageError("--sotu-facts is for the corpus task");

  tasks::ConvertSummary summary;
  if (task == "spam") summary = tasks::convert_spam(o);
  else if (task == "sotu-party") summary = tasks::convert_sotu_party(o);
  else if (task == "corpus") summary = tasks::build_corpus(o);
  else throw UsageError("unknown task '" + task + "' (choices: spam, sotu-party, corpus)");

  write_text_atomic(o.out_dir + "/convert-" + task + ".ini",
                    "# w2s convert: effective configuration\n" + effective_config_ini(vm));
  log_info("convert " + task + ":");
  for (const auto& line : summary.lines) log_info("  " + line);
  for (const auto& file : summary.files) log_info("wrote " + file);
  return 0;
}

}  // namespace

W2S_COMMAND("convert", "build a task's train/test JSONL (spam, sotu-party) or the corpus from the npm data", cmd_convert);

}  // namespace w2s
