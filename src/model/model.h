// The one interface training and inference use for a GPT-2, whichever device computes it: the
// CPU Gpt2 (fp32, any TP degree) or a GpuModel (the same weights on one GPU). The host Gpt2 holds
// the master copy of the weights, which the optimizer updates and checkpoints store; a device
// model mirrors it, and the two sync calls below move what crosses between them (no-ops on the
// CPU).
#pragma once
#include <cstdint>

namespace w2s {

class Model {
 public:
  virtual ~Model() = default;
  virtual const char* device_name() const = 0;  // "cpu" or "cuda"

  virtual void zero_grads() = 0;
  // Classification/regression head on each example's last real token: logits [B, num_classes]
  // from tokens [B, T] and lengths [B], host buffers.
  virtual void classifier_forward(const int32_t* tokens, const int32_t* lengths, int B, int T, float* logits) = 0;
  // Backward of the last classifier_forward from dlogits [B, num_classes]; backbone = false
  // computes the head's gradient only (a linear probe).
  virtual void classifier_backward(const float* dlogits, bool backbone) = 0;
  // LM head: Σ of per-token losses; gradients of scale · Σ accumulate. Targets −1 are ignored.
  virtual double lm_forward_backward(const int32_t* tokens, const int32_t* targets, int B, int T, float scale) = 0;

  // True when backward finishes gradient buckets in host memory while it runs (so DP sync can
  // start them early); false when gradients reach the host only after backward.
  virtual bool host_grads_during_backward() const = 0;
  // After backward: gradients into the host master copy. After an update: weights from it.
  virtual void grads_to_host() = 0;
  virtual void params_from_host() = 0;
};

}  // namespace w2s
