#include "experiment/pipeline.h"

#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "comm/output_lock.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/strings.h"
#include "core/timer.h"
#include "data/lm_dataset.h"
#include "data/token_dataset.h"
#include "data/tokenizer.h"
#include "io/checkpoint.h"
#include "experiment/analyze.h"
#include "experiment/declaration.h"
#include "experiment/experiment_config.h"
#include "io/label_shards.h"
#include "io/predictions.h"
#include "experiment/run_layout.h"
#include "train/trainer.h"

namespace w2s {
namespace {

namespace fs = std::filesystem;

struct Preempted {};

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

// What a stage's existing output is worth. Ok: complete and made from the stage's actual inputs.
// Absent: missing or unfinished (the stage runs, a training resumes). Stale: present but made
// from other inputs (another supervisor's labels, predictions of another model or test set) or
// changed since it was written (a checkpoint whose weights no longer match their hash): `remove`
// is deleted and the stage runs afresh, since the pipeline owns these outputs and knows how to
// remake them.
struct Verdict {
  enum Kind { Ok, Absent, Stale } kind;
  std::string why;     // Stale: one line naming the files
  std::string remove;  // Stale: the output to delete before the stage reruns
  Verdict(bool ok) : kind(ok ? Ok : Absent) {}  // NOLINT(google-explicit-constructor): present or not
  static Verdict stale(std::string why, std::string remove) {
    Verdict v(false);
    v.kind = Stale;
    v.why = std::move(why);
    v.remove = std::move(remove);
    return v;
  }
  bool ok() const { return kind == Ok; }
};

// One stage: a w2s subcommand, the folder it owns, and how to tell its output is complete.
struct Stage {
  std::string title;
  std::vector<std::string> command;  // subcommand first
  std::string out_dir;               // holds the stage stamp
  bool root_only = false;            // data preparation runs on rank 0 alone
  std::function<Verdict()> verified; // Ok when the outputs exist, open cleanly and match the inputs
  // The plan (`w2s pipeline --plan-json`, which jobs/ submits): the planner names what the stage
  // reads and writes when it builds the command line, so nothing re-derives them from options.
  std::string kind;                  // data | pretrain | train | label | eval | analyze
  std::vector<std::string> inputs;   // every path it reads (file or folder); the stamp hashes each
  std::vector<std::string> outputs;  // every path it writes
  std::string id = {};               // out_dir below the run root ("spam/seed-0/gt-ta"); set by link()
  std::vector<std::string> dependencies = {};  // ids of the earlier stages writing what it reads; link()
};

std::string input_identity(const std::string& path) {
  if (fs::is_directory(path)) {
    std::string manifest = path + "/manifest.json";
    return file_exists(manifest) ? sha256_file(manifest) : "missing";
  }
  return file_exists(path) ? sha256_file(path) : "missing";
}

// `command` without `option` and the value after it.
std::vector<std::string> without_option(const std::vector<std::string>& command, const std::string& option) {
  std::vector<std::string> kept;
  for (size_t i = 0; i < command.size(); ++i) {
    if (command[i] == option) {
      ++i;
      continue;
    }
    kept.push_back(command[i]);
  }
  return kept;
}

// The tokenizer options of every prepare stage, and the vocabulary files they read (inputs: a
// changed vocabulary retokenizes).
std::vector<std::string> tokenizer_files_option(const ExperimentConfig& c) {
  if (c.tokenizer_files.empty()) return {};
  return {"--tokenizer-files", c.tokenizer_files};
}

std::vector<std::string> tokenizer_inputs(const ExperimentConfig& c) {
  if (c.tokenizer_files.empty()) return {};
  BpeFiles files = bpe_files_in(c.tokenizer_files);
  return {files.encoder_json, files.vocab_bpe};
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<std::string> tokenizer_options(const ExperimentConfig& c) {
  return concat({"--tokenizer", c.tokenizer}, tokenizer_files_option(c));
}

// The stamp written after a stage succeeds: its command line and the hashes of every input the
// planner named (the corpus stage's excluded test sets too, so a changed test set rebuilds it).
// --save-every is left out: it changes when checkpoints are written, never the result, so a new
// checkpoint cadence does not redo finished stages.
std::string stamp_of(const Stage& s) {
  nlohmann::json inputs = nlohmann::json::object();
  for (const std::string& path : s.inputs) inputs[path] = input_identity(path);
  return nlohmann::json({{"command", without_option(s.command, "--save-every")}, {"inputs", inputs}}).dump(2) + "\n";
}

std::string stamp_path(const Stage& s) { return s.out_dir + "/.w2s-stage.json"; }

bool done_training(const std::string& run_dir) {
  try {
    CheckpointInfo info = read_checkpoint_info(layout::checkpoint(run_dir));
    return info.state.total_steps > 0 && info.state.step == info.state.total_steps;
  } catch (const Error&) {
    return false;
  }
}

// sha256 of a file, "" when it cannot be read (a provenance check then fails).
std::string file_sha256(const std::string& path) {
  try {
    return file_exists(path) ? sha256_file(path) : "";
  } catch (const Error&) {
    return "";
  }
}

// A training run's output: the checkpoint finished its steps, and its weights still match the
// content hash written with them (else the run folder is stale and trains afresh).
Verdict training_verdict(const std::string& run_dir) {
  const std::string ckpt = layout::checkpoint(run_dir);
  if (!file_exists(ckpt)) return false;
  try {
    verify_checkpoint_content(ckpt);
  } catch (const Error& e) {
    return Verdict::stale(e.what(), run_dir);
  }
  return done_training(run_dir);
}

// predictions.h5 at `out` must have been made by `model` on `data`: a file copied from another
// run, or left from an older checkpoint or test set, is stale.
Verdict predictions_verdict(const std::string& out, const std::string& model, const std::string& data) {
  PredictionFile p;
  try {
    p = read_predictions(out);
  } catch (const Error&) {
    return false;
  }
  if (p.model_sha256 != file_sha256(model))
    return Verdict::stale(out + ": not made by " + model + " (model_sha256 differs)", out);
  if (p.dataset_sha256 != file_sha256(data))
    return Verdict::stale(out + ": not made on " + data + " (dataset_sha256 differs)", out);
  return true;
}

// A label set in `dir` must have been written by the supervisor `model` over `data`.
Verdict label_set_verdict(const std::string& dir, const std::string& model, const std::string& data) {
  try {
    LabelSet set = LabelSet::open(dir);
    if (set.supervisor_sha256() != file_sha256(model))
      return Verdict::stale(dir + ": labels not written by " + model + " (supervisor_sha256 differs)", dir);
    if (set.dataset_sha256() != file_sha256(data))
      return Verdict::stale(dir + ": labels not computed over " + data + " (dataset_sha256 differs)", dir);
  } catch (const Error&) {
    return false;
  }
  return true;
}

template <class Fn>
bool opens(Fn fn) {
  try {
    fn();
    return true;
  } catch (const Error&) {
    return false;
  }
}

std::string shell_line(const std::vector<std::string>& cmd) {
  std::string out = "w2s";
  for (const auto& a : cmd) out += " " + a;
  return out;
}

class Pipeline {
 public:
  Pipeline(ExperimentConfig cfg, const PipelineOptions& o)
      : cfg_(std::move(cfg)), overrides_(o.overrides), dry_run_(o.dry_run), plan_json_(o.plan_json),
        run_command_(o.run_command) {}
  int run();

 private:
  void plan();
  void plan_data();
  void plan_pretraining();
  void add_save_every();
  void plan_task_seed(const TaskSpec& task, int seed);
  void plan_chain(const TaskSpec& task, int seed, const std::string& loss);
  void plan_validation();
  void add_training(const std::string& title, const std::string& run_dir, std::vector<std::string> cmd,
                    std::vector<std::string> inputs);
  void add_student(const std::string& title, const TaskSpec& task, const std::string& data, const std::string& run,
                   const std::string& labels, const std::string& loss, const std::string& size, int seed);
  void add_eval(const std::string& title, const std::string& run_dir, const std::string& test_h5);
  void add_eval_into(const std::string& title, const std::string& model, const std::string& out_dir,
                     const std::string& test_h5);
  void add_label(const std::string& title, const std::string& model_run, const std::string& data,
                 const std::string& out_dir);
  std::vector<std::string> finetune_args(const TaskSpec& task, const std::string& size, int seed) const;
  std::string init_of(const std::string& size, int seed) const;
  void execute(const Stage& s, size_t index);
  void declare() const;
  void link(Stage& s, size_t earlier) const;
  Stage analyze_stage() const;
  nlohmann::ordered_json plan_json() const;

  ExperimentConfig cfg_;
  std::vector<std::string> overrides_;  // --set section.key=value
  bool dry_run_;
  std::string plan_json_;
  std::function<int(const std::vector<std::string>&)> run_command_;
  std::vector<Stage> stages_;
  std::string lm_data_;
};

// The checkpoint `size` starts from when fine-tuned under `seed`: model.<size>.init, else the
// family member pretrained with that seed's pretraining seed (experiment.pretrain_seeds).
std::string Pipeline::init_of(const std::string& size, int seed) const {
  const SizeSpec& spec = cfg_.size(size);
  if (!spec.init.empty()) return spec.init;
  return layout::checkpoint(layout::pretrained(cfg_.out, size, cfg_.pretrain_seed_of(seed)));
}

void Pipeline::plan_data() {
  for (const TaskSpec& t : cfg_.tasks) {
    if (!t.embedded()) continue;
    std::string dir = layout::task_data(cfg_.out, t.name);
    std::vector<std::string> convert = {"convert", "--task", t.name, "--out-dir", dir,
                                        "--test-size", std::to_string(cfg_.test_size_of(t))};
    if (cfg_.test_seed != 0) convert.insert(convert.end(), {"--seed", std::to_string(cfg_.test_seed)});
    if (t.year_prefix) convert.push_back("--year-prefix");
    if (t.year_suffix) convert.push_back("--year-suffix");
    if (t.split != "speech") convert.insert(convert.end(), {"--split", t.split});
    stages_.push_back({"data: " + t.name,
                       convert,
                       dir,
                       true,
                       [dir] { return file_exists(dir + "/train.jsonl") && file_exists(dir + "/test.jsonl"); },
                       "data",
                       {},  // the task's examples are built into w2s
                       {dir + "/train.jsonl", dir + "/test.jsonl"}});
  }
  bool needs_corpus = std::any_of(cfg_.sizes.begin(), cfg_.sizes.end(),
                                  [&](const std::string& s) { return cfg_.size(s).init.empty(); });
  if (!needs_corpus) return;
  std::string dir = layout::corpus_dir(cfg_.out);
  std::string jsonl = cfg_.corpus;
  if (ends_with(cfg_.corpus, ".h5")) {
    lm_data_ = cfg_.corpus;
    return;
  }
  if (cfg_.corpus == "embedded") {
    jsonl = dir + "/corpus.jsonl";
    std::vector<std::string> cmd = {"convert", "--task", "corpus", "--out-dir", dir};
    // A test set split by passage holds passages of every speech: exclude passage by passage. With
    // pretrain.sotu_passages so too for a speech split: the untested passages of a test speech stay.
    if (cfg_.sotu_passages ||
        std::any_of(cfg_.tasks.begin(), cfg_.tasks.end(), [](const TaskSpec& t) { return t.split == "passage"; }))
      cmd.push_back("--sotu-passages");
    if (cfg_.sotu_headers != "none") {
      cmd.push_back("--sotu-headers");
      cmd.push_back(cfg_.sotu_headers);
    }
    if (cfg_.sotu_facts > 0) cmd.insert(cmd.end(), {"--sotu-facts", std::to_string(cfg_.sotu_facts)});
    std::vector<std::string> excluded;  // every task's test set: inputs, hashed into the stamp
    for (const TaskSpec& t : cfg_.tasks) {
      excluded.push_back(t.embedded() ? layout::task_data(cfg_.out, t.name) + "/test.jsonl" : t.test_jsonl);
      cmd.insert(cmd.end(), {"--exclude", excluded.back()});
    }
    stages_.push_back({"data: pretraining corpus (test texts excluded)", cmd, dir, true,
                       [jsonl] { return file_exists(jsonl); }, "data", excluded, {jsonl}});
  }
  lm_data_ = dir + "/lm.h5";
  std::string lm = lm_data_;
  stages_.push_back({"data: tokenize corpus",
                     concat({"prepare", "--lm", "--lm-jsonl", jsonl, "--out", lm}, tokenizer_options(cfg_)),
                     dir + "/lm",
                     true,
                     [lm] { return opens([&] { LmDataset::open(lm); }); },
                     "data",
                     concat({jsonl}, tokenizer_inputs(cfg_)),
                     {lm}});
}

// The family, once per pretraining seed (experiment.pretrain_seeds), else once with the default
// seed and a command line as it always was.
void Pipeline::plan_pretraining() {
  std::vector<int> pretrain_seeds = cfg_.pretrain_seeds.empty() ? std::vector<int>{-1} : cfg_.pretrain_seeds;
  for (int p : pretrain_seeds) {
    for (const std::string& size : cfg_.sizes) {
      const SizeSpec& spec = cfg_.size(size);
      if (!spec.init.empty()) continue;
      std::string run = layout::pretrained(cfg_.out, size, p);
      int64_t steps = spec.pretrain_steps >= 0 ? spec.pretrain_steps : cfg_.pretrain_steps;
      double lr = spec.pretrain_lr > 0 ? spec.pretrain_lr : cfg_.pretrain_lr;
      std::vector<std::string> cmd = {
          "pretrain", "--data", lm_data_, "--run-dir", run, "--model", spec.model_ini, "--steps",
          std::to_string(steps), "--batch-size", std::to_string(cfg_.pretrain_batch), "--seq-len",
          std::to_string(cfg_.pretrain_seq), "--lr", strfmt("%g", lr), "--warmup-steps",
          std::to_string(cfg_.pretrain_warmup), "--weight-decay", strfmt("%g", cfg_.pretrain_weight_decay),
          "--grad-clip", "1", "--tp", std::to_string(cfg_.tp), "--log-every", "100"};
      if (p >= 0) cmd.insert(cmd.end(), {"--seed", std::to_string(p)});
      add_training("pretrain " + size + (p >= 0 ? ", pretraining seed " + std::to_string(p) : ""), run, cmd,
                   {lm_data_, spec.model_ini});
    }
  }
}

std::vector<std::string> Pipeline::finetune_args(const TaskSpec& task, const std::string& size, int seed) const {
  const double lr = cfg_.finetune_lr_of(task, size);
  std::vector<std::string> args = {
      "--init", init_of(size, seed), "--epochs", strfmt("%g", cfg_.finetune_epochs), "--batch-size",
      std::to_string(cfg_.finetune_batch), "--micro-batch", std::to_string(cfg_.finetune_micro), "--lr",
      strfmt("%g", lr), "--optimizer", cfg_.finetune_optimizer, "--weight-decay",
      strfmt("%g", cfg_.finetune_weight_decay), "--warmup-steps", std::to_string(cfg_.finetune_warmup), "--seed",
      std::to_string(seed), "--tp", std::to_string(cfg_.tp), "--log-every", "1000", "--no-save-optimizer"};
  if (cfg_.freeze_backbone) args.push_back("--freeze-backbone");
  return args;
}

// A pretraining or fine-tuning run (the kind is its subcommand) into run_dir; `inputs` are the
// paths its command line reads. Its product is the checkpoint (metrics.jsonl and config.ini beside it).
void Pipeline::add_training(const std::string& title, const std::string& run_dir, std::vector<std::string> cmd,
                            std::vector<std::string> inputs) {
  cmd.push_back("--resume");  // an interrupted run continues from its checkpoint
  std::string kind = cmd.at(0);
  stages_.push_back({title, cmd, run_dir, false, [run_dir] { return training_verdict(run_dir); }, kind,
                     std::move(inputs), {layout::checkpoint(run_dir)}});
}

// A student: `size` fine-tuned on `data` (half B, or a chain's pool of it) with the labels in `labels` (a weak
// supervisor's, or the previous bootstrapping step's) under `loss`. The one place a student's
// command line is built: the pairs and the bootstrapping chains get the same options.
void Pipeline::add_student(const std::string& title, const TaskSpec& task, const std::string& data,
                           const std::string& run, const std::string& labels, const std::string& loss,
                           const std::string& size, int seed) {
  std::vector<std::string> cmd = {"train", "--data", data, "--run-dir", run, "--labels", labels,
                                  "--loss", loss, "--aux-alpha-max", strfmt("%g", cfg_.aux_alpha_max),
                                  "--aux-warmup-frac", strfmt("%g", cfg_.aux_warmup_frac), "--kd-temperature",
                                  strfmt("%g", cfg_.kd_temperature)};
  for (auto& a : finetune_args(task, size, seed)) cmd.push_back(a);
  add_training(title, run, cmd, {data, labels, init_of(size, seed)});
}

// A run's own model, evaluated into the run's folder.
void Pipeline::add_eval(const std::string& title, const std::string& run_dir, const std::string& test_h5) {
  add_eval_into(title, layout::checkpoint(run_dir), run_dir, test_h5);
}

// `model` evaluated on test_h5, its predictions (and the stage's records) in out_dir.
void Pipeline::add_eval_into(const std::string& title, const std::string& model, const std::string& out_dir,
                             const std::string& test_h5) {
  std::string out = layout::predictions(out_dir);
  stages_.push_back({title,
                     {"eval", "--model", model, "--data", test_h5, "--out", out, "--tp", std::to_string(cfg_.tp)},
                     out_dir + "/eval",
                     false,
                     [out, model, test_h5] { return predictions_verdict(out, model, test_h5); },
                     "eval",
                     {model, test_h5},
                     {out}});
}

void Pipeline::add_label(const std::string& title, const std::string& model_run, const std::string& data,
                         const std::string& out_dir) {
  std::string model = layout::checkpoint(model_run);
  stages_.push_back({title,
                     {"label", "--model", model, "--data", data, "--out-dir", out_dir, "--batch",
                      std::to_string(cfg_.label_batch), "--tp", std::to_string(cfg_.tp)},
                     out_dir,
                     false,
                     [out_dir, model, data] { return label_set_verdict(out_dir, model, data); },
                     "label",
                     {model, data},
                     {out_dir}});
}

void Pipeline::plan_task_seed(const TaskSpec& task, int seed) {
  const std::string split = layout::task_split(cfg_.out, task.name, seed);
  const std::string sd = layout::seed_dir(cfg_.out, task.name, seed);
  const std::string data_dir = layout::task_data(cfg_.out, task.name);
  std::string train = task.embedded() ? data_dir + "/train.jsonl" : task.train_jsonl;
  std::string test = task.embedded() ? data_dir + "/test.jsonl" : task.test_jsonl;
  std::string tag = task.name + " seed " + std::to_string(seed);
  std::vector<std::string> prepare = {
      "prepare", "--train", train, "--test", test, "--out-dir", split, "--tokenizer", cfg_.tokenizer,
      "--max-len", std::to_string(cfg_.max_len_of(task)), "--max-train", std::to_string(cfg_.max_train_of(task)),
      "--max-test", std::to_string(cfg_.max_test), "--overlong", cfg_.overlong_of(task), "--seed",
      std::to_string(seed)};
  prepare = concat(prepare, tokenizer_files_option(cfg_));
  std::vector<std::string> split_files = {split + "/train_a.h5", split + "/train_b.h5", split + "/test.h5"};
  // A task whose ids name their source (sotu-party: the speech) is split by source, so that B's
  // weak labels are never near in-sample; a task without groups keeps its command line (and split).
  if (const int64_t divisor = cfg_.group_divisor_of(task); divisor > 1)
    prepare.insert(prepare.end(), {"--group-divisor", std::to_string(divisor)});
  if (!cfg_.bootstrap.empty()) {  // one pool of B per chain step (plan_chain)
    const size_t pools = cfg_.bootstrap.size() - 1;
    prepare.insert(prepare.end(), {"--b-pools", std::to_string(pools)});
    for (size_t k = 1; k <= pools; ++k) split_files.push_back(layout::b_pool(split, k));
  }
  stages_.push_back({"data: split + tokenize " + tag, prepare, split, true,
                     [split_files] {
                       return opens([&] {
                         for (const std::string& f : split_files) TokenDataset::open(f);
                       });
                     },
                     "data", concat({train, test}, tokenizer_inputs(cfg_)), split_files});
  // Every size that is someone's supervisor or ceiling: fine-tuned on half A, ground truth.
  std::vector<std::string> gt_sizes;
  for (const auto& [w, s] : cfg_.pairs) gt_sizes.insert(gt_sizes.end(), {w, s});
  gt_sizes.insert(gt_sizes.end(), cfg_.bootstrap.begin(), cfg_.bootstrap.end());
  for (const std::string& size : cfg_.sizes) {
    if (std::find(gt_sizes.begin(), gt_sizes.end(), size) == gt_sizes.end()) continue;
    std::string run = layout::gt_run(sd, size);
    std::vector<std::string> cmd = {"train", "--data", split + "/train_a.h5", "--run-dir", run};
    for (auto& a : finetune_args(task, size, seed)) cmd.push_back(a);
    add_training("ground truth " + size + ", " + tag, run, cmd, {split + "/train_a.h5", init_of(size, seed)});
    add_eval("eval ground truth " + size + ", " + tag, run, split + "/test.h5");
  }
  std::vector<std::string> weak_sizes;
  for (const auto& [w, s] : cfg_.pairs)
    if (std::find(weak_sizes.begin(), weak_sizes.end(), w) == weak_sizes.end()) weak_sizes.push_back(w);
  for (const std::string& w : weak_sizes)
    add_label("weak labels from " + w + ", " + tag, layout::gt_run(sd, w), split + "/train_b.h5", layout::labels(sd, w));
  for (const auto& [w, s] : cfg_.pairs) {
    for (const std::string& loss : cfg_.losses) {
      std::string run = layout::student(sd, w, s, loss);
      add_student("student " + w + " -> " + s + " (" + loss + "), " + tag, task, split + "/train_b.h5", run,
                  layout::labels(sd, w), loss, s, seed);
      add_eval("eval student " + w + " -> " + s + " (" + loss + "), " + tag, run, split + "/test.h5");
    }
  }
  if (cfg_.bootstrap.empty()) return;
  const std::string& first = cfg_.bootstrap[0];
  add_label("bootstrap labels from " + first + " on pool 1, " + tag, layout::gt_run(sd, first),
            layout::b_pool(split, 1), layout::pool_labels(sd, first, 1));
  for (const std::string& loss : cfg_.losses) plan_chain(task, seed, loss);
}

// Bootstrapping (Burns et al. §4.3.1): m1's labels train m2; m2 labels data for m3; … The chain's
// last model is evaluated on test into the chain folder's predictions.h5.
// Every link labels data it never trained on: B is split into one disjoint pool per step
// (prepare --b-pools, whole groups at a time like A/B); m1 (trained on A) labels pool 1, step k
// trains on pool k and labels pool k+1. Labelling B after training on B would hand the next
// model near in-sample labels, which are more accurate than the labels any real supervisor gives
// on unseen data, and would credit the chain with gains that are memorisation. The price is that
// each step trains on |B| / (n - 1) examples; cross-fitting (two models per step, each labelling
// the other half) would keep all of B but double every step's training.
void Pipeline::plan_chain(const TaskSpec& task, int seed, const std::string& loss) {
  const std::string split = layout::task_split(cfg_.out, task.name, seed);
  const std::string sd = layout::seed_dir(cfg_.out, task.name, seed);
  const std::string dir = layout::chain(sd, cfg_.bootstrap, loss);
  std::string tag = task.name + " seed " + std::to_string(seed);
  std::string labels = layout::pool_labels(sd, cfg_.bootstrap[0], 1);
  std::string last_run;
  for (size_t k = 1; k < cfg_.bootstrap.size(); ++k) {
    const std::string& size = cfg_.bootstrap[k];
    std::string run = dir + "/step-" + std::to_string(k);
    add_student("bootstrap step " + std::to_string(k) + " (" + size + ", " + loss + "), " + tag, task,
                layout::b_pool(split, k), run, labels, loss, size, seed);
    if (k + 1 < cfg_.bootstrap.size()) {
      labels = run + "/labels";
      add_label("bootstrap labels from step " + std::to_string(k) + " on pool " + std::to_string(k + 1) + ", " + tag,
                run, layout::b_pool(split, k + 1), labels);
    }
    last_run = run;
  }
  // The chain's last student, evaluated into the chain's own folder.
  add_eval_into("eval bootstrap chain (" + loss + "), " + tag, layout::checkpoint(last_run), dir, split + "/test.h5");
}

void Pipeline::plan() {
  plan_data();
  plan_pretraining();
  for (const TaskSpec& t : cfg_.tasks)
    for (int seed : cfg_.seeds) plan_task_seed(t, seed);
  plan_validation();
  // experiment.device reaches every stage that runs a model; the CPU default adds nothing, so
  // CPU plans (and their stage stamps) are as before.
  if (cfg_.device != "cpu")
    for (Stage& s : stages_)
      if (s.command[0] == "pretrain" || s.command[0] == "train" || s.command[0] == "label" || s.command[0] == "eval")
        s.command.insert(s.command.end(), {"--device", cfg_.device});
  add_save_every();
  std::set<std::string> ids;
  for (size_t i = 0; i < stages_.size(); ++i) {
    link(stages_[i], i);
    W2S_CHECK(ids.insert(stages_[i].id).second, "pipeline: two stages plan the folder " + stages_[i].out_dir);
  }
}

// pretrain.save_every / finetune.save_every reach every training stage of their kind as
// --save-every N; an unset key adds nothing (the trainer's default: at the end only).
void Pipeline::add_save_every() {
  for (Stage& s : stages_) {
    const int64_t every = s.kind == "pretrain" ? cfg_.pretrain_save_every
                          : s.kind == "train"  ? cfg_.finetune_save_every
                                               : -1;
    if (every >= 0) s.command.insert(s.command.end(), {"--save-every", std::to_string(every)});
  }
}

// The value after `option` in a command line, "" when absent.
std::string option_value(const std::vector<std::string>& command, const std::string& option) {
  auto it = std::find(command.begin(), command.end(), option);
  return it != command.end() && it + 1 != command.end() ? *(it + 1) : "";
}

std::string folder_of(const std::string& path) { return fs::path(path).parent_path().string(); }

// data.valid_fraction > 0: every split also holds valid_a.h5 / valid_b.h5; every fine-tuning
// stage validates (--valid) on the held-out part of the half it trains on: ground-truth runs on
// valid_a's ground truth, students (and bootstrapping steps) on valid_b with their supervisor's
// labels (a label set's twin over valid_b, in <labels>-valid), never on ground truth, as the
// paper's student never sees it. Only the evaluation stages read test.h5. Off (0) adds nothing,
// so existing plans and their stamps are unchanged.
void Pipeline::plan_validation() {
  if (cfg_.valid_fraction <= 0) return;
  std::vector<Stage> planned;
  for (Stage& s : stages_) {
    const std::string kind = s.command.at(0);  // a copy: the command grows below
    if (kind == "prepare" && option_value(s.command, "--out-dir") != "") {
      const std::string split = option_value(s.command, "--out-dir");
      s.command.insert(s.command.end(), {"--valid-fraction", strfmt("%g", cfg_.valid_fraction)});
      s.outputs.insert(s.outputs.end(), {split + "/valid_a.h5", split + "/valid_b.h5"});
      s.verified = [split, base = s.verified]() -> Verdict {
        if (!base().ok()) return base();
        return opens([&] {
          for (const char* f : {"/valid_a.h5", "/valid_b.h5"}) TokenDataset::open(split + f);
        });
      };
    } else if (kind == "train") {
      const std::string split = folder_of(option_value(s.command, "--data")), labels = option_value(s.command, "--labels");
      std::vector<std::string> args = {"--valid", split + (labels.empty() ? "/valid_a.h5" : "/valid_b.h5")};
      if (!labels.empty()) args.insert(args.end(), {"--valid-labels", labels + "-valid"});
      s.inputs.insert(s.inputs.end(), args.begin() + 1, args.begin() + 2);
      if (!labels.empty()) s.inputs.push_back(labels + "-valid");
      if (cfg_.eval_every > 0) args.insert(args.end(), {"--eval-every", std::to_string(cfg_.eval_every)});
      if (cfg_.early_stop > 0) args.insert(args.end(), {"--early-stop", std::to_string(cfg_.early_stop)});
      s.command.insert(s.command.end(), args.begin(), args.end());
    }
    planned.push_back(s);
    if (kind != "label") continue;
    // The same supervisor's labels over the validation half, for the students it supervises.
    const std::string model = option_value(s.command, "--model"), out = s.out_dir + "-valid";
    const std::string data = folder_of(option_value(s.command, "--data")) + "/valid_b.h5";
    Stage twin = s;
    twin.title = s.title + " (validation half)";
    twin.command = {"label", "--model", model, "--data", data, "--out-dir", out, "--batch", std::to_string(cfg_.label_batch),
                    "--tp", std::to_string(cfg_.tp)};
    twin.out_dir = out;
    twin.verified = [out, model, data] { return label_set_verdict(out, model, data); };
    twin.inputs = {model, data};
    twin.outputs = {out};
    twin.id.clear();
    planned.push_back(std::move(twin));
  }
  stages_ = std::move(planned);
}

// A path is written by a stage when it is one of its outputs or lies inside an output folder.
bool written_by(const std::string& path, const Stage& s) {
  return std::any_of(s.outputs.begin(), s.outputs.end(),
                     [&](const std::string& o) { return path == o || starts_with(path, o + "/"); });
}

// Names the stage (its folder below the run root, unless named already) and finds the stages
// among the first `earlier` that write what it reads: its dependencies, in plan order.
void Pipeline::link(Stage& s, size_t earlier) const {
  if (s.id.empty()) {
    W2S_CHECK(starts_with(s.out_dir, cfg_.out + "/"), "pipeline: stage folder " + s.out_dir + " outside the run root");
    s.id = s.out_dir.substr(cfg_.out.size() + 1);
  }
  s.dependencies.clear();
  for (size_t i = 0; i < earlier; ++i)
    if (std::any_of(s.inputs.begin(), s.inputs.end(), [&](const std::string& p) { return written_by(p, stages_[i]); }))
      s.dependencies.push_back(stages_[i].id);
}

// The analysis after every evaluation. `w2s pipeline` runs it in-process at the end (the same
// options); in the plan it is a stage of its own, which jobs/ submits after the evaluations.
Stage Pipeline::analyze_stage() const {
  Stage a;
  a.title = "analyze " + cfg_.out;
  a.command = {"analyze", cfg_.out, "--resamples", std::to_string(cfg_.resamples)};
  a.out_dir = cfg_.out;
  a.root_only = true;
  a.kind = "analyze";
  for (const Stage& s : stages_)
    if (s.kind == "eval") a.inputs.insert(a.inputs.end(), s.outputs.begin(), s.outputs.end());
  a.outputs = {cfg_.out + "/report.json", cfg_.out + "/report.md"};
  a.id = "analyze";
  link(a, stages_.size());
  return a;
}

// The resource class of a stage kind: "cpu" (one process, no accelerator: data preparation and
// analysis), "compute" (the experiment's ranks, world = tp x dp, on experiment.device).
const char* resources_of(const std::string& kind) {
  return kind == "data" || kind == "analyze" ? "cpu" : "compute";
}

// `w2s pipeline --plan-json`: the run root and every stage, the analysis last (format in
// configs/experiments/README.md).
nlohmann::ordered_json Pipeline::plan_json() const {
  nlohmann::ordered_json stages = nlohmann::ordered_json::array();
  std::vector<Stage> all = stages_;
  all.push_back(analyze_stage());
  for (const Stage& s : all)
    stages.push_back({{"id", s.id},
                      {"title", s.title},
                      {"kind", s.kind},
                      {"resources", resources_of(s.kind)},
                      {"command", s.command},
                      {"inputs", s.inputs},
                      {"outputs", s.outputs},
                      {"dependencies", s.dependencies}});
  return {{"format", "w2s-plan 1"}, {"config", cfg_.path}, {"root", cfg_.out}, {"stages", stages}};
}

void Pipeline::execute(const Stage& s, size_t index) {
  W2S_CHECK(run_command_, "pipeline: no command runner given");
  // Rank 0 decides (skip, redo or resume) and tells everyone.
  int decision = 0;  // 0 run, 1 skip
  std::string stamp = stamp_of(s);
  if (world_rank() == 0) {
    bool same = file_exists(stamp_path(s)) && read_text_file(stamp_path(s)) == stamp;
    Verdict output = s.verified();
    if (same && output.ok()) {
      decision = 1;
    } else if (output.kind == Verdict::Stale) {
      log_info("  " + output.why + ": redoing " + s.title);
      fs::remove_all(output.remove);
      fs::remove_all(s.out_dir);
    } else if (file_exists(stamp_path(s)) && !same) {
      log_info("  settings or inputs changed since the last run: redoing " + s.out_dir);
      fs::remove_all(s.out_dir);
    }
  }
  MPI_Bcast(&decision, 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::string head = strfmt("[%zu/%zu] %s", index + 1, stages_.size(), s.title.c_str());
  if (decision == 1) {
    log_info(head + ": done already (verified), skipped");
    return;
  }
  log_info(head + "\n    $ " + shell_line(s.command));
  Timer t;
  int rc = 0;
  if (!s.root_only || world_rank() == 0) rc = run_command_(s.command);
  // A stage stopped by the preemption signal has checkpointed: the whole pipeline stops with the
  // same code (75), and a requeued run resumes here.
  int stop = rc == kExitPreempted || preemption_requested();
  MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (stop) throw Preempted();
  if (rc != 0) throw RuntimeError(strfmt("pipeline stage '%s' exited with %d", s.title.c_str(), rc));
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0) {
    Verdict output = s.verified();
    if (!output.ok())
      throw RuntimeError("pipeline stage '" + s.title + "' finished but its output does not verify" +
                         (output.why.empty() ? "" : ": " + output.why));
    make_dirs(s.out_dir);
    write_text_atomic(stamp_path(s), stamp);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  log_info(strfmt("    (%.1f s)", t.seconds()));
}

// Before the first stage: the declaration of what this run measures (configuration, seeds,
// primary pair and loss), or an amendment saying what changed since it (experiment/declaration.h).
void Pipeline::declare() const {
  if (world_rank() != 0) return;
  ExperimentState now;
  now.config = cfg_.path;
  now.config_sha256 = sha256_hex(read_text_file(cfg_.path) + "\n--set " + join(overrides_, "\n--set "));
  now.seeds = cfg_.seeds;
  now.primary_pair = cfg_.primary_pair;
  now.primary_loss = cfg_.primary_loss;
  make_dirs(cfg_.out);
  for (const std::string& change : declare_or_amend(cfg_.out, now))
    log_warn("the experiment changed after its declaration (" + cfg_.out + "/declaration.json): " + change +
             "; the report will say so");
}

int Pipeline::run() {
  Timer total;
  plan();
  if (!plan_json_.empty() && world_rank() == 0) {
    // The plan alone on stdout ("-"), so that it parses as JSON; nothing runs.
    std::string text = plan_json().dump(2) + "\n";
    if (plan_json_ == "-") {
      std::fputs(text.c_str(), stdout);
      std::fflush(stdout);
    } else {
      write_text_atomic(plan_json_, text);
    }
  }
  if (plan_json_ == "-") return 0;
  log_info(strfmt("w2s pipeline %s: %zu tasks x %zu seeds, sizes %s, losses %s -> %s (%zu stages)",
                  cfg_.path.c_str(), cfg_.tasks.size(), cfg_.seeds.size(), join(cfg_.sizes, ",").c_str(),
                  join(cfg_.losses, ",").c_str(), cfg_.out.c_str(), stages_.size()));
  if (!plan_json_.empty() && !dry_run_) {
    log_info("plan written to " + plan_json_);
    return 0;
  }
  if (dry_run_) {
    for (size_t i = 0; i < stages_.size(); ++i)
      log_info(strfmt("[%zu/%zu] %s\n    $ %s", i + 1, stages_.size(), stages_[i].title.c_str(),
                      shell_line(stages_[i].command).c_str()));
    return 0;
  }
  // The root is this pipeline's until the report is written: a second pipeline on it would
  // redo or remove the stages this one is running. (Each stage also locks its own folder.)
  const OutputLock lock = lock_output_folder(cfg_.out, "w2s pipeline --config " + cfg_.path);
  declare();
  for (size_t i = 0; i < stages_.size(); ++i) execute(stages_[i], i);
  log_info(strfmt("pipeline: all %zu stages complete in %s; analysis follows", stages_.size(),
                  human_duration(total.seconds()).c_str()));
  if (world_rank() != 0) return 0;
  AnalyzeOptions analysis;
  analysis.root = cfg_.out;
  analysis.resamples = cfg_.resamples;
  AnalyzeResult r = write_experiment_report(analysis);
  // The table is the last thing a user sees; the total time (analysis included) comes just before.
  log_info(strfmt("total time %s\n", human_duration(total.seconds()).c_str()));
  std::fputs(r.table.c_str(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace

int run_pipeline(const PipelineOptions& options) {
  ExperimentConfig cfg = load_experiment(options.config, options.overrides);
  install_preemption_handlers();
  Pipeline p(std::move(cfg), options);
  try {
    return p.run();
  } catch (const Preempted&) {
    log_info("pipeline: stopped by a preemption signal after a checkpoint; re-run (or requeue) to resume");
    return kExitPreempted;
  }
}

}  // namespace w2s
