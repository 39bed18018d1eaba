#include "train/trainer.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/strings.h"
#include "core/timer.h"
#include "data/lm_dataset.h"
#include "data/sampler.h"
#include "data/token_dataset.h"
#include "io/checkpoint.h"
#include "model/gpt2.h"
#include "parallel/grad_sync.h"
#include "model/gpu_model.h"
#include "infer/inference.h"
#include "train/run_settings.h"
#include "train/train_targets.h"

namespace w2s {
namespace {

std::atomic<int> g_stop_signal{0};
void on_stop_signal(int sig) { g_stop_signal.store(sig); }

// ---------------------------------------------------------------------------------------------
// Training data: a token dataset and its targets (train/train_targets.h), or windows of an LM corpus.

struct SupervisedData {
  TokenDataset ds;
  TrainTargets targets;
};

// Held-out data (--valid) with its targets (ground truth, or weak labels for a student) and its
// fixed inference batches.
struct ValidationData {
  TokenDataset ds;
  TrainTargets targets;
  InferenceBatches batches;
};
constexpr int kValidBatch = 64;

// One point of the validation curve (valid.jsonl).
struct ValidPoint {
  double loss = 0.0, accuracy = 0.0;
  int64_t examples = 0;
};

// Keeps the lines of a JSONL log whose "step" is at most `start`: a resumed run's logs continue
// from its checkpoint.
std::string log_lines_up_to(const std::string& path, int64_t start) {
  std::vector<std::string> kept;
  if (start > 0 && file_exists(path)) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      try {
        if (!line.empty() && nlohmann::json::parse(line).at("step").get<int64_t>() <= start) kept.push_back(line);
      } catch (const std::exception&) {
      }
    }
  }
  return kept.empty() ? "" : join(kept, "\n") + "\n";
}

// ---------------------------------------------------------------------------------------------

class Trainer {
 public:
  Trainer(const TrainConfig& cfg, const ProcessGrid& grid, const std::string& effective_config)
      : cfg_(cfg), grid_(grid), effective_config_(effective_config) {}

  TrainResult run();

 private:
  void setup_model();
  void setup_data();
  void setup_validation();
  // Validation every --eval-every steps and at the last: the curve, and for early stopping the
  // best accuracy so far (best.h5). Returns true when the patience is spent.
  bool validate_if_due(int64_t step, int64_t total);
  ValidPoint evaluate_validation();
  void restore_best_so_far(const CheckpointInfo& info, int64_t start);
  bool patience_spent() const { return cfg_.early_stop > 0 && best_.since >= cfg_.early_stop; }
  void keep_best(int64_t total, int64_t stopped_at);
  double micro_step_supervised(const std::vector<int64_t>& micro, bool last, double step_frac, int64_t* tokens,
                               std::optional<double> aux_threshold);
  // Logits of every example of `micro` on every DP rank: each rank computes its slice `mine`
  // (read into `batch`), an all-reduce assembles them.
  std::vector<float> micro_logits(const std::vector<int64_t>& micro, const std::vector<int64_t>& mine,
                                  ExampleBatch& batch, int64_t* tokens);
  std::optional<double> batch_aux_threshold(int64_t step);
  // The steps of run(), in order.
  struct StepOutcome {
    double loss = 0.0, gnorm = 0.0, lr = 0.0;
    int64_t tokens = 0;
  };
  struct LoopState {
    int consecutive_bad = 0;  // non-finite steps in a row
    Timer window_timer, run_timer;
    int64_t window_tokens = 0, run_tokens = 0;
    // Since the last logged step: the steps' wall time and the part of it the host spent inside
    // communication (exposed: overlapped bucket reductions count only while waited for).
    int64_t window_steps = 0;
    double window_step_seconds = 0.0, window_comm_seconds = 0.0;
  };
  int64_t plan_steps();
  int64_t resume_or_initialise(int64_t total);
  void attach_device();
  void open_run_folder(int64_t start);
  void log_run_start(int64_t total) const;
  StepOutcome forward_backward_step(int64_t step, int64_t total);
  void guard_and_update(int64_t step, const StepOutcome& out, LoopState& loop);
  void log_progress(int64_t step, int64_t start, int64_t end, int64_t total, const StepOutcome& out, LoopState& loop);
  bool checkpoint_or_preempt(int64_t step, int64_t end, int64_t total);
  double micro_step_lm(const std::vector<int64_t>& micro, bool last, int64_t* tokens);
  void prepare_sync(bool last);
  void grads_ready();  // after the last micro-step's backward: every gradient bucket may go
  // The head's forward/backward on the device the run uses (the CPU model or its GPU copy).
  void classifier_forward(const ExampleBatch& b, float* logits);
  void classifier_backward(const float* dlogits);
  double lm_forward_backward(const int32_t* inputs, const int32_t* targets, int n, float scale);
  double global_grad_norm();
  // with_optimizer: write the AdamW state too. A run that is not finished always keeps it (a
  // preempted or periodic checkpoint must be resumable); --no-save-optimizer drops it only from
  // the final checkpoint.
  void save(int64_t step, const std::string& path, bool with_optimizer);
  // One metrics.jsonl line; `timing` is the window's per-step means (docs/formats.md section 7).
  struct StepTiming {
    double tokens_per_s = 0.0, elapsed_s = 0.0, step_s = 0.0, exposed_comm_s = 0.0, flops_per_token = 0.0;
  };
  void log_step(int64_t step, double loss, double lr, double gnorm, const StepTiming& timing);
  // Seconds the host has spent blocked in communication so far: every communicator's blocking
  // collectives plus the starts and waits of the DP buckets.
  double exposed_comm_seconds() const;
  double model_flops_per_token(int64_t tokens) const;
  std::map<std::string, std::string> ckpt_attrs() const;
  void require_batch_fits() const;
  void require_same_settings_as_checkpoint() const;
  bool params_finite() const;  // collective over the world
  std::string ckpt_path() const { return cfg_.run_dir + "/ckpt.h5"; }
  std::string best_path() const { return cfg_.run_dir + "/best.h5"; }

