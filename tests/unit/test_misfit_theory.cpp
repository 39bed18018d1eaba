// "Gain is misfit" (Charikar, Pabbaraju, Shiragur 2024), checked exactly on a synthetic
// regression with the same metric code the analysis uses (mean_squared_distance on one-output
// Predictions). Strong features Φ [n, k]; ground truth y* = Φ w* (realizable); a weak predictor
// g = y* + error, part of which lies outside span(Φ). The student minimizes ‖Φ w − g‖² over a
// convex set of weights W:
//   W = ℝ^k (a subspace):  err(student) = err(weak) − misfit(student, weak)   (Pythagoras)
//   W = {w ≥ 0} (convex):  err(student) ≤ err(weak) − misfit(student, weak)
// where err(f) = E (f − y*)² and misfit = E (student − g)².
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/philox.h"
#include "experiment/metrics.h"

using namespace w2s;

namespace {

constexpr int kN = 2000, kK = 8;
using Matrix = std::vector<double>;  // row-major

// Φ_ij ~ N(0, 1) from Philox.
Matrix strong_features() {
  Matrix phi(static_cast<size_t>(kN) * kK);
  for (size_t k = 0; k < phi.size(); ++k) phi[k] = philox_normal(2024, 0, k);
  return phi;
}

std::vector<double> linear_predict(const Matrix& phi, const std::vector<double>& w) {
  std::vector<double> out(kN, 0.0);
  for (int i = 0; i < kN; ++i)
    for (int j = 0; j < kK; ++j) out[i] += phi[i * kK + j] * w[j];
  return out;
}

// Gram matrix G = Φᵀ Φ / n and moment vector b = Φᵀ g / n of the least-squares problem.
Matrix gram(const Matrix& phi) {
  Matrix G(kK * kK, 0.0);
  for (int i = 0; i < kN; ++i)
    for (int a = 0; a < kK; ++a)
      for (int b = 0; b < kK; ++b) G[a * kK + b] += phi[i * kK + a] * phi[i * kK + b] / kN;
  return G;
}
std::vector<double> moments(const Matrix& phi, const std::vector<double>& g) {
  std::vector<double> b(kK, 0.0);
  for (int i = 0; i < kN; ++i)
    for (int a = 0; a < kK; ++a) b[a] += phi[i * kK + a] * g[i] / kN;
  return b;
}

// Solves G x = b for symmetric positive definite G: Cholesky G = L Lᵀ, then two triangular solves.
std::vector<double> cholesky_solve(const Matrix& G, std::vector<double> b) {
  Matrix L(kK * kK, 0.0);
  for (int j = 0; j < kK; ++j) {
    double d = G[j * kK + j];
    for (int m = 0; m < j; ++m) d -= L[j * kK + m] * L[j * kK + m];
    L[j * kK + j] = std::sqrt(d);
    for (int i = j + 1; i < kK; ++i) {
      double s = G[i * kK + j];
      for (int m = 0; m < j; ++m) s -= L[i * kK + m] * L[j * kK + m];
      L[i * kK + j] = s / L[j * kK + j];
    }
  }
  for (int i = 0; i < kK; ++i) {  // L y = b
    for (int m = 0; m < i; ++m) b[i] -= L[i * kK + m] * b[m];
    b[i] /= L[i * kK + i];
  }
  for (int i = kK - 1; i >= 0; --i) {  // Lᵀ x = y
    for (int m = i + 1; m < kK; ++m) b[i] -= L[m * kK + i] * b[m];
    b[i] /= L[i * kK + i];
  }
  return b;
}

// Gradient of ½ E (Φ w − g)²: G w − b.
std::vector<double> gradient(const Matrix& G, const std::vector<double>& b, const std::vector<double>& w) {
  std::vector<double> grad(kK);
  for (int a = 0; a < kK; ++a) {
    grad[a] = -b[a];
    for (int c = 0; c < kK; ++c) grad[a] += G[a * kK + c] * w[c];
  }
  return grad;
}

// argmin over w ≥ 0 of ½ E (Φ w − g)² by projected gradient descent with step 1 / trace(G)
// (trace ≥ largest eigenvalue, so every step decreases the objective).
std::vector<double> nonnegative_least_squares(const Matrix& G, const std::vector<double>& b) {
  double trace = 0;
  for (int a = 0; a < kK; ++a) trace += G[a * kK + a];
  std::vector<double> w(kK, 0.0);
  for (int it = 0; it < 20000; ++it) {
    std::vector<double> grad = gradient(G, b, w);
    for (int a = 0; a < kK; ++a) w[a] = std::max(0.0, w[a] - grad[a] / trace);
  }
  return w;
}

// Values as a one-output "model": the form mean_squared_distance takes.
Predictions as_predictions(const std::vector<double>& values) {
  Predictions p;
  p.n = static_cast<int>(values.size());
  p.C = 1;
  for (double v : values) p.probs.push_back(static_cast<float>(v));
  return p;
}

// The experiment: ground truth, weak predictor and strong features.
struct Experiment {
  Matrix phi = strong_features();
  std::vector<double> w_star, y_star, weak;

