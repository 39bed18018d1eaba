// A CPU model's weights on the GPU (Gpt2Cuda<bf16>, or Gpt2Cuda<float> with
// W2S_CUDA_PRECISION=fp32 in the environment; tp = 1), behind an interface that needs no
// CUDA headers, so the trainer and the inference code can use it in every build. The CPU Gpt2
// stays the master copy: checkpoints, the optimizer and DP gradient sync keep working on host
// buffers; this computes forward and backward on the device. In a build without the CUDA
// backend, create() is a usage error.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "model/gpt2.h"

namespace w2s {

class GpuModel {
 public:
  // Needs tp = 1 (a Gpt2 of one TP rank), a visible GPU (chosen by node-local rank) and the
  // CUDA backend; each missing one is a clear error. Copies the model's current weights.
  static std::unique_ptr<GpuModel> create(Gpt2& host);
  // The same errors as create() for a missing backend or GPU, before any weights are loaded.
  static void require_available();
  virtual ~GpuModel() = default;

  virtual int device() const = 0;
  virtual void upload_params(const std::vector<float>& host_params) = 0;  // the CPU layout
  virtual void download_grads(std::vector<float>& host_grads) = 0;        // overwrites
  virtual void zero_grads() = 0;
  // As Gpt2's methods of the same names, on host inputs and outputs.
  virtual void classifier_forward(const int32_t* tokens, const int32_t* lengths, int B, int T, float* logits) = 0;
  virtual void classifier_backward(const float* dlogits, bool backbone) = 0;
  virtual double lm_forward_backward(const int32_t* tokens, const int32_t* targets, int B, int T, float scale) = 0;
};

}  // namespace w2s
