// The training loop shared by `w2s pretrain` (LM head) and `w2s train` (classification or
// regression head, on ground truth or on weak labels with the paper's losses). One global
// batch per step, cut into micro-steps (DP ranks take interleaved slices), gradients summed
// over DP in buckets, AdamW (optionally ZeRO-1), clipping, cosine schedule, a non-finite
// guard, metrics.jsonl, atomic checkpoints, --resume and preemption on SIGUSR1/SIGTERM.
#pragma once
#include <string>
#include <vector>

#include "comm/process_grid.h"
#include "core/error.h"
#include "train/train_config.h"

namespace w2s {

struct TrainResult {
  int64_t steps_done = 0;
  double final_loss = 0.0;
  std::vector<double> losses;  // per step run in this process
  double seconds = 0.0;
  double tokens_per_second = 0.0;
  double comm_seconds = 0.0;
  size_t optimizer_bytes = 0;  // AdamW state held by this rank
  bool preempted = false;
};

// Exit code of a run that stopped on SIGUSR1/SIGTERM after writing its checkpoint (the Slurm
// job script requeues on it), as an int for return statements.
constexpr int kExitPreempted = static_cast<int>(ExitCode::Preempted);

TrainResult run_training(const TrainConfig& cfg, const ProcessGrid& grid, const std::string& effective_config);

// Installs SIGUSR1/SIGTERM handlers that ask the loop to checkpoint and stop.
void install_preemption_handlers();
// True once such a signal arrived (in this process).
bool preemption_requested();

}  // namespace w2s
