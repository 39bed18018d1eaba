// Tiny synthetic inputs shared by the unit and MPI tests: a model shape on the byte tokenizer and
// a classification dataset whose label depends on the tokens (so training moves the loss).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/philox.h"
#include "data/token_dataset.h"
#include "model/config.h"

namespace w2s::test {

// A GPT-2 shape on the byte tokenizer's vocabulary; num_classes 0 for the LM head only.
inline ModelConfig byte_model_config(int n_layer, int n_head, int d_model, int n_ctx, int num_classes) {
  ModelConfig cfg;
  cfg.n_layer = n_layer;
  cfg.n_head = n_head;
  cfg.d_model = d_model;
  cfg.n_ctx = n_ctx;
  cfg.vocab_size = 258;
  cfg.num_classes = num_classes;
  cfg.tokenizer = "byte";
  return cfg;
}

// A classification dataset's header on the byte tokenizer (pad 257, vocabulary 258), with
// placeholder identities for the tokenizer and the source.
inline TokenDatasetInfo byte_dataset_info(int max_len, int num_classes, const std::string& split) {
  TokenDatasetInfo info;
  info.max_len = max_len;
  info.num_classes = num_classes;
  info.pad_id = 257;
  info.vocab_size = 258;
  info.tokenizer = "byte";
  info.tokenizer_sha256 = "tok";
  info.source_sha256 = "src";
  info.split = split;
  return info;
}

// A classification dataset whose label depends on the tokens (so training moves the loss).
inline void write_tiny_classification(const std::string& path, int n, int C = 2) {
  TokenDatasetInfo info;
  info.num_classes = C;
  info.max_len = 16;
  info.pad_id = 257;
  info.tokenizer = "byte";
  info.split = "train";
  std::vector<TokenizedExample> rows;
  for (int i = 0; i < n; ++i) {
    TokenizedExample e;
    e.id = 1000 + 7 * i;
    int len = 4 + static_cast<int>(philox4x32(5, 1, static_cast<uint64_t>(i))[0] % 12);
    for (int t = 0; t < len; ++t) e.tokens.push_back(static_cast<int32_t>(philox4x32(5, 2, static_cast<uint64_t>(i * 64 + t))[0] % 256));
    e.label = (e.tokens[0] + e.tokens[len - 1]) % C;
    rows.push_back(e);
  }
  write_token_dataset(path, info, rows);
}

}  // namespace w2s::test
