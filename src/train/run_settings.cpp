#include "train/run_settings.h"

#include <charconv>
#include <filesystem>
#include <set>
#include <sstream>


namespace w2s {
namespace {

// Shortest text that reads back as the same double: exact, and readable in error messages.
std::string number_text(double x) {
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof(buf), x);
  return std::string(buf, result.ptr);
}

// The same input reached from another working directory is the same input.
std::string path_identity(const std::string& p) {
  if (p.empty()) return "";
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::absolute(p, ec), ec);
  return ec ? fs::path(p).lexically_normal().string() : canonical.string();
}

}  // namespace

RunSettings result_settings(const TrainConfig& c) {
  RunSettings s;
  s["objective"] = c.objective;
  s["data"] = path_identity(c.data);
  s["labels"] = path_identity(c.labels_dir);
  s["init"] = path_identity(c.init_ckpt);
  s["loss"] = loss_kind_name(c.loss.kind);
  s["aux-alpha-max"] = number_text(c.loss.aux_alpha_max);
  s["aux-warmup-frac"] = number_text(c.loss.aux_warmup_frac);
  s["product-alpha"] = number_text(c.loss.product_alpha);
  s["product-beta"] = number_text(c.loss.product_beta);
  s["kd-temperature"] = number_text(c.kd_temperature);
  s["freeze-backbone"] = c.freeze_backbone ? "true" : "false";
  s["select-confident"] = number_text(c.select_confident);
  s["batch-size"] = std::to_string(c.batch_size);
  s["steps"] = std::to_string(c.steps);
  s["epochs"] = number_text(c.epochs);
  s["seq-len"] = std::to_string(c.seq_len);
  s["lr"] = number_text(c.lr.lr);
  s["warmup-steps"] = std::to_string(c.lr.warmup_steps);
  s["min-lr-frac"] = number_text(c.lr.min_lr_frac);
  s["schedule"] = c.lr.kind;
  s["optimizer"] = c.adam.kind;
  s["beta1"] = number_text(c.adam.beta1);
  s["beta2"] = number_text(c.adam.beta2);
  s["adam-eps"] = number_text(c.adam.eps);
  s["weight-decay"] = number_text(c.adam.weight_decay);
  s["grad-clip"] = number_text(c.grad_clip);
  s["seed"] = std::to_string(c.seed);
  s["device"] = c.device;
  // Only runs that validate record these, so that checkpoints written before they existed still
  // resume. The curve and the kept checkpoint depend on all of them.
  if (!c.valid_data.empty()) {
    s["valid"] = path_identity(c.valid_data);
    s["valid-labels"] = path_identity(c.valid_labels_dir);
    s["valid-ground-truth"] = c.valid_ground_truth ? "true" : "false";
    s["eval-every"] = std::to_string(c.eval_every);
    s["early-stop"] = std::to_string(c.early_stop);
  }
  return s;
}

std::string settings_text(const RunSettings& settings) {
  std::string out;
  for (const auto& [key, value] : settings) out += key + " = " + value + "\n";
  return out;
}

RunSettings parse_settings_text(const std::string& text) {
  RunSettings s;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    s[line.substr(0, eq)] = line.substr(eq + 3);
  }
  return s;
}

std::vector<std::string> settings_differences(const RunSettings& recorded, const RunSettings& now) {
  std::set<std::string> keys;
  for (const auto& kv : recorded) keys.insert(kv.first);
  for (const auto& kv : now) keys.insert(kv.first);
  auto shown = [](const RunSettings& s, const std::string& key) {
    auto it = s.find(key);
    if (it == s.end()) return std::string("(unset)");
    return it->second.empty() ? std::string("(none)") : it->second;
  };
  std::vector<std::string> out;
  for (const std::string& key : keys) {
    const std::string before = shown(recorded, key), after = shown(now, key);
    if (before != after) out.push_back("--" + key + ": " + before + " in the checkpoint, now " + after);
  }
  return out;
}

}  // namespace w2s
