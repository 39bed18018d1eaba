// The classification head (model/gpt2.cpp's classifier_forward/backward) and its soft-label
// cross-entropy (loss/losses.cpp "gt"/"xent"). K is small (2–10 classes): one warp per dot
// product forward; thread-per-output sums in fixed order backward (deterministic).
#include "common.cuh"

namespace w2s::cuda {
namespace {

// One warp per (b, k): logits[b, k] = h[last real token of b] · W[k].
template <class T>
__global__ void classifier_forward_kernel(float* logits, const T* h, const int32_t* lengths, const T* W, int B,
                                          int T_, int C, int K) {
  const int item = blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  if (item >= B * K) return;
  const int b = item / K, k = item % K;
  const T* x = h + (static_cast<int64_t>(b) * T_ + lengths[b] - 1) * C;
  const T* w = W + static_cast<int64_t>(k) * C;
  float s = 0.0f;
  for (int c = lane; c < C; c += kWarp) s += to_float(x[c]) * to_float(w[c]);
  s = warp_sum(s);
  if (lane == 0) logits[item] = s;
}

// dh[last row of b, c] = Σ_k g[b, k] · W[k, c] (the rest of dh was zeroed).
template <class T>
__global__ void classifier_dh_kernel(T* dh, const float* dlogits, const int32_t* lengths, const T* W, int B, int T_,
                                     int C, int K) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<int64_t>(B) * C) return;
  const int b = static_cast<int>(i / C), c = static_cast<int>(i % C);
  float s = 0.0f;
  for (int k = 0; k < K; ++k) s += dlogits[b * K + k] * to_float(W[static_cast<int64_t>(k) * C + c]);
  dh[(static_cast<int64_t>(b) * T_ + lengths[b] - 1) * C + c] = from_float<T>(s);
}

// dW[k, c] += Σ_b g[b, k] · h[last row of b, c], b ascending.
template <class T>
__global__ void classifier_dw_kernel(float* dW, const float* dlogits, const T* h, const int32_t* lengths, int B,
                                     int T_, int C, int K) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<int64_t>(K) * C) return;
  const int k = static_cast<int>(i / C), c = static_cast<int>(i % C);
  float acc = dW[i];
  for (int b = 0; b < B; ++b)
    acc += dlogits[b * K + k] * to_float(h[(static_cast<int64_t>(b) * T_ + lengths[b] - 1) * C + c]);
  dW[i] = acc;
}

// One thread per example, fp64 like the CPU loss (K is tiny).
__global__ void classifier_xent_kernel(float* loss, float* dlogits, const float* logits, const float* targets, int n,
                                       int K) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float* z = logits + static_cast<int64_t>(i) * K;
  const float* t = targets + static_cast<int64_t>(i) * K;
  double m = z[0];
  for (int c = 1; c < K; ++c) m = fmax(m, static_cast<double>(z[c]));
  double s = 0.0;
  for (int c = 0; c < K; ++c) s += exp(static_cast<double>(z[c]) - m);
  const double lse = m + log(s);
  double l = 0.0, mass = 0.0;
  for (int c = 0; c < K; ++c) {
    l -= t[c] * (z[c] - lse);
    mass += t[c];
  }
  for (int c = 0; c < K; ++c) dlogits[static_cast<int64_t>(i) * K + c] = static_cast<float>(exp(z[c] - lse) * mass - t[c]);
  loss[i] = static_cast<float>(l);
}

}  // namespace

template <class T>
void classifier_forward(float* logits, const T* h, const int32_t* lengths, const T* W, int B, int T_, int C, int K,
                        cudaStream_t stream) {
  if (B <= 0 || K <= 0) return;
  const int warps = 8;
  classifier_forward_kernel<<<(B * K + warps - 1) / warps, warps * kWarp, 0, stream>>>(logits, h, lengths, W, B, T_,
                                                                                       C, K);
  W2S_CUDA_LAUNCH_CHECK("classifier_forward_kernel");
}

template <class T>
void classifier_backward(T* dh, float* dW, const float* dlogits, const T* h, const int32_t* lengths, const T* W,
                         int B, int T_, int C, int K, cudaStream_t stream) {
  W2S_CUDA_CHECK(cudaMemsetAsync(dh, 0, sizeof(T) * static_cast<size_t>(B) * T_ * C, stream));  // 0 is +0 in bf16 too
  if (B <= 0 || K <= 0) return;
  classifier_dh_kernel<<<blocks_for(static_cast<int64_t>(B) * C, 256), 256, 0, stream>>>(dh, dlogits, lengths, W, B,
                                                                                          T_, C, K);
  W2S_CUDA_LAUNCH_CHECK("classifier_dh_kernel");
  classifier_dw_kernel<<<blocks_for(static_cast<int64_t>(K) * C, 256), 256, 0, stream>>>(dW, dlogits, h, lengths, B,
                                                                                          T_, C, K);
  W2S_CUDA_LAUNCH_CHECK("classifier_dw_kernel");
}

void classifier_xent(float* loss, float* dlogits, const float* logits, const float* targets, int n, int K,
                     cudaStream_t stream) {
  if (n <= 0) return;
  classifier_xent_kernel<<<(n + 127) / 128, 128, 0, stream>>>(loss, dlogits, logits, targets, n, K);
  W2S_CUDA_LAUNCH_CHECK("classifier_xent_kernel");
}

#define W2S_INSTANTIATE(T)                                                                                     \
  template void classifier_forward<T>(float*, const T*, const int32_t*, const T*, int, int, int, int,          \
                                      cudaStream_t);                                                           \
  template void classifier_backward<T>(T*, float*, const float*, const T*, const int32_t*, const T*, int, int, \
                                       int, int, cudaStream_t);
W2S_INSTANTIATE(float)
W2S_INSTANTIATE(bf16)
#undef W2S_INSTANTIATE

}  // namespace w2s::cuda
