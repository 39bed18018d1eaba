// Deterministic column sums: out_k[c] += Σ_r f(r, c)_k over rows, for k < NOUT outputs. Used by
// bias_backward and the LayerNorm weight/bias gradients — the reductions that, done with
// floating-point atomics, would make gradients (and so training) run-to-run different.
//
// Two passes with a fixed shape: pass 1 sums chunks of kRowsPerChunk rows per 32-column tile
// (8 row lanes per column, then a fixed-order combine in shared memory) into partial[k][chunk][c];
// pass 2 adds the chunks in ascending order. The result depends on rows and C only.
#pragma once
#include "common.cuh"

namespace w2s::cuda {

constexpr int kColTile = 32;
constexpr int kRowLanes = 8;
constexpr int kRowsPerChunk = 256;

template <int NOUT>
struct ColumnOutputs {
  float* out[NOUT];
};

template <int NOUT, class F>
__global__ void column_partial_kernel(F f, float* partial, int rows, int C, int chunks) {
  const int c = blockIdx.x * kColTile + threadIdx.x;
  const int r0 = blockIdx.y * kRowsPerChunk;
  const int r1 = min(rows, r0 + kRowsPerChunk);
  float acc[NOUT];
  for (int k = 0; k < NOUT; ++k) acc[k] = 0.0f;
  if (c < C) {
    for (int r = r0 + static_cast<int>(threadIdx.y); r < r1; r += kRowLanes) {
      float v[NOUT];
      f(r, c, v);
      for (int k = 0; k < NOUT; ++k) acc[k] += v[k];
    }
  }
  __shared__ float sh[NOUT][kRowLanes][kColTile];
  for (int k = 0; k < NOUT; ++k) sh[k][threadIdx.y][threadIdx.x] = acc[k];
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    for (int k = 0; k < NOUT; ++k) {
      float s = 0.0f;
      for (int y = 0; y < kRowLanes; ++y) s += sh[k][y][threadIdx.x];
      partial[(static_cast<int64_t>(k) * chunks + blockIdx.y) * C + c] = s;
    }
  }
}

template <int NOUT>
__global__ void column_finish_kernel(ColumnOutputs<NOUT> outs, const float* partial, int C, int chunks) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  for (int k = 0; k < NOUT; ++k) {
    float s = 0.0f;
    for (int j = 0; j < chunks; ++j) s += partial[(static_cast<int64_t>(k) * chunks + j) * C + c];
    outs.out[k][c] += s;
  }
}

// f is a device functor: void operator()(int r, int c, float (&v)[NOUT]) const.
template <int NOUT, class F>
void column_reduce(F f, ColumnOutputs<NOUT> outs, int rows, int C, cudaStream_t stream) {
  if (rows <= 0 || C <= 0) return;
  const int chunks = (rows + kRowsPerChunk - 1) / kRowsPerChunk;
  Scratch<float> partial(static_cast<size_t>(NOUT) * chunks * C, stream);
  dim3 grid((C + kColTile - 1) / kColTile, chunks), block(kColTile, kRowLanes);
  column_partial_kernel<NOUT><<<grid, block, 0, stream>>>(f, partial.get(), rows, C, chunks);
  W2S_CUDA_LAUNCH_CHECK("column_partial_kernel");
  column_finish_kernel<NOUT><<<(C + 255) / 256, 256, 0, stream>>>(outs, partial.get(), C, chunks);
  W2S_CUDA_LAUNCH_CHECK("column_finish_kernel");
}

}  // namespace w2s::cuda
