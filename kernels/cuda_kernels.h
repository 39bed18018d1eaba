// The CUDA backend's ops: the same signatures and semantics as the CPU reference ops
// (src/ops/cpu/cpu_ops.h, src/parallel/tensor_parallel.h, src/optim/adamw.h), on device pointers and
// a stream. Kernels live in kernels/*.cu; GEMMs go through cuBLASLt (src/ops/cuda/gemm.h).
//
// Precision: activations and the compute copy of the weights are T = bf16 (or fp32,
// which the tests use to check indexing and semantics tightly); every reduction accumulates in
// fp32 (fp64 for the global sums), parameter gradients, master weights and AdamW state are fp32.
// All parameter-gradient reductions are deterministic: no floating-point atomics, fixed order.
// Shapes and layouts are the CPU ops': row-major, rows = B·T, linear weights W[in, out].
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace w2s::cuda {

using bf16 = __nv_bfloat16;

// ---- conversions (round to nearest even) -------------------------------------------------------
void to_bf16(bf16* out, const float* inp, int64_t n, cudaStream_t stream);
void to_f32(float* out, const bf16* inp, int64_t n, cudaStream_t stream);

// ---- LayerNorm over the last dimension C, eps 1e-5; mean/rstd [rows] fp32 ---------------------
template <class T>
void layernorm_forward(T* out, float* mean, float* rstd, const T* inp, const T* w, const T* b, int rows, int C,
                       cudaStream_t stream);
// dinp += ..., dw += ..., db += ... (as the CPU op: accumulates).
template <class T>
void layernorm_backward(T* dinp, float* dw, float* db, const T* dout, const T* inp, const T* w, const float* mean,
                        const float* rstd, int rows, int C, cudaStream_t stream);

// ---- GELU, tanh form ---------------------------------------------------------------------------
template <class T>
void gelu_forward(T* out, const T* inp, int64_t n, cudaStream_t stream);
template <class T>
void gelu_backward(T* dinp, const T* inp, const T* dout, int64_t n, cudaStream_t stream);  // may alias dout

// ---- residual stream and biases ----------------------------------------------------------------
template <class T>
void add_inplace(T* y, const T* x, int64_t n, cudaStream_t stream);  // y += x
template <class T>
void residual_forward(T* out, const T* a, const T* b, int64_t n, cudaStream_t stream);  // out = a + b
template <class T>
void add_bias(T* x, const T* bias, int rows, int n, cudaStream_t stream);
// db[n] += column sums of dout[rows, n] (fp32, deterministic).
template <class T>
void bias_backward(float* db, const T* dout, int rows, int n, cudaStream_t stream);

// ---- embeddings (VocabParallelEmbedding without its TP all-reduce) -----------------------------
// out[r] = wte_local[tok − vocab_begin] if this rank owns tok, else 0; then + wpe[r mod T] when
// wpe != nullptr (under TP: call with wpe = nullptr, all-reduce, then add_positions).
template <class T>
void embedding_forward(T* out, const int32_t* tokens, const T* wte_local, const T* wpe, int B, int T_, int C,
                       int vocab_begin, int vocab_end, cudaStream_t stream);
template <class T>
void add_positions(T* out, const T* wpe, int B, int T_, int C, cudaStream_t stream);
// dwte_local[tok − vocab_begin] += dout[r] for owned tokens; dwpe[t] += Σ_b dout[b, t].
// Deterministic: rows are sorted by token (stable radix sort) and each token's rows are summed in
// ascending row order, exactly the CPU op's order.
template <class T>
void embedding_backward(float* dwte_local, float* dwpe, const T* dout, const int32_t* tokens, int B, int T_, int C,
                        int vocab_begin, int vocab_end, cudaStream_t stream);

// ---- LM head: fused softmax + cross-entropy + gradient, in place over the logits ---------------
// logits [rows, V_local] (this rank's vocabulary slice; columns ≥ V_real are padding and never
// predicted). losses[r] = logsumexp(z[r, :V_real]) − z[r, target] (0 for target < 0). With
// backward, the logits are overwritten by grad_scale · (softmax − onehot) (padding and ignored
// rows → 0): the probabilities never exist in a separate buffer. tp = 1 form (vocab_begin = 0
// and the slice is the whole vocabulary).
template <class T>
void lm_xent_forward_backward(T* logits, float* losses, const int32_t* targets, int rows, int V_real, int V_local,
                              float grad_scale, bool backward, cudaStream_t stream);

// ---- classification head on the hidden state of each example's last real token ---------------
// logits[B, K] = h[b, lengths[b] − 1] · W[k]ᵀ with W [K, C].
template <class T>
void classifier_forward(float* logits, const T* h, const int32_t* lengths, const T* W, int B, int T_, int C, int K,
                        cudaStream_t stream);
// dh [B·T, C] overwritten (zero except the last real token of each example); dW [K, C] +=.
template <class T>
void classifier_backward(T* dh, float* dW, const float* dlogits, const T* h, const int32_t* lengths, const T* W,
                         int B, int T_, int C, int K, cudaStream_t stream);
// Soft-label cross-entropy of losses.h ("gt"/"xent"): loss[i] = −Σ_c t_ic log softmax(z_i)_c and
// dlogits = softmax(z_i) · Σ_c t_ic − t_i (gradient of the sum of losses). fp64 math, as the CPU.
void classifier_xent(float* loss, float* dlogits, const float* logits, const float* targets, int n, int K,
                     cudaStream_t stream);

// ---- causal self-attention (plain kernels: the fallback and test reference for cuDNN) ---------
// qkv [B, T, 3·heads·hd] as [q heads | k heads | v heads]; out [B, T, heads·hd]; probs
// [B, heads, T, T] fp32, saved for backward (zeros above the diagonal). hd ≤ 128.
template <class T>
void attention_forward(T* out, float* probs, const T* qkv, int B, int T_, int heads, int hd, cudaStream_t stream);
// dqkv (overwritten) from dout and the saved probs.
template <class T>
void attention_backward(T* dqkv, const T* dout, const T* qkv, const float* probs, int B, int T_, int heads, int hd,
                        cudaStream_t stream);

// ---- optimizer ---------------------------------------------------------------------------------
struct AdamStep {
  float lr, beta1, beta2, eps, weight_decay;
  float bias_correction1, bias_correction2;  // 1 − β₁ᵗ, 1 − β₂ᵗ (computed in fp64 on the host)
  bool decoupled;                            // AdamW (true) or Adam with L2 folded into the gradient
};
// One AdamW/Adam update of n fp32 master weights (optim/adamw.cpp's formula); when param_copy is
// not null it receives the updated weights in T (the bf16 compute copy).
template <class T>
void adamw_update(float* params, T* param_copy, const float* grads, float* m, float* v, int64_t n,
                  const AdamStep& step, cudaStream_t stream);

// ---- global reductions (deterministic for a given n: fixed grid, fixed tree order) ------------
void sum_squares(double* out, const float* x, int64_t n, cudaStream_t stream);  // *out = Σ x² (device)
void sum(double* out, const float* x, int64_t n, cudaStream_t stream);          // *out = Σ x (device)
void scale_inplace(float* x, float factor, int64_t n, cudaStream_t stream);     // gradient clipping

}  // namespace w2s::cuda
