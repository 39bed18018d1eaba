// `w2s pretrain` (LM objective on a packed corpus) and `w2s train` (classification or
// regression head on ground truth, or on weak labels with the paper's losses).
#include <cstdlib>

#include "cli/command.h"
#include "cli/options.h"
#include "comm/output_lock.h"
#include "comm/process_grid.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/output_folder.h"
#include "core/strings.h"
#include "data/lm_dataset.h"
#include "data/token_dataset.h"
#include "infer/inference_model.h"
#include "io/checkpoint.h"
#include "train/trainer.h"

namespace w2s {
namespace {

// Step counts reach the schedule as int.
const NumberRange kStepCount = NumberRange::closed(0, 2147483647.0);

struct TrainDefaults {
  double lr, weight_decay, grad_clip, beta2, epochs;
  int64_t batch;
  const char* optimizer;
};

void add_common_options(po::options_description& d, TrainConfig& c, const TrainDefaults& def) {
  d.add_options()
      ("data", po::value(&c.data)->required(), "training dataset (.h5 from w2s prepare)")
      ("run-dir", po::value(&c.run_dir)->required(), "output folder: config.ini, metrics.jsonl, ckpt.h5")
      ("model", po::value<std::string>(), "model shape ini (configs/models/*.ini) to train from scratch")
      ("init", po::value(&c.init_ckpt), "start from this checkpoint (e.g. a pretrained model)")
      ("steps", number(&c.steps, "steps", kStepCount)->default_value(0), "optimizer steps (0: use --epochs)")
      ("epochs", number(&c.epochs, "epochs", NumberRange::open_closed(0, 1e6))->default_value(def.epochs), "passes over the data when --steps is 0")
      ("batch-size", number(&c.batch_size, "batch-size", NumberRange::at_least(1))->default_value(def.batch), "global batch, in examples, for any DP size")
      ("micro-batch", number(&c.micro_batch, "micro-batch", NumberRange::non_negative())->default_value(0),
       "examples per micro-step over all DP ranks (gradient accumulation; 0: the whole batch)")
      ("lr", number(&c.lr.lr, "lr", NumberRange::positive())->default_value(def.lr), "peak learning rate")
      ("warmup-steps", number(&c.lr.warmup_steps, "warmup-steps", kStepCount)->default_value(0), "linear warm-up steps")
      ("min-lr-frac", number(&c.lr.min_lr_frac, "min-lr-frac", NumberRange::closed(0, 1))->default_value(0.0), "cosine floor, as a fraction of --lr")
      ("schedule", po::value(&c.lr.kind)->default_value("cosine"), "cosine | linear | constant")
      ("optimizer", po::value(&c.adam.kind)->default_value(def.optimizer), "adamw | adam")
      ("beta1", number(&c.adam.beta1, "beta1", NumberRange::half_open(0, 1))->default_value(0.9), "Adam β1")
      ("beta2", number(&c.adam.beta2, "beta2", NumberRange::half_open(0, 1))->default_value(def.beta2), "Adam β2")
      ("adam-eps", number(&c.adam.eps, "adam-eps", NumberRange::positive())->default_value(1e-8), "Adam ε")
      ("weight-decay", number(&c.adam.weight_decay, "weight-decay", NumberRange::non_negative())->default_value(def.weight_decay), "on 2-D weights only")
      ("grad-clip", number(&c.grad_clip, "grad-clip", NumberRange::non_negative())->default_value(def.grad_clip), "global gradient-norm clip (0: off)")
      ("seed", number(&c.seed, "seed", NumberRange::non_negative())->default_value(0), "initialisation and data order")
      ("tp", number(&c.tp, "tp", NumberRange::at_least(1))->default_value(1), "tensor-parallel degree (DP is world size / tp)")
      ("zero1", po::bool_switch(&c.zero1), "shard AdamW state over data-parallel ranks (ZeRO-1)")
      ("device", po::value(&c.device)->default_value("cpu"),
       "cpu, or cuda: forward/backward on one GPU per rank (bf16 activations, tp 1); the optimizer, "
       "gradient sync and checkpoints stay on the host")
      ("log-every", number(&c.log_every, "log-every", NumberRange::at_least(1))->default_value(10), "progress line and metrics.jsonl every N steps")
      ("save-every", number(&c.save_every, "save-every", NumberRange::non_negative())->default_value(0), "checkpoint every N steps (0: at the end)")
      ("resume", po::bool_switch(&c.resume), "continue the run in --run-dir from its checkpoint")
      ("overwrite", po::bool_switch(), "replace the run already in --run-dir (its checkpoint) with a new one")
      ("stop-after", number(&c.stop_after, "stop-after", NumberRange::non_negative())->default_value(0), "stop with a checkpoint after this step")
      ("max-bad-steps", number(&c.max_bad_steps, "max-bad-steps", NumberRange::at_least(1))->default_value(5),
       "consecutive non-finite steps (skipped) before the run gives up")
      ("no-save-optimizer", po::bool_switch(), "leave AdamW state out of the final checkpoint (smaller; no resume)")
      ("debug-fail-step", number(&c.debug_fail_step, "debug-fail-step", NumberRange::at_least(-1))->default_value(-1), "testing: make a rank fail at this step")
      ("debug-fail-rank", number(&c.debug_fail_rank, "debug-fail-rank", NumberRange::at_least(-1))->default_value(-1), "testing: the rank that fails")
      ("debug-nan-step", number(&c.debug_nan_step, "debug-nan-step", NumberRange::at_least(-1))->default_value(-1), "testing: inject a NaN gradient here")
      ("debug-nan-count", number(&c.debug_nan_count, "debug-nan-count", NumberRange::non_negative())->default_value(1),
       "testing: with --debug-nan-step, this many consecutive NaN steps");
}

void add_student_options(po::options_description& d, TrainConfig& c) {
  d.add_options()
      ("labels", po::value(&c.labels_dir), "weak-label shard folder from w2s label (default: ground truth)")
      ("loss", po::value<std::string>()->default_value(""),
       "gt | xent | auxconf | product (| squared for regression); default gt, or xent with --labels")
      ("kd-temperature", number(&c.kd_temperature, "kd-temperature", NumberRange::positive())->default_value(1.0), "soft targets softmax(weak logits / T)")
      ("aux-alpha-max", number(&c.loss.aux_alpha_max, "aux-alpha-max", NumberRange::closed(0, 1))->default_value(0.75), "auxconf: final weight α_max")
      ("aux-warmup-frac", number(&c.loss.aux_warmup_frac, "aux-warmup-frac", NumberRange::closed(0, 1))->default_value(0.2),
       "auxconf: fraction of steps over which α rises linearly from 0")
      ("product-alpha", number(&c.loss.product_alpha, "product-alpha", NumberRange::non_negative())->default_value(1.0), "product: exponent on weak labels")
      ("product-beta", number(&c.loss.product_beta, "product-beta", NumberRange::non_negative())->default_value(1.0), "product: exponent on student probs")
      ("freeze-backbone", po::bool_switch(&c.freeze_backbone), "train only the head (linear probe)")
      ("valid", po::value(&c.valid_data), "validation dataset (valid_a.h5 / valid_b.h5 from w2s prepare --valid-fraction): "
       "accuracy and loss every --eval-every steps and at the last, in valid.jsonl")
      ("valid-labels", po::value(&c.valid_labels_dir),
       "a student's validation targets: weak labels over --valid from w2s label (its supervisor's)")
      ("valid-ground-truth", po::bool_switch(&c.valid_ground_truth),
       "let a student (--labels) be validated on ground truth instead (the paper's student never sees it)")
      ("eval-every", number(&c.eval_every, "eval-every", kStepCount)->default_value(0),
       "with --valid: evaluate every N steps (0: at the last step only)")
      ("early-stop", number(&c.early_stop, "early-stop", kStepCount)->default_value(0),
       "with --valid --eval-every: stop after this many evaluations without a better accuracy and keep "
       "the best one's weights as ckpt.h5 (0: off)")
      ("select-confident", number(&c.select_confident, "select-confident", NumberRange::open_closed(0, 1))->default_value(1.0),
       "train only on this fraction of examples with the most confident weak labels");
}

// --valid and what depends on it. A student validates on its supervisor's labels over held-out
// data unless ground truth is explicitly allowed.
void require_valid_options(const TrainConfig& c) {
  if (c.valid_data.empty()) {
    if (c.eval_every > 0 || c.early_stop > 0 || !c.valid_labels_dir.empty() || c.valid_ground_truth)
      throw UsageError("--eval-every, --early-stop, --valid-labels and --valid-ground-truth need --valid DATA");
    return;
  }
  if (c.early_stop > 0 && c.eval_every == 0)
    throw UsageError("--early-stop needs --eval-every N (evaluations to compare)");
  if (c.labels_dir.empty() && (!c.valid_labels_dir.empty() || c.valid_ground_truth))
    throw UsageError("--valid-labels and --valid-ground-truth are for students (--labels); a ground-truth run validates "
                     "on the ground truth of --valid");
  if (!c.labels_dir.empty() && c.valid_labels_dir.empty() == !c.valid_ground_truth)
    throw UsageError("a student (--labels) validates on its supervisor's labels over --valid (--valid-labels DIR) or, "
                     "when explicitly allowed, on ground truth (--valid-ground-truth): give exactly one");
}

// Model shape for a from-scratch run; vocabulary and tokenizer follow the dataset.
void resolve_model(const po::variables_map& vm, TrainConfig& c, const std::string& tokenizer, int vocab_size) {
  if (!c.init_ckpt.empty()) {
    if (vm.count("model")) throw UsageError("give either --model (from scratch) or --init (a checkpoint), not both");
    return;
  }
  if (!vm.count("model")) throw UsageError("give --model FILE.ini (from scratch) or --init CKPT");
  c.model = load_model_config(vm["model"].as<std::string>());
  c.model.tokenizer = tokenizer;
  c.model.vocab_size = vocab_size > 0 ? vocab_size : (tokenizer == "gpt2" ? 50257 : 258);
}

// A checkpoint in --run-dir is an earlier run's work: it is continued (--resume) or replaced
// (--overwrite) only when asked. Runs on rank 0 under the folder's lock, so no other run can
// create one between the check and this run's first save.
void refuse_existing_run(const TrainConfig& c, bool overwrite) {
  const std::string ckpt = c.run_dir + "/ckpt.h5";
  if (c.resume || overwrite || !file_exists(ckpt)) return;
  std::string what = "a checkpoint";
  try {
    const TrainState s = read_checkpoint_info(ckpt).state;
    what = strfmt("a %s run's checkpoint (step %lld of %lld)", s.step >= s.total_steps ? "finished" : "stopped",
                  static_cast<long long>(s.step), static_cast<long long>(s.total_steps));
  } catch (const Error&) {
    what = "an unreadable checkpoint";
  }
  throw UsageError(strfmt("%s already holds %s: pass --resume to continue that run or --overwrite to replace it",
                          ckpt.c_str(), what.c_str()));
}

// Takes --run-dir for this command's life (core/output_folder.h) and refuses what would
// overwrite an input or, silently, an earlier run.
OutputLock own_run_dir(const char* command, const std::vector<std::string>& args, const TrainConfig& c,
                       const po::variables_map& vm) {
  const bool overwrite = vm["overwrite"].as<bool>();
  if (overwrite && c.resume) throw UsageError("give --resume (continue the run) or --overwrite (replace it), not both");
  require_outputs_not_inputs({{"ckpt.h5 in --run-dir", c.run_dir + "/ckpt.h5"},
                              {"config.ini in --run-dir", c.run_dir + "/config.ini"},
                              {"metrics.jsonl in --run-dir", c.run_dir + "/metrics.jsonl"},
                              {"valid.jsonl in --run-dir", c.run_dir + "/valid.jsonl"},
                              {"best.h5 in --run-dir", c.run_dir + "/best.h5"}},
                             {{"--data", c.data}, {"--init", c.init_ckpt}, {"--valid", c.valid_data}});
  return lock_output_folder(c.run_dir, "w2s " + std::string(command) + " " + join(args, " "),
                            [&] { refuse_existing_run(c, overwrite); });
}

int finish(const TrainResult& r) {
  log_info(strfmt("done: %lld steps, final loss %.4f, %.1f s, %s tok/s", static_cast<long long>(r.steps_done),
                  r.final_loss, r.seconds, human_count(r.tokens_per_second).c_str()));
  return r.preempted ? kExitPreempted : 0;
}

int run_pretrain(const std::vector<std::string>& args) {
  TrainConfig c;
  c.objective = "lm";
  po::options_description d("w2s pretrain options");
  add_common_options(d, c, {1e-3, 0.1, 1.0, 0.95, 1.0, 32, "adamw"});
  d.add_options()("seq-len", number(&c.seq_len, "seq-len", NumberRange::non_negative())->default_value(0), "window length (0: the model context)");
  ParsedCommand p = parse_command("pretrain", "--data lm.h5 --run-dir DIR (--model M.ini | --init CKPT) [options]\n\n"
                                  "Trains the LM head (next-token cross-entropy) on a packed corpus from\n"
                                  "`w2s prepare --lm`. Runs under mpirun/srun: world = tp x dp.", d, args);
  if (p.help) return 0;
  c.save_optimizer = !p.vm["no-save-optimizer"].as<bool>();
  parse_device(c.device);  // refuses anything but cpu / cuda before any data is read
  LmDataset ds = LmDataset::open(c.data);
  resolve_model(p.vm, c, ds.info().tokenizer, ds.info().vocab_size);
  install_preemption_handlers();
  ProcessGrid grid = ProcessGrid::create(c.tp);
  OutputLock lock = own_run_dir("pretrain", args, c, p.vm);
  return finish(run_training(c, grid, effective_config_ini(p.vm)));
}

int run_train(const std::vector<std::string>& args) {
  TrainConfig c;
  po::options_description d("w2s train options");
  add_common_options(d, c, {5e-5, 0.0, 0.0, 0.999, 2.0, 32, "adam"});
  add_student_options(d, c);
  ParsedCommand p = parse_command(
      "train", "--data train.h5 --run-dir DIR (--init CKPT | --model M.ini) [--labels DIR --loss L] [options]\n\n"
               "Fine-tunes a classification head on the last real token (or a regression head) on\n"
               "ground truth, or on weak labels from `w2s label` with the paper's losses: xent (soft\n"
               "cross-entropy / distillation), auxconf (auxiliary confidence, Burns et al. 4.3.2),\n"
               "product. Defaults follow openai/weak-to-strong: Adam, lr 5e-5, batch 32, 2 epochs,\n"
               "cosine decay without warm-up. Runs under mpirun/srun with any tp x dp shape.",
      d, args);
  if (p.help) return 0;
  c.save_optimizer = !p.vm["no-save-optimizer"].as<bool>();
  parse_device(c.device);  // refuses anything but cpu / cuda before any data is read
  TokenDataset ds = TokenDataset::open(c.data);
  c.objective = ds.info().task == "regression" ? "regress" : "classify";
  std::string loss = p.vm["loss"].as<std::string>();
  if (loss.empty()) loss = c.objective == "regress" ? "squared" : (c.labels_dir.empty() ? "gt" : "xent");
  c.loss.kind = parse_loss_kind(loss);
  if (c.labels_dir.empty() && c.loss.kind != LossKind::GroundTruth && c.loss.kind != LossKind::Squared)
    throw UsageError("--loss " + loss + " trains on weak labels: give --labels DIR");
  if (c.select_confident < 1.0 && c.labels_dir.empty()) throw UsageError("--select-confident needs --labels");
  require_valid_options(c);
  resolve_model(p.vm, c, ds.info().tokenizer, ds.info().vocab_size);
  install_preemption_handlers();
  ProcessGrid grid = ProcessGrid::create(c.tp);
  OutputLock lock = own_run_dir("train", args, c, p.vm);
  return finish(run_training(c, grid, effective_config_ini(p.vm)));
}

W2S_COMMAND("pretrain", "train the LM head on a packed corpus (the small model family)", run_pretrain);
W2S_COMMAND("train", "fine-tune a classifier on ground truth or on weak labels (xent/auxconf/product)", run_train);

}  // namespace
}  // namespace w2s
