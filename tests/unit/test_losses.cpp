// The paper's losses: values and gradients against independent long-double formulas written
// here, against literal values derived by hand, and against central finite differences of the
// loss value. Losses with a detached target (auxconf, product) are finite-differenced as a
// cross-entropy with that target held fixed, which is what their gradient means.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/philox.h"
#include "loss/losses.h"

using namespace w2s;

namespace {

using LD = long double;

// Reference soft cross-entropy of one row, in long double, straight from the definitions:
// p = exp(z) / Σ exp(z), loss = −Σ t log p, grad = p · Σt − t.
struct RefRow {
  LD loss = 0;
  std::vector<LD> grad, p;
};
RefRow ref_soft_xent(const float* z, const LD* t, int C) {
  RefRow r;
  LD zmax = *std::max_element(z, z + C), norm = 0, mass = 0;
  for (int c = 0; c < C; ++c) norm += std::exp(static_cast<LD>(z[c]) - zmax);
  for (int c = 0; c < C; ++c) {
    LD logp = static_cast<LD>(z[c]) - zmax - std::log(norm);
    r.p.push_back(std::exp(logp));
    r.loss -= t[c] * logp;
    mass += t[c];
  }
  for (int c = 0; c < C; ++c) r.grad.push_back(r.p[c] * mass - t[c]);
  return r;
}

// Compares a LossResult with the reference soft cross-entropy against targets t [n, C].
void expect_matches_reference(const LossResult& r, const std::vector<float>& z, const std::vector<LD>& t, int n,
                              int C, double tol = 1e-5) {
  ASSERT_EQ(r.per_example.size(), static_cast<size_t>(n));
  ASSERT_EQ(r.dlogits.size(), static_cast<size_t>(n) * C);
  for (int i = 0; i < n; ++i) {
    RefRow ref = ref_soft_xent(&z[i * C], &t[i * C], C);
    EXPECT_NEAR(r.per_example[i], static_cast<double>(ref.loss), tol * (1 + std::abs(static_cast<double>(ref.loss))))
        << "example " << i;
    for (int c = 0; c < C; ++c)
      EXPECT_NEAR(r.dlogits[i * C + c], static_cast<double>(ref.grad[c]), tol) << "example " << i << " class " << c;
  }
}

double summed(const LossResult& r) {
  double s = 0;
  for (float v : r.per_example) s += v;
  return s;
}

// Central differences of Σ_i loss_i(cfg, z, t) with respect to every logit.
std::vector<double> finite_difference(const LossConfig& cfg, std::vector<float> z, const std::vector<float>& t, int n,
                                      int C, double step_frac, float h = 1e-2f) {
  std::vector<double> grad(z.size());
  for (size_t k = 0; k < z.size(); ++k) {
    const float z0 = z[k];
    z[k] = z0 + h;
    const float up = z[k];
    double f_up = summed(compute_loss(cfg, z.data(), t.data(), n, C, step_frac));
    z[k] = z0 - h;
    const float down = z[k];
    double f_down = summed(compute_loss(cfg, z.data(), t.data(), n, C, step_frac));
    z[k] = z0;
    grad[k] = (f_up - f_down) / (static_cast<double>(up) - static_cast<double>(down));
  }
  return grad;
}

void expect_gradient_near(const std::vector<float>& analytic, const std::vector<double>& numeric, double tol = 5e-4) {
  ASSERT_EQ(analytic.size(), numeric.size());
  for (size_t k = 0; k < analytic.size(); ++k) EXPECT_NEAR(analytic[k], numeric[k], tol) << "logit " << k;
}

// Philox-normal logits and row-normalized random soft targets.
std::vector<float> random_logits(int n, int C, uint64_t stream, double scale = 1.5) {
  std::vector<float> z(static_cast<size_t>(n) * C);
  for (size_t k = 0; k < z.size(); ++k) z[k] = static_cast<float>(scale * philox_normal(3, stream, k));
  return z;
}
std::vector<float> random_soft_targets(int n, int C, uint64_t stream) {
  std::vector<float> t(static_cast<size_t>(n) * C);
  for (int i = 0; i < n; ++i) {
    double sum = 0;
    for (int c = 0; c < C; ++c) sum += t[i * C + c] = static_cast<float>(philox_uniform(5, stream, i * C + c));
    for (int c = 0; c < C; ++c) t[i * C + c] = static_cast<float>(t[i * C + c] / sum);
  }
  return t;
}
std::vector<LD> to_ld(const std::vector<float>& x) { return std::vector<LD>(x.begin(), x.end()); }
std::vector<float> to_float(const std::vector<LD>& x) {
  std::vector<float> out;
  for (LD v : x) out.push_back(static_cast<float>(v));
  return out;
}

LossConfig config(LossKind kind) {
  LossConfig cfg;
  cfg.kind = kind;
  return cfg;
}

LD sigmoid(LD a) { return 1 / (1 + std::exp(-a)); }

}  // namespace

