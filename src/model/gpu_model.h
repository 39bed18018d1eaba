// A CPU model's weights on the GPU, as a Model (model/model.h) (Gpt2Cuda<bf16>, or Gpt2Cuda<float> with
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

class GpuModel : public Model {
 public:
  // Needs tp = 1 (a Gpt2 of one TP rank), a visible GPU (chosen by node-local rank) and the
  // CUDA backend; each missing one is a clear error. Copies the model's current weights.
  static std::unique_ptr<GpuModel> create(Gpt2& host);
  // The same errors as create() for a missing backend or GPU, before any weights are loaded.
  static void require_available();
  virtual ~GpuModel() = default;

  virtual int device() const = 0;  // the CUDA device index
  const char* device_name() const override { return "cuda"; }
  bool host_grads_during_backward() const override { return false; }
  // grads_to_host() overwrites the host model's gradients; params_from_host() uploads its
  // weights (the CPU layout) to the master and compute copies on the device.
};

}  // namespace w2s
