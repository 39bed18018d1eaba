// Everything a training run needs, filled from the command line / ini by the CLI and written
// as the run's effective config.
#pragma once
#include <cstdint>
#include <string>

#include "model/config.h"
#include "optim/adamw.h"
#include "optim/schedule.h"
#include "loss/losses.h"

namespace w2s {

struct TrainConfig {
  // What to train.
  std::string objective = "classify";  // "lm" (pretrain) | "classify" | "regress"
  std::string data;                    // token dataset (classify/regress) or LM dataset (lm)
  std::string labels_dir;              // weak labels; empty: ground truth from the dataset
  std::string init_ckpt;               // start from this checkpoint; empty: from scratch
  ModelConfig model;                   // used when training from scratch
  LossConfig loss;                     // kind gt unless labels_dir is set
  double kd_temperature = 1.0;         // softmax(weak logits / T) as soft targets
  bool freeze_backbone = false;        // linear probe: only the head trains
  double select_confident = 1.0;       // keep this fraction of most confident weak labels

  // Validation (--valid): accuracy and loss on held-out data every --eval-every steps and at the
  // last, in valid.jsonl; with --early-stop the run keeps the weights of the best accuracy.
  std::string valid_data;              // token dataset; empty: no validation
  std::string valid_labels_dir;        // weak labels over valid_data (students); empty: its ground truth
  bool valid_ground_truth = false;     // a student (--labels) may be validated on ground truth only when asked
  int64_t eval_every = 0;              // 0: at the last step only
  int64_t early_stop = 0;              // patience, in evaluations without a better accuracy; 0: off

  // How.
  int64_t batch_size = 32;             // global, in examples (sequences for lm)
  int64_t micro_batch = 0;             // global examples per micro-step (0: the whole batch)
  int64_t steps = 0;                   // 0: use epochs
  double epochs = 1.0;
  int seq_len = 0;                     // lm: context per window (0: n_ctx)
  LrSchedule lr;
  AdamConfig adam;
  double grad_clip = 0.0;              // 0: no clipping
  uint64_t seed = 0;
  int tp = 1;
  bool zero1 = false;
  std::string device = "cpu";          // cpu | cuda: forward/backward on the GPU (model/gpu_model.h)

  // Run bookkeeping.
  std::string run_dir;
  int log_every = 10;
  int64_t save_every = 0;              // 0: at the end only
  bool resume = false;
  int64_t stop_after = 0;              // stop (with a checkpoint) after this step; 0: run to the end
  int max_bad_steps = 5;               // consecutive non-finite steps before giving up
  bool save_optimizer = true;

  // Fault injection for tests.
  int64_t debug_fail_step = -1;
  int debug_fail_rank = -1;
  int64_t debug_nan_step = -1;   // first step whose gradient is made NaN (-1: none)
  int64_t debug_nan_count = 1;   // consecutive steps from debug_nan_step made NaN
};

}  // namespace w2s