  const TrainConfig& cfg_;
  const ProcessGrid& grid_;
  std::string effective_config_;
  ModelConfig model_cfg_;
  std::unique_ptr<Gpt2> model_;      // the master copy: optimizer, checkpoints, DP sync
  std::unique_ptr<GpuModel> gpu_;    // --device cuda: forward/backward on the GPU
  Model* compute_ = nullptr;         // what computes forward/backward: model_ or gpu_
  std::unique_ptr<GradSync> sync_;
  std::unique_ptr<AdamW> opt_;
  std::unique_ptr<SupervisedData> sup_;
  std::unique_ptr<ValidationData> valid_;
  // Early stopping: the best validation accuracy so far, its step (0: none yet) and the
  // evaluations since; every checkpoint records them, so a resumed run stops where this one would.
  struct BestSoFar {
    double accuracy = -1.0;
    int64_t step = 0, since = 0;
  } best_;
  int64_t stopped_at_ = 0;  // the step training stopped at, recorded with the best weights
  std::ofstream valid_log_;
  std::unique_ptr<LmDataset> lm_;
  std::unique_ptr<Sampler> sampler_;
  TrainState state_;
  int T_ = 0;        // lm window
  int max_len_ = 0;  // longest example of a supervised dataset
  std::ofstream metrics_;
  std::string tokenizer_sha_;
};

void Trainer::setup_model() {
  // Model shape: from the init checkpoint, else from the config; the head from the objective.
  model_cfg_ = cfg_.model;
  if (!cfg_.init_ckpt.empty()) {
    model_cfg_ = read_checkpoint_info(cfg_.init_ckpt).config;
    if (sup_) require_same_tokenizer(sup_->ds.info(), cfg_.init_ckpt);
    if (lm_ && lm_->info().tokenizer != model_cfg_.tokenizer)
      throw DataError(cfg_.data, "tokenized with '" + lm_->info().tokenizer + "', but " + cfg_.init_ckpt +
                                     " expects '" + model_cfg_.tokenizer + "'");
  }
  if (cfg_.objective == "lm") model_cfg_.num_classes = 0;
  else if (cfg_.objective == "regress") model_cfg_.num_classes = 1;
  else model_cfg_.num_classes = sup_ ? sup_->targets.num_classes() : model_cfg_.num_classes;
  model_cfg_.validate_tp(grid_.tp_size());
  if (max_len_ > model_cfg_.n_ctx)
    throw UsageError(strfmt("%s holds examples of up to %d tokens, but the model context is %d: prepare the data "
                            "with --max-len %d or use a model with a longer context",
                            cfg_.data.c_str(), max_len_, model_cfg_.n_ctx, model_cfg_.n_ctx));
  model_ = std::make_unique<Gpt2>(model_cfg_, grid_.tp(), cfg_.seed, grid_.dp_size());
  sync_ = std::make_unique<GradSync>(grid_.dp(), model_->layout(), cfg_.zero1);
  std::vector<bool> trainable(model_->table().specs.size(), !cfg_.freeze_backbone);
  if (model_->table().score >= 0) trainable[static_cast<size_t>(model_->table().score)] = true;
  opt_ = std::make_unique<AdamW>(cfg_.adam, model_->table(), model_->layout(), grid_.tp_size(), sync_->owned(),
                                 trainable);
}

void Trainer::setup_data() {
  if (cfg_.objective == "lm") {
    lm_ = std::make_unique<LmDataset>(LmDataset::open(cfg_.data));
    tokenizer_sha_ = lm_->info().tokenizer_sha256;
    if (lm_->info().tokenizer != cfg_.model.tokenizer && cfg_.init_ckpt.empty())
      throw DataError(cfg_.data, "dataset tokenizer '" + lm_->info().tokenizer + "' differs from the model's '" +
                                     cfg_.model.tokenizer + "'");
  } else {
    TokenDataset ds = TokenDataset::open(cfg_.data);
    int C = cfg_.objective == "regress" ? 1 : ds.info().num_classes;
    if ((cfg_.objective == "regress") != (ds.info().task == "regression"))
      throw DataError(cfg_.data, "is a " + ds.info().task + " dataset, but the run trains '" + cfg_.objective + "'");
    TrainTargets targets = TrainTargets::build(cfg_, ds, C);
    sup_ = std::make_unique<SupervisedData>(SupervisedData{std::move(ds), std::move(targets)});
    max_len_ = sup_->ds.info().max_len;
    tokenizer_sha_ = sup_->ds.info().tokenizer_sha256;
    setup_validation();
  }
}

