// Each CUDA kernel against its CPU op (src/ops/cpu/cpu_ops.h, parallel/tensor_parallel.h,
// loss/losses.h) on fresh random inputs, fp32 and bf16 instantiations. Outputs start poisoned
// (NaN); accumulating outputs start from random values on both sides, so += is checked too.
//
// Tolerances: fp32 kernels differ from the CPU only in summation order and FMA contraction:
// rtol 1e-5..1e-4 with atol 1e-6..1e-5 of the output's scale. bf16 kernels get bf16-rounded
// inputs (the CPU reference gets the same rounded values) and store bf16, whose half-ulp is
// 2⁻⁸ ≈ 3.9e-3 relative: rtol 1e-2 plus atol 1e-2 of the scale for values that are sums of
// rounded terms. Kernels that add in the CPU op's order (embeddings, residuals) must match exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "cuda_test_util.h"
#include "ops/cpu/cpu_ops.h"
#include "ops/cuda/gemm.h"
#include "parallel/tensor_parallel.h"
#include "loss/losses.h"

namespace w2s::cuda::test {
namespace {

template <class T>
struct Tol;
template <>
struct Tol<float> {
  static constexpr double rtol = 1e-4, atol = 1e-5;
};
template <>
struct Tol<bf16> {
  static constexpr double rtol = 1e-2, atol = 1e-2;
};

template <class T>
class KernelTest : public ::testing::Test {};
using Types = ::testing::Types<float, bf16>;
TYPED_TEST_SUITE(KernelTest, Types, StorageTypeNames);

// The CPU result stored in T (what a perfect bf16 kernel would return).
template <class T>
std::vector<float> stored(std::vector<float> x) {
  return representable<T>(std::move(x));
}

TEST(Convert, RoundTripMatchesHostRounding) {
  std::vector<float> x = uniform(10007, -100.0f, 100.0f);
  Dev<float> in(x), back(x.size());
  Dev<bf16> mid(x.size());
  to_bf16(mid.get(), in.get(), static_cast<int64_t>(x.size()), nullptr);
  to_f32(back.get(), mid.get(), static_cast<int64_t>(x.size()), nullptr);
  expect_equal(back.download(), representable<bf16>(x), "to_bf16/to_f32 vs host RNE");
}

TYPED_TEST(KernelTest, LayerNormForwardBackward) {
  using T = TypeParam;
  for (int C : {100, 768}) {
    const int rows = 37;
    auto x = representable<T>(uniform(static_cast<size_t>(rows) * C, -2, 2));
    auto w = representable<T>(uniform(C, 0.5, 1.5)), b = representable<T>(uniform(C, -0.5, 0.5));
    std::vector<float> out(x.size()), mean(rows), rstd(rows);
    cpu::layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), rows, C);
    Dev<T> dx(x), dw(w), db(b), dout(x.size());
    Dev<float> dmean(rows), drstd(rows);
    layernorm_forward(dout.get(), dmean.get(), drstd.get(), dx.get(), dw.get(), db.get(), rows, C, nullptr);
    expect_close(dout.download(), stored<T>(out), Tol<T>::rtol, Tol<T>::atol, "layernorm_forward out");
    expect_close(dmean.download(), mean, 1e-5, 1e-5, "layernorm_forward mean");
    expect_close(drstd.download(), rstd, 1e-5, 1e-6, "layernorm_forward rstd");

    // Backward from the CPU's saved statistics; all three outputs accumulate.
    auto dy = representable<T>(uniform(x.size()));
    auto dinp = representable<T>(uniform(x.size())), gw = uniform(C), gb = uniform(C);
    std::vector<float> dinp_ref = dinp, gw_ref = gw, gb_ref = gb;
    cpu::layernorm_backward(dinp_ref.data(), gw_ref.data(), gb_ref.data(), dy.data(), x.data(), w.data(), mean.data(),
                            rstd.data(), rows, C);
    Dev<T> ddy(dy), ddinp(dinp);
    Dev<float> dgw(gw), dgb(gb), m2(mean), r2(rstd);
    layernorm_backward(ddinp.get(), dgw.get(), dgb.get(), ddy.get(), dx.get(), dw.get(), m2.get(), r2.get(), rows, C,
                       nullptr);
    expect_close(ddinp.download(), stored<T>(dinp_ref), Tol<T>::rtol, Tol<T>::atol, "layernorm_backward dinp");
    expect_close(dgw.download(), gw_ref, 1e-4, 1e-5, "layernorm_backward dw");
    expect_close(dgb.download(), gb_ref, 1e-4, 1e-5, "layernorm_backward db");
  }
}