// ---- names ----

TEST(LossKind, ParsesEveryNameAndRoundTrips) {
  for (const char* name : {"gt", "xent", "auxconf", "product", "squared"})
    EXPECT_EQ(loss_kind_name(parse_loss_kind(name)), name);
  EXPECT_EQ(parse_loss_kind("auxconf"), LossKind::AuxConf);
  EXPECT_EQ(parse_loss_kind("gt"), LossKind::GroundTruth);
}

TEST(LossKind, UnknownNameIsUsageErrorListingChoices) {
  try {
    parse_loss_kind("logconf");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::Usage);
    std::string msg = e.what();
    for (const char* name : {"logconf", "gt", "xent", "auxconf", "product", "squared"})
      EXPECT_NE(msg.find(name), std::string::npos) << msg;
  }
}

// ---- cross-entropy (gt, xent) ----

TEST(XentLoss, HandDerivedValues) {
  // Row 0: z = (0, 0), t = (1, 0): p = (½, ½), loss = ln 2, grad = (−½, ½).
  // Row 1: z = (ln 3, 0), t = (½, ½): p = (¾, ¼), loss = −½ ln ¾ − ½ ln ¼, grad = (¼, −¼).
  // Row 2: z = (1000, 0), t = (0, 1): loss = 1000 (stable log-softmax), grad = (1, −1).
  std::vector<float> z = {0, 0, static_cast<float>(std::log(3.0)), 0, 1000, 0};
  std::vector<float> t = {1, 0, 0.5f, 0.5f, 0, 1};
  LossResult r = compute_loss(config(LossKind::Xent), z.data(), t.data(), 3, 2, 0.0);
  EXPECT_NEAR(r.per_example[0], 0.6931472, 1e-6);
  EXPECT_NEAR(r.per_example[1], 0.8369882, 1e-6);
  EXPECT_NEAR(r.per_example[2], 1000.0, 1e-3);
  std::vector<float> want = {-0.5f, 0.5f, 0.25f, -0.25f, 1.0f, -1.0f};
  for (size_t k = 0; k < want.size(); ++k) EXPECT_NEAR(r.dlogits[k], want[k], 1e-6) << k;
}

TEST(XentLoss, GradientScalesWithTargetMass) {
  // Unnormalized target t = (2, 1): grad = p · 3 − t (the sum of targets multiplies p).
  std::vector<float> z = {0.5f, -0.25f};
  std::vector<float> t = {2, 1};
  LossResult r = compute_loss(config(LossKind::Xent), z.data(), t.data(), 1, 2, 0.0);
  expect_matches_reference(r, z, to_ld(t), 1, 2);
  EXPECT_NEAR(r.dlogits[0] + r.dlogits[1], 0.0, 1e-6);  // Σ p · 3 − Σ t = 0
}

TEST(XentLoss, RandomBatchMatchesReferenceAndFiniteDifferences) {
  const int n = 6, C = 4;
  std::vector<float> z = random_logits(n, C, 1), t = random_soft_targets(n, C, 1);
  for (LossKind kind : {LossKind::Xent, LossKind::GroundTruth}) {
    LossResult r = compute_loss(config(kind), z.data(), t.data(), n, C, 0.3);
    expect_matches_reference(r, z, to_ld(t), n, C);
    expect_gradient_near(r.dlogits, finite_difference(config(kind), z, t, n, C, 0.3));
  }
}

