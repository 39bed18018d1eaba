// GPT-2 on one GPU: the CPU model's (model/gpt2.h) forward and backward, op for op, on device
// buffers through the launchers of kernels/cuda_kernels.h and ops/cuda/gemm.h. Same parameters, same layout of
// every tensor, same heads (LM head tied to wte, classification head on the last real token).
//
// Precision (docs/cuda.md): T is the storage type of the activations and of the
// compute copy of the weights, bf16 for training or float to compare against the CPU tightly.
// Master weights, gradients and AdamW moments are fp32 on the device whatever T is; with
// T = float the master weights are the compute copy (no second buffer).
//
// tp = 1 only: tensor parallelism on the GPU is NOT done (the LM-head kernel is the tp = 1 form,
// there is no NCCL all-reduce between the row-parallel GEMMs). Neither is data parallelism: no
// gradient-bucket hook (Gpt2::on_grads_ready) is called. Attention uses the plain kernels of
// kernels/attention.cu (O(T²) memory: probs [B, H, T, T] fp32 are kept per layer) unless
// use_cudnn_attention() is called: then cuDNN's fused attention (ops/cuda/attention_cudnn.h,
// bf16 only) keeps only the log-sum-exp stats [B, H, T], for every shape cuDNN has a plan for.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "model/config.h"
#include "model/params.h"
#include "ops/cuda/attention_cudnn.h"
#include "kernels/cuda_kernels.h"
#include "ops/cuda/gemm.h"

namespace w2s {
struct AdamConfig;
}

namespace w2s::cuda {

// An owned device array, resized to exactly what is asked (like Gpt2's activation buffers: the
// footprint depends on the largest batch only). Contents are undefined after a resize.
template <class U>
class DeviceArray {
 public:
  DeviceArray() = default;
  ~DeviceArray() { release(); }
  DeviceArray(DeviceArray&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr, o.n_ = 0; }
  DeviceArray& operator=(DeviceArray&& o) noexcept;
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  void resize(size_t n);
  U* get() const { return p_; }
  size_t size() const { return n_; }
  size_t bytes() const { return n_ * sizeof(U); }

 private:
  void release();
  U* p_ = nullptr;
  size_t n_ = 0;
};

template <class T>
class Gpt2Cuda {
 public:
  // From the CPU model's flat fp32 parameters and their layout (Gpt2::params(), Gpt2::layout()
  // of a tp = 1 model), so both start from identical weights. Needs a CUDA device.
  Gpt2Cuda(const ModelConfig& cfg, const ParamLayout& host_layout, const std::vector<float>& host_params);
  ~Gpt2Cuda();
  Gpt2Cuda(const Gpt2Cuda&) = delete;
  Gpt2Cuda& operator=(const Gpt2Cuda&) = delete;

  const ModelConfig& config() const { return cfg_; }
  const ParamTable& table() const { return table_; }
  cudaStream_t stream() const { return stream_; }

  // --- parameters and gradients, to and from host buffers in the CPU model's flat layout ---
  void set_params(const std::vector<float>& host_params);  // master and compute copy
  void params_to_host(std::vector<float>& host_params) const;
  void grads_to_host(std::vector<float>& host_grads) const;
  void zero_grads();

  // --- LM head, as Gpt2: Σ of per-token losses; with backward, gradients of grad_scale · Σ
  // accumulate into the device gradients. Host inputs [B, T]; targets −1 are ignored.
  double lm_forward(const int32_t* tokens, const int32_t* targets, int B, int Tn, float* token_loss = nullptr);
  double lm_forward_backward(const int32_t* tokens, const int32_t* targets, int B, int Tn, float grad_scale);
  // Logits [B·T, padded_vocab] on the host (columns ≥ vocab_size are padding). For tests.
  void lm_logits(const int32_t* tokens, int B, int Tn, std::vector<float>& logits);

  // --- classification head on each example's last real token (host logits [B, K]) ---
  void classifier_forward(const int32_t* tokens, const int32_t* lengths, int B, int Tn, float* logits);
  // Backward of the last classifier_forward from host dlogits [B, K]; backbone = false computes
  // the head's gradient only (linear probe).
  void classifier_backward(const float* dlogits, bool backbone = true);

  // --- optimizer: optim/adamw.cpp's AdamW/Adam through kernels/adamw.cu (adamw_step is defined
  // in optim/adamw_cuda.cpp, the optimizer layer) ---
  double grad_sq_sum();                                    // Σ g² over every parameter, fp64, deterministic
  void scale_grads(float factor);                          // gradient clipping
  void set_trainable(const std::vector<bool>& trainable);  // per table entry; false = frozen
  // One update at learning rate lr, 1-based step t; weight decay on 2-D weights only (as the
  // CPU); the bf16 compute copy is rewritten in the same pass.
  void adamw_step(const AdamConfig& cfg, double lr, int64_t t);

