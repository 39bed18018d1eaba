#include "parallel/grad_sync.h"

#include <cstring>
#include <utility>

#include "core/error.h"

namespace w2s {

GradSync::GradSync(Communicator& dp, const ParamLayout& layout, bool zero1)
    : dp_(dp), layout_(layout), zero1_(zero1 && dp.size() > 1) {
  const size_t nb = layout.buckets.size();
  launched_.assign(nb, false);
  pending_.resize(nb);
  recv_.resize(nb);
  for (size_t b = 0; b < nb; ++b) {
    const Bucket& bk = layout.buckets[b];
    if (zero1_) {
      W2S_CHECK(bk.size % dp.size() == 0, "bucket not padded to the DP size");
      int64_t slice = bk.size / dp.size();
      owned_.push_back({bk.offset + dp.rank() * slice, bk.offset + (dp.rank() + 1) * slice});
      recv_[b].resize(static_cast<size_t>(slice));
    } else {
      owned_.push_back({bk.offset, bk.offset + bk.size});
    }
  }
}

void GradSync::begin(float* grads) {
  grads_ = grads;
  std::fill(launched_.begin(), launched_.end(), false);
}

void GradSync::launch(size_t b) {
  const Bucket& bk = layout_.buckets[b];
  launched_[b] = true;
  if (dp_.size() == 1) return;
  watch_.start();
  float* data = grads_ + bk.offset;
  if (zero1_) {
    pending_[b] = dp_.start_reduce_scatter(data, recv_[b].data(), static_cast<size_t>(bk.size / dp_.size()),
                                           DType::F32, ReduceOp::Sum);
  } else {
    pending_[b] = dp_.start_all_reduce(data, static_cast<size_t>(bk.size), DType::F32, ReduceOp::Sum);
  }
  watch_.stop();
}

void GradSync::on_ready(int first_ready_param) {
  for (size_t b = 0; b < layout_.buckets.size(); ++b)
    if (!launched_[b] && layout_.buckets[b].first_param >= first_ready_param) launch(b);
}

void GradSync::finish() {
  for (size_t b = 0; b < layout_.buckets.size(); ++b)
    if (!launched_[b]) launch(b);
  watch_.start();
  for (size_t b = 0; b < layout_.buckets.size(); ++b) {
    if (pending_[b]) std::exchange(pending_[b], nullptr)->wait();
    if (zero1_) {
      std::memcpy(grads_ + owned_[b].begin, recv_[b].data(), recv_[b].size() * sizeof(float));
    }
  }
  watch_.stop();
}

// Not timed here: a blocking collective is timed by the communicator itself, and counting it
// twice would inflate the trainer's exposed communication.
void GradSync::all_gather_params(float* params) {
  if (!zero1_) return;
  for (size_t b = 0; b < layout_.buckets.size(); ++b) {
    const Bucket& bk = layout_.buckets[b];
    dp_.all_gather(params + owned_[b].begin, params + bk.offset, static_cast<size_t>(bk.size / dp_.size()),
                   DType::F32);
  }
}

}  // namespace w2s
