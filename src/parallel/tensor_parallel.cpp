#include "parallel/tensor_parallel.h"

#include "ops/cpu/blas.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/cpu/cpu_ops.h"

namespace w2s {

void ColumnParallelLinear::forward(float* out, const float* inp, const float* W, const float* b, int rows, int k,
                                   int n_local) {
  cpu::matmul_forward(out, inp, W, b, rows, k, n_local);
}

void ColumnParallelLinear::backward(Communicator& tp, float* dinp, float* dW, float* db, const float* dout,
                                    const float* inp, const float* W, int rows, int k, int n_local) {
  cpu::matmul_backward(dinp, dW, db, dout, inp, W, rows, k, n_local);
  tp.all_reduce(dinp, static_cast<size_t>(rows) * k, ReduceOp::Sum);
}

void RowParallelLinear::forward(Communicator& tp, float* out, const float* inp, const float* W, const float* b,
                                int rows, int k_local, int n) {
  cpu::matmul_forward(out, inp, W, nullptr, rows, k_local, n);
  tp.all_reduce(out, static_cast<size_t>(rows) * n, ReduceOp::Sum);
  cpu::add_bias(out, b, rows, n);
}

void RowParallelLinear::backward(float* dinp, float* dW, float* db, const float* dout, const float* inp,
                                 const float* W, int rows, int k_local, int n) {
  cpu::matmul_backward(dinp, dW, db, dout, inp, W, rows, k_local, n);
}

void VocabParallelEmbedding::forward(Communicator& tp, float* out, const int32_t* tokens, const float* wte_local,
                                     const float* wpe, int B, int T, int C, int vocab_begin, int vocab_end) {
  const int rows = B * T;
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    float* o = out + static_cast<int64_t>(r) * C;
    int tok = tokens[r];
    if (tok >= vocab_begin && tok < vocab_end) {
      std::memcpy(o, wte_local + static_cast<int64_t>(tok - vocab_begin) * C, sizeof(float) * C);
    } else {
      std::memset(o, 0, sizeof(float) * C);
    }
  }
  tp.all_reduce(out, static_cast<size_t>(rows) * C, ReduceOp::Sum);
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    float* o = out + static_cast<int64_t>(r) * C;
    const float* p = wpe + static_cast<int64_t>(r % T) * C;
    for (int c = 0; c < C; ++c) o[c] += p[c];
  }
}

void VocabParallelEmbedding::backward(float* dwte_local, float* dwpe, const float* dout, const int32_t* tokens, int B,
                                      int T, int C, int vocab_begin, int vocab_end) {
  // Threads own column blocks, so repeated tokens never race and the sum order is fixed.
  constexpr int kBlock = 32;
  const int blocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (int blk = 0; blk < blocks; ++blk) {
    int c0 = blk * kBlock, c1 = std::min(C, c0 + kBlock);
    for (int b = 0; b < B; ++b) {
      for (int t = 0; t < T; ++t) {
        int r = b * T + t;
        const float* d = dout + static_cast<int64_t>(r) * C;
        float* p = dwpe + static_cast<int64_t>(t) * C;
        for (int c = c0; c < c1; ++c) p[c] += d[c];
        int tok = tokens[r];
        if (tok >= vocab_begin && tok < vocab_end) {
          float* w = dwte_local + static_cast<int64_t>(tok - vocab_begin) * C;
          for (int c = c0; c < c1; ++c) w[c] += d[c];
        }
      }
    }
  }
}

double vocab_parallel_lm_loss(Communicator& tp, const float* h, const float* wte_local, const int32_t* targets,
                              int rows, int C, int vocab_begin, int vocab_end, int true_vocab, float grad_scale,
                              float* dh, float* dwte_local, float* token_loss) {
  const int V_local = vocab_end - vocab_begin;
  // Columns of this slice that are real vocabulary (the padding rows are never predicted).
  const int V_real = std::clamp(true_vocab - vocab_begin, 0, V_local);
  const int chunk = std::max(1, std::min(rows, static_cast<int>((1 << 22) / std::max(V_local, 1))));
  std::vector<float> logits(static_cast<size_t>(chunk) * V_local);
  std::vector<float> stats(static_cast<size_t>(chunk) * 2);  // per row: Σexp, target logit
  std::vector<float> rowmax(static_cast<size_t>(chunk));
  const float neg_inf = -std::numeric_limits<float>::infinity();
  double total = 0.0;

  for (int r0 = 0; r0 < rows; r0 += chunk) {
    const int n = std::min(chunk, rows - r0);
    const float* hc = h + static_cast<int64_t>(r0) * C;
    // logits[n, V_local] = h · wte_localᵀ
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, V_local, C, 1.0f, hc, C, wte_local, C, 0.0f,
                logits.data(), V_local);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; ++i) {
      const float* z = logits.data() + static_cast<int64_t>(i) * V_local;
      float m = neg_inf;
      for (int j = 0; j < V_real; ++j) m = std::max(m, z[j]);
      rowmax[static_cast<size_t>(i)] = m;
    }
    tp.all_reduce(rowmax.data(), static_cast<size_t>(n), DType::F32, ReduceOp::Max);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; ++i) {
      const float* z = logits.data() + static_cast<int64_t>(i) * V_local;
      float m = rowmax[static_cast<size_t>(i)];
      float s = 0.0f;
      for (int j = 0; j < V_real; ++j) s += std::exp(z[j] - m);
      int tgt = targets[r0 + i];
      stats[2 * static_cast<size_t>(i)] = s;
      stats[2 * static_cast<size_t>(i) + 1] = (tgt >= vocab_begin && tgt < vocab_end) ? z[tgt - vocab_begin] : 0.0f;
    }
    tp.all_reduce(stats.data(), static_cast<size_t>(n) * 2, ReduceOp::Sum);
    for (int i = 0; i < n; ++i) {
      int tgt = targets[r0 + i];
      float loss = 0.0f;
      if (tgt >= 0) {
        loss = std::log(stats[2 * static_cast<size_t>(i)]) + rowmax[static_cast<size_t>(i)] -
               stats[2 * static_cast<size_t>(i) + 1];
        total += loss;
      }
      if (token_loss) token_loss[r0 + i] = loss;
    }
    if (!dh) continue;
    // dlogits = grad_scale · (softmax − onehot), in place over the logits; ignored rows → 0.
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; ++i) {
      float* z = logits.data() + static_cast<int64_t>(i) * V_local;
      int tgt = targets[r0 + i];
      if (tgt < 0) {
        std::memset(z, 0, sizeof(float) * V_local);
        continue;
      }
      float m = rowmax[static_cast<size_t>(i)];
      float inv = 1.0f / stats[2 * static_cast<size_t>(i)];
      for (int j = 0; j < V_real; ++j) z[j] = grad_scale * std::exp(z[j] - m) * inv;
      for (int j = V_real; j < V_local; ++j) z[j] = 0.0f;
      if (tgt >= vocab_begin && tgt < vocab_end) z[tgt - vocab_begin] -= grad_scale;
    }
    // dh[chunk] = dlogits · wte_local ; dwte_local += dlogitsᵀ · h
    float* dhc = dh + static_cast<int64_t>(r0) * C;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, C, V_local, 1.0f, logits.data(), V_local, wte_local, C,
                0.0f, dhc, C);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, V_local, C, n, 1.0f, logits.data(), V_local, hc, C, 1.0f,
                dwte_local, C);
  }
  if (dh) tp.all_reduce(dh, static_cast<size_t>(rows) * C, ReduceOp::Sum);
  return total;
}

}  // namespace w2s
