// The model shape and step counts every training benchmark takes on its command line
// (--layers --heads --dim --seq --batch --vocab --steps --warmup), parsed in one place; each
// program adds its own switches through `extra`.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "core/philox.h"
#include "model/config.h"

namespace w2s::bench {

struct Shape {
  int layers, heads, dim, seq, batch, vocab, steps, warmup;
};

// Fills `shape` from argv; an option that is not a shape option goes to `extra`, which returns
// false for one it does not know either (then the program exits 1 naming it).
inline void parse_args(int argc, char** argv, Shape& shape, const std::function<bool(const std::string&)>& extra) {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (k == "--layers") shape.layers = next();
    else if (k == "--heads") shape.heads = next();
    else if (k == "--dim") shape.dim = next();
    else if (k == "--seq") shape.seq = next();
    else if (k == "--batch") shape.batch = next();
    else if (k == "--vocab") shape.vocab = next();
    else if (k == "--steps") shape.steps = next();
    else if (k == "--warmup") shape.warmup = next();
    else if (!extra(k)) {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      std::exit(1);
    }
  }
}

// The GPT-2 of that shape (context = seq).
inline ModelConfig model_config(const Shape& shape) {
  ModelConfig cfg;
  cfg.n_layer = shape.layers;
  cfg.n_head = shape.heads;
  cfg.d_model = shape.dim;
  cfg.n_ctx = shape.seq;
  cfg.vocab_size = shape.vocab;
  return cfg;
}

// The benchmark batch: batch·seq random tokens and next-token targets from fixed Philox
// streams (throughput does not depend on the data; the same bits in every program).
struct TokenBatch {
  std::vector<int32_t> tokens, targets;
};
inline TokenBatch random_tokens(const Shape& shape) {
  const size_t n = static_cast<size_t>(shape.batch) * static_cast<size_t>(shape.seq);
  TokenBatch b{std::vector<int32_t>(n), std::vector<int32_t>(n)};
  for (size_t i = 0; i < n; ++i) {
    b.tokens[i] = static_cast<int32_t>(philox4x32(1, 0, i)[0] % static_cast<uint32_t>(shape.vocab));
    b.targets[i] = static_cast<int32_t>(philox4x32(1, 1, i)[0] % static_cast<uint32_t>(shape.vocab));
  }
  return b;
}

}  // namespace w2s::bench
