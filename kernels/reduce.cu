// Global sums for the gradient norm (Σ g²) and the loss (Σ x), in fp64 as the CPU does, and the
// clipping scale. Deterministic: a fixed grid of kBlocks blocks, grid-stride partial sums, fixed
// tree orders inside each block and over the blocks, so a given n always gives the same bits.
#include "common.cuh"

namespace w2s::cuda {
namespace {

constexpr int kBlocks = 512;
constexpr int kThreads = 256;

// Fixed-order tree sum of kThreads values in shared memory; thread 0 returns the total.
__device__ double block_sum(double v, double* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) sh[threadIdx.x] += sh[threadIdx.x + stride];
    __syncthreads();
  }
  return sh[0];
}

template <bool kSquare>
__global__ void partial_sum_kernel(double* partial, const float* x, int64_t n) {
  __shared__ double sh[kThreads];
  double acc = 0.0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(kThreads) + threadIdx.x; i < n;
       i += static_cast<int64_t>(kBlocks) * kThreads) {
    const double xi = x[i];
    acc += kSquare ? xi * xi : xi;
  }
  const double s = block_sum(acc, sh);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

__global__ void final_sum_kernel(double* out, const double* partial) {
  __shared__ double sh[kThreads];
  double acc = 0.0;
  for (int i = threadIdx.x; i < kBlocks; i += kThreads) acc += partial[i];
  const double s = block_sum(acc, sh);
  if (threadIdx.x == 0) *out = s;
}

__global__ void scale_kernel(float* x, float factor, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    x[i] *= factor;
}

template <bool kSquare>
void global_sum(double* out, const float* x, int64_t n, cudaStream_t stream) {
  Scratch<double> partial(kBlocks, stream);
  partial_sum_kernel<kSquare><<<kBlocks, kThreads, 0, stream>>>(partial.get(), x, n);
  W2S_CUDA_LAUNCH_CHECK("partial_sum_kernel");
  final_sum_kernel<<<1, kThreads, 0, stream>>>(out, partial.get());
  W2S_CUDA_LAUNCH_CHECK("final_sum_kernel");
}

}  // namespace

void sum_squares(double* out, const float* x, int64_t n, cudaStream_t stream) { global_sum<true>(out, x, n, stream); }
void sum(double* out, const float* x, int64_t n, cudaStream_t stream) { global_sum<false>(out, x, n, stream); }

void scale_inplace(float* x, float factor, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  scale_kernel<<<blocks_for(n, 256), 256, 0, stream>>>(x, factor, n);
  W2S_CUDA_LAUNCH_CHECK("scale_kernel");
}

}  // namespace w2s::cuda
