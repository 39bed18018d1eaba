// Gpt2Cuda (src/model/gpt2_cuda.h) against the CPU Gpt2 on identical weights, for fp32 and
// bf16 storage: LM logits and loss, every parameter gradient (with accumulation over two
// micro-batches of different shapes), the classification head (full and linear probe), and a
// 50-step AdamW run whose loss must stay within 1% of the CPU run's at every step.
//
// Tolerances (every check prints its measured error: the log of a GPU run is the record):
// - fp32 storage (Gpt2Cuda<float>) carries the exactness bars: the two models differ only in
//   summation order and FMA contraction (cuBLASLt with CUBLAS_COMPUTE_32F, never TF32). Logits
//   and gradients rtol 1e-4 with atol 2e-5 of the tensor's max|ref| (the single-kernel tests pass
//   at 1e-4 / 1e-5; two layers compound a few roundings), Σ loss 1e-5 relative, and the 50-step
//   AdamW loss curve within 1% of the CPU's at every step.
// - bf16 storage: bars derived from bf16 rounding. bf16 keeps 8 significant bits (7 stored), so
//   one rounding to nearest errs by at most 2⁻⁸ relative and by about 2⁻⁹ ≈ 2e-3 in rms; the CPU
//   starts from the same bf16-rounded weights, so what differs is the rounding of every stored
//   activation. A logit of this 2-block model is downstream of n = 10·2 + 2 = 22 such roundings
//   (per block: ln1, qkv, att, attention projection, residual, ln2, fc, GELU, MLP projection,
//   residual; then the embedding sum and the final LayerNorm). Independent roundings add as a
//   random walk, √n·2⁻⁹ ≈ 9e-3; the bar is three times that, 3·√22·2⁻⁹ ≈ 2.75e-2,
//   relative to the tensor's scale (logits rtol and atol of max|ref|) and for the 50-step loss
//   curve (each step's loss is a mean of per-token losses computed from such logits; the
//   trajectories start from the same weights and the optimizer sees gradients that differ by the
//   backward bar below). Σ loss of one forward 5e-3 relative (a sum of many per-token errors of
//   both signs). Gradients pass through about twice as many roundings (forward, then backward):
//   3·√44·2⁻⁹ ≈ 3.9e-2, so 5e-2, compared per tensor by relative L2 error
//   ‖g − g_ref‖ / ‖g_ref‖, not element by element: an element of a weight gradient is a sum over
//   rows that can cancel to far below its terms, and its bf16 error is relative to the terms, not
//   to the sum; the normwise error is what the optimizer sees. A wrong index or a missing term
//   gives O(1).
// The bf16 bars are predictions from that budget, not yet measured on a GPU: the first GPU run
// records the measured values (docs/cuda.md) and the bars are to be revisited then.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <vector>

#include "comm/communicator.h"
#include "core/error.h"
#include "cuda_test_util.h"
#include "model/gpt2.h"
#include "model/gpt2_cuda.h"
#include "optim/adamw.h"

