#include "optim/adamw.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace w2s {

AdamW::AdamW(const AdamConfig& cfg, const ParamTable& table, const ParamLayout& layout, int tp,
             const std::vector<FlatRange>& owned, const std::vector<bool>& trainable)
    : cfg_(cfg) {
  if (cfg.kind != "adamw" && cfg.kind != "adam")
    throw UsageError("unknown optimizer '" + cfg.kind + "' (adamw, adam)");
  // Intersect every owned range with every trainable tensor: padding is never touched.
  int64_t state = 0;
  for (const FlatRange& r : owned) {
    for (size_t i = 0; i < table.specs.size(); ++i) {
      if (!trainable[i]) continue;
      int64_t b = layout.offset[i], e = b + table.specs[i].local_numel(tp);
      int64_t lo = std::max(b, r.begin), hi = std::min(e, r.end);
      if (lo >= hi) continue;
      segments_.push_back({lo, hi, state, table.specs[i].weight_decay, !table.specs[i].replicated()});
      state += hi - lo;
    }
  }
  m_.assign(static_cast<size_t>(state), 0.0f);
  v_.assign(static_cast<size_t>(state), 0.0f);
}

void AdamW::step(float* params, const float* grads, double lr, int64_t t) {
  const float b1 = static_cast<float>(cfg_.beta1), b2 = static_cast<float>(cfg_.beta2);
  const float eps = static_cast<float>(cfg_.eps);
  const float bc1 = static_cast<float>(1.0 - std::pow(cfg_.beta1, static_cast<double>(t)));
  const float bc2 = static_cast<float>(1.0 - std::pow(cfg_.beta2, static_cast<double>(t)));
  const float flr = static_cast<float>(lr);
  const bool decoupled = cfg_.kind == "adamw";
  for (const Segment& s : segments_) {
    const float wd = s.decay ? static_cast<float>(cfg_.weight_decay) : 0.0f;
    float* m = m_.data() + s.state;
    float* v = v_.data() + s.state;
    const int64_t n = s.end - s.begin;
    float* p = params + s.begin;
    const float* g = grads + s.begin;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      float gi = decoupled ? g[i] : g[i] + wd * p[i];
      m[i] = b1 * m[i] + (1.0f - b1) * gi;
      v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
      float mhat = m[i] / bc1, vhat = v[i] / bc2;
      float update = mhat / (std::sqrt(vhat) + eps);
      if (decoupled) update += wd * p[i];
      p[i] -= flr * update;
    }
  }
}

void AdamW::grad_sq_sums(const float* grads, double* sharded, double* replicated) const {
  double sh = 0.0, rep = 0.0;
  for (const Segment& s : segments_) {
    double acc = 0.0;
    for (int64_t i = s.begin; i < s.end; ++i) acc += static_cast<double>(grads[i]) * grads[i];
    (s.sharded ? sh : rep) += acc;
  }
  *sharded = sh;
  *replicated = rep;
}

void AdamW::scale_grads(float* grads, float factor) const {
  for (const Segment& s : segments_)
    for (int64_t i = s.begin; i < s.end; ++i) grads[i] *= factor;
}

void AdamW::export_moments(std::vector<float>& m_flat, std::vector<float>& v_flat, int64_t flat_size) const {
  m_flat.assign(static_cast<size_t>(flat_size), 0.0f);
  v_flat.assign(static_cast<size_t>(flat_size), 0.0f);
  for (const Segment& s : segments_) {
    std::copy(m_.begin() + s.state, m_.begin() + s.state + (s.end - s.begin), m_flat.begin() + s.begin);
    std::copy(v_.begin() + s.state, v_.begin() + s.state + (s.end - s.begin), v_flat.begin() + s.begin);
  }
}

void AdamW::import_moments(const std::vector<float>& m_flat, const std::vector<float>& v_flat) {
  for (const Segment& s : segments_) {
    std::copy(m_flat.begin() + s.begin, m_flat.begin() + s.end, m_.begin() + s.state);
    std::copy(v_flat.begin() + s.begin, v_flat.begin() + s.end, v_.begin() + s.state);
  }
}

}  // namespace w2s