TEST(XentLoss, HardLabelsForGroundTruth) {
  const int n = 5, C = 3;
  std::vector<float> z = random_logits(n, C, 2);
  std::vector<float> t(n * C, 0.0f);
  for (int i = 0; i < n; ++i) t[i * C + (i % C)] = 1.0f;
  LossResult r = compute_loss(config(LossKind::GroundTruth), z.data(), t.data(), n, C, 0.0);
  for (int i = 0; i < n; ++i) {
    // −log p_label, computed directly.
    LD norm = 0;
    for (int c = 0; c < C; ++c) norm += std::exp(static_cast<LD>(z[i * C + c]));
    EXPECT_NEAR(r.per_example[i], static_cast<double>(std::log(norm) - z[i * C + i % C]), 1e-5);
  }
  expect_gradient_near(r.dlogits, finite_difference(config(LossKind::GroundTruth), z, t, n, C, 0.0));
}

// ---- auxconf ----

TEST(AuxConfAlpha, LinearWarmUpThenConstant) {
  LossConfig cfg = config(LossKind::AuxConf);
  cfg.aux_alpha_max = 0.75;
  cfg.aux_warmup_frac = 0.2;
  EXPECT_DOUBLE_EQ(aux_alpha(cfg, 0.0), 0.0);
  EXPECT_NEAR(aux_alpha(cfg, 0.1), 0.375, 1e-12);   // mid warm-up: α_max / 2
  EXPECT_NEAR(aux_alpha(cfg, 0.05), 0.1875, 1e-12);  // a quarter of the way
  EXPECT_DOUBLE_EQ(aux_alpha(cfg, 0.2), 0.75);
  EXPECT_DOUBLE_EQ(aux_alpha(cfg, 0.5), 0.75);       // after warm-up: α_max, not the reference's jump
  EXPECT_DOUBLE_EQ(aux_alpha(cfg, 1.0), 0.75);
  cfg.aux_warmup_frac = 0.0;
  EXPECT_DOUBLE_EQ(aux_alpha(cfg, 0.0), 0.75);
}

// A batch of 10 whose mean weak p(class 1) is 0.3: the threshold is the 30% quantile of the
// student's p(class 0), so the three examples with the lowest p0 harden to class 1.
class AuxConfBatch : public ::testing::Test {
 protected:
  static constexpr int n = 10, C = 2;
  // Student logits (a_i, 0): p0 = σ(a_i). Ascending a: −2.5 (5), −1.2 (1), −0.7 (8), −0.3 (3), ...
  std::vector<LD> a = {0.5, -1.2, 2.0, -0.3, 0.1, -2.5, 1.1, 0.8, -0.7, 1.6};
  std::vector<float> weak1 = {0.9f, 0.1f, 0.2f, 0.4f, 0.3f, 0.1f, 0.5f, 0.2f, 0.1f, 0.2f};  // mean 0.3
  std::vector<float> z, y;

  void SetUp() override {
    for (int i = 0; i < n; ++i) {
      z.push_back(static_cast<float>(a[i]));
      z.push_back(0.0f);
      y.push_back(1.0f - weak1[i]);
      y.push_back(weak1[i]);
    }
  }
  LossConfig cfg() const {
    LossConfig c = config(LossKind::AuxConf);
    c.aux_alpha_max = 0.75;
    c.aux_warmup_frac = 0.2;
    return c;
  }
  // 30% quantile with linear interpolation: position 0.3 · 9 = 2.7 between the 3rd and 4th
  // smallest p0, i.e. σ(−0.7) + 0.7 · (σ(−0.3) − σ(−0.7)).
  LD expected_threshold() const {
    LD mean1 = 0;
    for (float w : weak1) mean1 += w;
    mean1 /= n;
    LD pos = mean1 * (n - 1);
    LD p2 = sigmoid(static_cast<float>(-0.7L)), p3 = sigmoid(static_cast<float>(-0.3L));
    return p2 + (pos - 2) * (p3 - p2);
  }
  // t = (1 − α)·y + α·h with h = class 1 for examples 5, 1, 8 and class 0 for the others.
  std::vector<LD> expected_target(LD alpha) const {
    std::vector<LD> t;
    for (int i = 0; i < n; ++i) {
      bool to_class1 = i == 5 || i == 1 || i == 8;
      t.push_back((1 - alpha) * y[2 * i] + alpha * (to_class1 ? 0 : 1));
      t.push_back((1 - alpha) * y[2 * i + 1] + alpha * (to_class1 ? 1 : 0));
    }
    return t;
  }
};

