// GPT-2 model configuration (Hugging Face GPT2Config's shape fields) plus the heads w2s adds.
#pragma once
#include <string>

namespace w2s {

struct ModelConfig {
  int n_layer = 2;
  int n_head = 2;
  int d_model = 64;
  int n_ctx = 128;          // learned position embeddings (HF n_positions)
  int vocab_size = 258;     // true vocabulary; rows are padded to padded_vocab(tp) in memory
  int num_classes = 0;      // classification head outputs (0: no head; 1: regression)
  std::string tokenizer = "byte";  // "byte" | "gpt2": recorded so data and model must agree

  int head_dim() const { return d_model / n_head; }
  int ffn_dim() const { return 4 * d_model; }
  // Vocab padded to a multiple of 128 · tp, so every TP rank holds an equal slice of rows.
  int padded_vocab(int tp = 1) const;
  // Parameters of the transformer + tied LM head (HF counting, true vocab), without the classifier.
  long long num_parameters() const;
  // Training FLOPs per token (6·N + 6·L·T·d, as MFU is quoted) at sequence length T.
  double flops_per_token(int T) const;

  void validate() const;                  // UsageError on impossible shapes
  void validate_tp(int tp) const;         // UsageError unless tp divides heads and 4·d_model
  std::string describe() const;           // "6L/8H/256d ctx 256 vocab 258 (4.8M params)"
};

// Reads "n_layer = 6" style ini (configs/models/*.ini); unknown keys are a UsageError naming
// the file. Fields not in the file keep their defaults.
ModelConfig load_model_config(const std::string& path);

}  // namespace w2s
