// Writes a small GPT-2 as a Hugging Face folder (w2s export-hf) plus the LM logits w2s computes
// for fixed tokens, for test_hf_export_torch.py (and tools/hf_parity.py on a node with
// transformers).   usage: hf_export_dump OUT_DIR [n_layer n_head d_model vocab]
#include <mpi.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "comm/process_grid.h"
#include "core/log.h"
#include "core/philox.h"
#include "io/checkpoint.h"
#include "io/h5.h"
#include "io/hf_gpt2.h"
#include "model/gpt2.h"

using namespace w2s;

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  set_log_quiet(true);
  std::string out = argc > 1 ? argv[1] : ".";
  ModelConfig cfg;
  cfg.n_layer = argc > 2 ? std::atoi(argv[2]) : 2;
  cfg.n_head = argc > 3 ? std::atoi(argv[3]) : 4;
  cfg.d_model = argc > 4 ? std::atoi(argv[4]) : 32;
  cfg.vocab_size = argc > 5 ? std::atoi(argv[5]) : 258;
  cfg.n_ctx = 32;
  cfg.tokenizer = cfg.vocab_size == 50257 ? "gpt2" : "byte";
  ProcessGrid grid = ProcessGrid::single();
  Gpt2 model(cfg, grid.tp(), 2024);
  save_checkpoint(out + "/ckpt.h5", model, nullptr, false, grid, TrainState{}, {});
  export_hf_gpt2(out + "/ckpt.h5", out + "/hf");
  const int B = 2, T = 16;
  std::vector<int32_t> tokens(B * T);
  for (int i = 0; i < B * T; ++i) tokens[static_cast<size_t>(i)] = static_cast<int32_t>(philox4x32(5, 0, static_cast<uint64_t>(i))[0] % cfg.vocab_size);
  std::vector<float> logits;
  model.lm_logits_local(tokens.data(), B, T, logits);
  h5::File f = h5::File::create(out + "/logits.h5");
  f.write<int32_t>("/tokens", {B, T}, tokens.data());
  f.write<float>("/logits", {B, T, static_cast<hsize_t>(cfg.padded_vocab())}, logits.data());
  f.set_attr("/", "vocab_size", int64_t{cfg.vocab_size});
  f.close();
  MPI_Finalize();
  return 0;
}