  // weak = y* + Φ v (error inside span(Φ)) + a nonlinear function of the features and an
  // independent noise feature (errors outside span(Φ)).
  Experiment(std::vector<double> w, const std::vector<double>& v) : w_star(std::move(w)) {
    y_star = linear_predict(phi, w_star);
    std::vector<double> in_span = linear_predict(phi, v);
    for (int i = 0; i < kN; ++i) {
      double x0 = phi[i * kK], x1 = phi[i * kK + 1];
      double outside = 0.6 * std::tanh(2 * x0) * x1 + 0.4 * (x0 * x0 - 1) + 0.5 * philox_normal(2024, 1, i);
      weak.push_back(y_star[i] + in_span[i] + outside);
    }
  }
};

}  // namespace

TEST(MisfitTheory, SubspaceStudentGainEqualsMisfit) {
  Experiment s({1.0, -0.5, 0.25, 2.0, 0.0, 0.3, -1.2, 0.7}, {0.3, -0.2, 0.4, 0.1, -0.3, 0.2, 0.0, 0.15});
  Matrix G = gram(s.phi);
  std::vector<double> b = moments(s.phi, s.weak);
  std::vector<double> w_student = cholesky_solve(G, b);
  // The normal equations hold: Φᵀ (g − Φ ŵ) = 0.
  for (double r : gradient(G, b, w_student)) EXPECT_NEAR(r, 0.0, 1e-12);
  std::vector<double> student = linear_predict(s.phi, w_student);

  Predictions truth = as_predictions(s.y_star), weak = as_predictions(s.weak), strong = as_predictions(student);
  double err_weak = mean_squared_distance(weak, truth);
  double err_student = mean_squared_distance(strong, truth);
  double misfit = mean_squared_distance(strong, weak);
  EXPECT_NEAR(err_student, err_weak - misfit, 1e-6 * err_weak)
      << "err_weak " << err_weak << " err_student " << err_student << " misfit " << misfit;
  // Not a trivial instance: the student both gains a lot and keeps some of the weak error.
  EXPECT_GT(misfit, 0.1 * err_weak);
  EXPECT_GT(err_student, 0.1 * err_weak);
}

TEST(MisfitTheory, ConvexStudentGainIsAtLeastMisfit) {
  // w* ≥ 0 (realizable by the nonnegative class) with small positive weights at 2 and 6, where
  // the weak error pushes the unconstrained fit below zero: those constraints become active.
  Experiment s({1.0, 0.5, 0.1, 2.0, 0.0, 0.3, 0.1, 1.2}, {0.2, -0.1, -0.6, 0.3, 0.4, 0.1, -0.5, 0.0});
  Matrix G = gram(s.phi);
  std::vector<double> b = moments(s.phi, s.weak);
  std::vector<double> w_student = nonnegative_least_squares(G, b);

  // KKT conditions of the constrained optimum: zero gradient on free weights, nonnegative
  // gradient on weights held at zero; and at least one constraint is active.
  std::vector<double> grad = gradient(G, b, w_student);
  int active = 0;
  for (int a = 0; a < kK; ++a) {
    if (w_student[a] > 0) {
      EXPECT_NEAR(grad[a], 0.0, 1e-12) << "weight " << a;
    } else {
      EXPECT_GT(grad[a], 0.0) << "weight " << a;
      ++active;
    }
  }
  EXPECT_GE(active, 2);
  EXPECT_EQ(w_student[2], 0.0);
  EXPECT_EQ(w_student[6], 0.0);

  std::vector<double> student = linear_predict(s.phi, w_student);
  Predictions truth = as_predictions(s.y_star), weak = as_predictions(s.weak), strong = as_predictions(student);
  double err_weak = mean_squared_distance(weak, truth);
  double err_student = mean_squared_distance(strong, truth);
  double misfit = mean_squared_distance(strong, weak);
  EXPECT_LE(err_student, err_weak - misfit + 1e-9)
      << "err_weak " << err_weak << " err_student " << err_student << " misfit " << misfit;
  // Strict here: the active constraints cut off part of the weak error beyond the misfit.
  EXPECT_GT(err_weak - misfit - err_student, 1e-3);
  EXPECT_GT(misfit, 0.1 * err_weak);
}
