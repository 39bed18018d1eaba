// fp32 ↔ bf16 conversions (round to nearest even): the bf16 compute copy of fp32 master weights,
// and bf16 results read back for checks.
#include "common.cuh"

namespace w2s::cuda {
namespace {

__global__ void to_bf16_kernel(bf16* out, const float* inp, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = __float2bfloat16_rn(inp[i]);
}

__global__ void to_f32_kernel(float* out, const bf16* inp, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = __bfloat162float(inp[i]);
}

}  // namespace

void to_bf16(bf16* out, const float* inp, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  to_bf16_kernel<<<blocks_for(n, 256), 256, 0, stream>>>(out, inp, n);
  W2S_CUDA_LAUNCH_CHECK("to_bf16_kernel");
}

void to_f32(float* out, const bf16* inp, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  to_f32_kernel<<<blocks_for(n, 256), 256, 0, stream>>>(out, inp, n);
  W2S_CUDA_LAUNCH_CHECK("to_f32_kernel");
}

}  // namespace w2s::cuda
