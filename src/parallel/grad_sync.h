// Data-parallel gradient synchronisation in buckets. Backward reports which parameters are
// final (Gpt2::on_grads_ready); a bucket whose tensors are all final starts its non-blocking
// reduction at once, so communication overlaps the rest of backward. Without ZeRO-1 a bucket is
// all-reduced (every rank gets the sum); with ZeRO-1 it is reduce-scattered: each DP rank gets
// the sum of its own 1/dp slice, updates only that slice of the weights (its optimizer state is
// 1/dp of the total), and the slices are all-gathered back afterwards.
// Gradients are summed, not averaged: every rank's loss is already normalised by the global
// batch size, so the sum is the gradient of the global mean whatever the DP degree.
#pragma once
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "comm/communicator.h"
#include "core/timer.h"
#include "parallel/flat_layout.h"

namespace w2s {

struct FlatRange {
  int64_t begin, end;
};

class GradSync {
 public:
  GradSync(Communicator& dp, const ParamLayout& layout, bool zero1);

  // Call before the backward of the last micro-batch of a step.
  void begin(float* grads);
  // Launches every pending bucket whose first tensor index is >= first_ready_param.
  void on_ready(int first_ready_param);
  // Launches what is left and waits for all buckets.
  void finish();
  // ZeRO-1: after the optimizer updated this rank's slices, share them with the other DP ranks.
  void all_gather_params(float* params);

  bool zero1() const { return zero1_; }
  // Ranges of the flat buffer this rank updates (all of it without ZeRO-1).
  const std::vector<FlatRange>& owned() const { return owned_; }
  // Host time spent starting the bucket collectives and waiting for them in finish(); the
  // ZeRO-1 all-gather is a blocking collective, timed by the DP communicator instead.
  double comm_seconds() const { return watch_.total(); }
  void reset_comm_seconds() { watch_.clear(); }

 private:
  void launch(size_t b);
  Communicator& dp_;
  const ParamLayout& layout_;
  bool zero1_;
  float* grads_ = nullptr;
  std::vector<bool> launched_;
  std::vector<std::unique_ptr<PendingCollective>> pending_;  // per bucket, until finish()
  std::vector<std::vector<float>> recv_;  // ZeRO-1 receive buffers per bucket
  std::vector<FlatRange> owned_;
  StopWatch watch_;
};

}  // namespace w2s
