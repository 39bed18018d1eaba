// The model behind `w2s eval` and `w2s label`, on the device the user asked for: the CPU Gpt2
// (fp32, any TP) or, with the CUDA backend, the same weights on the GPU (Gpt2Cuda, bf16
// activations, tp = 1, one GPU per rank chosen by node-local rank). Both give a HeadForward, so
// the inference code above it is one.
#pragma once
#include <memory>
#include <string>

#include "comm/process_grid.h"
#include "model/gpt2.h"
#include "infer/inference.h"

namespace w2s {

class GpuModel;

enum class Device { Cpu, Cuda };
// "cpu" or "cuda"; a UsageError naming the option otherwise.
Device parse_device(const std::string& name);
const char* device_name(Device d);

class InferenceModel {
 public:
  // Loads the checkpoint sharded over grid.tp(); Device::Cuda needs a build with the CUDA
  // backend, a visible GPU and tp = 1 (each a UsageError/RuntimeError saying so).
  InferenceModel(const std::string& ckpt, const ProcessGrid& grid, Device device);
  ~InferenceModel();
  InferenceModel(const InferenceModel&) = delete;
  InferenceModel& operator=(const InferenceModel&) = delete;

  const ModelConfig& config() const { return head_.config; }
  const HeadForward& head() const { return head_; }

 private:
  std::unique_ptr<Gpt2> cpu_;     // the weights as loaded (also the model on Device::Cpu)
  std::unique_ptr<GpuModel> gpu_;  // Device::Cuda: the same weights on the GPU
  HeadForward head_;
};

}  // namespace w2s
