// The CPU reference ops (fp32, OpenBLAS sgemm + OpenMP). Every op of the transformer lives
// here once; the CUDA backend implements the same signatures in kernels/ and is tested against
// these. Shapes are row-major; "rows" is batch × sequence (B·T). Linear weights use Hugging
// Face GPT-2's Conv1D layout W[in, out], so y = x·W + b.
#pragma once
#include <cstdint>

namespace w2s::cpu {

// out[rows, n] = inp[rows, k] · W[k, n] (+ bias[n] if not null).
void matmul_forward(float* out, const float* inp, const float* W, const float* bias, int rows, int k, int n);
// dinp[rows, k] = dout · Wᵀ (overwritten; skipped if null); dW[k, n] += inpᵀ · dout;
// dbias[n] += column sums of dout (skipped if null).
void matmul_backward(float* dinp, float* dW, float* dbias, const float* dout, const float* inp, const float* W,
                     int rows, int k, int n);

// LayerNorm over the last dimension C, eps 1e-5 (HF GPT-2). mean/rstd [rows] are saved for backward.
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w, const float* b,
                       int rows, int C);
// dinp += ..., dw += ..., db += ... (accumulates: the residual stream's gradient flows through).
void layernorm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp, const float* w,
                        const float* mean, const float* rstd, int rows, int C);

// GELU, tanh approximation (GPT-2's "gelu_new").
void gelu_forward(float* out, const float* inp, int64_t n);
void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t n);  // dinp = gelu'(inp)·dout

// Causal self-attention over `heads` heads of size hd. qkv [B, T, 3·heads·hd] laid out as
// [q heads | k heads | v heads]; out [B, T, heads·hd]; probs [B, heads, T, T] saved for backward.
void attention_forward(float* out, float* probs, const float* qkv, int B, int T, int heads, int hd);
// dqkv (overwritten) from dout, using the saved probs.
void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* probs, int B, int T, int heads,
                        int hd);

// y += x (n elements).
void add_inplace(float* y, const float* x, int64_t n);
// Adds bias[n] to every row of x[rows, n].
void add_bias(float* x, const float* bias, int rows, int n);
// db[n] += column sums of dout[rows, n]; deterministic for any thread count.
void bias_backward(float* db, const float* dout, int rows, int n);

}  // namespace w2s::cpu