TYPED_TEST(KernelTest, Gelu) {
  using T = TypeParam;
  const size_t n = 100003;
  auto x = representable<T>(uniform(n, -6, 6)), dy = representable<T>(uniform(n));
  std::vector<float> y(n), dx(n);
  cpu::gelu_forward(y.data(), x.data(), static_cast<int64_t>(n));
  cpu::gelu_backward(dx.data(), x.data(), dy.data(), static_cast<int64_t>(n));
  Dev<T> dxin(x), ddy(dy), dyout(n), ddx(n);
  gelu_forward(dyout.get(), dxin.get(), static_cast<int64_t>(n), nullptr);
  gelu_backward(ddx.get(), dxin.get(), ddy.get(), static_cast<int64_t>(n), nullptr);
  const double rt = std::is_same_v<T, float> ? 1e-5 : 1e-2, at = std::is_same_v<T, float> ? 1e-6 : 1e-3;
  expect_close(dyout.download(), stored<T>(y), rt, at, "gelu_forward");
  expect_close(ddx.download(), stored<T>(dx), rt, at, "gelu_backward");
}

TYPED_TEST(KernelTest, ResidualAndBias) {
  using T = TypeParam;
  const int rows = 53, n = 97;
  const size_t N = static_cast<size_t>(rows) * n;
  auto a = representable<T>(uniform(N)), b = representable<T>(uniform(N)), bias = representable<T>(uniform(n));
  std::vector<float> sum_ref = a, biased_ref = a;
  cpu::add_inplace(sum_ref.data(), b.data(), static_cast<int64_t>(N));
  cpu::add_bias(biased_ref.data(), bias.data(), rows, n);
  Dev<T> da(a), db(b), dbias(bias), dout(N), dinpl(a), dbiased(a);
  residual_forward(dout.get(), da.get(), db.get(), static_cast<int64_t>(N), nullptr);
  add_inplace(dinpl.get(), db.get(), static_cast<int64_t>(N), nullptr);
  add_bias(dbiased.get(), dbias.get(), rows, n, nullptr);
  expect_equal(dout.download(), stored<T>(sum_ref), "residual_forward");
  expect_equal(dinpl.download(), stored<T>(sum_ref), "add_inplace");
  expect_equal(dbiased.download(), stored<T>(biased_ref), "add_bias");

  const int big = 1000;  // several 256-row chunks
  auto dy = representable<T>(uniform(static_cast<size_t>(big) * n));
  auto g = uniform(n);
  std::vector<float> g_ref = g;
  cpu::bias_backward(g_ref.data(), dy.data(), big, n);
  Dev<T> ddy(dy);
  Dev<float> dg(g);
  bias_backward(dg.get(), ddy.get(), big, n, nullptr);
  expect_close(dg.download(), g_ref, 1e-5, 1e-5, "bias_backward");
}