TEST_F(AuxConfBatch, ThresholdIsQuantileOfP0AtMeanWeakP1) {
  LossResult r = compute_loss(cfg(), z.data(), y.data(), n, C, 0.5);
  EXPECT_NEAR(r.threshold, static_cast<double>(expected_threshold()), 1e-7);
  EXPECT_GT(r.threshold, static_cast<double>(sigmoid(-0.7L)));
  EXPECT_LT(r.threshold, static_cast<double>(sigmoid(-0.3L)));
}

TEST_F(AuxConfBatch, HardensLowestP0ToClassOneAtEveryAlpha) {
  for (double s : {0.0, 0.1, 0.5}) {
    LossResult r = compute_loss(cfg(), z.data(), y.data(), n, C, s);
    const double want_alpha = s == 0.0 ? 0.0 : (s == 0.1 ? 0.375 : 0.75);
    EXPECT_NEAR(r.alpha, want_alpha, 1e-12) << "s = " << s;
    expect_matches_reference(r, z, expected_target(want_alpha), n, C);
  }
}

TEST_F(AuxConfBatch, AtStepZeroItIsPlainXent) {
  LossResult aux = compute_loss(cfg(), z.data(), y.data(), n, C, 0.0);
  LossResult xent = compute_loss(config(LossKind::Xent), z.data(), y.data(), n, C, 0.0);
  for (int i = 0; i < n; ++i) EXPECT_FLOAT_EQ(aux.per_example[i], xent.per_example[i]);
  for (int k = 0; k < n * C; ++k) EXPECT_FLOAT_EQ(aux.dlogits[k], xent.dlogits[k]);
}

TEST_F(AuxConfBatch, GradientIsXentWithTheHardenedTargetHeldFixed) {
  const double s = 0.1;
  LossResult r = compute_loss(cfg(), z.data(), y.data(), n, C, s);
  std::vector<float> fixed = to_float(expected_target(r.alpha));
  LossResult same = compute_loss(config(LossKind::Xent), z.data(), fixed.data(), n, C, s);
  for (int i = 0; i < n; ++i) EXPECT_NEAR(r.per_example[i], same.per_example[i], 1e-6);
  expect_gradient_near(r.dlogits, finite_difference(config(LossKind::Xent), z, fixed, n, C, s));
}

TEST(AuxConfLoss, ExampleExactlyAtThresholdHardensToClassZero) {
  // n = 5, mean weak p1 = 0.25: position 0.25 · 4 = 1 exactly, so the threshold IS the second
  // smallest p0, and that example satisfies p0 ≥ t (class 0). Only the smallest goes to class 1.
  const int n = 5, C = 2;
  std::vector<float> z = {1.0f, 0, -2.0f, 0, 0.5f, 0, -1.0f, 0, 3.0f, 0};
  std::vector<float> y;
  for (int i = 0; i < n; ++i) y.insert(y.end(), {0.75f, 0.25f});
  LossConfig cfg = config(LossKind::AuxConf);
  cfg.aux_alpha_max = 1.0;
  cfg.aux_warmup_frac = 0.0;  // α = 1: the target is h itself
  LossResult r = compute_loss(cfg, z.data(), y.data(), n, C, 0.0);
  EXPECT_NEAR(r.threshold, static_cast<double>(sigmoid(-1.0L)), 1e-7);
  std::vector<LD> h = {1, 0, 0, 1, 1, 0, 1, 0, 1, 0};  // only example 1 (a = −2) → class 1
  expect_matches_reference(r, z, h, n, C);
}

TEST(AuxConfLoss, MulticlassHardensWithArgmax) {
  const int n = 6, C = 3;
  std::vector<float> z = random_logits(n, C, 7), y = random_soft_targets(n, C, 7);
  LossConfig cfg = config(LossKind::AuxConf);
  LossResult r = compute_loss(cfg, z.data(), y.data(), n, C, 1.0);
  EXPECT_DOUBLE_EQ(r.alpha, 0.75);
  std::vector<LD> t(n * C);
  for (int i = 0; i < n; ++i) {
    int best = static_cast<int>(std::max_element(&z[i * C], &z[i * C] + C) - &z[i * C]);
    for (int c = 0; c < C; ++c) t[i * C + c] = 0.25L * y[i * C + c] + 0.75L * (c == best);
  }
  expect_matches_reference(r, z, t, n, C);
  expect_gradient_near(r.dlogits, finite_difference(config(LossKind::Xent), z, to_float(t), n, C, 1.0));
}

