// The paper's losses (Burns et al. 2023 §4.3.2 and the openai/weak-to-strong reference code).
// Every softmax loss here is a soft cross-entropy CE(z, t) = −Σ_c t_c · log softmax(z)_c with a
// loss-specific target t that carries no gradient; they differ only in how t is built:
//   gt, xent  t = y                         (hard or soft labels as given)
//   auxconf   t = (1 − α)·y + α·h           (h: the student's own hardened prediction)
//   product   t ∝ p^β · y^α                 (p: the student's probabilities)
// Arithmetic is in double per row; results are stored as float.
#include "loss/losses.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/strings.h"
#include "core/quantile.h"

namespace w2s {

namespace {

struct LossName {
  LossKind kind;
  const char* name;
};
constexpr LossName kLossNames[] = {{LossKind::GroundTruth, "gt"},
                                   {LossKind::Xent, "xent"},
                                   {LossKind::AuxConf, "auxconf"},
                                   {LossKind::Product, "product"},
                                   {LossKind::Squared, "squared"}};

// log softmax(x) of one row with x = z · scale, stable: x_c − max − log Σ exp(x_j − max).
void log_softmax_row(const float* z, int C, double* out, double scale = 1.0) {
  for (int c = 0; c < C; ++c) out[c] = static_cast<double>(z[c]) * scale;
  double xmax = *std::max_element(out, out + C);
  double sum = 0;
  for (int c = 0; c < C; ++c) sum += std::exp(out[c] - xmax);
  double log_norm = xmax + std::log(sum);
  for (int c = 0; c < C; ++c) out[c] -= log_norm;
}

// softmax(logits) of every row, in double: [n, C].
std::vector<double> softmax_rows(const float* logits, int n, int C) {
  std::vector<double> p(static_cast<size_t>(n) * C);
  for (int i = 0; i < n; ++i) {
    double* row = &p[static_cast<size_t>(i) * C];
    log_softmax_row(logits + static_cast<size_t>(i) * C, C, row);
    for (int c = 0; c < C; ++c) row[c] = std::exp(row[c]);
  }
  return p;
}

// Soft cross-entropy of every row against fixed targets t:
//   loss_i = −Σ_c t_ic · log p_ic,   dloss_i/dz_ic = p_ic · Σ_j t_ij − t_ic   (p = softmax(z_i)).
void soft_cross_entropy(const float* logits, const double* targets, int n, int C, LossResult& r) {
  r.per_example.assign(n, 0.0f);
  r.dlogits.assign(static_cast<size_t>(n) * C, 0.0f);
  std::vector<double> logp(C);
  for (int i = 0; i < n; ++i) {
    const size_t off = static_cast<size_t>(i) * C;
    log_softmax_row(logits + off, C, logp.data());
    double loss = 0, target_mass = 0;
    for (int c = 0; c < C; ++c) {
      loss -= targets[off + c] * logp[c];
      target_mass += targets[off + c];
    }
    for (int c = 0; c < C; ++c)
      r.dlogits[off + c] = static_cast<float>(std::exp(logp[c]) * target_mass - targets[off + c]);
    r.per_example[i] = static_cast<float>(loss);
  }
}

std::vector<double> to_double(const float* x, size_t count) { return std::vector<double>(x, x + count); }

// Binary hardening as in the reference logconf loss: the threshold on p(class 0) is its
// q-quantile over the batch with q = mean weak p(class 1), so about a fraction q of the batch is
// hardened to class 1 (p0 < t) and the rest to class 0 (p0 ≥ t): the hardened class balance
// matches the weak labels'. The batch is the whole optimizer batch: a micro-batching caller
// passes the threshold it computed over all of it (auxconf_threshold). Returns t; writes h
// [n, 2] as 0/1.
double threshold_of(const std::vector<double>& p, const float* weak, int n) {
  std::vector<double> p0(n);
  double mean_weak1 = 0;
  for (int i = 0; i < n; ++i) {
    p0[i] = p[2 * static_cast<size_t>(i)];
    mean_weak1 += weak[2 * static_cast<size_t>(i) + 1];
  }
  mean_weak1 /= n;
  return quantile(p0, mean_weak1);  // NaN logits: NaN threshold, h all zero (as torch)
}

double harden_binary(const std::vector<double>& p, const float* weak, int n, std::optional<double> batch_threshold,
                     std::vector<double>& h) {
  const double threshold = batch_threshold ? *batch_threshold : threshold_of(p, weak, n);
  for (int i = 0; i < n; ++i) {
    const double p0i = p[2 * static_cast<size_t>(i)];
    h[2 * static_cast<size_t>(i)] = p0i >= threshold ? 1.0 : 0.0;
    h[2 * static_cast<size_t>(i) + 1] = p0i < threshold ? 1.0 : 0.0;
  }
  return threshold;
}

// More than two classes: no single threshold can match a class balance, so h is the one-hot
// argmax of the student's probabilities (Burns et al. describe the binary case only).
void harden_argmax(const std::vector<double>& p, int n, int C, std::vector<double>& h) {
  for (int i = 0; i < n; ++i) {
    const double* row = &p[static_cast<size_t>(i) * C];
    int best = static_cast<int>(std::max_element(row, row + C) - row);
    h[static_cast<size_t>(i) * C + best] = 1.0;
  }
}

// auxconf: t = (1 − α)·y + α·h with α = aux_alpha(cfg, s), h the hardened student prediction.
LossResult auxconf_loss(const LossConfig& cfg, const float* logits, const float* weak, int n, int C,
                        double step_frac, std::optional<double> batch_threshold) {
  if (C < 2) throw UsageError(strfmt("loss auxconf needs at least 2 classes, got %d", C));
  LossResult r;
  r.alpha = aux_alpha(cfg, step_frac);
  std::vector<double> p = softmax_rows(logits, n, C);
  std::vector<double> h(static_cast<size_t>(n) * C, 0.0);
  if (n > 0 && C == 2) r.threshold = harden_binary(p, weak, n, batch_threshold, h);
  if (C > 2) harden_argmax(p, n, C, h);
  std::vector<double> target(h.size());
  for (size_t k = 0; k < target.size(); ++k) target[k] = (1.0 - r.alpha) * weak[k] + r.alpha * h[k];
  soft_cross_entropy(logits, target.data(), n, C, r);
  return r;
}

// product: t_c = p_c^β · y_c^α / Σ_j p_j^β · y_j^α, built in log space so that tiny
// probabilities do not underflow to an all-zero row. y_c ≤ 0 has weight 0 (unless α = 0, where
// y^0 = 1 as in torch.pow); a row whose product is all zero falls back to t = y.
LossResult product_loss(const LossConfig& cfg, const float* logits, const float* weak, int n, int C) {
  const double alpha = cfg.product_alpha, beta = cfg.product_beta;
  const double neg_inf = -std::numeric_limits<double>::infinity();
  std::vector<double> target(static_cast<size_t>(n) * C);
  std::vector<double> logp(C), logt(C);
  for (int i = 0; i < n; ++i) {
    const size_t off = static_cast<size_t>(i) * C;
    log_softmax_row(logits + off, C, logp.data());
    double max_logt = neg_inf;
    for (int c = 0; c < C; ++c) {
      double y = weak[off + c];
      double log_y_term = alpha == 0.0 ? 0.0 : (y > 0.0 ? alpha * std::log(y) : neg_inf);
      logt[c] = beta * logp[c] + log_y_term;
      max_logt = std::max(max_logt, logt[c]);
    }
    if (!std::isfinite(max_logt)) {  // all-zero product (or non-finite logits): keep y
      for (int c = 0; c < C; ++c) target[off + c] = weak[off + c];
      continue;
    }
    double sum = 0;
    for (int c = 0; c < C; ++c) sum += std::exp(logt[c] - max_logt);
    for (int c = 0; c < C; ++c) target[off + c] = std::exp(logt[c] - max_logt) / sum;
  }
  LossResult r;
  soft_cross_entropy(logits, target.data(), n, C, r);
  return r;
}

// squared (regression, one output): loss_i = (z_i − y_i)², dloss_i/dz_i = 2·(z_i − y_i).
LossResult squared_loss(const float* logits, const float* y, int n, int C) {
  if (C != 1) throw UsageError(strfmt("loss squared needs exactly one output (C = 1), got C = %d", C));
  LossResult r;
  r.per_example.resize(n);
  r.dlogits.resize(n);
  for (int i = 0; i < n; ++i) {
    double diff = static_cast<double>(logits[i]) - static_cast<double>(y[i]);
    r.per_example[i] = static_cast<float>(diff * diff);
    r.dlogits[i] = static_cast<float>(2.0 * diff);
  }
  return r;
}

}  // namespace

LossKind parse_loss_kind(const std::string& name) {
  std::vector<std::string> choices;
  for (const LossName& entry : kLossNames) {
    if (name == entry.name) return entry.kind;
    choices.push_back(entry.name);
  }
  throw UsageError("unknown loss '" + name + "' (choices: " + join(choices, ", ") + ")");
}

std::string loss_kind_name(LossKind kind) {
  for (const LossName& entry : kLossNames)
    if (entry.kind == kind) return entry.name;
  throw RuntimeError(strfmt("loss_kind_name: unknown LossKind %d", static_cast<int>(kind)));
}

// α(s) = min(α_max · s / warmup_frac, α_max), s clamped at 0; warmup_frac ≤ 0 means no warm-up.
double aux_alpha(const LossConfig& cfg, double step_frac) {
  if (cfg.aux_warmup_frac <= 0.0) return cfg.aux_alpha_max;
  double s = std::max(step_frac, 0.0);
  return std::min(cfg.aux_alpha_max * s / cfg.aux_warmup_frac, cfg.aux_alpha_max);
}

LossResult compute_loss(const LossConfig& cfg, const float* logits, const float* targets, int n, int C,
                        double step_frac, std::optional<double> aux_threshold) {
  if (n < 0 || C < 1) throw UsageError(strfmt("compute_loss: bad shape n = %d, C = %d", n, C));
  switch (cfg.kind) {
    case LossKind::GroundTruth:
    case LossKind::Xent: {
      LossResult r;
      std::vector<double> t = to_double(targets, static_cast<size_t>(n) * C);
      soft_cross_entropy(logits, t.data(), n, C, r);
      return r;
    }
    case LossKind::AuxConf: return auxconf_loss(cfg, logits, targets, n, C, step_frac, aux_threshold);
    case LossKind::Product: return product_loss(cfg, logits, targets, n, C);
    case LossKind::Squared: return squared_loss(logits, targets, n, C);
  }
  throw RuntimeError(strfmt("compute_loss: unknown LossKind %d", static_cast<int>(cfg.kind)));
}

double auxconf_threshold(const float* logits, const float* weak, int n) {
  if (n < 1) throw UsageError(strfmt("auxconf_threshold: needs at least one example, got %d", n));
  return threshold_of(softmax_rows(logits, n, 2), weak, n);
}

// out_ic = softmax(z_i / T)_c, stable (max subtracted before exp).
void soft_labels_from_logits(const float* logits, int n, int C, double temperature, float* out) {
  if (!(temperature > 0.0) || !std::isfinite(temperature))
    throw UsageError(strfmt("temperature must be a positive number, got %g", temperature));
  std::vector<double> logp(C);
  for (int i = 0; i < n; ++i) {
    const size_t off = static_cast<size_t>(i) * C;
    log_softmax_row(logits + off, C, logp.data(), 1.0 / temperature);
    for (int c = 0; c < C; ++c) out[off + c] = static_cast<float>(std::exp(logp[c]));
  }
}

}  // namespace w2s