TYPED_TEST(KernelTest, EmbeddingExactAndDeterministic) {
  using T = TypeParam;
  const int B = 3, Tn = 41, C = 72, V = 13;  // few tokens: many repeats
  // A TP-style slice [4, 11) and the whole vocabulary.
  for (auto [vb, ve] : {std::pair{0, V}, std::pair{4, 11}}) {
    std::vector<int32_t> tok(static_cast<size_t>(B) * Tn);
    for (auto& t : tok) t = static_cast<int32_t>(rng()() % V);
    auto wte = representable<T>(uniform(static_cast<size_t>(ve - vb) * C)), wpe = representable<T>(uniform(Tn * C));
    SoloComm solo;
    std::vector<float> out(tok.size() * C);
    VocabParallelEmbedding::forward(solo, out.data(), tok.data(), wte.data(), wpe.data(), B, Tn, C, vb, ve);
    std::unique_ptr<Dev<int32_t>> dtok(make_ints(tok));
    Dev<T> dwte(wte), dwpe(wpe), dout(out.size());
    embedding_forward(dout.get(), dtok->get(), dwte.get(), dwpe.get(), B, Tn, C, vb, ve, nullptr);
    expect_equal(dout.download(), stored<T>(out), "embedding_forward");

    auto dy = representable<T>(uniform(out.size()));
    auto gte = uniform(wte.size()), gpe = uniform(wpe.size());
    std::vector<float> gte_ref = gte, gpe_ref = gpe;
    VocabParallelEmbedding::backward(gte_ref.data(), gpe_ref.data(), dy.data(), tok.data(), B, Tn, C, vb, ve);
    Dev<T> ddy(dy);
    Dev<float> dgte(gte), dgpe(gpe);
    embedding_backward(dgte.get(), dgpe.get(), ddy.get(), dtok->get(), B, Tn, C, vb, ve, nullptr);
    expect_equal(dgte.download(), gte_ref, "embedding_backward dwte (CPU order)");
    expect_equal(dgpe.download(), gpe_ref, "embedding_backward dwpe (CPU order)");
  }
}

// LM head: GPU logits (cuBLASLt) + fused xent + the two backward GEMMs against the CPU's
// vocab_parallel_lm_loss (tp = 1): per-token losses, dh and dwte.
TYPED_TEST(KernelTest, LmHeadCrossEntropy) {
  using T = TypeParam;
  const int rows = 40, C = 64, V = 250, Vp = 256, B_ = 4;
  auto h = representable<T>(uniform(static_cast<size_t>(rows) * C));
  auto wte = representable<T>(uniform(static_cast<size_t>(Vp) * C, -0.3f, 0.3f));
  std::vector<int32_t> tgt(rows);
  for (int r = 0; r < rows; ++r) tgt[r] = (r % 7 == 3) ? -1 : static_cast<int32_t>(rng()() % V);
  const float scale = 1.0f / (B_ * 10);
  SoloComm solo;
  std::vector<float> tok_loss(rows), dh_ref(h.size()), dwte_ref = uniform(wte.size());
  Dev<float> ddwte(dwte_ref);
  vocab_parallel_lm_loss(solo, h.data(), wte.data(), tgt.data(), rows, C, 0, Vp, V, scale, dh_ref.data(),
                         dwte_ref.data(), tok_loss.data());

  Gemm gemm;
  Dev<T> dh_in(h), dwte(wte), logits(static_cast<size_t>(rows) * Vp), ddh(h.size());
  Dev<float> losses(rows);
  std::unique_ptr<Dev<int32_t>> dtgt(make_ints(tgt));
  gemm.run<T, T>(false, true, rows, Vp, C, 1.0f, dh_in.get(), C, dwte.get(), C, 0.0f, logits.get(), Vp, nullptr);
  lm_xent_forward_backward(logits.get(), losses.get(), dtgt->get(), rows, V, Vp, scale, true, nullptr);
  // dh = dlogits · wte ; dwte += dlogitsᵀ · h (fp32)
  gemm.run<T, T>(false, false, rows, C, Vp, 1.0f, logits.get(), Vp, dwte.get(), C, 0.0f, ddh.get(), C, nullptr);
  gemm.run<T, float>(true, false, Vp, C, rows, 1.0f, logits.get(), Vp, dh_in.get(), C, 1.0f, ddwte.get(), C, nullptr);
  const bool f32 = std::is_same_v<T, float>;
  // bf16 logits carry ~3.9e-3 relative rounding into the loss; the gradients are sums of bf16 terms.
  expect_close(losses.download(), tok_loss, f32 ? 1e-5 : 1e-2, f32 ? 1e-5 : 1e-2, "lm_xent losses");
  expect_close(ddh.download(), stored<T>(dh_ref), f32 ? 1e-4 : 3e-2, f32 ? 1e-5 : 3e-2, "lm head dh");
  expect_close(ddwte.download(), dwte_ref, f32 ? 1e-4 : 3e-2, f32 ? 1e-5 : 3e-2, "lm head dwte");
}