void Trainer::setup_validation() {
  if (cfg_.valid_data.empty()) return;
  TokenDataset ds = TokenDataset::open(cfg_.valid_data);
  const TokenDatasetInfo &v = ds.info(), &t = sup_->ds.info();
  if (v.task != "classification" || cfg_.objective != "classify")
    throw UsageError("--valid " + cfg_.valid_data + ": validation measures accuracy, so the run and the data must be classification");
  if (v.tokenizer_sha256 != t.tokenizer_sha256 || v.num_classes != t.num_classes)
    throw DataError(cfg_.valid_data, "has another tokenizer or number of classes than " + cfg_.data);
  TrainConfig held_out = cfg_;
  held_out.data = cfg_.valid_data;
  held_out.labels_dir = cfg_.valid_labels_dir;
  held_out.select_confident = 1.0;
  TrainTargets targets = TrainTargets::build(held_out, ds, sup_->targets.num_classes());
  max_len_ = std::max(max_len_, v.max_len);
  InferenceBatches batches = plan_inference_batches(ds, kValidBatch);
  valid_ = std::make_unique<ValidationData>(ValidationData{std::move(ds), std::move(targets), std::move(batches)});
}

std::map<std::string, std::string> Trainer::ckpt_attrs() const {
  std::map<std::string, std::string> a;
  a["task"] = cfg_.objective;
  a["loss"] = loss_kind_name(cfg_.loss.kind);
  a["tokenizer_sha256"] = tokenizer_sha_;
  a["train_data"] = cfg_.data;
  a["labels"] = cfg_.labels_dir;
  a["init"] = cfg_.init_ckpt;
  a["train_settings"] = settings_text(result_settings(cfg_));
  if (cfg_.early_stop > 0) {
    a["valid_best_accuracy"] = strfmt("%.17g", best_.accuracy);
    a["valid_best_step"] = std::to_string(best_.step);
    a["valid_evals_since_best"] = std::to_string(best_.since);
    if (stopped_at_ > 0) a["valid_stopped_at"] = std::to_string(stopped_at_);  // the finished checkpoint
  }
  return a;
}

// A batch larger than the pool would repeat examples within one step (and sizes buffers by the
// batch): a usage error with both sizes.
void Trainer::require_batch_fits() const {
  const int64_t pool = sampler_->pool_size();
  const std::string what = cfg_.objective == "lm" ? strfmt("windows of %d tokens", T_) : "training examples";
  if (cfg_.batch_size > pool)
    throw UsageError(strfmt("--batch-size %lld is larger than the %lld %s in %s", static_cast<long long>(cfg_.batch_size),
                            static_cast<long long>(pool), what.c_str(), cfg_.data.c_str()));
  if (cfg_.micro_batch > cfg_.batch_size)
    throw UsageError(strfmt("--micro-batch %lld is larger than --batch-size %lld", static_cast<long long>(cfg_.micro_batch),
                            static_cast<long long>(cfg_.batch_size)));
}

// A resumed run must be the run its checkpoint describes (train/run_settings.h lists what may differ).
void Trainer::require_same_settings_as_checkpoint() const {
  const CheckpointInfo info = read_checkpoint_info(ckpt_path());
  auto recorded = info.attrs.find("train_settings");
  if (recorded == info.attrs.end()) {
    if (grid_.is_root())
      log_warn(ckpt_path() + " records no training settings (written by an older w2s): only its step count is checked");
    return;
  }
  const std::vector<std::string> diffs = settings_differences(parse_settings_text(recorded->second), result_settings(cfg_));
  if (diffs.empty()) return;
  throw UsageError(ckpt_path() + ": --resume with settings other than the checkpoint's (" + join(diffs, "; ") +
                   "): resume with the same settings, or train into a new --run-dir");
}

bool Trainer::params_finite() const {
  int64_t bad = 0;
  for (float x : model_->params())
    if (!std::isfinite(x)) {
      bad = 1;
      break;
    }
  grid_.world().all_reduce(&bad, 1, ReduceOp::Max);
  return bad == 0;
}

void Trainer::save(int64_t step, const std::string& path, bool with_optimizer) {
  state_.step = step;
  save_checkpoint(path, *model_, with_optimizer ? opt_.get() : nullptr, sync_->zero1(), grid_, state_,
                  ckpt_attrs());
}

void Trainer::prepare_sync(bool last) {
  if (!compute_->host_grads_during_backward()) {  // gradients reach the host after backward
    if (last) sync_->begin(model_->grads().data());
    return;
  }
  if (last) {
    sync_->begin(model_->grads().data());
    model_->on_grads_ready = [this](int first) { sync_->on_ready(first); };
  } else {
    model_->on_grads_ready = nullptr;
  }
}

