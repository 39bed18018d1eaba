// AdamW on the GPU: the device form of optim/adamw.cpp's update, over Gpt2Cuda's fp32 master
// weights, gradients and moments (kernels/adamw.cu does the arithmetic). It is a member of
// Gpt2Cuda because it touches the model's private buffers, and it is defined here, in the
// optimizer layer, so the model layer needs nothing from the optimizer. Built with the CUDA
// backend only.
#include <cmath>
#include <string>
#include <type_traits>
#include <utility>

#include "core/cuda_check.h"
#include "core/error.h"
#include "model/gpt2_cuda.h"
#include "optim/adamw.h"

namespace w2s::cuda {

// One launch per tensor: weight decay differs between tensors, and frozen ones are skipped.
template <class T>
void Gpt2Cuda<T>::adamw_step(const AdamConfig& cfg, double lr, int64_t t) {
  if (cfg.kind != "adamw" && cfg.kind != "adam") throw UsageError("unknown optimizer '" + cfg.kind + "' (adamw, adam)");
  if (adam_m_.size() == 0 || adam_v_.size() == 0) {
    // Both moments are allocated and zeroed before either is kept: if the second allocation
    // fails, the model holds neither, and the next step tries again from scratch.
    DeviceArray<float> m, v;
    m.resize(static_cast<size_t>(total_));
    v.resize(static_cast<size_t>(total_));
    W2S_CUDA_CHECK(cudaMemsetAsync(m.get(), 0, m.bytes(), stream_));
    W2S_CUDA_CHECK(cudaMemsetAsync(v.get(), 0, v.bytes(), stream_));
    adam_m_ = std::move(m);
    adam_v_ = std::move(v);
  }
  // The CPU's scalars, rounded to float the same way (AdamW::step).
  AdamStep s{static_cast<float>(lr),
             static_cast<float>(cfg.beta1),
             static_cast<float>(cfg.beta2),
             static_cast<float>(cfg.eps),
             0.0f,
             static_cast<float>(1.0 - std::pow(cfg.beta1, static_cast<double>(t))),
             static_cast<float>(1.0 - std::pow(cfg.beta2, static_cast<double>(t))),
             cfg.kind == "adamw"};
  for (size_t i = 0; i < table_.specs.size(); ++i) {
    if (!trainable_[i]) continue;
    const int64_t off = offset_[i];
    s.weight_decay = table_.specs[i].weight_decay ? static_cast<float>(cfg.weight_decay) : 0.0f;
    T* copy = nullptr;
    if constexpr (!std::is_same_v<T, float>) copy = copy_.get() + off;
    adamw_update<T>(master_.get() + off, copy, grads_.get() + off, adam_m_.get() + off, adam_v_.get() + off,
                    numel(static_cast<int>(i)), s, stream_);
  }
}

template void Gpt2Cuda<float>::adamw_step(const AdamConfig&, double, int64_t);
template void Gpt2Cuda<bf16>::adamw_step(const AdamConfig&, double, int64_t);

}  // namespace w2s::cuda