TEST(Classifier, HeadAndSoftCrossEntropy) {
  const int B = 5, Tn = 9, C = 48, K = 3;
  auto h = uniform(static_cast<size_t>(B) * Tn * C), W = uniform(static_cast<size_t>(K) * C);
  std::vector<int32_t> len = {9, 1, 4, 7, 2};
  // The CPU head (model/gpt2.cpp classifier_forward/backward), written out for one layer.
  std::vector<float> logits(B * K), dh(h.size(), 0.0f), dW = uniform(W.size());
  std::vector<float> dW_ref = dW;
  for (int b = 0; b < B; ++b)
    for (int k = 0; k < K; ++k) {
      float s = 0;
      for (int c = 0; c < C; ++c) s += h[(static_cast<size_t>(b) * Tn + len[b] - 1) * C + c] * W[k * C + c];
      logits[b * K + k] = s;
    }
  std::vector<float> targets(B * K, 0.0f);
  for (int b = 0; b < B; ++b) targets[b * K + b % K] = 1.0f;
  targets[4 * K + 0] = 0.3f, targets[4 * K + 1] = 0.7f, targets[4 * K + 2] = 0.0f;  // a soft label
  LossConfig lc;
  lc.kind = LossKind::Xent;
  LossResult lr = compute_loss(lc, logits.data(), targets.data(), B, K, 0.0);
  for (int b = 0; b < B; ++b)
    for (int k = 0; k < K; ++k) {
      float g = lr.dlogits[b * K + k];
      for (int c = 0; c < C; ++c) {
        size_t row = static_cast<size_t>(b) * Tn + len[b] - 1;
        dW_ref[k * C + c] += g * h[row * C + c];
        dh[row * C + c] += g * W[k * C + c];
      }
    }
  Dev<float> dhid(h), dw(W), dlog(B * K), dtg(targets), dloss(B), dgrad(B * K), ddh(h.size()), ddW(dW);
  std::unique_ptr<Dev<int32_t>> dlen(make_ints(len));
  classifier_forward(dlog.get(), dhid.get(), dlen->get(), dw.get(), B, Tn, C, K, nullptr);
  expect_close(dlog.download(), logits, 1e-5, 1e-6, "classifier_forward");
  classifier_xent(dloss.get(), dgrad.get(), dlog.get(), dtg.get(), B, K, nullptr);
  expect_close(dloss.download(), lr.per_example, 1e-5, 1e-6, "classifier_xent loss");
  expect_close(dgrad.download(), lr.dlogits, 1e-5, 1e-6, "classifier_xent dlogits");
  Dev<float> ref_grad(lr.dlogits);  // isolate backward from the forward's rounding
  classifier_backward(ddh.get(), ddW.get(), ref_grad.get(), dhid.get(), dlen->get(), dw.get(), B, Tn, C, K, nullptr);
  expect_close(ddh.download(), dh, 1e-5, 1e-6, "classifier_backward dh");
  expect_close(ddW.download(), dW_ref, 1e-5, 1e-6, "classifier_backward dW");
}