  // --- reports ---
  size_t activation_bytes() const;  // activation and scratch buffers held now (tracked)
  size_t allocated_bytes() const;   // everything this model allocated (tracked)
  // Largest device memory in use seen by cudaMemGetInfo (total − free: includes the CUDA
  // context, cuBLASLt's workspace and the stream-ordered pool), sampled after every forward
  // and backward.
  size_t peak_device_bytes() const { return peak_device_bytes_; }
  // Training FLOPs per token at sequence length T, as llm.c quotes MFU: 6·N for the weight
  // GEMMs (N with the true vocabulary, wpe and LayerNorms included) + 6·L·T·C for attention's
  // two T×T products (counted as if not causal). Ignores the padded vocabulary columns.
  static double flops_per_token(const ModelConfig& cfg, int Tn) { return cfg.flops_per_token(Tn); }
  // Model FLOPs utilisation of a run at tokens_per_s against peak_flops (H100/H200 dense bf16:
  // 989e12).
  static double mfu(const ModelConfig& cfg, int Tn, double tokens_per_s, double peak_flops = 989e12) {
    return flops_per_token(cfg, Tn) * tokens_per_s / peak_flops;
  }
  void synchronize() const;

  // Attention through cuDNN from the next forward on (bf16 storage only: returns false and
  // changes nothing for T = float). A shape cuDNN has no plan for, or whose planning fails with
  // any non-fatal cuDNN error (ops/cuda/cudnn_status.h), falls back to the plain kernels with the
  // reason logged once; attention_backend() says which one the last forward used.
  bool use_cudnn_attention();
  const char* attention_backend() const { return cudnn_shape_ ? "cudnn" : "plain"; }

 private:
  struct LayerActs {
    // res: the block's input (the residual stream); ln1/ln2 stats fp32; probs fp32: the
    // attention probabilities [B, H, T, T] (plain kernels) or the log-sum-exp stats [B, H, T]
    // (cuDNN).
    DeviceArray<T> res, ln1, qkv, att, x_mid, ln2, fc, fc_gelu;
    DeviceArray<float> ln1_mean, ln1_rstd, ln2_mean, ln2_rstd, probs;
  };
  float* master(int i) const { return master_.get() + offset_[static_cast<size_t>(i)]; }
  const T* weight(int i) const;
  float* grad(int i) const { return grads_.get() + offset_[static_cast<size_t>(i)]; }
  int64_t numel(int i) const { return table_.specs[static_cast<size_t>(i)].local_numel(1); }
  void refresh_compute_copy();
  // A device buffer in the device layout (master weights or gradients), downloaded into the CPU
  // model's flat layout.
  void to_host_layout(const float* device_buffer, std::vector<float>& host) const;

  void ensure_acts(int B, int Tn);
  bool cudnn_attention_serves(int B, int Tn);
  void upload_tokens(const int32_t* tokens, int B, int Tn);
  void forward_backbone(const int32_t* tokens, int B, int Tn);  // fills acts_ and lnf_
  void block_forward(int l, const T* x_in, T* x_out);
  double lm_head(const int32_t* targets, float grad_scale, bool backward, float* token_loss);
  void backward_backbone();    // from d(lnf) in dln_
  void block_backward(int l);  // dres_: in d(x_out), out d(x_in)
  void attend_forward(LayerActs& a);   // a.att (and a.probs: probabilities or stats) from a.qkv
  void attend_backward(LayerActs& a);  // dqkv_ from datt_
  void sample_memory();

  ModelConfig cfg_;
  ParamTable table_;
  std::vector<int64_t> host_offset_;  // per tensor, into the CPU layout's flat buffer
  int64_t host_total_ = 0;
  std::vector<int64_t> offset_;  // per tensor, into the device buffers (64-element aligned)
  int64_t total_ = 0;
  int vocab_padded_;
  std::vector<bool> trainable_;

  cudaStream_t stream_ = nullptr;
  Gemm gemm_;
  DeviceArray<float> master_, grads_, adam_m_, adam_v_;
  DeviceArray<T> copy_;  // bf16 compute copy (empty for T = float)
  bool moments_zeroed_ = false;

  int B_ = 0, T_ = 0;
  std::vector<LayerActs> acts_;
  DeviceArray<T> x_final_, lnf_, logits_, dres_, dln_, dqkv_, datt_, dfc_;
  DeviceArray<float> lnf_mean_, lnf_rstd_, losses_, cls_logits_, cls_dlogits_;
  DeviceArray<int32_t> tokens_, targets_, lengths_;
  DeviceArray<double> sum_;
  std::unique_ptr<CudnnAttention> cudnn_;  // set by use_cudnn_attention()
  bool cudnn_shape_ = false;                // cuDNN serves the current activation shape
  bool cudnn_refusal_logged_ = false;       // a shape precondition refusal was logged
  bool have_classifier_forward_ = false;
  size_t peak_device_bytes_ = 0;
};

}  // namespace w2s::cuda
