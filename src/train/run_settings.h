// The settings a training run's result depends on, recorded in every checkpoint it writes (the
// "train_settings" attribute) so that `--resume` can refuse to continue a run under other
// settings: a resumed run must be the run its checkpoint and provenance describe.
//
// Recorded (by command-line name): the objective, --data, --labels and --init (inputs by their
// absolute path), the loss and its parameters, --kd-temperature, --freeze-backbone,
// --select-confident, --batch-size, --steps, --epochs, --seq-len, the learning rate and
// schedule, the optimizer and its hyperparameters, --grad-clip, --seed and --device (cuda
// computes in bf16); with --valid, also --valid, --valid-labels, --valid-ground-truth,
// --eval-every and --early-stop (the curve, and with early stopping the kept weights, depend on
// them).
// Free to change on resume, because they do not change the trained weights: --run-dir, --log-every,
// --save-every, --stop-after, --max-bad-steps, --no-save-optimizer, the debug options, and how
// the work is laid out (--tp, --zero1, the number of ranks, --micro-batch, OMP_NUM_THREADS): a
// checkpoint loads into any DP x TP shape, micro-steps accumulate the same batch (auxconf takes
// its threshold over the whole batch), and the arithmetic is the same up to the order of
// floating-point sums.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "train/train_config.h"

namespace w2s {

using RunSettings = std::map<std::string, std::string>;

RunSettings result_settings(const TrainConfig& cfg);

// "key = value" lines, sorted (the checkpoint attribute), and back.
std::string settings_text(const RunSettings& settings);
RunSettings parse_settings_text(const std::string& text);

// One line per key whose value differs ("--lr: 0.003 in the checkpoint, now 0.001"); a key only
// one side has counts as a difference with "(unset)" on the other side.
std::vector<std::string> settings_differences(const RunSettings& recorded, const RunSettings& now);

}  // namespace w2s
