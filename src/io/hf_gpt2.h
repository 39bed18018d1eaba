// Hugging Face GPT-2 checkpoints (config.json + model.safetensors, or sharded) in and out of w2s's
// checkpoint format. Accepts GPT2Model names ("wte.weight"), GPT2LMHeadModel names (with the
// "transformer." prefix; a tied "lm_head.weight" is checked equal to wte), and
// GPT2ForSequenceClassification's "score.weight" (our classifier head).
#pragma once
#include <cstdint>
#include <string>

namespace w2s {

// The model's own vocabulary files (vocab.json + merges.txt), identified as a dataset records
// its tokenizer (Tokenizer::sha256). Empty sha256: none recorded.
struct HfTokenizerFiles {
  std::string folder;
  std::string sha256;
  int32_t vocab_size = 0;
};

// Reads DIR/config.json and the weights (DIR/model.safetensors, or the shards listed in
// DIR/model.safetensors.index.json), validates every tensor, writes ckpt.h5.
// tokenizer: "gpt2" (real GPT-2) or "byte" (w2s's small family, exported earlier). With
// tokenizer files, their identity is recorded (tokenizer_sha256) so that data tokenized with
// anything else is refused, and their vocabulary must fit the model's.
void import_hf_gpt2(const std::string& dir, const std::string& out_ckpt, const std::string& tokenizer,
                    const HfTokenizerFiles& files = {});

// Writes DIR/config.json and DIR/model.safetensors (F32, "transformer." names) from ckpt.h5.
void export_hf_gpt2(const std::string& ckpt, const std::string& out_dir);

}  // namespace w2s