void Trainer::grads_ready() {
  compute_->grads_to_host();
  sync_->on_ready(0);  // launches whatever the backward's hook has not (all of it on a device)
}

void Trainer::classifier_forward(const ExampleBatch& b, float* logits) {
  compute_->classifier_forward(b.tokens.data(), b.lengths.data(), b.n, b.T, logits);
}

void Trainer::classifier_backward(const float* dlogits) { compute_->classifier_backward(dlogits, !cfg_.freeze_backbone); }

double Trainer::lm_forward_backward(const int32_t* inputs, const int32_t* targets, int n, float scale) {
  return compute_->lm_forward_backward(inputs, targets, n, T_, scale);
}

// Every DP rank computes the logits of its slice; an all-reduce assembles the micro-step's
// logits everywhere, so batch statistics (the auxconf threshold) never depend on the DP shape.
std::vector<float> Trainer::micro_logits(const std::vector<int64_t>& micro, const std::vector<int64_t>& mine,
                                         ExampleBatch& batch, int64_t* tokens) {
  const int dp = grid_.dp_size(), r = grid_.dp_rank(), C = sup_->targets.num_classes();
  std::vector<float> logits_all(micro.size() * static_cast<size_t>(C), 0.0f), local;
  if (!mine.empty()) {
    sup_->ds.read(mine, batch);
    for (int32_t len : batch.lengths) *tokens += len;
    local.resize(static_cast<size_t>(batch.n) * C);
    classifier_forward(batch, local.data());
    for (int j = 0; j < batch.n; ++j)
      std::copy(local.begin() + j * C, local.begin() + (j + 1) * C, logits_all.begin() + (r + j * dp) * C);
  }
  grid_.dp().all_reduce(logits_all.data(), logits_all.size(), ReduceOp::Sum);
  return logits_all;
}

// auxconf's threshold is a statistic of the whole batch, but a micro-step sees only its
// micro-batch: with several micro-steps, a forward pass over all of them first (one extra
// forward per step, only then) gives the batch's threshold, the same as without micro-batching.
std::optional<double> Trainer::batch_aux_threshold(int64_t step) {
  const int64_t micro_steps = sampler_->micro_steps();
  if (cfg_.loss.kind != LossKind::AuxConf || sup_->targets.num_classes() != 2 || micro_steps < 2) return std::nullopt;
  std::vector<float> logits, targets;
  for (int64_t k = 0; k < micro_steps; ++k) {
    const std::vector<int64_t> micro = sampler_->micro_batch(step, k);
    ExampleBatch batch;
    int64_t uncounted = 0;
    const std::vector<float> l =
        micro_logits(micro, Sampler::rank_slice(micro, grid_.dp_rank(), grid_.dp_size()), batch, &uncounted);
    logits.insert(logits.end(), l.begin(), l.end());
    std::vector<float> t(micro.size() * 2);
    sup_->targets.read(micro, t.data());
    targets.insert(targets.end(), t.begin(), t.end());
  }
  return auxconf_threshold(logits.data(), targets.data(), static_cast<int>(targets.size() / 2));
}

double Trainer::micro_step_supervised(const std::vector<int64_t>& micro, bool last, double step_frac,
                                      int64_t* tokens, std::optional<double> aux_threshold) {
  const int dp = grid_.dp_size(), r = grid_.dp_rank(), C = sup_->targets.num_classes();
  const int M = static_cast<int>(micro.size());
  std::vector<int64_t> mine = Sampler::rank_slice(micro, r, dp);
  ExampleBatch batch;
  std::vector<float> logits_all = micro_logits(micro, mine, batch, tokens);
  std::vector<float> targets(static_cast<size_t>(M) * C);
  sup_->targets.read(micro, targets.data());
  LossResult loss = compute_loss(cfg_.loss, logits_all.data(), targets.data(), M, C, step_frac, aux_threshold);
  prepare_sync(last);
  if (!mine.empty()) {
    const float scale = 1.0f / static_cast<float>(sampler_->batch());
    std::vector<float> dlocal(static_cast<size_t>(batch.n) * C);
    for (int j = 0; j < batch.n; ++j)
      for (int c = 0; c < C; ++c) dlocal[static_cast<size_t>(j * C + c)] = scale * loss.dlogits[static_cast<size_t>((r + j * dp) * C + c)];
    classifier_backward(dlocal.data());
  }
  if (last) grads_ready();  // also when this rank had nothing to compute: its gradients are final
  double sum = 0.0;
  for (float l : loss.per_example) sum += l;
  return sum;  // identical on every rank
}

double Trainer::micro_step_lm(const std::vector<int64_t>& micro, bool last, int64_t* tokens) {
  std::vector<int64_t> mine = Sampler::rank_slice(micro, grid_.dp_rank(), grid_.dp_size());
  prepare_sync(last);
  if (mine.empty()) {
    if (last) grads_ready();
    return 0.0;
  }
  const int n = static_cast<int>(mine.size());
  std::vector<int32_t> inputs(static_cast<size_t>(n) * T_), targets(inputs.size());
  for (int j = 0; j < n; ++j)
    lm_->read_window(mine[static_cast<size_t>(j)], T_, inputs.data() + j * T_, targets.data() + j * T_);
  const float scale = 1.0f / static_cast<float>(sampler_->batch() * T_);
  *tokens += static_cast<int64_t>(n) * T_;
  const double loss = lm_forward_backward(inputs.data(), targets.data(), n, scale);  // this rank's share
  if (last) grads_ready();
  return loss;
}

