// cuDNN SDPA (src/ops/cuda/attention_cudnn.h) against the plain kernels of kernels/attention.cu,
// both on the GPU, on random bf16 inputs. The reference is the plain kernels' fp32 instantiation
// run on the same bf16-rounded values (so it carries no bf16 error of its own); the saved
// statistics are checked against a host log-sum-exp in double. Without a GPU the program exits
// 77 before any test runs (tests/cuda/main.cpp).
//
// Tolerances (|got − want| ≤ atol + rtol·|want|, atol a fraction of max|want|):
// - out, dV: rtol 1e-2, atol 1e-2 of the scale, the bf16 budget of test_kernels.cpp: cuDNN
//   rounds P to bf16 before P·V (and Pᵀ·dO), 2⁻⁹ relative per term, and stores bf16 (2⁻⁹ again).
// - dQ, dK: rtol 3e-2, atol 3e-2 of the scale: dS = P∘(dP − D) is rounded to bf16 before dSᵀ·Q,
//   and D = Σ dO∘O is formed from the forward's bf16 output while the reference uses fp32 O, an
//   error that the difference dP − D does not shrink. A first estimate: tighten it from the
//   [check] lines of the first GPU run.
// - stats: rtol 1e-4, atol 1e-4 of the scale: fp32 scores from exact bf16 products, fp32 exp and
//   log; only summation order and the exp/log implementations differ from the double reference.
#include <gtest/gtest.h>

#include <cmath>
#include <iterator>
#include <string>
#include <vector>

#include "cuda_test_util.h"
#include "ops/cuda/attention_cudnn.h"

