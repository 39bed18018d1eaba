// Runs w2s's losses on cases given as JSON, for the PyTorch reference (test_losses_torch.py).
//   usage: loss_probe CASES.json RESULTS.json
// Each case: {"kind", "n", "C", "logits", "targets", "step_frac", "aux_alpha_max",
// "aux_warmup_frac", "product_alpha", "product_beta"} or {"kind": "soft_labels", "n", "C",
// "logits", "temperature"}. Each result: {"per_example", "dlogits", "alpha", "threshold"} or
// {"soft_labels"}.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "loss/losses.h"

using namespace w2s;
using nlohmann::json;

namespace {

json run_case(const json& c) {
  const int n = c.at("n"), C = c.at("C");
  std::vector<float> logits = c.at("logits").get<std::vector<float>>();
  if (c.at("kind") == "soft_labels") {
    std::vector<float> out(logits.size());
    soft_labels_from_logits(logits.data(), n, C, c.at("temperature").get<double>(), out.data());
    return {{"soft_labels", out}};
  }
  std::vector<float> targets = c.at("targets").get<std::vector<float>>();
  LossConfig cfg;
  cfg.kind = parse_loss_kind(c.at("kind").get<std::string>());
  cfg.aux_alpha_max = c.value("aux_alpha_max", cfg.aux_alpha_max);
  cfg.aux_warmup_frac = c.value("aux_warmup_frac", cfg.aux_warmup_frac);
  cfg.product_alpha = c.value("product_alpha", cfg.product_alpha);
  cfg.product_beta = c.value("product_beta", cfg.product_beta);
  LossResult r = compute_loss(cfg, logits.data(), targets.data(), n, C, c.value("step_frac", 0.0));
  return {{"per_example", r.per_example}, {"dlogits", r.dlogits}, {"alpha", r.alpha}, {"threshold", r.threshold}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: loss_probe CASES.json RESULTS.json\n");
    return 1;
  }
  try {
    json cases = json::parse(read_text_file(argv[1]));
    json results = json::array();
    for (const json& c : cases) results.push_back(run_case(c));
    write_text_atomic(argv[2], results.dump());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loss_probe: %s\n", e.what());
    return 3;
  }
  return 0;
}
