#include "io/hf_gpt2.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/strings.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "model/params.h"

namespace w2s {
namespace {

using json = nlohmann::json;

int config_int(const json& c, const std::string& file, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (c.contains(k) && c[k].is_number_integer()) return c[k].get<int>();
  throw DataError(file, std::string("missing integer field '") + *keys.begin() + "'");
}

ModelConfig config_from_hf(const std::string& file, const std::string& tokenizer) {
  json c;
  try {
    c = json::parse(read_text_file(file));
  } catch (const json::exception& e) {
    throw DataError(file, std::string("not valid JSON: ") + e.what());
  }
  if (c.value("model_type", "gpt2") != "gpt2") throw DataError(file, "model_type is not gpt2");
  if (c.contains("layer_norm_epsilon") && std::fabs(c["layer_norm_epsilon"].get<double>() - 1e-5) > 1e-12)
    throw DataError(file, "layer_norm_epsilon must be 1e-5 (w2s's GPT-2)");
  std::string act = c.value("activation_function", "gelu_new");
  if (act != "gelu_new" && act != "gelu_pytorch_tanh")
    throw DataError(file, "activation_function '" + act + "' is not supported (gelu_new)");
  if (!c.value("tie_word_embeddings", true)) throw DataError(file, "untied word embeddings are not supported");
  if (c.value("scale_attn_by_inverse_layer_idx", false) || c.value("reorder_and_upcast_attn", false))
    throw DataError(file, "scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn are not supported");
  ModelConfig cfg;
  cfg.n_layer = config_int(c, file, {"n_layer", "num_hidden_layers"});
  cfg.n_head = config_int(c, file, {"n_head", "num_attention_heads"});
  cfg.d_model = config_int(c, file, {"n_embd", "hidden_size"});
  cfg.n_ctx = config_int(c, file, {"n_positions", "n_ctx"});
  cfg.vocab_size = config_int(c, file, {"vocab_size"});
  cfg.tokenizer = tokenizer;
  try {
    cfg.validate();
  } catch (const Error& e) {
    throw DataError(file, e.what());
  }
  return cfg;
}

// Safetensors key for one of our tensor names, whichever naming the file uses.
std::string find_key(const SafetensorsFolder& st, const std::string& name) {
  if (st.has(name)) return name;
  if (st.has("transformer." + name)) return "transformer." + name;
  return "";
}

}  // namespace

void import_hf_gpt2(const std::string& dir, const std::string& out_ckpt, const std::string& tokenizer,
                    const HfTokenizerFiles& files) {
  ModelConfig cfg = config_from_hf(dir + "/config.json", tokenizer);
  if (!files.sha256.empty() && files.vocab_size > cfg.vocab_size)
    throw DataError(files.folder, strfmt("the tokenizer has %d tokens, more than the model's vocab_size %d (%s)",
                                         files.vocab_size, cfg.vocab_size, (dir + "/config.json").c_str()));
  SafetensorsFolder st(dir);
  if (st.has("score.weight")) cfg.num_classes = static_cast<int>(st.entry("score.weight").shape.at(0));
  ParamTable table = build_param_table(cfg, 1);
  std::map<std::string, std::vector<float>> tensors;
  std::set<std::string> used;
  for (const ParamSpec& spec : table.specs) {
    std::string key = find_key(st, spec.name);
    if (key.empty()) throw DataError(st.source(), "tensor '" + spec.name + "' missing");
    const SafetensorsEntry& e = st.entry(key);
    std::vector<int64_t> want = spec.is_1d ? std::vector<int64_t>{spec.cols} : std::vector<int64_t>{spec.stored_rows, spec.cols};
    if (e.shape != want)
      throw DataError(st.file_of(key), "tensor '" + key + "' has shape " + nlohmann::json(e.shape).dump() + ", expected " +
                                   nlohmann::json(want).dump());
    tensors[spec.name] = st.read_f32(key);
    used.insert(key);
  }
  if (st.has("lm_head.weight")) {
    if (st.read_f32("lm_head.weight") != tensors["wte.weight"])
      throw DataError(st.file_of("lm_head.weight"), "lm_head.weight differs from wte.weight: untied heads are not supported");
    used.insert("lm_head.weight");
  }
  for (const std::string& key : st.names()) {
    bool buffer = ends_with(key, ".attn.bias") || ends_with(key, ".attn.masked_bias");
    if (!used.count(key) && !buffer) throw DataError(st.file_of(key), "unexpected tensor '" + key + "'");
  }
  std::map<std::string, std::string> attrs = {{"init", "import-hf " + dir}};
  // Datasets tokenized with other vocabulary files are then refused by every command that
  // pairs data with this model (train, label, eval), as for a fine-tuned checkpoint.
  if (!files.sha256.empty()) attrs["tokenizer_sha256"] = files.sha256;
  write_full_checkpoint(out_ckpt, cfg, tensors, attrs);
  log_info("imported " + dir + " (" + cfg.describe() +
           (st.shard_count() > 1 ? strfmt(", %zu shards", st.shard_count()) : std::string()) +
           (files.sha256.empty() ? "" : ", tokenizer files of " + files.folder) + ") -> " + out_ckpt);
}

void export_hf_gpt2(const std::string& ckpt, const std::string& out_dir) {
  CheckpointInfo info = read_checkpoint_info(ckpt);
  const ModelConfig& c = info.config;
  std::map<std::string, std::vector<float>> params = read_full_params(ckpt);
  ParamTable table = build_param_table(c, 1);
  std::vector<SafetensorsTensor> tensors;
  for (const ParamSpec& spec : table.specs) {
    std::vector<int64_t> shape = spec.is_1d ? std::vector<int64_t>{spec.cols} : std::vector<int64_t>{spec.stored_rows, spec.cols};
    std::string key = spec.name == "score.weight" ? spec.name : "transformer." + spec.name;
    tensors.push_back({key, shape, params.at(spec.name).data()});
  }
  const bool classifier = c.num_classes > 0;
  json cfg = {{"model_type", "gpt2"},
              {"architectures", {classifier ? "GPT2ForSequenceClassification" : "GPT2LMHeadModel"}},
              {"vocab_size", c.vocab_size}, {"n_positions", c.n_ctx}, {"n_ctx", c.n_ctx}, {"n_embd", c.d_model},
              {"n_layer", c.n_layer}, {"n_head", c.n_head}, {"layer_norm_epsilon", 1e-5},
              {"activation_function", "gelu_new"}, {"resid_pdrop", 0.1}, {"embd_pdrop", 0.1}, {"attn_pdrop", 0.1},
              {"initializer_range", 0.02}, {"tie_word_embeddings", true},
              {"bos_token_id", c.vocab_size - 1}, {"eos_token_id", c.vocab_size - 1}};
  if (c.tokenizer == "byte") cfg["bos_token_id"] = cfg["eos_token_id"] = 256;
  if (classifier) {
    cfg["num_labels"] = c.num_classes;
    cfg["pad_token_id"] = cfg["eos_token_id"];
  }
  make_dirs(out_dir);
  write_safetensors(out_dir + "/model.safetensors", tensors,
                    {{"format", "pt"}, {"w2s_tokenizer", c.tokenizer}, {"w2s_source", ckpt}});
  write_text_atomic(out_dir + "/config.json", cfg.dump(2) + "\n");
  log_info("exported " + ckpt + " (" + c.describe() + ") -> " + out_dir);
}

}  // namespace w2s
