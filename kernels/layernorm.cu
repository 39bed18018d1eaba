// LayerNorm over the last dimension (eps 1e-5, HF GPT-2), forward and backward, one warp per row;
// the CPU op's two-pass statistics (mean, then the variance around it) in fp32.
#include "column_reduce.cuh"

namespace w2s::cuda {
namespace {

constexpr float kEps = 1e-5f;
constexpr int kRowsPerBlock = 8;  // warps per block

template <class T>
__global__ void layernorm_forward_kernel(T* out, float* mean, float* rstd, const T* inp, const T* w, const T* b,
                                         int rows, int C) {
  const int row = blockIdx.x * kRowsPerBlock + threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  if (row >= rows) return;
  const T* x = inp + static_cast<int64_t>(row) * C;
  T* y = out + static_cast<int64_t>(row) * C;
  float s = 0.0f;
  for (int i = lane; i < C; i += kWarp) s += to_float(x[i]);
  const float m = warp_sum(s) / C;
  float v = 0.0f;
  for (int i = lane; i < C; i += kWarp) {
    float d = to_float(x[i]) - m;
    v += d * d;
  }
  const float r = 1.0f / sqrtf(warp_sum(v) / C + kEps);
  for (int i = lane; i < C; i += kWarp) y[i] = from_float<T>((to_float(x[i]) - m) * r * to_float(w[i]) + to_float(b[i]));
  if (lane == 0) {
    mean[row] = m;
    rstd[row] = r;
  }
}

// dx += rstd · (g − mean(g) − x̂ · mean(g · x̂)), g = dout · w, x̂ the normalised input.
template <class T>
__global__ void layernorm_dinp_kernel(T* dinp, const T* dout, const T* inp, const T* w, const float* mean,
                                      const float* rstd, int rows, int C) {
  const int row = blockIdx.x * kRowsPerBlock + threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  if (row >= rows) return;
  const int64_t off = static_cast<int64_t>(row) * C;
  const float m = mean[row], r = rstd[row];
  float sg = 0.0f, sgx = 0.0f;
  for (int i = lane; i < C; i += kWarp) {
    float xhat = (to_float(inp[off + i]) - m) * r;
    float g = to_float(dout[off + i]) * to_float(w[i]);
    sg += g;
    sgx += g * xhat;
  }
  const float mean_g = warp_sum(sg) / C, mean_gx = warp_sum(sgx) / C;
  for (int i = lane; i < C; i += kWarp) {
    float xhat = (to_float(inp[off + i]) - m) * r;
    float d = r * (to_float(dout[off + i]) * to_float(w[i]) - mean_g - xhat * mean_gx);
    dinp[off + i] = from_float<T>(to_float(dinp[off + i]) + d);
  }
}

// Per (row, column): dw gets dout · x̂, db gets dout.
template <class T>
struct LayerNormParamGrads {
  const T* dout;
  const T* inp;
  const float* mean;
  const float* rstd;
  int C;
  __device__ void operator()(int r, int c, float (&v)[2]) const {
    const int64_t i = static_cast<int64_t>(r) * C + c;
    const float dy = to_float(dout[i]);
    v[0] = dy * (to_float(inp[i]) - mean[r]) * rstd[r];
    v[1] = dy;
  }
};

}  // namespace

template <class T>
void layernorm_forward(T* out, float* mean, float* rstd, const T* inp, const T* w, const T* b, int rows, int C,
                       cudaStream_t stream) {
  if (rows <= 0) return;
  layernorm_forward_kernel<<<(rows + kRowsPerBlock - 1) / kRowsPerBlock, kRowsPerBlock * kWarp, 0, stream>>>(
      out, mean, rstd, inp, w, b, rows, C);
  W2S_CUDA_LAUNCH_CHECK("layernorm_forward_kernel");
}

template <class T>
void layernorm_backward(T* dinp, float* dw, float* db, const T* dout, const T* inp, const T* w, const float* mean,
                        const float* rstd, int rows, int C, cudaStream_t stream) {
  if (rows <= 0) return;
  layernorm_dinp_kernel<<<(rows + kRowsPerBlock - 1) / kRowsPerBlock, kRowsPerBlock * kWarp, 0, stream>>>(
      dinp, dout, inp, w, mean, rstd, rows, C);
  W2S_CUDA_LAUNCH_CHECK("layernorm_dinp_kernel");
  column_reduce<2>(LayerNormParamGrads<T>{dout, inp, mean, rstd, C}, ColumnOutputs<2>{{dw, db}}, rows, C, stream);
}

#define W2S_INSTANTIATE(T)                                                                                  \
  template void layernorm_forward<T>(T*, float*, float*, const T*, const T*, const T*, int, int, cudaStream_t); \
  template void layernorm_backward<T>(T*, float*, float*, const T*, const T*, const T*, const float*,          \
                                      const float*, int, int, cudaStream_t);
W2S_INSTANTIATE(float)
W2S_INSTANTIATE(bf16)
#undef W2S_INSTANTIATE

}  // namespace w2s::cuda