TEST(AuxConfLoss, NeedsTwoClasses) {
  float z = 0, y = 1;
  EXPECT_THROW(compute_loss(config(LossKind::AuxConf), &z, &y, 1, 1, 0.5), Error);
}

// ---- product ----

// t ∝ p^β · y^α, computed in long double.
std::vector<LD> ref_product_target(const std::vector<float>& z, const std::vector<float>& y, int n, int C, LD alpha,
                                   LD beta) {
  std::vector<LD> t(n * C);
  for (int i = 0; i < n; ++i) {
    LD norm = 0, sum = 0;
    for (int c = 0; c < C; ++c) norm += std::exp(static_cast<LD>(z[i * C + c]));
    for (int c = 0; c < C; ++c)
      sum += t[i * C + c] = std::pow(std::exp(static_cast<LD>(z[i * C + c])) / norm, beta) *
                            std::pow(static_cast<LD>(y[i * C + c]), alpha);
    for (int c = 0; c < C; ++c) t[i * C + c] /= sum;
  }
  return t;
}

TEST(ProductLoss, HandDerivedValue) {
  // z = (ln 3, 0): p = (¾, ¼); y = (¼, ¾): p·y = (3/16, 3/16) → t = (½, ½).
  // loss = −½ ln ¾ − ½ ln ¼; grad = p − t = (¼, −¼).
  std::vector<float> z = {static_cast<float>(std::log(3.0)), 0};
  std::vector<float> y = {0.25f, 0.75f};
  LossResult r = compute_loss(config(LossKind::Product), z.data(), y.data(), 1, 2, 0.0);
  EXPECT_NEAR(r.per_example[0], 0.8369882, 1e-6);
  EXPECT_NEAR(r.dlogits[0], 0.25, 1e-6);
  EXPECT_NEAR(r.dlogits[1], -0.25, 1e-6);
}

TEST(ProductLoss, RandomBatchMatchesReferenceAndFiniteDifferences) {
  const int n = 6, C = 3;
  std::vector<float> z = random_logits(n, C, 11), y = random_soft_targets(n, C, 11);
  for (auto [alpha, beta] : {std::pair{1.0, 1.0}, std::pair{2.0, 0.5}, std::pair{0.0, 1.0}}) {
    LossConfig cfg = config(LossKind::Product);
    cfg.product_alpha = alpha;
    cfg.product_beta = beta;
    LossResult r = compute_loss(cfg, z.data(), y.data(), n, C, 0.0);
    std::vector<LD> t = ref_product_target(z, y, n, C, alpha, beta);
    expect_matches_reference(r, z, t, n, C);
    expect_gradient_near(r.dlogits, finite_difference(config(LossKind::Xent), z, to_float(t), n, C, 0.0));
  }
}

TEST(ProductLoss, ZeroWeakMassAndUnderflowAreFinite) {
  // Row 0: y = (0, 1, 0) → t = (0, 1, 0) whatever p is.
  // Row 1: y all zero → falls back to y: loss 0, gradient 0.
  // Row 2: z = (−800, 800, 0), y = (1, 0, 0): p0 = e^−1600 underflows even in double, but in log
  //        space t = (1, 0, 0): loss = 1600, grad = p − t = (−1, 1, 0).
  // Row 3: z = (−800, 800, −790), y = (½, 0, ½): p0 and p2 both underflow, yet their ratio is
  //        e^−10, so t = (ε, 0, 1 − ε) with ε = 1 / (1 + e^10), and grad = p − t = (−ε, 1, ε − 1).
  std::vector<float> z = {0.3f, -0.2f, 1.0f, 0.5f, 0.1f, -0.4f, -800.0f, 800.0f, 0.0f, -800.0f, 800.0f, -790.0f};
  std::vector<float> y = {0, 1, 0, 0, 0, 0, 1, 0, 0, 0.5f, 0, 0.5f};
  LossResult r = compute_loss(config(LossKind::Product), z.data(), y.data(), 4, 3, 0.0);
  LossResult first = compute_loss(config(LossKind::Xent), z.data(), y.data(), 1, 3, 0.0);
  EXPECT_FLOAT_EQ(r.per_example[0], first.per_example[0]);
  EXPECT_EQ(r.per_example[1], 0.0f);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(r.dlogits[3 + c], 0.0f);
  EXPECT_NEAR(r.per_example[2], 1600.0, 1e-2);
  EXPECT_NEAR(r.dlogits[6], -1.0, 1e-6);
  EXPECT_NEAR(r.dlogits[7], 1.0, 1e-6);
  EXPECT_NEAR(r.dlogits[8], 0.0, 1e-6);
  const double eps = 1.0 / (1.0 + std::exp(10.0));
  EXPECT_NEAR(r.per_example[3], 1600.0 * eps + 1590.0 * (1 - eps), 1e-2);
  EXPECT_NEAR(r.dlogits[9], -eps, 1e-7);
  EXPECT_NEAR(r.dlogits[10], 1.0, 1e-6);
  EXPECT_NEAR(r.dlogits[11], eps - 1.0, 1e-6);
  for (float v : r.dlogits) EXPECT_TRUE(std::isfinite(v));
}