double Trainer::global_grad_norm() {
  double sharded = 0.0, replicated = 0.0;
  opt_->grad_sq_sums(model_->grads().data(), &sharded, &replicated);
  double sums[2] = {sharded, replicated};
  if (sync_->zero1()) grid_.dp().all_reduce(sums, 2, ReduceOp::Sum);
  grid_.tp().all_reduce(&sums[0], 1, ReduceOp::Sum);  // replicated tensors counted once
  return std::sqrt(sums[0] + sums[1]);
}

void Trainer::log_step(int64_t step, double loss, double lr, double gnorm, const StepTiming& t) {
  if (!grid_.is_root()) return;
  nlohmann::json j = {{"step", step},
                      {"loss", loss},
                      {"lr", lr},
                      {"grad_norm", gnorm},
                      {"tokens_per_s", t.tokens_per_s},
                      {"elapsed_s", t.elapsed_s},
                      {"step_s", t.step_s},
                      {"compute_s", t.step_s - t.exposed_comm_s},
                      {"exposed_comm_s", t.exposed_comm_s},
                      {"model_flops_per_token", t.flops_per_token}};
  metrics_ << j.dump() << "\n";
  metrics_.flush();
}

double Trainer::exposed_comm_seconds() const {
  return grid_.world().comm_seconds() + grid_.tp().comm_seconds() + grid_.dp().comm_seconds() + sync_->comm_seconds();
}

// ModelConfig::flops_per_token at the step's sequence length: the LM window, or for a
// classification step the mean example length (its tokens over its examples).
double Trainer::model_flops_per_token(int64_t tokens) const {
  if (cfg_.objective == "lm") return model_cfg_.flops_per_token(T_);
  const double mean_len = static_cast<double>(tokens) / static_cast<double>(std::max<int64_t>(1, sampler_->batch()));
  return model_cfg_.flops_per_token(static_cast<int>(std::lround(mean_len)));
}

// The run as named steps: plan the steps, resume or initialise, set up the device and the run
// folder, then loop: one optimizer step, the non-finite guard and the update, progress, and the
// checkpoint / preemption check.
TrainResult Trainer::run() {
  Timer total_timer;
  grid_.require_identical(effective_config_ + "|" W2S_VERSION "|" __DATE__ " " __TIME__, "configuration or binary");
  setup_data();
  setup_model();
  const int64_t total = plan_steps();
  const int64_t start = resume_or_initialise(total);
  attach_device();
  open_run_folder(start);
  log_run_start(total);

  TrainResult result;
  result.optimizer_bytes = opt_->state_bytes();
  // A run resumed after its patience was spent (a stop signal came with the last evaluation)
  // trains no further: it only keeps its best weights.
  const bool spent_before = patience_spent() && start < total;
  const int64_t end = spent_before ? start : (cfg_.stop_after > 0 ? std::min(total, cfg_.stop_after) : total);
  bool stopped_early = spent_before;
  LoopState loop;
  grid_.world().reset_comm_seconds();
  grid_.tp().reset_comm_seconds();
  grid_.dp().reset_comm_seconds();
  sync_->reset_comm_seconds();
  for (int64_t step = start; step < end; ++step) {
    const Timer step_timer;
    const double comm_before = exposed_comm_seconds();
    const StepOutcome out = forward_backward_step(step, total);
    guard_and_update(step, out, loop);
    loop.window_comm_seconds += exposed_comm_seconds() - comm_before;
    loop.window_step_seconds += step_timer.seconds();
    ++loop.window_steps;
    loop.window_tokens += out.tokens;
    loop.run_tokens += out.tokens;
    result.losses.push_back(out.loss);
    result.final_loss = out.loss;
    result.steps_done = step + 1;
    if ((step + 1) % std::max(1, cfg_.log_every) == 0 || step + 1 == end || step == start)
      log_progress(step, start, end, total, out, loop);
    stopped_early = validate_if_due(step + 1, total);
    if (checkpoint_or_preempt(step, end, total)) {
      result.preempted = true;
      break;
    }
    if (stopped_early) break;
  }
  if (cfg_.early_stop > 0 && !result.preempted && start < total && (stopped_early || result.steps_done == total))
    keep_best(total, stopped_early ? std::max(result.steps_done, start) : total);
  result.seconds = total_timer.seconds();
  result.tokens_per_second = loop.run_timer.seconds() > 0 ? loop.run_tokens / loop.run_timer.seconds() : 0.0;
  result.comm_seconds = exposed_comm_seconds();
  if (result.steps_done == 0) result.steps_done = start;
  return result;
}

