// Plain causal self-attention, forward and backward: the fallback for shapes cuDNN refuses and
// the reference the cuDNN path is tested against. Same layout and saved state as the CPU op
// (ops/cpu/attention.cpp): probs [B, heads, T, T] in fp32, zeros above the diagonal. One warp per
// query (or key) row; every output is written by exactly one warp in a fixed order (no atomics).
// Correctness first: it makes O(T²) passes through global memory and is not fast.
#include <cmath>

#include "common.cuh"

namespace w2s::cuda {
namespace {

constexpr int kWarpsPerBlock = 8;
constexpr int kMaxHd = 128;
constexpr int kPerLane = kMaxHd / kWarp;  // head dimensions each lane accumulates

struct Geometry {
  int B, T, H, hd;
  __device__ int64_t row(int b, int t) const { return static_cast<int64_t>(b) * T + t; }
  __device__ int D() const { return H * hd; }
  // Offsets of q/k/v of head h at (b, t) inside the packed qkv rows [q | k | v].
  __device__ int64_t q(int b, int t, int h) const { return row(b, t) * 3 * D() + h * hd; }
  __device__ int64_t k(int b, int t, int h) const { return q(b, t, h) + D(); }
  __device__ int64_t v(int b, int t, int h) const { return q(b, t, h) + 2 * D(); }
  __device__ int64_t o(int b, int t, int h) const { return row(b, t) * D() + h * hd; }
  __device__ int64_t p(int b, int h, int t) const { return ((static_cast<int64_t>(b) * H + h) * T + t) * T; }
};

// Decodes the global warp index into (b, h, t); false for warps past the end.
__device__ bool warp_item(const Geometry& g, int& b, int& h, int& t) {
  const int64_t w = blockIdx.x * static_cast<int64_t>(kWarpsPerBlock) + threadIdx.x / kWarp;
  if (w >= static_cast<int64_t>(g.B) * g.H * g.T) return false;
  t = static_cast<int>(w % g.T);
  const int bh = static_cast<int>(w / g.T);
  h = bh % g.H;
  b = bh / g.H;
  return true;
}

template <class T>
__device__ float dot(const T* a, const T* b, int n) {
  float s = 0.0f;
  for (int d = 0; d < n; ++d) s += to_float(a[d]) * to_float(b[d]);
  return s;
}

// P[t, :] = causal softmax(scale · q_t · Kᵀ); out[t] = P[t, :] · V. Lanes own keys j ≡ lane (mod 32)
// for the scores, then head dimensions for the output.
template <class T>
__global__ void attention_forward_kernel(T* out, float* probs, const T* qkv, Geometry g, float scale) {
  int b, h, t;
  if (!warp_item(g, b, h, t)) return;
  const int lane = threadIdx.x % kWarp;
  float* P = probs + g.p(b, h, t);
  const T* q = qkv + g.q(b, t, h);
  float mx = -INFINITY;
  for (int j = lane; j <= t; j += kWarp) {
    const float s = scale * dot(q, qkv + g.k(b, j, h), g.hd);
    P[j] = s;
    mx = fmaxf(mx, s);
  }
  mx = warp_max(mx);
  float sum = 0.0f;
  for (int j = lane; j <= t; j += kWarp) {
    const float e = expf(P[j] - mx);
    P[j] = e;
    sum += e;
  }
  const float inv = 1.0f / warp_sum(sum);
  for (int j = lane; j < g.T; j += kWarp) P[j] = j <= t ? P[j] * inv : 0.0f;
  __syncwarp();  // every lane's P entries are visible to the whole warp from here
  float acc[kPerLane] = {};
  for (int j = 0; j <= t; ++j) {
    const float pj = P[j];
    const T* v = qkv + g.v(b, j, h);
    for (int i = 0; i < kPerLane; ++i) {
      const int d = lane + i * kWarp;
      if (d < g.hd) acc[i] += pj * to_float(v[d]);
    }
  }
  T* o = out + g.o(b, t, h);
  for (int i = 0; i < kPerLane; ++i) {
    const int d = lane + i * kWarp;
    if (d < g.hd) o[d] = from_float<T>(acc[i]);
  }
}

// dV[j] = Σ_{t ≥ j} P[t, j] · dO[t] (warp per key row j).
template <class T>
__global__ void attention_dv_kernel(T* dqkv, const T* dout, const float* probs, Geometry g) {
  int b, h, j;
  if (!warp_item(g, b, h, j)) return;
  const int lane = threadIdx.x % kWarp;
  float acc[kPerLane] = {};
  for (int t = j; t < g.T; ++t) {
    const float p = probs[g.p(b, h, t) + j];
    const T* dO = dout + g.o(b, t, h);
    for (int i = 0; i < kPerLane; ++i) {
      const int d = lane + i * kWarp;
      if (d < g.hd) acc[i] += p * to_float(dO[d]);
    }
  }
  T* dv = dqkv + g.v(b, j, h);
  for (int i = 0; i < kPerLane; ++i) {
    const int d = lane + i * kWarp;
    if (d < g.hd) dv[d] = from_float<T>(acc[i]);
  }
}

// dS[t, j] = P[t, j] · (dP[t, j] − Σ_j' dP[t, j'] P[t, j']) with dP[t, j] = dO[t] · V[j] (warp per
// query row; lanes own keys). Entries above the diagonal are never read.
template <class T>
__global__ void attention_ds_kernel(float* dS, const T* dout, const T* qkv, const float* probs, Geometry g) {
  int b, h, t;
  if (!warp_item(g, b, h, t)) return;
  const int lane = threadIdx.x % kWarp;
  const float* P = probs + g.p(b, h, t);
  float* S = dS + g.p(b, h, t);
  const T* dO = dout + g.o(b, t, h);
  float dotp = 0.0f;
  for (int j = lane; j <= t; j += kWarp) {
    const float dp = dot(dO, qkv + g.v(b, j, h), g.hd);
    S[j] = dp;
    dotp += dp * P[j];
  }
  dotp = warp_sum(dotp);
  for (int j = lane; j <= t; j += kWarp) S[j] = P[j] * (S[j] - dotp);
}

// dQ[t] = scale · Σ_{j ≤ t} dS[t, j] K[j] (warp per query row).
template <class T>
__global__ void attention_dq_kernel(T* dqkv, const float* dS, const T* qkv, Geometry g, float scale) {
  int b, h, t;
  if (!warp_item(g, b, h, t)) return;
  const int lane = threadIdx.x % kWarp;
  const float* S = dS + g.p(b, h, t);
  float acc[kPerLane] = {};
  for (int j = 0; j <= t; ++j) {
    const float s = S[j];
    const T* k = qkv + g.k(b, j, h);
    for (int i = 0; i < kPerLane; ++i) {
      const int d = lane + i * kWarp;
      if (d < g.hd) acc[i] += s * to_float(k[d]);
    }
  }
  T* dq = dqkv + g.q(b, t, h);
  for (int i = 0; i < kPerLane; ++i) {
    const int d = lane + i * kWarp;
    if (d < g.hd) dq[d] = from_float<T>(scale * acc[i]);
  }
}

// dK[j] = scale · Σ_{t ≥ j} dS[t, j] Q[t] (warp per key row).
template <class T>
__global__ void attention_dk_kernel(T* dqkv, const float* dS, const T* qkv, Geometry g, float scale) {
  int b, h, j;
  if (!warp_item(g, b, h, j)) return;
  const int lane = threadIdx.x % kWarp;
  float acc[kPerLane] = {};
  for (int t = j; t < g.T; ++t) {
    const float s = dS[g.p(b, h, t) + j];
    const T* q = qkv + g.q(b, t, h);
    for (int i = 0; i < kPerLane; ++i) {
      const int d = lane + i * kWarp;
      if (d < g.hd) acc[i] += s * to_float(q[d]);
    }
  }
  T* dk = dqkv + g.k(b, j, h);
  for (int i = 0; i < kPerLane; ++i) {
    const int d = lane + i * kWarp;
    if (d < g.hd) dk[d] = from_float<T>(scale * acc[i]);
  }
}

void check_shape(int hd) {
  if (hd < 1 || hd > kMaxHd)
    throw UsageError("CUDA attention: head size " + std::to_string(hd) + " is outside 1.." + std::to_string(kMaxHd));
}

unsigned warp_blocks(const Geometry& g) {
  return blocks_for(static_cast<int64_t>(g.B) * g.H * g.T, kWarpsPerBlock, int64_t{1} << 31);
}

}  // namespace

template <class T>
void attention_forward(T* out, float* probs, const T* qkv, int B, int T_, int heads, int hd, cudaStream_t stream) {
  check_shape(hd);
  if (B <= 0 || T_ <= 0 || heads <= 0) return;
  const Geometry g{B, T_, heads, hd};
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  attention_forward_kernel<<<warp_blocks(g), kWarpsPerBlock * kWarp, 0, stream>>>(out, probs, qkv, g, scale);
  W2S_CUDA_LAUNCH_CHECK("attention_forward_kernel");
}

template <class T>
void attention_backward(T* dqkv, const T* dout, const T* qkv, const float* probs, int B, int T_, int heads, int hd,
                        cudaStream_t stream) {
  check_shape(hd);
  if (B <= 0 || T_ <= 0 || heads <= 0) return;
  const Geometry g{B, T_, heads, hd};
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const unsigned blocks = warp_blocks(g), threads = kWarpsPerBlock * kWarp;
  Scratch<float> dS(static_cast<size_t>(B) * heads * T_ * T_, stream);
  attention_dv_kernel<<<blocks, threads, 0, stream>>>(dqkv, dout, probs, g);
  W2S_CUDA_LAUNCH_CHECK("attention_dv_kernel");
  attention_ds_kernel<<<blocks, threads, 0, stream>>>(dS.get(), dout, qkv, probs, g);
  W2S_CUDA_LAUNCH_CHECK("attention_ds_kernel");
  attention_dq_kernel<<<blocks, threads, 0, stream>>>(dqkv, dS.get(), qkv, g, scale);
  W2S_CUDA_LAUNCH_CHECK("attention_dq_kernel");
  attention_dk_kernel<<<blocks, threads, 0, stream>>>(dqkv, dS.get(), qkv, g, scale);
  W2S_CUDA_LAUNCH_CHECK("attention_dk_kernel");
}

template void attention_forward<float>(float*, float*, const float*, int, int, int, int, cudaStream_t);
template void attention_forward<bf16>(bf16*, float*, const bf16*, int, int, int, int, cudaStream_t);
template void attention_backward<float>(float*, const float*, const float*, const float*, int, int, int, int,
                                        cudaStream_t);
template void attention_backward<bf16>(bf16*, const bf16*, const bf16*, const float*, int, int, int, int,
                                       cudaStream_t);

}  // namespace w2s::cuda
