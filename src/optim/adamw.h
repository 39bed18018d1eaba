// AdamW (decoupled weight decay, Loshchilov & Hutter) and Adam (L2 folded into the gradient,
// torch.optim.Adam semantics), over the ranges of the flat parameter buffer this rank owns —
// all of it, or its ZeRO-1 slice. State (m, v) is fp32 and stored only for owned elements.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/params.h"
#include "parallel/grad_sync.h"

namespace w2s {

struct AdamConfig {
  std::string kind = "adamw";  // "adamw" | "adam"
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;   // applied to 2-D weights only (biases and LayerNorms never decay)
};

class AdamW {
 public:
  // trainable[i] = false freezes parameter i (linear probe).
  AdamW(const AdamConfig& cfg, const ParamTable& table, const ParamLayout& layout, int tp,
        const std::vector<FlatRange>& owned, const std::vector<bool>& trainable);

  // One update with learning rate lr at 1-based step t, on owned elements only.
  void step(float* params, const float* grads, double lr, int64_t t);

  // Σ g² over owned elements, split into TP-sharded and replicated tensors (the caller reduces
  // the sharded part over TP and both over DP under ZeRO-1 to get the global norm).
  void grad_sq_sums(const float* grads, double* sharded, double* replicated) const;
  void scale_grads(float* grads, float factor) const;  // owned elements only

  size_t state_bytes() const { return (m_.size() + v_.size()) * sizeof(float); }
  // Moments as flat-buffer-sized arrays (zero outside owned ranges), for checkpoints.
  void export_moments(std::vector<float>& m_flat, std::vector<float>& v_flat, int64_t flat_size) const;
  void import_moments(const std::vector<float>& m_flat, const std::vector<float>& v_flat);

 private:
  struct Segment {
    int64_t begin, end;  // flat indices
    int64_t state;       // offset into m_/v_
    bool decay;
    bool sharded;        // TP-sharded tensor
  };
  AdamConfig cfg_;
  std::vector<Segment> segments_;
  std::vector<float> m_, v_;
};

}  // namespace w2s