// The sampler over LM windows or supervised examples, and the run's total number of steps.
int64_t Trainer::plan_steps() {
  const bool lm = cfg_.objective == "lm";
  T_ = lm ? (cfg_.seq_len > 0 ? cfg_.seq_len : model_cfg_.n_ctx) : 0;
  if (lm && T_ > model_cfg_.n_ctx) throw UsageError(strfmt("--seq-len %d exceeds the model context %d", T_, model_cfg_.n_ctx));
  if (lm) {
    int64_t windows = lm_->num_windows(T_);
    if (windows < 1) throw DataError(cfg_.data, strfmt("too few tokens for one window of %d", T_));
    sampler_ = std::make_unique<Sampler>(windows, cfg_.batch_size, cfg_.micro_batch, cfg_.seed);
  } else if (!sup_->targets.selected().empty()) {
    sampler_ = std::make_unique<Sampler>(sup_->targets.selected(), cfg_.batch_size, cfg_.micro_batch, cfg_.seed);
  } else {
    sampler_ = std::make_unique<Sampler>(sup_->ds.size(), cfg_.batch_size, cfg_.micro_batch, cfg_.seed);
  }
  require_batch_fits();
  const int64_t total = cfg_.steps > 0 ? cfg_.steps : sampler_->steps_for_epochs(cfg_.epochs);
  state_.total_steps = total;
  state_.seed = static_cast<int64_t>(cfg_.seed);
  return total;
}

// Resumes from the run's checkpoint (same settings only), or initialises from scratch or from a
// pretrained checkpoint. Returns the first step to run.
int64_t Trainer::resume_or_initialise(int64_t total) {
  if (cfg_.resume && file_exists(ckpt_path())) {
    require_same_settings_as_checkpoint();
    CheckpointInfo info = load_checkpoint(ckpt_path(), *model_, opt_.get(), sync_->zero1(), grid_, {true, false});
    if (info.state.total_steps != total)
      throw UsageError(strfmt("%s: resumed run had %lld total steps, this one %lld — use the same settings",
                              ckpt_path().c_str(), static_cast<long long>(info.state.total_steps),
                              static_cast<long long>(total)));
    state_.skipped_steps = info.state.skipped_steps;
    restore_best_so_far(info, info.state.step);
    log_info(strfmt("resuming %s at step %lld/%lld", cfg_.run_dir.c_str(), static_cast<long long>(info.state.step),
                    static_cast<long long>(total)));
    return info.state.step;
  }
  if (!cfg_.init_ckpt.empty()) load_checkpoint(cfg_.init_ckpt, *model_, nullptr, false, grid_, {false, true});
  return 0;
}

void Trainer::attach_device() {
  compute_ = model_.get();
  if (cfg_.device != "cuda") return;
  gpu_ = GpuModel::create(*model_);
  compute_ = gpu_.get();
  if (grid_.is_root())
    log_info(strfmt("forward/backward on GPU %d (bf16; optimizer, gradient sync and checkpoints on the host)",
                    gpu_->device()));
}

// config.ini, and metrics.jsonl cut back to the checkpoint a resumed run starts from.
void Trainer::open_run_folder(int64_t start) {
  if (!grid_.is_root()) return;
  make_dirs(cfg_.run_dir);
  write_text_atomic(cfg_.run_dir + "/config.ini", effective_config_);
  const std::string metrics = cfg_.run_dir + "/metrics.jsonl", valid = cfg_.run_dir + "/valid.jsonl";
  write_text_atomic(metrics, log_lines_up_to(metrics, start));
  metrics_.open(metrics, std::ios::app);
  if (!valid_) return;
  write_text_atomic(valid, log_lines_up_to(valid, start));
  valid_log_.open(valid, std::ios::app);
}

void Trainer::log_run_start(int64_t total) const {
  log_info(strfmt("%s: %s, %s, %lld examples in pool, batch %lld (micro %lld), %lld steps", cfg_.run_dir.c_str(),
                  model_cfg_.describe().c_str(), grid_.describe().c_str(), static_cast<long long>(sampler_->pool_size()),
                  static_cast<long long>(cfg_.batch_size), static_cast<long long>(sampler_->batch() / sampler_->micro_steps()),
                  static_cast<long long>(total)));
  log_info(strfmt("optimizer state: %.2f MiB per rank%s", opt_->state_bytes() / 1048576.0,
                  sync_->zero1() ? strfmt(" (ZeRO-1 over dp %d)", grid_.dp_size()).c_str() : ""));
}