// ---- squared ----

TEST(SquaredLoss, ValueAndGradient) {
  std::vector<float> z = {1.5f, -0.25f, 3.0f}, y = {0.5f, 0.25f, 3.0f};
  LossResult r = compute_loss(config(LossKind::Squared), z.data(), y.data(), 3, 1, 0.0);
  EXPECT_FLOAT_EQ(r.per_example[0], 1.0f);
  EXPECT_FLOAT_EQ(r.per_example[1], 0.25f);
  EXPECT_FLOAT_EQ(r.per_example[2], 0.0f);
  EXPECT_FLOAT_EQ(r.dlogits[0], 2.0f);
  EXPECT_FLOAT_EQ(r.dlogits[1], -1.0f);
  EXPECT_FLOAT_EQ(r.dlogits[2], 0.0f);
  std::vector<float> zr = random_logits(8, 1, 13), yr = random_logits(8, 1, 14);
  LossResult rr = compute_loss(config(LossKind::Squared), zr.data(), yr.data(), 8, 1, 0.0);
  expect_gradient_near(rr.dlogits, finite_difference(config(LossKind::Squared), zr, yr, 8, 1, 0.0));
}

TEST(SquaredLoss, NeedsOneOutput) {
  std::vector<float> z = {0, 1}, y = {0, 1};
  try {
    compute_loss(config(LossKind::Squared), z.data(), y.data(), 1, 2, 0.0);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::Usage);
  }
}

// ---- soft labels ----

TEST(SoftLabels, TemperatureSoftmaxMatchesFormula) {
  const int n = 4, C = 3;
  std::vector<float> z = random_logits(n, C, 17, 3.0);
  z[0] = 5000.0f;  // would overflow exp() without the max shift
  for (double T : {1.0, 2.0, 0.5}) {
    std::vector<float> out(n * C);
    soft_labels_from_logits(z.data(), n, C, T, out.data());
    for (int i = 0; i < n; ++i) {
      LD zmax = *std::max_element(&z[i * C], &z[i * C] + C), norm = 0;
      for (int c = 0; c < C; ++c) norm += std::exp((static_cast<LD>(z[i * C + c]) - zmax) / T);
      double row_sum = 0;
      for (int c = 0; c < C; ++c) {
        LD want = std::exp((static_cast<LD>(z[i * C + c]) - zmax) / T) / norm;
        EXPECT_NEAR(out[i * C + c], static_cast<double>(want), 1e-7) << "T " << T << " i " << i << " c " << c;
        row_sum += out[i * C + c];
      }
      EXPECT_NEAR(row_sum, 1.0, 1e-6);
    }
  }
}

TEST(SoftLabels, HigherTemperatureIsSofter) {
  std::vector<float> z = {2.0f, 0.0f}, cold(2), hot(2);
  soft_labels_from_logits(z.data(), 1, 2, 1.0, cold.data());
  soft_labels_from_logits(z.data(), 1, 2, 4.0, hot.data());
  EXPECT_NEAR(cold[0], static_cast<double>(sigmoid(2.0L)), 1e-7);
  EXPECT_NEAR(hot[0], static_cast<double>(sigmoid(0.5L)), 1e-7);
}

TEST(SoftLabels, NonPositiveTemperatureIsUsageError) {
  std::vector<float> z = {1, 2}, out(2);
  for (double T : {0.0, -1.0, std::nan("")}) {
    try {
      soft_labels_from_logits(z.data(), 1, 2, T, out.data());
      FAIL() << "no error for T = " << T;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::Usage);
    }
  }
}