namespace w2s::cuda::test {
namespace {

struct Shape {
  int B, T, H, hd;
  std::string text() const {
    return "B=" + std::to_string(B) + " T=" + std::to_string(T) + " H=" + std::to_string(H) +
           " hd=" + std::to_string(hd);
  }
};

// T not a multiple of 64 (37, 100, 77) and a multiple (128); hd 64 and 128.
const Shape kShapes[] = {{2, 37, 3, 64}, {1, 100, 2, 128}, {2, 128, 2, 64}, {1, 77, 4, 128}};

// Log-sum-exp of each scaled causal score row, [B, H, T], in double on the host.
std::vector<float> reference_stats(const std::vector<float>& qkv, const Shape& s) {
  const size_t D = static_cast<size_t>(s.H) * s.hd, R = 3 * D;
  const double scale = 1.0 / std::sqrt(static_cast<double>(s.hd));
  std::vector<float> stats(static_cast<size_t>(s.B) * s.H * s.T);
  std::vector<double> row(s.T);
  for (int b = 0; b < s.B; ++b)
    for (int h = 0; h < s.H; ++h)
      for (int t = 0; t < s.T; ++t) {
        const float* q = &qkv[(static_cast<size_t>(b) * s.T + t) * R + h * s.hd];
        double mx = -INFINITY;
        for (int j = 0; j <= t; ++j) {
          const float* k = &qkv[(static_cast<size_t>(b) * s.T + j) * R + D + h * s.hd];
          double dot = 0.0;
          for (int d = 0; d < s.hd; ++d) dot += static_cast<double>(q[d]) * k[d];
          row[j] = scale * dot;
          mx = std::fmax(mx, row[j]);
        }
        double sum = 0.0;
        for (int j = 0; j <= t; ++j) sum += std::exp(row[j] - mx);
        stats[(static_cast<size_t>(b) * s.H + h) * s.T + t] = static_cast<float>(mx + std::log(sum));
      }
  return stats;
}

// Part p (0 = q, 1 = k, 2 = v) of every row of a [rows, 3·D] buffer.
std::vector<float> part(const std::vector<float>& x, size_t rows, size_t D, int p) {
  std::vector<float> out(rows * D);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < D; ++c) out[r * D + c] = x[r * 3 * D + p * D + c];
  return out;
}

// The plain fp32 kernels on the same values: out [rows, D] and dqkv [rows, 3D].
struct Reference {
  std::vector<float> out, dqkv;
};
Reference plain_kernels(const std::vector<float>& qkv, const std::vector<float>& dy, const Shape& s) {
  const size_t rows = static_cast<size_t>(s.B) * s.T, D = static_cast<size_t>(s.H) * s.hd;
  Dev<float> dqkv_in(qkv), dout(rows * D), probs(static_cast<size_t>(s.B) * s.H * s.T * s.T);
  attention_forward(dout.get(), probs.get(), dqkv_in.get(), s.B, s.T, s.H, s.hd, nullptr);
  Dev<float> ddy(dy), ddqkv(qkv.size());
  attention_backward(ddqkv.get(), ddy.get(), dqkv_in.get(), probs.get(), s.B, s.T, s.H, s.hd, nullptr);
  return {dout.download(), ddqkv.download()};
}

TEST(CudnnAttention, MatchesPlainKernels) {
  CudnnAttention att;
  for (const Shape& s : kShapes) {
    SCOPED_TRACE(s.text());
    std::printf("[shape] cuDNN SDPA %s\n", s.text().c_str());
    // The reason is cuDNN's own (the failing call and status), as logged by the fallback.
    ASSERT_TRUE(att.supports(AttentionPass::Training, s.B, s.T, s.H, s.hd))
        << "no cuDNN forward plan: " << att.unsupported_reason(AttentionPass::Training, s.B, s.T, s.H, s.hd);
    ASSERT_TRUE(att.supports(AttentionPass::Inference, s.B, s.T, s.H, s.hd))
        << "no cuDNN inference plan: " << att.unsupported_reason(AttentionPass::Inference, s.B, s.T, s.H, s.hd);
    ASSERT_TRUE(att.supports(AttentionPass::Backward, s.B, s.T, s.H, s.hd))
        << "no cuDNN backward plan: " << att.unsupported_reason(AttentionPass::Backward, s.B, s.T, s.H, s.hd);
    const size_t rows = static_cast<size_t>(s.B) * s.T, D = static_cast<size_t>(s.H) * s.hd;
    // [-2, 2] makes the scaled scores spread (std ≈ 1.3) so the softmax is far from uniform.
    const auto qkv = representable<bf16>(uniform(rows * 3 * D, -2.0f, 2.0f));
    const auto dy = representable<bf16>(uniform(rows * D));
    const Reference ref = plain_kernels(qkv, dy, s);

    Dev<bf16> dqkv_in(qkv), out(rows * D), out_inf(rows * D);
    Dev<float> stats(static_cast<size_t>(s.B) * s.H * s.T);
    att.forward(out.get(), stats.get(), dqkv_in.get(), s.B, s.T, s.H, s.hd, nullptr);
    att.forward(out_inf.get(), nullptr, dqkv_in.get(), s.B, s.T, s.H, s.hd, nullptr);
    expect_close(out.download(), ref.out, 1e-2, 1e-2, "cudnn forward out");
    expect_close(out_inf.download(), ref.out, 1e-2, 1e-2, "cudnn inference out");
    expect_close(stats.download(), reference_stats(qkv, s), 1e-4, 1e-4, "cudnn forward stats");

    // Backward from cuDNN's own forward (its bf16 out and stats), as training would run it.
    Dev<bf16> ddy(dy), dqkv(qkv.size());
    att.backward(dqkv.get(), ddy.get(), out.get(), dqkv_in.get(), stats.get(), s.B, s.T, s.H, s.hd, nullptr);
    const auto got = dqkv.download();
    expect_close(part(got, rows, D, 0), part(ref.dqkv, rows, D, 0), 3e-2, 3e-2, "cudnn backward dq");
    expect_close(part(got, rows, D, 1), part(ref.dqkv, rows, D, 1), 3e-2, 3e-2, "cudnn backward dk");
    expect_close(part(got, rows, D, 2), part(ref.dqkv, rows, D, 2), 1e-2, 1e-2, "cudnn backward dv");
  }
  // One plan per (pass, shape), built once.
  EXPECT_EQ(att.cached_plans(), 3 * std::size(kShapes));
}

// A cached plan run again on the same inputs: same bits (the forward has no atomics), and no new
// plan is built.
TEST(CudnnAttention, CachedPlanRerunsIdentically) {
  CudnnAttention att;
  const Shape s{2, 37, 3, 64};
  const size_t rows = static_cast<size_t>(s.B) * s.T, D = static_cast<size_t>(s.H) * s.hd;
  Dev<bf16> qkv(representable<bf16>(uniform(rows * 3 * D))), a(rows * D), b(rows * D);
  Dev<float> sa(static_cast<size_t>(s.B) * s.H * s.T), sb(sa.size());
  att.forward(a.get(), sa.get(), qkv.get(), s.B, s.T, s.H, s.hd, nullptr);
  att.forward(b.get(), sb.get(), qkv.get(), s.B, s.T, s.H, s.hd, nullptr);
  EXPECT_EQ(att.cached_plans(), 1u);
  expect_equal(b.download(), a.download(), "cudnn forward rerun out");
  expect_equal(sb.download(), sa.download(), "cudnn forward rerun stats");
}

// Head sizes whose heads would not start 16-byte aligned are refused up front (callers use the
// plain kernels), as a usage error rather than a cuDNN failure.
TEST(CudnnAttention, RefusesUnalignedHeadSize) {
  CudnnAttention att;
  try {
    att.supports(AttentionPass::Training, 1, 8, 2, 20);
    ADD_FAILURE() << "hd=20 was accepted";
  } catch (const w2s::Error& e) {
    EXPECT_EQ(e.code(), ExitCode::Usage) << e.what();
  }
}

}  // namespace
}  // namespace w2s::cuda::test