TYPED_TEST(KernelTest, Attention) {
  using T = TypeParam;
  struct Shape {
    int B, T, H, hd;
  };
  for (Shape s : {Shape{2, 37, 3, 16}, Shape{1, 70, 2, 64}}) {
    const size_t rows = static_cast<size_t>(s.B) * s.T, D = static_cast<size_t>(s.H) * s.hd;
    auto qkv = representable<T>(uniform(rows * 3 * D));
    std::vector<float> out(rows * D), probs(static_cast<size_t>(s.B) * s.H * s.T * s.T);
    cpu::attention_forward(out.data(), probs.data(), qkv.data(), s.B, s.T, s.H, s.hd);
    Dev<T> dqkv_in(qkv), dout(out.size());
    Dev<float> dprobs(probs.size());
    attention_forward(dout.get(), dprobs.get(), dqkv_in.get(), s.B, s.T, s.H, s.hd, nullptr);
    expect_close(dout.download(), stored<T>(out), Tol<T>::rtol, Tol<T>::atol, "attention_forward out");
    expect_close(dprobs.download(), probs, 1e-4, 1e-6, "attention_forward probs");

    auto dy = representable<T>(uniform(out.size()));
    std::vector<float> dqkv(qkv.size());
    cpu::attention_backward(dqkv.data(), dy.data(), qkv.data(), probs.data(), s.B, s.T, s.H, s.hd);
    Dev<T> ddy(dy), ddqkv(qkv.size());
    Dev<float> cpu_probs(probs);
    attention_backward(ddqkv.get(), ddy.get(), dqkv_in.get(), cpu_probs.get(), s.B, s.T, s.H, s.hd, nullptr);
    expect_close(ddqkv.download(), stored<T>(dqkv), Tol<T>::rtol, Tol<T>::atol, "attention_backward dqkv");
  }
}

TYPED_TEST(KernelTest, MatmulForwardBackward) {
  using T = TypeParam;
  const int rows = 48, k = 64, n = 40;
  auto x = representable<T>(uniform(static_cast<size_t>(rows) * k)), W = representable<T>(uniform(k * n));
  auto bias = representable<T>(uniform(n));
  std::vector<float> y(static_cast<size_t>(rows) * n), pre(y.size()), g(y.size());
  cpu::matmul_forward(y.data(), x.data(), W.data(), bias.data(), rows, k, n);
  const bool f32 = std::is_same_v<T, float>;
  const double rt = f32 ? 1e-4 : 1e-2, at = f32 ? 1e-5 : 1e-2;
  Gemm gemm;
  Dev<T> dx(x), dW(W), db(bias), dy(y.size()), dpre(y.size()), dg(y.size());
  matmul_forward(gemm, dy.get(), dx.get(), dW.get(), db.get(), rows, k, n, nullptr);
  expect_close(dy.download(), stored<T>(y), rt, at, "matmul_forward (bias epilogue)");
  // GELU after the GEMM: unfused (exact CPU formula) and cuBLASLt's fused GELU_AUX_BIAS.
  auto ys = stored<T>(y);
  cpu::gelu_forward(g.data(), ys.data(), static_cast<int64_t>(g.size()));
  for (bool fused : {false, true}) {
    matmul_forward_gelu(gemm, dg.get(), dpre.get(), dx.get(), dW.get(), db.get(), rows, k, n, fused, nullptr);
    expect_close(dpre.download(), stored<T>(y), rt, at, fused ? "matmul_forward_gelu fused pre" : "matmul_forward_gelu pre");
    // cuBLASLt's GELU is its own approximation: bf16-level tolerance for the fused form.
    expect_close(dg.download(), stored<T>(g), fused ? 1e-2 : rt, fused ? 1e-2 : at,
                 fused ? "matmul_forward_gelu fused out" : "matmul_forward_gelu out");
  }

  auto dout = representable<T>(uniform(y.size()));
  std::vector<float> dinp(x.size()), gW = uniform(W.size()), gb = uniform(n);
  std::vector<float> gW_ref = gW, gb_ref = gb;
  cpu::matmul_backward(dinp.data(), gW_ref.data(), gb_ref.data(), dout.data(), x.data(), W.data(), rows, k, n);
  Dev<T> ddout(dout), ddinp(x.size());
  Dev<float> dgW(gW), dgb(gb);
  matmul_backward(gemm, ddinp.get(), dgW.get(), dgb.get(), ddout.get(), dx.get(), dW.get(), rows, k, n, nullptr);
  expect_close(ddinp.download(), stored<T>(dinp), rt, at, "matmul_backward dinp");
  expect_close(dgW.download(), gW_ref, f32 ? 1e-4 : 1e-3, f32 ? 1e-5 : 1e-4, "matmul_backward dW (fp32 accumulate)");
  expect_close(dgb.download(), gb_ref, 1e-5, 1e-5, "matmul_backward dbias");
}

