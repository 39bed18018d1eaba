// The experiment file `w2s pipeline --config X.ini` reads (configs/experiments/*.ini): which
// tasks, model sizes, pairs, losses and seeds; how to pretrain the family and fine-tune it.
// Every key is documented in configs/experiments/README.md; an unknown key is an error that
// names the file and the key.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace w2s {

struct SizeSpec {
  std::string name;
  std::string model_ini;       // model.<name>.config: shape to pretrain from scratch
  std::string init;            // model.<name>.init: an existing checkpoint (skips pretraining)
  int64_t pretrain_steps = -1; // overrides pretrain.steps
  double pretrain_lr = -1;     // overrides pretrain.lr
  double finetune_lr = -1;     // overrides finetune.lr
};

struct TaskSpec {
  std::string name;
  std::string train_jsonl, test_jsonl;  // empty for the embedded tasks (spam, sotu-party)
  int max_len = -1, max_train = -1, test_size = -1;  // task.<name>.*: override data.*
  bool year_prefix = false;                          // task.sotu-party.year_prefix: convert --year-prefix
  bool year_suffix = false;                          // task.sotu-party.year_suffix: convert --year-suffix
  std::string split = "speech";                      // task.sotu-party.split: convert --split (speech | passage)
  int64_t group_divisor = -1;  // task.<name>.group_divisor: prepare --group-divisor (-1: the task's natural one)
  double finetune_lr = -1;     // task.<name>.finetune_lr: every fine-tuning run on this task, any size
  bool embedded() const { return train_jsonl.empty(); }
};

struct ExperimentConfig {
  std::string path;
  std::string out = "runs/experiment";
  std::vector<TaskSpec> tasks;
  std::vector<int> seeds = {0};
  // experiment.pretrain_seeds: pretrain the family once per seed listed; the i-th fine-tuning seed
  // uses the family pretrained with pretrain_seeds[i % n]. Empty: one family (pretrain's default seed).
  std::vector<int> pretrain_seeds;
  std::vector<std::string> losses = {"xent"};
  std::vector<std::string> sizes;                            // weak → strong
  std::vector<std::pair<std::string, std::string>> pairs;    // (weak, strong)
  std::vector<std::string> bootstrap;                        // chain m1 → … → mn (empty: none)
  std::string tokenizer = "byte";
  // experiment.tokenizer_files: a folder with the models' own vocab.json + merges.txt (gpt2);
  // every dataset is tokenized with them (prepare --tokenizer-files). Empty: the w2s cache's.
  std::string tokenizer_files;
  int tp = 1;
  std::string device = "cpu";  // experiment.device: --device of every train/pretrain/label/eval stage
  std::map<std::string, SizeSpec> size_specs;

  // data
  int max_len = 128;
  int max_train = 0;
  int max_test = 0;
  int test_size = 400;
  // data.test_seed: the draw of the embedded tasks' test sets (convert --seed). A confirmatory run
  // takes a new one, so the examples it is judged on were never looked at while tuning.
  int test_seed = 0;
  std::string overlong = "truncate";
  // data.valid_fraction: the part of each half held out for validation (prepare --valid-fraction);
  // every fine-tuning stage then gets --valid, and tuning is judged there, not on test. 0: none.
  double valid_fraction = 0.0;

  // pretraining the family
  std::string corpus = "embedded";  // or an LM dataset .h5 / a JSONL of documents
  std::string sotu_headers = "none";  // embedded corpus: convert corpus --sotu-headers none|year|party
  bool sotu_passages = false;         // embedded corpus: SOTU as task passages (convert corpus --sotu-passages);
                                      // always so when a sotu-party test set is split by passage
  int64_t sotu_facts = 0;             // embedded corpus: convert corpus --sotu-facts N ("1861 Republican" lists)
  int64_t pretrain_steps = 500;
  int64_t pretrain_batch = 16;
  int pretrain_seq = 128;
  double pretrain_lr = 2e-3;
  int pretrain_warmup = 20;
  double pretrain_weight_decay = 0.1;
  // Periodic checkpoints (pretrain.save_every / finetune.save_every, in steps; 0: at the end
  // only): every training stage of that kind gets --save-every N. -1 (unset) adds nothing, so
  // jobs/ may apply the cluster file's cluster.save_every instead.
  int64_t pretrain_save_every = -1;
  int64_t finetune_save_every = -1;

  // fine-tuning (weak supervisors, ceilings and students alike)
  double finetune_epochs = 2.0;
  int64_t finetune_batch = 32;
  int64_t finetune_micro = 0;
  double finetune_lr = 5e-4;
  std::string finetune_optimizer = "adam";
  double finetune_weight_decay = 0.0;
  int finetune_warmup = 0;
  bool freeze_backbone = false;  // finetune.freeze_backbone: linear probes (w2s train --freeze-backbone)
  double aux_alpha_max = 0.75;
  double aux_warmup_frac = 0.2;
  double kd_temperature = 1.0;
  int64_t eval_every = 0;  // finetune.eval_every: w2s train --eval-every (0: validate at the last step only)
  int64_t early_stop = 0;  // finetune.early_stop: w2s train --early-stop, the patience (0: off)

  // labeling and analysis
  int label_batch = 64;
  int resamples = 1000;
  // The declared primary comparison (analyze.primary_pair = weak:strong, analyze.primary_loss):
  // recorded in the run's declaration before any stage runs (experiment/declaration.h).
  std::string primary_pair;
  std::string primary_loss;

  const SizeSpec& size(const std::string& name) const;
  // Data settings of a task: its task.<name>.* override, else data.*.
  int max_len_of(const TaskSpec& t) const { return t.max_len > 0 ? t.max_len : max_len; }
  int max_train_of(const TaskSpec& t) const { return t.max_train >= 0 ? t.max_train : max_train; }
  int test_size_of(const TaskSpec& t) const { return t.test_size > 0 ? t.test_size : test_size; }
  // The fine-tuning learning rate of `size` on task t: task.<name>.finetune_lr, else
  // model.<size>.finetune_lr, else finetune.lr. A task's own rate wins because what suits a task
  // (how far fine-tuning must move the model) differs more between tasks than between sizes.
  double finetune_lr_of(const TaskSpec& t, const std::string& size_name) const;
  // The pretraining seed of the family fine-tuning seed `seed` starts from; -1 without pretrain_seeds.
  int pretrain_seed_of(int seed) const;
  // The A/B split's grouping (prepare --group-divisor): the task's key, else the embedded task's
  // natural grouping (sotu-party: by speech), else none (0).
  int64_t group_divisor_of(const TaskSpec& t) const;
  // A year-suffixed task keeps the end of an overlong passage, where its year is.
  std::string overlong_of(const TaskSpec& t) const {
    return t.year_suffix && overlong == "truncate" ? "truncate-start" : overlong;
  }
};

// Reads the file, then applies "section.key=value" overrides (command-line --set). Validates
// names, lists and pairs; UsageError naming the file (and key) on any problem.
ExperimentConfig load_experiment(const std::string& path, const std::vector<std::string>& overrides = {});

}  // namespace w2s
