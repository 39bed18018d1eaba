// Elementwise ops: GELU (tanh form), residual add, bias add and bias gradient.
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "ops/cpu/vmath.h"
#include "ops/cpu/cpu_ops.h"

namespace w2s::cpu {
namespace {
constexpr float kGeluScale = 0.7978845608028654f;  // sqrt(2/pi)
}

void gelu_forward(float* out, const float* inp, int64_t n) {
  // gelu(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float x = inp[i];
    float cube = 0.044715f * x * x * x;
    out[i] = 0.5f * x * (1.0f + fast_tanhf(kGeluScale * (x + cube)));
  }
}

void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float x = inp[i];
    float u = kGeluScale * (x + 0.044715f * x * x * x);
    float t = fast_tanhf(u);
    float sech2 = 1.0f - t * t;
    float local_grad = 0.5f * (1.0f + t) + 0.5f * x * sech2 * kGeluScale * (1.0f + 3.0f * 0.044715f * x * x);
    dinp[i] = local_grad * dout[i];
  }
}

void add_inplace(float* y, const float* x, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void add_bias(float* x, const float* bias, int rows, int n) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    float* row = x + static_cast<int64_t>(r) * n;
    for (int j = 0; j < n; ++j) row[j] += bias[j];
  }
}

void bias_backward(float* db, const float* dout, int rows, int n) {
  // Each thread owns a block of columns and sums down the rows: deterministic, no races.
  constexpr int kBlock = 64;
  int blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (int blk = 0; blk < blocks; ++blk) {
    int j0 = blk * kBlock, j1 = std::min(n, j0 + kBlock);
    float acc[kBlock] = {0};
    for (int r = 0; r < rows; ++r) {
      const float* row = dout + static_cast<int64_t>(r) * n;
      for (int j = j0; j < j1; ++j) acc[j - j0] += row[j];
    }
    for (int j = j0; j < j1; ++j) db[j] += acc[j - j0];
  }
}

}  // namespace w2s::cpu
