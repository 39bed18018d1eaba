// Causal multi-head self-attention, forward and backward, one (batch, head) pair per OpenMP
// task. The score and value products run through sgemm on row blocks of 64 queries, each block
// only against the keys it can see (j ≤ t), which skips most of the masked upper triangle.
// Called inside an OpenMP region, OpenMP-built OpenBLAS runs each sgemm single-threaded.
#include "ops/cpu/blas.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "ops/cpu/vmath.h"
#include "ops/cpu/cpu_ops.h"

namespace w2s::cpu {
namespace {

constexpr int kBlock = 64;

// Views of one (b, h) pair inside the packed qkv rows [q heads | k heads | v heads].
struct HeadView {
  const float* q;
  const float* k;
  const float* v;
  int ld;  // row stride of qkv: 3·heads·hd
};

HeadView head_view(const float* qkv, int b, int h, int T, int heads, int hd) {
  int D = heads * hd;
  const float* base = qkv + static_cast<int64_t>(b) * T * 3 * D + h * hd;
  return {base, base + D, base + 2 * D, 3 * D};
}

// Softmax of row t over its first t + 1 entries; the rest become exact zeros.
void causal_softmax_row(float* row, int t, int T) {
  float maxv = row[0];
  for (int j = 1; j <= t; ++j) maxv = std::max(maxv, row[j]);
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int j = 0; j <= t; ++j) {
    row[j] = fast_expf(row[j] - maxv);
    sum += row[j];
  }
  float inv = 1.0f / sum;
  for (int j = 0; j <= t; ++j) row[j] *= inv;
  for (int j = t + 1; j < T; ++j) row[j] = 0.0f;
}

}  // namespace

void attention_forward(float* out, float* probs, const float* qkv, int B, int T, int heads, int hd) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int D = heads * hd;
#pragma omp parallel for schedule(dynamic, 1)
  for (int bh = 0; bh < B * heads; ++bh) {
    int b = bh / heads, h = bh % heads;
    HeadView hv = head_view(qkv, b, h, T, heads, hd);
    float* P = probs + static_cast<int64_t>(bh) * T * T;
    float* O = out + static_cast<int64_t>(b) * T * D + h * hd;
    for (int i0 = 0; i0 < T; i0 += kBlock) {
      int i1 = std::min(T, i0 + kBlock), m = i1 - i0;
      float* Pblk = P + static_cast<int64_t>(i0) * T;
      // S[i0:i1, 0:i1] = scale · Q[i0:i1] · K[0:i1]ᵀ
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, i1, hd, scale, hv.q + static_cast<int64_t>(i0) * hv.ld,
                  hv.ld, hv.k, hv.ld, 0.0f, Pblk, T);
      for (int t = i0; t < i1; ++t) causal_softmax_row(P + static_cast<int64_t>(t) * T, t, T);
      // O[i0:i1] = P[i0:i1, 0:i1] · V[0:i1]
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hd, i1, 1.0f, Pblk, T, hv.v, hv.ld, 0.0f,
                  O + static_cast<int64_t>(i0) * D, D);
    }
  }
}

void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* probs, int B, int T, int heads,
                        int hd) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int D = heads * hd;
#pragma omp parallel
  {
    std::vector<float> dS(static_cast<size_t>(kBlock) * T);
#pragma omp for schedule(dynamic, 1)
    for (int bh = 0; bh < B * heads; ++bh) {
      int b = bh / heads, h = bh % heads;
      HeadView hv = head_view(qkv, b, h, T, heads, hd);
      const float* P = probs + static_cast<int64_t>(bh) * T * T;
      const float* dO = dout + static_cast<int64_t>(b) * T * D + h * hd;
      float* dq = dqkv + static_cast<int64_t>(b) * T * 3 * D + h * hd;
      float* dk = dq + D;
      float* dv = dq + 2 * D;
      const int ld = 3 * D;
      for (int t = 0; t < T; ++t) {
        std::memset(dk + static_cast<int64_t>(t) * ld, 0, sizeof(float) * hd);
        std::memset(dv + static_cast<int64_t>(t) * ld, 0, sizeof(float) * hd);
      }
      for (int i0 = 0; i0 < T; i0 += kBlock) {
        int i1 = std::min(T, i0 + kBlock), m = i1 - i0;
        const float* Pblk = P + static_cast<int64_t>(i0) * T;
        const float* dOblk = dO + static_cast<int64_t>(i0) * D;
        // dV[0:i1] += P[blk, 0:i1]ᵀ · dO[blk]
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, i1, hd, m, 1.0f, Pblk, T, dOblk, D, 1.0f, dv, ld);
        // dP[blk, 0:i1] = dO[blk] · V[0:i1]ᵀ
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, i1, hd, 1.0f, dOblk, D, hv.v, hv.ld, 0.0f, dS.data(),
                    T);
        // dS = P ⊙ (dP − Σ_j dP·P), row by row over the visible keys.
        for (int r = 0; r < m; ++r) {
          int t = i0 + r;
          const float* prow = Pblk + static_cast<int64_t>(r) * T;
          float* srow = dS.data() + static_cast<int64_t>(r) * T;
          float dot = 0.0f;
          for (int j = 0; j <= t; ++j) dot += srow[j] * prow[j];
          for (int j = 0; j <= t; ++j) srow[j] = prow[j] * (srow[j] - dot);
          for (int j = t + 1; j < i1; ++j) srow[j] = 0.0f;
        }
        // dQ[blk] = scale · dS · K[0:i1]
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hd, i1, scale, dS.data(), T, hv.k, hv.ld, 0.0f,
                    dq + static_cast<int64_t>(i0) * ld, ld);
        // dK[0:i1] += scale · dSᵀ · Q[blk]
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, i1, hd, m, scale, dS.data(), T,
                    hv.q + static_cast<int64_t>(i0) * hv.ld, hv.ld, 1.0f, dk, ld);
      }
    }
  }
}

}  // namespace w2s::cpu
