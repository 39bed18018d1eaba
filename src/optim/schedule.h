// Learning-rate schedules: linear warm-up, then cosine decay to min_lr_frac · lr (or constant).
#pragma once
#include <string>

namespace w2s {

struct LrSchedule {
  double lr = 1e-3;
  int warmup_steps = 0;
  double min_lr_frac = 0.0;
  std::string kind = "cosine";  // "cosine" | "constant" | "linear"

  // Learning rate at 0-based step of total_steps.
  double at(int step, int total_steps) const;
};

}  // namespace w2s
