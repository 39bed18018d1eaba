#include "optim/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace w2s {

double LrSchedule::at(int step, int total_steps) const {
  if (step < warmup_steps) return lr * (step + 1) / warmup_steps;
  if (kind == "constant") return lr;
  int decay_steps = std::max(1, total_steps - warmup_steps);
  double progress = std::clamp(static_cast<double>(step - warmup_steps) / decay_steps, 0.0, 1.0);
  double min_lr = lr * min_lr_frac;
  if (kind == "linear") return lr - (lr - min_lr) * progress;
  if (kind == "cosine") return min_lr + 0.5 * (1.0 + std::cos(M_PI * progress)) * (lr - min_lr);
  throw UsageError("unknown learning-rate schedule '" + kind + "' (cosine, linear, constant)");
}

}  // namespace w2s