// Forward and backward over the step's micro-batches, gradients synchronised over DP; the batch
// loss, its tokens, the gradient norm and the step's learning rate.
Trainer::StepOutcome Trainer::forward_backward_step(int64_t step, int64_t total) {
  const bool lm = cfg_.objective == "lm";
  model_->zero_grads();
  if (compute_ != model_.get()) compute_->zero_grads();
  const double step_frac = static_cast<double>(step) / static_cast<double>(total);
  const int64_t micro_steps = sampler_->micro_steps();
  double loss_sum = 0.0;
  int64_t tokens = 0;
  const std::optional<double> aux_threshold = lm ? std::nullopt : batch_aux_threshold(step);
  for (int64_t k = 0; k < micro_steps; ++k) {
    std::vector<int64_t> micro = sampler_->micro_batch(step, k);
    if (step == cfg_.debug_fail_step && grid_.world_rank() == cfg_.debug_fail_rank)
      throw RuntimeError(strfmt("injected failure at step %lld (--debug-fail-step)", static_cast<long long>(step)));
    bool last = k + 1 == micro_steps;
    if (lm) {
      loss_sum += micro_step_lm(micro, last, &tokens);
    } else {
      loss_sum += micro_step_supervised(micro, last, step_frac, &tokens, aux_threshold);
    }
  }
  sync_->finish();
  if (cfg_.debug_nan_step >= 0 && step >= cfg_.debug_nan_step && step - cfg_.debug_nan_step < cfg_.debug_nan_count)
    model_->grads()[0] = std::nanf("");
  // LM losses are per-rank shares; supervised losses were computed over the whole micro-step.
  double buf[2] = {lm ? loss_sum : 0.0, static_cast<double>(tokens)};
  grid_.dp().all_reduce(buf, 2, ReduceOp::Sum);
  StepOutcome out;
  out.loss = lm ? buf[0] / (static_cast<double>(sampler_->batch()) * T_) : loss_sum / static_cast<double>(sampler_->batch());
  out.tokens = static_cast<int64_t>(buf[1]);
  out.gnorm = global_grad_norm();
  out.lr = cfg_.lr.at(static_cast<int>(step), static_cast<int>(total));
  return out;
}

// The non-finite guard: a step whose loss, gradient norm or learning rate is not finite is
// skipped and counted, and max_bad_steps in a row stop the run; otherwise clip, update, share the
// ZeRO-1 slices, and stop before weights an update made non-finite reach a checkpoint.
void Trainer::guard_and_update(int64_t step, const StepOutcome& out, LoopState& loop) {
  if (!std::isfinite(out.loss) || !std::isfinite(out.gnorm) || !std::isfinite(out.lr)) {
    ++loop.consecutive_bad;
    ++state_.skipped_steps;
    log_warn(strfmt("step %lld: non-finite %s; update skipped (%d in a row)", static_cast<long long>(step),
                    !std::isfinite(out.loss) ? "loss" : (!std::isfinite(out.gnorm) ? "gradient norm" : "learning rate"),
                    loop.consecutive_bad));
    if (loop.consecutive_bad >= cfg_.max_bad_steps)
      throw RuntimeError(strfmt("%d consecutive non-finite steps at step %lld: stopping; the last good checkpoint "
                                "(%s) is left intact",
                                loop.consecutive_bad, static_cast<long long>(step), ckpt_path().c_str()));
    return;
  }
  loop.consecutive_bad = 0;
  if (cfg_.grad_clip > 0 && out.gnorm > cfg_.grad_clip)
    opt_->scale_grads(model_->grads().data(), static_cast<float>(cfg_.grad_clip / out.gnorm));
  opt_->step(model_->params().data(), model_->grads().data(), out.lr, step + 1);
  sync_->all_gather_params(model_->params().data());
  if (!params_finite())
    throw RuntimeError(strfmt("step %lld: the update made the weights non-finite (learning rate %g): stopping; the "
                              "last good checkpoint (%s) is left intact",
                              static_cast<long long>(step), out.lr, ckpt_path().c_str()));
  compute_->params_from_host();
}

void Trainer::log_progress(int64_t step, int64_t start, int64_t end, int64_t total, const StepOutcome& out,
                           LoopState& loop) {
  double secs = loop.window_timer.seconds();
  double tps = secs > 0 ? loop.window_tokens / secs : 0.0;
  double elapsed = loop.run_timer.seconds();
  const double steps = static_cast<double>(std::max<int64_t>(1, loop.window_steps));
  log_step(step + 1, out.loss, out.lr, out.gnorm,
           {tps, elapsed, loop.window_step_seconds / steps, loop.window_comm_seconds / steps,
            model_flops_per_token(out.tokens)});
  double eta = (step + 1 > start) ? elapsed / static_cast<double>(step + 1 - start) * static_cast<double>(end - step - 1) : 0;
  log_info(strfmt("step %lld/%lld | loss %.4f | lr %.2e | grad %.3f | %s tok/s | ETA %s",
                  static_cast<long long>(step + 1), static_cast<long long>(total), out.loss, out.lr, out.gnorm,
                  human_count(tps).c_str(), human_duration(eta).c_str()));
  loop.window_timer.reset();
  loop.window_tokens = 0;
  loop.window_steps = 0;
  loop.window_step_seconds = loop.window_comm_seconds = 0.0;
}

// Periodic and final checkpoints; on a preemption signal at any rank, every rank checkpoints and
// the run stops (returns true).
bool Trainer::checkpoint_or_preempt(int64_t step, int64_t end, int64_t total) {
  int64_t stop = g_stop_signal.load();
  grid_.world().all_reduce(&stop, 1, ReduceOp::Max);
  const bool periodic = cfg_.save_every > 0 && (step + 1) % cfg_.save_every == 0;
  // With early stopping the finished checkpoint holds the best weights (keep_best writes it): the
  // last step's weights must never be written as a finished run.
  const bool best_kept_instead = cfg_.early_stop > 0 && step + 1 == total;
  if (best_kept_instead) return false;
  if (stop || periodic || step + 1 == end) save(step + 1, ckpt_path(), cfg_.save_optimizer || step + 1 < total);
  if (!stop) return false;
  log_info(strfmt("signal %lld received: checkpoint written at step %lld; exiting for requeue",
                  static_cast<long long>(stop), static_cast<long long>(step + 1)));
  return true;
}

