// LayerNorm over the last dimension (eps 1e-5, HF GPT-2), forward and backward.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/cpu/cpu_ops.h"

namespace w2s::cpu {
namespace {
constexpr float kEps = 1e-5f;
}

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w, const float* b,
                       int rows, int C) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const float* x = inp + static_cast<int64_t>(r) * C;
    float* y = out + static_cast<int64_t>(r) * C;
    float m = 0.0f;
    for (int i = 0; i < C; ++i) m += x[i];
    m /= C;
    float v = 0.0f;
    for (int i = 0; i < C; ++i) {
      float d = x[i] - m;
      v += d * d;
    }
    v /= C;
    float s = 1.0f / std::sqrt(v + kEps);
    for (int i = 0; i < C; ++i) y[i] = (x[i] - m) * s * w[i] + b[i];
    mean[r] = m;
    rstd[r] = s;
  }
}

void layernorm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp, const float* w,
                        const float* mean, const float* rstd, int rows, int C) {
  // dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)), with g = dout · w and x̂ the normalised input.
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const float* x = inp + static_cast<int64_t>(r) * C;
    const float* dy = dout + static_cast<int64_t>(r) * C;
    float* dx = dinp + static_cast<int64_t>(r) * C;
    float m = mean[r], s = rstd[r];
    float mean_g = 0.0f, mean_gx = 0.0f;
    for (int i = 0; i < C; ++i) {
      float xhat = (x[i] - m) * s;
      float g = dy[i] * w[i];
      mean_g += g;
      mean_gx += g * xhat;
    }
    mean_g /= C;
    mean_gx /= C;
    for (int i = 0; i < C; ++i) {
      float xhat = (x[i] - m) * s;
      dx[i] += s * (dy[i] * w[i] - mean_g - xhat * mean_gx);
    }
  }
  // Parameter gradients: each thread owns a block of columns (deterministic, no races).
  constexpr int kBlock = 32;
  int blocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (int blk = 0; blk < blocks; ++blk) {
    int c0 = blk * kBlock, c1 = std::min(C, c0 + kBlock);
    float acc_w[kBlock] = {0}, acc_b[kBlock] = {0};
    for (int r = 0; r < rows; ++r) {
      const float* x = inp + static_cast<int64_t>(r) * C;
      const float* dy = dout + static_cast<int64_t>(r) * C;
      float m = mean[r], s = rstd[r];
      for (int c = c0; c < c1; ++c) {
        acc_w[c - c0] += dy[c] * (x[c] - m) * s;
        acc_b[c - c0] += dy[c];
      }
    }
    for (int c = c0; c < c1; ++c) {
      dw[c] += acc_w[c - c0];
      db[c] += acc_b[c - c0];
    }
  }
}

}  // namespace w2s::cpu
