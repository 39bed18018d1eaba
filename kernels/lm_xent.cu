// The LM head's softmax + cross-entropy + gradient, fused and in place over the logits: one block
// per row reads the row once for an online max/Σexp, then (backward) overwrites it with
// grad_scale · (softmax − onehot). No probability buffer exists (the vocabulary is 50K wide).
#include <cfloat>

#include "common.cuh"

namespace w2s::cuda {
namespace {

constexpr int kThreads = 512;

// Running (max, Σ exp(z − max)) pairs combine exactly: the smaller max's sum is rescaled.
struct MaxSum {
  float m, s;
};
__device__ __forceinline__ MaxSum combine(MaxSum a, MaxSum b) {
  const float m = fmaxf(a.m, b.m);
  if (m == -INFINITY) return {m, 0.0f};
  return {m, a.s * expf(a.m - m) + b.s * expf(b.m - m)};
}

__device__ MaxSum block_max_sum(MaxSum v) {
  for (int off = kWarp / 2; off > 0; off /= 2) {
    MaxSum o{__shfl_xor_sync(0xffffffffu, v.m, off), __shfl_xor_sync(0xffffffffu, v.s, off)};
    v = combine(v, o);
  }
  __shared__ MaxSum warps[kThreads / kWarp];
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  if (lane == 0) warps[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < kThreads / kWarp ? warps[lane] : MaxSum{-INFINITY, 0.0f};
    for (int off = kWarp / 2; off > 0; off /= 2) {
      MaxSum o{__shfl_xor_sync(0xffffffffu, v.m, off), __shfl_xor_sync(0xffffffffu, v.s, off)};
      v = combine(v, o);
    }
    if (lane == 0) warps[0] = v;
  }
  __syncthreads();
  return warps[0];
}

template <class T>
__global__ void lm_xent_kernel(T* logits, float* losses, const int32_t* targets, int V_real, int V_local,
                               float grad_scale, bool backward) {
  const int row = blockIdx.x;
  T* z = logits + static_cast<int64_t>(row) * V_local;
  const int tgt = targets[row];
  if (tgt < 0) {  // ignored position: no loss, no gradient
    if (threadIdx.x == 0) losses[row] = 0.0f;
    if (backward)
      for (int j = threadIdx.x; j < V_local; j += kThreads) z[j] = from_float<T>(0.0f);
    return;
  }
  // Read the target logit before any thread may overwrite it.
  const float z_tgt = (threadIdx.x == 0 && tgt < V_real) ? to_float(z[tgt]) : 0.0f;
  MaxSum acc{-INFINITY, 0.0f};
  for (int j = threadIdx.x; j < V_real; j += kThreads) {
    const float x = to_float(z[j]);
    if (x > acc.m) {
      acc.s = acc.s * expf(acc.m - x) + 1.0f;
      acc.m = x;
    } else {
      acc.s += expf(x - acc.m);
    }
  }
  const MaxSum tot = block_max_sum(acc);
  if (threadIdx.x == 0) losses[row] = logf(tot.s) + tot.m - z_tgt;
  if (!backward) return;
  const float inv = 1.0f / tot.s;
  for (int j = threadIdx.x; j < V_local; j += kThreads) {
    float g = 0.0f;
    if (j < V_real) g = grad_scale * expf(to_float(z[j]) - tot.m) * inv;
    if (j == tgt) g -= grad_scale;
    z[j] = from_float<T>(g);
  }
}

}  // namespace

template <class T>
void lm_xent_forward_backward(T* logits, float* losses, const int32_t* targets, int rows, int V_real, int V_local,
                              float grad_scale, bool backward, cudaStream_t stream) {
  if (V_real < 1 || V_real > V_local)
    throw UsageError("lm_xent_forward_backward: need 1 <= V_real <= V_local, got V_real = " + std::to_string(V_real) +
                     ", V_local = " + std::to_string(V_local));
  if (rows <= 0) return;
  lm_xent_kernel<<<rows, kThreads, 0, stream>>>(logits, losses, targets, V_real, V_local, grad_scale, backward);
  W2S_CUDA_LAUNCH_CHECK("lm_xent_kernel");
}

template void lm_xent_forward_backward<float>(float*, float*, const int32_t*, int, int, int, float, bool,
                                              cudaStream_t);
template void lm_xent_forward_backward<bf16>(bf16*, float*, const int32_t*, int, int, int, float, bool, cudaStream_t);

}  // namespace w2s::cuda