bool Trainer::validate_if_due(int64_t step, int64_t total) {
  if (!valid_) return false;
  if (step != total && (cfg_.eval_every <= 0 || step % cfg_.eval_every != 0)) return false;
  const ValidPoint p = evaluate_validation();
  if (grid_.is_root()) {
    valid_log_ << nlohmann::json({{"step", step}, {"loss", p.loss}, {"accuracy", p.accuracy}, {"examples", p.examples}}).dump()
               << "\n";
    valid_log_.flush();
  }
  log_info(strfmt("validation at step %lld: accuracy %.4f, loss %.4f (%lld examples)", static_cast<long long>(step),
                  p.accuracy, p.loss, static_cast<long long>(p.examples)));
  if (cfg_.early_stop <= 0) return false;
  if (p.accuracy > best_.accuracy) {  // ties keep the earlier step
    best_ = {p.accuracy, step, 0};
    // The resume point records this best before best.h5 holds it, so a stop between the two
    // writes resumes at the best step itself and rewrites best.h5 from its weights.
    save(step, ckpt_path(), true);
    save(step, best_path(), false);
    return false;
  }
  ++best_.since;
  return patience_spent();
}

// Accuracy: argmax of the logits against argmax of the targets (a student's: its supervisor's
// labels); loss: cross-entropy against the targets. Every rank computes the whole set.
ValidPoint Trainer::evaluate_validation() {
  const Inference out = run_inference(head_forward(*compute_, model_cfg_), valid_->ds, valid_->batches);
  const std::vector<int64_t> rows = rows_of(valid_->batches);
  const size_t C = static_cast<size_t>(out.C);
  std::vector<float> targets(rows.size() * C);
  valid_->targets.read(rows, targets.data());
  ValidPoint p;
  p.examples = static_cast<int64_t>(rows.size());
  int64_t correct = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const float* logit = out.logits.data() + i * C;
    const float* prob = out.probs.data() + i * C;
    const float* target = targets.data() + i * C;
    for (size_t c = 0; c < C; ++c) p.loss -= target[c] * std::log(std::max(static_cast<double>(prob[c]), 1e-30));
    correct += std::max_element(logit, logit + C) - logit == std::max_element(target, target + C) - target;
  }
  p.loss /= static_cast<double>(std::max<int64_t>(1, p.examples));
  p.accuracy = static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(1, p.examples));
  return p;
}

// The early-stopping state a checkpoint records, and best.h5 made consistent with it.
void Trainer::restore_best_so_far(const CheckpointInfo& info, int64_t start) {
  if (cfg_.early_stop <= 0) return;
  auto attr = [&](const char* key) {
    auto it = info.attrs.find(key);
    return it == info.attrs.end() ? std::string() : it->second;
  };
  if (attr("valid_best_step").empty()) return;
  best_.accuracy = std::stod(attr("valid_best_accuracy"));
  best_.step = std::stoll(attr("valid_best_step"));
  best_.since = std::stoll(attr("valid_evals_since_best"));
  if (best_.step == 0) return;
  const bool holds_best = file_exists(best_path()) && read_checkpoint_info(best_path()).state.step == best_.step;
  if (holds_best) return;
  if (best_.step != start)
    throw DataError(best_path(), strfmt("does not hold step %lld, the best validation step %s records",
                                        static_cast<long long>(best_.step), ckpt_path().c_str()));
  save(start, best_path(), false);  // stopped between the two writes: the resumed weights are the best
}

// The finished checkpoint: the best validation step's weights, marked as the run's last step
// (so the run counts as done), without optimizer state (it belongs to other weights).
void Trainer::keep_best(int64_t total, int64_t stopped_at) {
  load_checkpoint(best_path(), *model_, nullptr, false, grid_, {false, false});
  compute_->params_from_host();
  stopped_at_ = stopped_at;
  save(total, ckpt_path(), false);
  grid_.world().barrier();
  if (grid_.is_root()) std::filesystem::remove(best_path());
  log_info(strfmt("%s at step %lld: keeping step %lld (validation accuracy %.4f) as %s",
                  stopped_at < total ? "early stop" : "end of training", static_cast<long long>(stopped_at),
                  static_cast<long long>(best_.step), best_.accuracy, ckpt_path().c_str()));
}

}  // namespace

bool preemption_requested() { return g_stop_signal.load() != 0; }

void install_preemption_handlers() {
  std::signal(SIGUSR1, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

TrainResult run_training(const TrainConfig& cfg, const ProcessGrid& grid, const std::string& effective_config) {
  if (cfg.run_dir.empty()) throw UsageError("missing required option --run-dir");
  if (cfg.data.empty()) throw UsageError("missing required option --data");
  Trainer trainer(cfg, grid, effective_config);
  return trainer.run();
}

}  // namespace w2s