// optim/adamw.cpp's update, element by element, for AdamW and Adam (L2), over three steps.
TYPED_TEST(KernelTest, AdamW) {
  using T = TypeParam;
  const int64_t n = 5003;
  for (bool decoupled : {true, false}) {
    auto p = uniform(n), m = std::vector<float>(n, 0.0f), v = m;
    Dev<float> dp(p), dm(m), dv(v), dg(n);
    Dev<T> copy(n);
    for (int64_t t = 1; t <= 3; ++t) {
      auto g = uniform(n, -0.1f, 0.1f);
      dg.upload(g);
      const double b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1, lr = 1e-3;
      AdamStep s{static_cast<float>(lr), static_cast<float>(b1), static_cast<float>(b2), static_cast<float>(eps),
                 static_cast<float>(wd), static_cast<float>(1.0 - std::pow(b1, t)),
                 static_cast<float>(1.0 - std::pow(b2, t)), decoupled};
      for (int64_t i = 0; i < n; ++i) {  // the CPU formula (AdamW::step)
        float gi = decoupled ? g[i] : g[i] + s.weight_decay * p[i];
        m[i] = s.beta1 * m[i] + (1.0f - s.beta1) * gi;
        v[i] = s.beta2 * v[i] + (1.0f - s.beta2) * gi * gi;
        float update = (m[i] / s.bias_correction1) / (std::sqrt(v[i] / s.bias_correction2) + s.eps);
        if (decoupled) update += s.weight_decay * p[i];
        p[i] -= s.lr * update;
      }
      adamw_update(dp.get(), copy.get(), dg.get(), dm.get(), dv.get(), n, s, nullptr);
    }
    expect_close(dp.download(), p, 1e-6, 1e-6, decoupled ? "adamw params" : "adam params");
    expect_close(dm.download(), m, 1e-5, 1e-6, "adamw m");
    expect_close(dv.download(), v, 1e-5, 1e-7, "adamw v");
    expect_equal(copy.download(), stored<T>(dp.download()), "adamw compute copy");
  }
}

TEST(Reduce, SumsAreDeterministicAndMatchFp64) {
  for (int64_t n : {int64_t{1}, int64_t{1000}, int64_t{3000017}}) {
    auto x = uniform(static_cast<size_t>(n));
    double sq = 0, s = 0;
    for (float v : x) sq += static_cast<double>(v) * v, s += v;
    Dev<float> dx(x);
    double* out = nullptr;
    W2S_CUDA_CHECK(cudaMalloc(&out, 4 * sizeof(double)));
    sum_squares(out, dx.get(), n, nullptr);
    sum_squares(out + 1, dx.get(), n, nullptr);
    sum(out + 2, dx.get(), n, nullptr);
    double got[4];
    W2S_CUDA_CHECK(cudaMemcpy(got, out, 3 * sizeof(double), cudaMemcpyDeviceToHost));
    cudaFree(out);
    EXPECT_NEAR(got[0], sq, 1e-12 * sq) << "sum_squares n=" << n;
    EXPECT_EQ(got[0], got[1]) << "sum_squares is not run-to-run identical";
    EXPECT_NEAR(got[2], s, 1e-9 * (1 + std::sqrt(sq))) << "sum n=" << n;
    std::printf("[check] sum_squares n=%lld rel_err=%.3e\n", static_cast<long long>(n), std::fabs(got[0] - sq) / sq);
  }
  auto x = uniform(777);
  Dev<float> dx(x);
  scale_inplace(dx.get(), 0.25f, 777, nullptr);
  for (float& v : x) v *= 0.25f;
  expect_equal(dx.download(), x, "scale_inplace");
}

}  // namespace
}  // namespace w2s::cuda::test
