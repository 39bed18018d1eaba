#include "model/config.h"

#include <fstream>
#include <map>

#include "core/error.h"
#include "core/strings.h"

namespace w2s {

int ModelConfig::padded_vocab(int tp) const {
  int multiple = 128 * tp;
  return (vocab_size + multiple - 1) / multiple * multiple;
}

long long ModelConfig::num_parameters() const {
  long long C = d_model, L = n_layer;
  long long per_block = 2 * C + (C * 3 * C + 3 * C) + (C * C + C) + 2 * C + (C * 4 * C + 4 * C) + (4 * C * C + C);
  return static_cast<long long>(vocab_size) * C + static_cast<long long>(n_ctx) * C + L * per_block + 2 * C;
}

double ModelConfig::flops_per_token(int T) const {
  return 6.0 * static_cast<double>(num_parameters()) + 6.0 * n_layer * T * d_model;
}

void ModelConfig::validate() const {
  if (n_layer < 1 || n_head < 1 || d_model < 1 || n_ctx < 1 || vocab_size < 1)
    throw UsageError("model config: n_layer, n_head, d_model, n_ctx and vocab_size must be positive");
  if (d_model % n_head != 0)
    throw UsageError(strfmt("model config: n_head %d does not divide d_model %d", n_head, d_model));
  if (num_classes < 0) throw UsageError("model config: num_classes must be >= 0");
  if (tokenizer != "byte" && tokenizer != "gpt2")
    throw UsageError("model config: tokenizer must be 'byte' or 'gpt2', got '" + tokenizer + "'");
}

void ModelConfig::validate_tp(int tp) const {
  if (n_head % tp != 0)
    throw UsageError(strfmt("--tp %d does not divide the number of attention heads %d", tp, n_head));
  if (ffn_dim() % tp != 0) throw UsageError(strfmt("--tp %d does not divide the MLP width %d", tp, ffn_dim()));
}

std::string ModelConfig::describe() const {
  return strfmt("%dL/%dH/%dd ctx %d vocab %d (%.2fM params)", n_layer, n_head, d_model, n_ctx, vocab_size,
                static_cast<double>(num_parameters()) / 1e6);
}

ModelConfig load_model_config(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw UsageError(path + ": cannot open model config");
  ModelConfig cfg;
  std::map<std::string, int*> ints = {{"n_layer", &cfg.n_layer}, {"n_head", &cfg.n_head}, {"d_model", &cfg.d_model},
                                      {"n_ctx", &cfg.n_ctx},     {"vocab_size", &cfg.vocab_size},
                                      {"num_classes", &cfg.num_classes}};
  std::string line;
  int lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';' || t[0] == '[') continue;
    size_t eq = t.find('=');
    if (eq == std::string::npos) throw UsageError(strfmt("%s:%d: expected 'key = value'", path.c_str(), lineno));
    std::string key = trim(t.substr(0, eq)), value = trim(t.substr(eq + 1));
    if (key == "tokenizer") {
      cfg.tokenizer = value;
    } else if (auto it = ints.find(key); it != ints.end()) {
      try {
        *it->second = std::stoi(value);
      } catch (const std::exception&) {
        throw UsageError(strfmt("%s:%d: '%s' is not an integer", path.c_str(), lineno, value.c_str()));
      }
    } else {
      throw UsageError(strfmt("%s:%d: unknown model config key '%s'", path.c_str(), lineno, key.c_str()));
    }
  }
  cfg.validate();
  return cfg;
}

}  // namespace w2s