namespace w2s::cuda::test {
namespace {


// bf16_bound(22) = 3·√22·2⁻⁹ ≈ 2.75e-2: three standard deviations of the relative error after
// the 22 independent bf16 roundings of rms 2⁻⁹ on a logit's path (the derivation above).
constexpr double kBf16Logits = 3.0 * 4.69041575982343 / 512.0;

template <class T>
struct ModelTol;
template <>
struct ModelTol<float> {
  static constexpr double logits_rtol = 1e-4, logits_atol = 2e-5, loss_rel = 1e-5;
  static constexpr double grad_rtol = 1e-4, grad_atol = 2e-5;
  static constexpr double curve_rel = 1e-2;  // the exactness bar: 1% at every step
};
template <>
struct ModelTol<bf16> {
  static constexpr double logits_rtol = kBf16Logits, logits_atol = kBf16Logits, loss_rel = 5e-3;
  static constexpr double grad_rel_l2 = 5e-2;
  static constexpr double curve_rel = kBf16Logits;
};

// 2 blocks, 4 heads of 16, vocabulary 258 padded to 384: small enough for the CPU, and every
// leading dimension a multiple of 8 (cuBLASLt's bf16 kernels want it).
ModelConfig small_config(int num_classes = 0) {
  ModelConfig cfg;
  cfg.n_layer = 2;
  cfg.n_head = 4;
  cfg.d_model = 64;
  cfg.n_ctx = 64;
  cfg.vocab_size = 258;
  cfg.num_classes = num_classes;
  return cfg;
}

struct Batch {
  int B, T;
  std::vector<int32_t> tokens, targets, lengths;
};

// Random tokens; targets are the next token, −1 at each row's end and at a few other places.
Batch random_batch(const ModelConfig& cfg, int B, int T) {
  Batch b{B, T, {}, {}, {}};
  const size_t n = static_cast<size_t>(B) * T;
  b.tokens.resize(n);
  b.targets.resize(n);
  for (auto& t : b.tokens) t = static_cast<int32_t>(rng()() % static_cast<uint64_t>(cfg.vocab_size));
  for (size_t i = 0; i < n; ++i) {
    const bool row_end = (i + 1) % static_cast<size_t>(T) == 0;
    b.targets[i] = (row_end || rng()() % 11 == 0) ? -1 : b.tokens[i + 1];
  }
  for (int r = 0; r < B; ++r) b.lengths.push_back(1 + static_cast<int32_t>(rng()() % static_cast<uint64_t>(T)));
  b.lengths[0] = T;  // one full-length example
  return b;
}

// bf16 runs start both models from the same bf16-rounded weights: the comparison then measures
// the bf16 activations, not the rounding of the initial weights.
template <class T>
void make_representable(Gpt2& cpu) {
  cpu.params() = representable<T>(cpu.params());
}

std::vector<float> slice(const std::vector<float>& flat, const Gpt2& cpu, int i) {
  const auto begin = flat.begin() + cpu.layout().offset[static_cast<size_t>(i)];
  return std::vector<float>(begin, begin + cpu.table().specs[static_cast<size_t>(i)].local_numel(1));
}

// Relative L2 error; a zero reference (the key bias's gradient) must be matched exactly.
void expect_rel_l2(const std::vector<float>& got, const std::vector<float>& want, double bound, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double err = 0.0, ref = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = static_cast<double>(got[i]) - want[i];
    err += std::isfinite(got[i]) ? d * d : INFINITY;
    ref += static_cast<double>(want[i]) * want[i];
  }
  const double rel = ref > 0.0 ? std::sqrt(err / ref) : (err > 0.0 ? INFINITY : 0.0);
  std::printf("[check] %-40s n=%-8zu rel_l2_err=%.3e (|ref| %.3e) bound %.1e\n", what, got.size(), rel, std::sqrt(ref),
              bound);
  EXPECT_LE(rel, bound) << what;
}

// Every parameter tensor's gradient, GPU against CPU, in the CPU's flat layout.
template <class T>
void expect_grads_close(Gpt2& cpu, Gpt2Cuda<T>& gpu, const char* head) {
  std::vector<float> got;
  gpu.grads_to_host(got);
  ASSERT_EQ(got.size(), cpu.grads().size());
  for (size_t i = 0; i < cpu.table().specs.size(); ++i) {
    const std::string what = std::string(head) + " grad " + cpu.table().specs[i].name;
    const int p = static_cast<int>(i);
    if constexpr (std::is_same_v<T, float>)
      expect_close(slice(got, cpu, p), slice(cpu.grads(), cpu, p), ModelTol<T>::grad_rtol, ModelTol<T>::grad_atol,
                   what.c_str());
    else
      expect_rel_l2(slice(got, cpu, p), slice(cpu.grads(), cpu, p), ModelTol<T>::grad_rel_l2, what.c_str());
  }
}

void expect_loss_close(double got, double want, double rel, const char* what) {
  std::printf("[check] %-40s got %.9g want %.9g rel_err=%.3e bound %.1e\n", what, got, want,
              std::fabs(got - want) / std::fabs(want), rel);
  EXPECT_NEAR(got, want, rel * std::fabs(want)) << what;
}

// Gradients accumulated over micro-batches of different shapes (a later one reallocates the
// activations) with different scales, against the CPU: checks += and the reallocation path.
// `each` runs after every GPU step (e.g. to check which attention path ran).
template <class T>
void expect_lm_grads_close(Gpt2& cpu, Gpt2Cuda<T>& gpu, std::initializer_list<const Batch*> batches, const char* tag,
                           const std::function<void(const Batch&)>& each = {}) {
  cpu.zero_grads();
  gpu.zero_grads();
  for (const Batch* m : batches) {
    const float scale = 1.0f / static_cast<float>(m->tokens.size());
    const double lc = cpu.lm_forward_backward(m->tokens.data(), m->targets.data(), m->B, m->T, scale);
    const double lg = gpu.lm_forward_backward(m->tokens.data(), m->targets.data(), m->B, m->T, scale);
    if (each) each(*m);
    expect_loss_close(lg, lc, ModelTol<T>::loss_rel, (std::string(tag) + " lm_forward_backward Σ loss").c_str());
  }
  expect_grads_close(cpu, gpu, (std::string(tag) + " lm").c_str());
}

template <class T>
class ModelParity : public ::testing::Test {};
using Types = ::testing::Types<float, bf16>;
TYPED_TEST_SUITE(ModelParity, Types, StorageTypeNames);

TYPED_TEST(ModelParity, LmLogitsLossAndGradients) {
  using T = TypeParam;
  const ModelConfig cfg = small_config();
  SoloComm solo;
  Gpt2 cpu(cfg, solo, 1234);
  make_representable<T>(cpu);
  Gpt2Cuda<T> gpu(cfg, cpu.layout(), cpu.params());

  // Logits and per-token losses (B = 3, T = 31: no power of two anywhere).
  const Batch a = random_batch(cfg, 3, 31);
  std::vector<float> want_logits, got_logits;
  cpu.lm_logits_local(a.tokens.data(), a.B, a.T, want_logits);
  gpu.lm_logits(a.tokens.data(), a.B, a.T, got_logits);
  expect_close(got_logits, want_logits, ModelTol<T>::logits_rtol, ModelTol<T>::logits_atol, "lm logits");
  std::vector<float> want_tok(a.tokens.size()), got_tok(a.tokens.size());
  const double want_loss = cpu.lm_forward(a.tokens.data(), a.targets.data(), a.B, a.T, want_tok.data());
  const double got_loss = gpu.lm_forward(a.tokens.data(), a.targets.data(), a.B, a.T, got_tok.data());
  expect_loss_close(got_loss, want_loss, ModelTol<T>::loss_rel, "lm Σ loss");
  expect_close(got_tok, want_tok, ModelTol<T>::logits_rtol, ModelTol<T>::logits_atol, "lm token losses");

  const Batch b = random_batch(cfg, 2, cfg.n_ctx);
  expect_lm_grads_close(cpu, gpu, {&a, &b}, "plain");
}

TYPED_TEST(ModelParity, ClassifierLogitsAndGradients) {
  using T = TypeParam;
  const ModelConfig cfg = small_config(3);
  SoloComm solo;
  Gpt2 cpu(cfg, solo, 99);
  // The head starts at zero, which would block the gradient to the backbone: start it random.
  const auto& score = cpu.table().specs[static_cast<size_t>(cpu.table().score)];
  const std::vector<float> w = uniform(static_cast<size_t>(score.numel()), -0.5f, 0.5f);
  std::copy(w.begin(), w.end(), cpu.param(cpu.table().score));
  make_representable<T>(cpu);
  Gpt2Cuda<T> gpu(cfg, cpu.layout(), cpu.params());

  const Batch a = random_batch(cfg, 5, 23);
  const int K = cfg.num_classes;
  std::vector<float> want(static_cast<size_t>(a.B) * K), got(want.size());
  cpu.classifier_forward(a.tokens.data(), a.lengths.data(), a.B, a.T, want.data());
  gpu.classifier_forward(a.tokens.data(), a.lengths.data(), a.B, a.T, got.data());
  expect_close(got, want, ModelTol<T>::logits_rtol, ModelTol<T>::logits_atol, "classifier logits");

  const std::vector<float> dlogits = uniform(want.size());
  cpu.zero_grads();
  gpu.zero_grads();
  cpu.classifier_backward(dlogits.data(), true);
  gpu.classifier_backward(dlogits.data(), true);
  expect_grads_close(cpu, gpu, "classifier");
}

TYPED_TEST(ModelParity, LinearProbeTouchesOnlyTheHead) {
  using T = TypeParam;
  const ModelConfig cfg = small_config(2);
  SoloComm solo;
  Gpt2 cpu(cfg, solo, 7);
  make_representable<T>(cpu);
  Gpt2Cuda<T> gpu(cfg, cpu.layout(), cpu.params());
  const Batch a = random_batch(cfg, 4, 17);
  std::vector<float> logits(static_cast<size_t>(a.B) * cfg.num_classes);
  cpu.classifier_forward(a.tokens.data(), a.lengths.data(), a.B, a.T, logits.data());
  gpu.classifier_forward(a.tokens.data(), a.lengths.data(), a.B, a.T, logits.data());
  const std::vector<float> dlogits = uniform(logits.size());
  cpu.zero_grads();
  gpu.zero_grads();
  cpu.classifier_backward(dlogits.data(), false);
  gpu.classifier_backward(dlogits.data(), false);
  // Every other gradient stays exactly zero on both sides; the head's matches.
  expect_grads_close(cpu, gpu, "probe");
  std::vector<float> g;
  gpu.grads_to_host(g);
  const int score = cpu.table().score;
  for (size_t i = 0; i < cpu.table().specs.size(); ++i)
    if (static_cast<int>(i) != score)
      expect_equal(slice(g, cpu, static_cast<int>(i)), slice(cpu.grads(), cpu, static_cast<int>(i)),
                   ("probe zero grad " + cpu.table().specs[i].name).c_str());
}

// The same model with cuDNN's fused attention (bf16): logits, loss and every gradient against
// the CPU under the bf16 bounds above, over two micro-batches (T = 40, not a multiple of cuDNN's
// 64-row tiles, then the full context). Head size 64, as GPT-2's. Skipped, saying so, when
// cuDNN offers no plan for the shape (the model then uses the plain kernels, tested above).
TEST(ModelParityCudnn, LmLogitsLossAndGradients) {
  ModelConfig cfg = small_config();
  cfg.n_head = 2;
  cfg.d_model = 128;
  SoloComm solo;
  Gpt2 cpu(cfg, solo, 4321);
  make_representable<bf16>(cpu);
  Gpt2Cuda<bf16> gpu(cfg, cpu.layout(), cpu.params());
  ASSERT_TRUE(gpu.use_cudnn_attention());

  const Batch a = random_batch(cfg, 2, 40);
  std::vector<float> want_logits, got_logits;
  cpu.lm_logits_local(a.tokens.data(), a.B, a.T, want_logits);
  gpu.lm_logits(a.tokens.data(), a.B, a.T, got_logits);
  if (std::string(gpu.attention_backend()) != "cudnn") GTEST_SKIP() << "cuDNN has no attention plan for B 2, T 40";
  expect_close(got_logits, want_logits, ModelTol<bf16>::logits_rtol, ModelTol<bf16>::logits_atol, "cudnn lm logits");

  const Batch b = random_batch(cfg, 1, cfg.n_ctx);
  expect_lm_grads_close(cpu, gpu, {&a, &b}, "cudnn", [&](const Batch& m) {
    EXPECT_STREQ(gpu.attention_backend(), "cudnn") << "B " << m.B << ", T " << m.T;
  });
}

TEST(ModelParityCudnn, Fp32StorageKeepsThePlainKernels) {
  const ModelConfig cfg = small_config();
  SoloComm solo;
  Gpt2 cpu(cfg, solo, 5);
  Gpt2Cuda<float> gpu(cfg, cpu.layout(), cpu.params());
  EXPECT_FALSE(gpu.use_cudnn_attention());
  const Batch a = random_batch(cfg, 1, 8);
  std::vector<float> logits;
  gpu.lm_logits(a.tokens.data(), a.B, a.T, logits);
  EXPECT_STREQ(gpu.attention_backend(), "plain");
}

// Learnable data: each row follows t ← (5·t + 3) mod 97 from a random start, so the loss falls
// visibly within 50 steps and the comparison is not of two flat curves.
std::vector<Batch> training_batches(const ModelConfig& cfg, int n, int B, int T) {
  std::vector<Batch> out;
  for (int k = 0; k < n; ++k) {
    Batch b = random_batch(cfg, B, T);
    for (int r = 0; r < B; ++r) {
      int32_t t = static_cast<int32_t>(rng()() % 97);
      for (int i = 0; i < T; ++i, t = (5 * t + 3) % 97) b.tokens[static_cast<size_t>(r) * T + i] = t;
      for (int i = 0; i < T; ++i)
        b.targets[static_cast<size_t>(r) * T + i] = i + 1 < T ? b.tokens[static_cast<size_t>(r) * T + i + 1] : -1;
    }
    out.push_back(std::move(b));
  }
  return out;
}

int real_targets(const Batch& b) {
  int n = 0;
  for (int32_t t : b.targets) n += t >= 0;
  return n;
}

// One step of each model as the Trainer takes it: mean loss, clip the global norm at 1, AdamW.
template <class T>
std::pair<double, double> train_step(Gpt2& cpu, AdamW& opt, Gpt2Cuda<T>& gpu, const AdamConfig& ac, const Batch& b,
                                     double lr, int64_t t) {
  const float scale = 1.0f / static_cast<float>(real_targets(b));
  cpu.zero_grads();
  gpu.zero_grads();
  const double lc = cpu.lm_forward_backward(b.tokens.data(), b.targets.data(), b.B, b.T, scale) * scale;
  const double lg = gpu.lm_forward_backward(b.tokens.data(), b.targets.data(), b.B, b.T, scale) * scale;
  double sh = 0.0, rep = 0.0;
  opt.grad_sq_sums(cpu.grads().data(), &sh, &rep);
  const double nc = std::sqrt(sh + rep), ng = std::sqrt(gpu.grad_sq_sum());
  if (nc > 1.0) opt.scale_grads(cpu.grads().data(), static_cast<float>(1.0 / nc));
  if (ng > 1.0) gpu.scale_grads(static_cast<float>(1.0 / ng));
  opt.step(cpu.params().data(), cpu.grads().data(), lr, t);
  gpu.adamw_step(ac, lr, t);
  return {lc, lg};
}

// fp32: within 1% at every step (the exactness bar); bf16: within ModelTol<bf16>::curve_rel.
TYPED_TEST(ModelParity, AdamWLossCurveWithinBar) {
  using T = TypeParam;
  const ModelConfig cfg = small_config();
  SoloComm solo;
  Gpt2 cpu(cfg, solo, 2024);
  make_representable<T>(cpu);
  Gpt2Cuda<T> gpu(cfg, cpu.layout(), cpu.params());
  AdamConfig ac;
  ac.beta2 = 0.95;
  ac.weight_decay = 0.1;
  AdamW opt(ac, cpu.table(), cpu.layout(), 1, {FlatRange{0, cpu.layout().total}},
            std::vector<bool>(cpu.table().specs.size(), true));
  const std::vector<Batch> data = training_batches(cfg, 4, 4, 32);
  double worst = 0.0, first = 0.0, last = 0.0;
  for (int64_t t = 1; t <= 50; ++t) {
    auto [lc, lg] = train_step(cpu, opt, gpu, ac, data[static_cast<size_t>(t - 1) % data.size()], 1e-3, t);
    const double rel = std::fabs(lg - lc) / std::fabs(lc);
    worst = std::fmax(worst, rel);
    if (t == 1) first = lc;
    last = lc;
    EXPECT_LE(rel, ModelTol<T>::curve_rel) << "step " << t << ": GPU loss " << lg << ", CPU loss " << lc;
  }
  std::printf("[check] %-40s CPU loss %.4f -> %.4f, worst rel diff %.3e bound %.1e\n", "adamw 50-step loss curve",
              first, last, worst, ModelTol<T>::curve_rel);
  EXPECT_LT(last, first - 0.1) << "the loss should fall: the curve comparison means little otherwise";
  // The master weights after training, normwise. fp32: only summation order differs, 1e-3 is
  // generous. bf16: Adam moves an element whose gradient is below the bf16 noise by ±lr per step
  // either way, so only a loose 1e-1 (it still catches weights that stop moving or diverge).
  std::vector<float> params;
  gpu.params_to_host(params);
  expect_rel_l2(params, cpu.params(), std::is_same_v<T, float> ? 1e-3 : 1e-1, "params after 50 steps");
}

TEST(ModelReports, MemoryFlopsAndInputChecks) {
  const ModelConfig cfg = small_config();
  SoloComm solo;
  Gpt2 cpu(cfg, solo, 5);
  Gpt2Cuda<bf16> gpu(cfg, cpu.layout(), cpu.params());
  const Batch a = random_batch(cfg, 2, 16);
  gpu.lm_forward_backward(a.tokens.data(), a.targets.data(), a.B, a.T, 1.0f);
  EXPECT_GT(gpu.activation_bytes(), 0u);
  EXPECT_GT(gpu.allocated_bytes(), gpu.activation_bytes());
  EXPECT_GE(gpu.peak_device_bytes(), gpu.allocated_bytes());
  // 6·N + 6·L·T·C, as llm.c.
  const double N = static_cast<double>(cfg.num_parameters());
  EXPECT_DOUBLE_EQ(Gpt2Cuda<bf16>::flops_per_token(cfg, 16), 6 * N + 6.0 * cfg.n_layer * 16 * cfg.d_model);
  std::printf("[check] reports: activations %zu B, allocated %zu B, peak device %zu B\n", gpu.activation_bytes(),
              gpu.allocated_bytes(), gpu.peak_device_bytes());

  std::vector<int32_t> bad = a.tokens;
  bad[3] = cfg.vocab_size;
  EXPECT_THROW(gpu.lm_forward(bad.data(), a.targets.data(), a.B, a.T), Error);
  std::vector<int32_t> long_tokens(static_cast<size_t>(cfg.n_ctx) + 1, 1);
  EXPECT_THROW(gpu.lm_forward(long_tokens.data(), long_tokens.data(), 1, cfg.n_ctx + 1), Error);
  EXPECT_THROW(gpu.classifier_forward(a.tokens.data(), a.lengths.data(), a.B, a.T, nullptr), Error);  // no head

  // A TP shard's layout (same tensors, smaller) is refused: TP > 1 on the GPU is not implemented.
  const ParamTable table2 = build_param_table(cfg, 2);
  const ParamLayout layout2 = build_param_layout(table2, 2, 1, int64_t{1} << 22);
  EXPECT_THROW(Gpt2Cuda<bf16>(cfg, layout2, std::vector<float>(static_cast<size_t>(layout2.total))), Error);
}

}  // namespace
}  // namespace w2s::cuda::test
