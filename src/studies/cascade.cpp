#include "studies/cascade.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "core/philox.h"
#include "core/strings.h"

namespace w2s {
namespace {

int argmax(const float* p, int C) { return static_cast<int>(std::max_element(p, p + C) - p); }

// What every point needs besides its own deferred set: sizes checked once, per-example
// correctness of each model and the strong-only totals.
struct Prepared {
  int64_t n = 0;
  std::vector<uint8_t> weak_ok, strong_ok;
  std::vector<float> conf;
  double weak_flops = 0.0, strong_flops = 0.0;  // sums over all examples
  int64_t weak_correct = 0;
};

Prepared prepare(const CascadeInput& in) {
  if (in.C < 2) throw UsageError(strfmt("cascade: needs a classification task with at least 2 classes (got %d)", in.C));
  const size_t n = in.labels.size();
  if (n == 0) throw UsageError("cascade: no examples");
  auto check = [&](const CascadeModel& m, const char* name) {
    if (m.probs.size() != n * static_cast<size_t>(in.C) || m.flops.size() != n)
      throw UsageError(strfmt("cascade: %s model has %zu probabilities and %zu costs for %zu examples of %d classes",
                              name, m.probs.size(), m.flops.size(), n, in.C));
  };
  check(in.weak, "weak");
  check(in.strong, "strong");
  Prepared p;
  p.n = static_cast<int64_t>(n);
  p.conf = confidences(in.weak.probs, in.C);
  p.weak_ok.resize(n);
  p.strong_ok.resize(n);
  for (size_t i = 0; i < n; ++i) {
    p.weak_ok[i] = argmax(in.weak.probs.data() + i * in.C, in.C) == in.labels[i];
    p.strong_ok[i] = argmax(in.strong.probs.data() + i * in.C, in.C) == in.labels[i];
    p.weak_correct += p.weak_ok[i];
    p.weak_flops += in.weak.flops[i];
    p.strong_flops += in.strong.flops[i];
  }
  return p;
}

// One point from its counts. The weak pass always runs in full; the strong pass is charged by
// the deferred examples' share of its FLOPs (so time follows the same weighting as compute).
CascadePoint make_point(const CascadeInput& in, const Prepared& p, double tau, int64_t deferred, int64_t correct,
                        double deferred_strong_flops) {
  CascadePoint pt;
  const double n = static_cast<double>(p.n);
  pt.tau = tau;
  pt.deferred = deferred;
  pt.deferred_fraction = static_cast<double>(deferred) / n;
  pt.correct = correct;
  pt.accuracy = static_cast<double>(correct) / n;
  const double flops = p.weak_flops + deferred_strong_flops;
  pt.flops_per_example = flops / n;
  pt.compute_fraction = p.strong_flops > 0 ? flops / p.strong_flops : 0.0;
  const double share = p.strong_flops > 0 ? deferred_strong_flops / p.strong_flops : 0.0;
  const double seconds = in.weak.seconds + in.strong.seconds * share;
  pt.seconds_per_example = seconds / n;
  // No measured strong time (constructed inputs): no time fraction rather than a division by 0.
  pt.time_fraction = in.strong.seconds > 0 ? seconds / in.strong.seconds : 0.0;
  return pt;
}

CascadePoint point_of(const CascadeInput& in, const Prepared& p, double tau) {
  int64_t deferred = 0, correct = 0;
  double strong_flops = 0.0;
  for (int64_t i = 0; i < p.n; ++i) {
    const size_t k = static_cast<size_t>(i);
    if (static_cast<double>(p.conf[k]) < tau) {
      ++deferred;
      correct += p.strong_ok[k];
      strong_flops += in.strong.flops[k];
    } else {
      correct += p.weak_ok[k];
    }
  }
  return make_point(in, p, tau, deferred, correct, strong_flops);
}

// Every distinct behaviour: τ = each distinct confidence (deferring those strictly below it),
// then a τ just above the largest (deferring all). Walks the examples in confidence order, so
// the curve costs O(n log n) however many points it has.
std::vector<CascadePoint> full_curve(const CascadeInput& in, const Prepared& p) {
  std::vector<int64_t> order(static_cast<size_t>(p.n));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return p.conf[static_cast<size_t>(a)] < p.conf[static_cast<size_t>(b)];
  });
  std::vector<CascadePoint> curve;
  int64_t deferred = 0, correct = p.weak_correct;
  double strong_flops = 0.0;
  size_t i = 0;
  while (i < order.size()) {
    const float c = p.conf[static_cast<size_t>(order[i])];
    curve.push_back(make_point(in, p, static_cast<double>(c), deferred, correct, strong_flops));
    for (; i < order.size() && p.conf[static_cast<size_t>(order[i])] == c; ++i) {
      const size_t k = static_cast<size_t>(order[i]);
      ++deferred;
      correct += static_cast<int64_t>(p.strong_ok[k]) - static_cast<int64_t>(p.weak_ok[k]);
      strong_flops += in.strong.flops[k];
    }
  }
  const double above = std::nextafter(static_cast<double>(p.conf[static_cast<size_t>(order.back())]),
                                      std::numeric_limits<double>::infinity());
  curve.push_back(make_point(in, p, above, deferred, correct, strong_flops));
  return curve;
}

