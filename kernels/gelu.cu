// GELU, tanh approximation (GPT-2's "gelu_new"), forward and backward; the CPU op's formula
// (ops/cpu/elementwise.cpp) with the device's tanhf.
#include "common.cuh"

namespace w2s::cuda {
namespace {

constexpr float kGeluScale = 0.7978845608028654f;  // sqrt(2/pi)

template <class T>
__global__ void gelu_forward_kernel(T* out, const T* inp, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float x = to_float(inp[i]);
    float cube = 0.044715f * x * x * x;
    out[i] = from_float<T>(0.5f * x * (1.0f + tanhf(kGeluScale * (x + cube))));
  }
}

template <class T>
__global__ void gelu_backward_kernel(T* dinp, const T* inp, const T* dout, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float x = to_float(inp[i]);
    float u = kGeluScale * (x + 0.044715f * x * x * x);
    float t = tanhf(u);
    float sech2 = 1.0f - t * t;
    float local_grad = 0.5f * (1.0f + t) + 0.5f * x * sech2 * kGeluScale * (1.0f + 3.0f * 0.044715f * x * x);
    dinp[i] = from_float<T>(local_grad * to_float(dout[i]));
  }
}

}  // namespace

template <class T>
void gelu_forward(T* out, const T* inp, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  gelu_forward_kernel<<<blocks_for(n, 256), 256, 0, stream>>>(out, inp, n);
  W2S_CUDA_LAUNCH_CHECK("gelu_forward_kernel");
}

template <class T>
void gelu_backward(T* dinp, const T* inp, const T* dout, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  gelu_backward_kernel<<<blocks_for(n, 256), 256, 0, stream>>>(dinp, inp, dout, n);
  W2S_CUDA_LAUNCH_CHECK("gelu_backward_kernel");
}

template void gelu_forward<float>(float*, const float*, int64_t, cudaStream_t);
template void gelu_forward<bf16>(bf16*, const bf16*, int64_t, cudaStream_t);
template void gelu_backward<float>(float*, const float*, const float*, int64_t, cudaStream_t);
template void gelu_backward<bf16>(bf16*, const bf16*, const bf16*, int64_t, cudaStream_t);

}  // namespace w2s::cuda
