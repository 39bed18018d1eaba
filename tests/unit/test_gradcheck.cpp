// Analytic gradients of the CPU GPT-2 against central finite differences, for every parameter
// tensor, with the LM head and with the classification head.
// fp32 forward passes make finite differences noisy, so each tensor is checked two ways:
//  * along the gradient direction u = g/|g|: (L(θ+εu) − L(θ−εu)) / 2ε must equal |g|;
//  * along a random direction r: the difference quotient must equal g·r within the noise.
// The quotient is Richardson-extrapolated from steps ε and ε/2 with ε·|g| = 0.02.
// Tolerance: 1e-2 relative to max(|g·u|, 5e-2·|g|), plus the fp32 noise floor 4·6e-8·|L|/ε: fp32 rounding of the loss, not the
// gradient, limits it (the PyTorch reference test checks gradients to 1e-4).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "comm/process_grid.h"
#include "core/philox.h"
#include "model/gpt2.h"

using namespace w2s;

namespace {

constexpr int B = 2, T = 6;

ModelConfig tiny(int num_classes) {
  ModelConfig c;
  c.n_layer = 2;
  c.n_head = 2;
  c.d_model = 16;
  c.n_ctx = 8;
  c.vocab_size = 258;
  c.num_classes = num_classes;
  return c;
}

struct Problem {
  std::vector<int32_t> tokens, targets, lengths{6, 4}, labels{1, 0};
  Problem() {
    for (int i = 0; i < B * T; ++i) tokens.push_back(static_cast<int32_t>(philox4x32(3, 0, static_cast<uint64_t>(i))[0] % 258));
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < T; ++t) targets.push_back(t + 1 < T ? tokens[static_cast<size_t>(b * T + t + 1)] : -1);
  }
};

// Loss of the model as it stands; with grads = true, gradients are left in model.grads().
double lm_loss(Gpt2& m, const Problem& p, bool grads) {
  if (!grads) return m.lm_forward(p.tokens.data(), p.targets.data(), B, T);
  m.zero_grads();
  return m.lm_forward_backward(p.tokens.data(), p.targets.data(), B, T, 1.0f);
}

double cls_loss(Gpt2& m, const Problem& p, bool grads) {
  std::vector<float> z(B * 2), dz(B * 2);
  m.classifier_forward(p.tokens.data(), p.lengths.data(), B, T, z.data());
  double loss = 0;
  for (int b = 0; b < B; ++b) {
    double mx = std::max(z[b * 2], z[b * 2 + 1]);
    double s = std::exp(z[b * 2] - mx) + std::exp(z[b * 2 + 1] - mx);
    loss += std::log(s) + mx - z[b * 2 + p.labels[static_cast<size_t>(b)]];
    for (int k = 0; k < 2; ++k) dz[b * 2 + k] = static_cast<float>(std::exp(z[b * 2 + k] - mx) / s - (k == p.labels[static_cast<size_t>(b)]));
  }
  if (grads) {
    m.zero_grads();
    m.classifier_backward(dz.data());
  }
  return loss;
}

template <class LossFn>
void check_all_tensors(Gpt2& model, const Problem& prob, LossFn loss_fn, const char* head) {
  const double base_loss = loss_fn(model, prob, true);
  const std::vector<float> grads = model.grads();
  for (size_t i = 0; i < model.table().specs.size(); ++i) {
    const ParamSpec& spec = model.table().specs[i];
    const int64_t n = spec.local_numel(1), off = model.layout().offset[i];
    const int64_t real = spec.stored_rows * spec.cols;  // skip vocabulary padding rows
    double gnorm = 0;
    for (int64_t j = 0; j < real; ++j) gnorm += static_cast<double>(grads[static_cast<size_t>(off + j)]) * grads[static_cast<size_t>(off + j)];
    gnorm = std::sqrt(gnorm);
    ASSERT_GT(gnorm, 0.0) << head << ": zero gradient for " << spec.name;
    std::vector<float> saved(model.params().begin() + off, model.params().begin() + off + n);
    std::vector<double> rnd(static_cast<size_t>(real));
    double rnorm = 0;
    for (int64_t j = 0; j < real; ++j) {
      rnd[static_cast<size_t>(j)] = philox_normal(11, i, static_cast<uint64_t>(j));
      rnorm += rnd[static_cast<size_t>(j)] * rnd[static_cast<size_t>(j)];
    }
    rnorm = std::sqrt(rnorm);
    // Step so that the first-order change of the loss is ~0.02: large enough to rise above fp32
    // rounding of the loss, small enough that Richardson removes the curvature.
    const double eps = std::min(5e-2, 2e-2 / gnorm);
    for (int dir = 0; dir < 2; ++dir) {
      // dir 0: u = g/|g|; dir 1: a random unit direction.
      auto direction = [&](int64_t j) {
        return dir == 0 ? grads[static_cast<size_t>(off + j)] / gnorm : rnd[static_cast<size_t>(j)] / rnorm;
      };
      double analytic = 0;
      for (int64_t j = 0; j < real; ++j) analytic += grads[static_cast<size_t>(off + j)] * direction(j);
      auto perturbed_loss = [&](double h) {
        for (int64_t j = 0; j < real; ++j)
          model.params()[static_cast<size_t>(off + j)] = static_cast<float>(saved[static_cast<size_t>(j)] + h * direction(j));
        return loss_fn(model, prob, false);
      };
      // Richardson extrapolation of two central differences cancels the O(ε²) curvature term.
      double d1 = (perturbed_loss(eps) - perturbed_loss(-eps)) / (2 * eps);
      double d2 = (perturbed_loss(eps / 2) - perturbed_loss(-eps / 2)) / eps;
      double numeric = (4 * d2 - d1) / 3;
      std::copy(saved.begin(), saved.end(), model.params().begin() + off);
      double scale = std::max(std::fabs(analytic), dir == 0 ? 0.0 : 5e-2 * gnorm);
      // Absolute floor: a few fp32 roundings of the loss, divided by the step.
      double noise = 4 * 6e-8 * std::fabs(base_loss) / eps;
      EXPECT_NEAR(numeric, analytic, 1e-2 * scale + noise)
          << head << " " << spec.name << (dir == 0 ? " along the gradient" : " along a random direction");
    }
  }
}

}  // namespace

TEST(GradCheck, LmHeadEveryTensor) {
  ProcessGrid grid = ProcessGrid::single();
  Gpt2 model(tiny(0), grid.tp(), 5);
  check_all_tensors(model, Problem(), lm_loss, "lm");
}

TEST(GradCheck, ClassifierHeadEveryTensor) {
  ProcessGrid grid = ProcessGrid::single();
  Gpt2 model(tiny(2), grid.tp(), 5);
  // A zero head would block the gradient to the backbone: start it random.
  float* w = model.param(model.table().score);
  for (int i = 0; i < 2 * 16; ++i) w[i] = static_cast<float>(0.5 * philox_normal(1, 2, static_cast<uint64_t>(i)));
  check_all_tensors(model, Problem(), cls_loss, "classifier");
}
