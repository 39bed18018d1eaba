// GPT-2 on the CPU backend (fp32), exactly as Hugging Face's GPT2Model: learned position
// embeddings, pre-LayerNorm blocks (eps 1e-5), causal attention, GELU (tanh), final LayerNorm,
// LM head tied to wte. Tensor parallelism is built in (tp = 1 is the single-rank case).
// Forward and backward are written by hand; activations of the last forward are kept for the
// backward that follows it.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "comm/process_grid.h"
#include "model/config.h"
#include "model/model.h"
#include "model/params.h"

namespace w2s {

class Gpt2 final : public Model {
 public:
  // Parameters initialised from Philox(seed); the flat layout's buckets are padded to `align`
  // (the DP size when ZeRO-1 slices them) and hold ~bucket_elems elements each.
  Gpt2(const ModelConfig& cfg, Communicator& tp, uint64_t seed, int align = 1, int64_t bucket_elems = 1 << 22);

  const ModelConfig& config() const { return cfg_; }
  const ParamTable& table() const { return table_; }
  const ParamLayout& layout() const { return layout_; }
  int tp_size() const { return tp_.size(); }
  int tp_rank() const { return tp_.rank(); }

  std::vector<float>& params() { return params_; }
  std::vector<float>& grads() { return grads_; }
  float* param(int i) { return params_.data() + layout_.offset[static_cast<size_t>(i)]; }
  float* grad(int i) { return grads_.data() + layout_.offset[static_cast<size_t>(i)]; }
  void zero_grads() override;

  // Called during backward with the index of the first parameter whose gradient is final
  // (every parameter at or after it is done): gradient buckets start reducing early.
  std::function<void(int first_ready_param)> on_grads_ready;

  // --- LM head: tokens [B, T], targets [B, T] (−1 = ignore). Returns Σ of per-token losses.
  // With backward, gradients of grad_scale · Σ losses accumulate into grads().
  double lm_forward(const int32_t* tokens, const int32_t* targets, int B, int T, float* token_loss = nullptr);
  double lm_forward_backward(const int32_t* tokens, const int32_t* targets, int B, int T, float grad_scale) override;

  // Logits of this rank's vocabulary slice [B·T, padded_vocab/tp] (the full vocabulary at
  // tp = 1; columns ≥ vocab_size are padding). For inspection and tests; training never forms it.
  void lm_logits_local(const int32_t* tokens, int B, int T, std::vector<float>& logits);

  // --- Classification head on the final-LayerNorm state of each example's last real token
  // (position lengths[b] − 1). logits [B, num_classes].
  void classifier_forward(const int32_t* tokens, const int32_t* lengths, int B, int T, float* logits) override;
  // Backward of the last classifier_forward from dlogits [B, num_classes]. With
  // backbone = false only the head's gradient is computed (linear probe).
  void classifier_backward(const float* dlogits, bool backbone = true) override;

  // Model: the CPU model is its own master copy; backward hands finished buckets to
  // on_grads_ready as it goes.
  const char* device_name() const override { return "cpu"; }
  bool host_grads_during_backward() const override { return true; }
  void grads_to_host() override {}
  void params_from_host() override {}

  // Bytes of activation memory currently held (for reports).
  size_t activation_bytes() const;

 private:
  struct LayerActs {
    std::vector<float> x_in, ln1, ln1_mean, ln1_rstd, qkv, probs, att, x_mid, ln2, ln2_mean, ln2_rstd, fc, fc_gelu;
  };
  void ensure_acts(int B, int T);
  void forward_backbone(const int32_t* tokens, int B, int T);  // fills acts_ and lnf_
  void backward_backbone(float* dlnf);                         // from d(lnf), consumes it
  void block_forward(int l, const float* x_in, float* x_out);
  void block_backward(int l, float* dx);                       // dx: in = d(x_out), out = d(x_in)
  int vocab_begin() const { return tp_.rank() * vocab_local_; }

  ModelConfig cfg_;
  Communicator& tp_;
  ParamTable table_;
  ParamLayout layout_;
  std::vector<float> params_, grads_;
  int heads_local_, qkv_local_, att_local_, ffn_local_, vocab_local_;

  int B_ = 0, T_ = 0;  // shape of the saved activations
  std::vector<LayerActs> acts_;
  std::vector<float> x_final_, lnf_, lnf_mean_, lnf_rstd_;
  std::vector<float> tmp_, dtmp_, dln_, dqkv_, datt_, dfc_;
  std::vector<int32_t> tokens_, lengths_;
};

}  // namespace w2s