double parse_number(const std::string& token, const std::string& text) {
  size_t used = 0;
  double v = 0.0;
  try {
    v = std::stod(token, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (token.empty() || used != token.size() || !std::isfinite(v) || v < 0)
    throw UsageError("--taus '" + text + "': '" + token + "' is not a non-negative number");
  return v;
}

}  // namespace

double forward_flops(const ModelConfig& config, int length) {
  const double d = config.d_model;
  const double embeddings = (static_cast<double>(config.vocab_size) + config.n_ctx) * d;
  const double N_blocks = static_cast<double>(config.num_parameters()) - embeddings;
  const double T = length;
  return T * (2.0 * N_blocks + 2.0 * config.n_layer * T * d) + 2.0 * d * config.num_classes;
}

std::vector<uint8_t> selection_split(size_t n, double fraction, uint64_t seed) {
  if (n < 2) throw UsageError(strfmt("cascade: choosing τ on held-out examples needs at least 2 examples, got %zu", n));
  if (!(fraction > 0.0 && fraction < 1.0))
    throw UsageError(strfmt("cascade: the selection fraction must be in (0, 1), got %g", fraction));
  std::vector<uint8_t> mask(n);
  size_t selected = 0;
  for (size_t i = 0; i < n; ++i) {
    mask[i] = philox_uniform(seed, stream_id("cascade.selection"), i) < fraction;
    selected += mask[i];
  }
  if (selected == 0) mask[0] = 1;
  if (selected == n) mask[n - 1] = 0;
  return mask;
}

CascadeInput subset(const CascadeInput& in, const std::vector<uint8_t>& mask, uint8_t keep) {
  if (mask.size() != in.labels.size())
    throw UsageError(strfmt("cascade: a split of %zu examples for %zu examples", mask.size(), in.labels.size()));
  prepare(in);  // sizes checked
  CascadeInput out;
  out.C = in.C;
  const size_t C = static_cast<size_t>(in.C);
  double weak_kept = 0, weak_all = 0, strong_kept = 0, strong_all = 0;
  for (size_t i = 0; i < mask.size(); ++i) {
    weak_all += in.weak.flops[i];
    strong_all += in.strong.flops[i];
    if (mask[i] != keep) continue;
    out.labels.push_back(in.labels[i]);
    for (const auto& [from, to] : {std::pair{&in.weak, &out.weak}, std::pair{&in.strong, &out.strong}}) {
      to->probs.insert(to->probs.end(), from->probs.begin() + static_cast<std::ptrdiff_t>(i * C),
                       from->probs.begin() + static_cast<std::ptrdiff_t>((i + 1) * C));
      to->flops.push_back(from->flops[i]);
    }
    weak_kept += in.weak.flops[i];
    strong_kept += in.strong.flops[i];
  }
  out.weak.seconds = weak_all > 0 ? in.weak.seconds * weak_kept / weak_all : 0.0;
  out.strong.seconds = strong_all > 0 ? in.strong.seconds * strong_kept / strong_all : 0.0;
  return out;
}

namespace {

CascadeChoice choice_at(const CascadeInput& report, const std::vector<CascadePoint>& selection_points, int best,
                        double report_target) {
  CascadeChoice c;
  if (best < 0) return c;
  c.found = true;
  c.selection = selection_points[static_cast<size_t>(best)];
  c.tau = c.selection.tau;
  c.report = cascade_point(report, c.tau);
  c.meets_target_on_report = c.report.accuracy >= report_target - 1e-12;
  return c;
}

}  // namespace

HeldOutChoice choose_tau_held_out(const CascadeInput& in, const std::vector<double>& taus, double target_fraction,
                                  const std::vector<uint8_t>& selection) {
  const CascadeInput chooser = subset(in, selection, 1), report = subset(in, selection, 0);
  if (chooser.labels.empty() || report.labels.empty())
    throw UsageError("cascade: the selection split must leave examples on both sides");
  const CascadeResult chosen = evaluate_cascade(chooser, taus, target_fraction);
  HeldOutChoice h;
  h.selection_examples = static_cast<int64_t>(chooser.labels.size());
  h.report_examples = static_cast<int64_t>(report.labels.size());
  h.target_fraction = target_fraction;
  h.selection_target_accuracy = chosen.target_accuracy;
  h.report_strong_accuracy = cascade_point(report, std::numeric_limits<double>::infinity()).accuracy;
  h.report_target_accuracy = target_fraction * h.report_strong_accuracy;
  h.sweep = choice_at(report, chosen.points, chosen.best, h.report_target_accuracy);
  h.curve = choice_at(report, chosen.curve, chosen.curve_best, h.report_target_accuracy);
  return h;
}

std::vector<float> confidences(const std::vector<float>& probs, int C) {
  if (C < 1 || probs.size() % static_cast<size_t>(C) != 0)
    throw UsageError(strfmt("cascade: %zu probabilities do not form rows of %d classes", probs.size(), C));
  std::vector<float> conf(probs.size() / static_cast<size_t>(C));
  for (size_t i = 0; i < conf.size(); ++i) {
    const float* row = probs.data() + i * C;
    conf[i] = *std::max_element(row, row + C);
  }
  return conf;
}

CascadePoint cascade_point(const CascadeInput& in, double tau) { return point_of(in, prepare(in), tau); }

int least_cost_point(const std::vector<CascadePoint>& points, double target_accuracy) {
  // Accuracies are correct/n and targets a fraction of one such ratio: allow the last-bit
  // rounding of that product, so "99% of 0.9" is met by exactly 0.891.
  const double need = target_accuracy - 1e-12;
  int best = -1;
  for (size_t i = 0; i < points.size(); ++i) {
    const CascadePoint& p = points[i];
    if (!(p.accuracy >= need)) continue;
    if (best < 0) {
      best = static_cast<int>(i);
      continue;
    }
    const CascadePoint& b = points[static_cast<size_t>(best)];
    const bool better = p.flops_per_example < b.flops_per_example ||
                        (p.flops_per_example == b.flops_per_example &&
                         (p.accuracy > b.accuracy || (p.accuracy == b.accuracy && p.tau < b.tau)));
    if (better) best = static_cast<int>(i);
  }
  return best;
}

CascadeResult evaluate_cascade(const CascadeInput& in, const std::vector<double>& taus, double target_fraction) {
  if (!std::isfinite(target_fraction) || target_fraction <= 0)
    throw UsageError(strfmt("cascade: the target fraction must be positive (got %g)", target_fraction));
  const Prepared p = prepare(in);
  CascadeResult r;
  r.n = p.n;
  const double n = static_cast<double>(p.n);
  r.weak_accuracy = static_cast<double>(p.weak_correct) / n;
  r.strong_accuracy = point_of(in, p, std::numeric_limits<double>::infinity()).accuracy;
  r.weak_flops_per_example = p.weak_flops / n;
  r.strong_flops_per_example = p.strong_flops / n;
  r.weak_seconds_per_example = in.weak.seconds / n;
  r.strong_seconds_per_example = in.strong.seconds / n;
  r.target_fraction = target_fraction;
  r.target_accuracy = target_fraction * r.strong_accuracy;
  for (double tau : taus) r.points.push_back(point_of(in, p, tau));
  r.best = least_cost_point(r.points, r.target_accuracy);
  r.curve = full_curve(in, p);
  r.curve_best = least_cost_point(r.curve, r.target_accuracy);
  return r;
}

std::vector<double> parse_taus(const std::string& text) {
  std::vector<std::string> tokens = split(text, ',');
  std::vector<double> out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string t = trim(tokens[i]);
    if (t != "...") {
      out.push_back(parse_number(t, text));
      continue;
    }
    // "a, b, ..., c": a + k·(b − a) for k ≥ 2 while ≤ c, then c itself.
    if (out.size() < 2 || i + 1 >= tokens.size() || trim(tokens[i + 1]) == "...")
      throw UsageError("--taus '" + text + "': '...' needs two values before it and one after");
    const double a = out[out.size() - 2], b = out.back();
    const double end = parse_number(trim(tokens[++i]), text);
    const double step = b - a;
    if (!(step > 0) || end < b)
      throw UsageError("--taus '" + text + "': '...' continues an increasing progression up to a larger value");
    const double slack = step * 1e-9;  // so 0.1-steps reach 1 despite binary rounding
    for (int64_t k = 2;; ++k) {
      double v = a + static_cast<double>(k) * step;
      if (v > end + slack) break;
      if (v > end - slack) v = end;
      out.push_back(std::round(v * 1e12) / 1e12);  // 0.30000000000000004 → 0.3
    }
    if (out.back() != end) out.push_back(end);
  }
  if (out.empty()) throw UsageError("--taus: no values given");
  return out;
}

}  // namespace w2s
