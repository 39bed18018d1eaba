// Hugging Face GPT-2 checkpoints (config.json + model.safetensors) in and out of w2s's
// checkpoint format. Accepts GPT2Model names ("wte.weight"), GPT2LMHeadModel names (with the
// "transformer." prefix; a tied "lm_head.weight" is checked equal to wte), and
// GPT2ForSequenceClassification's "score.weight" (our classifier head).
#pragma once
#include <string>

namespace w2s {

// Reads DIR/config.json and DIR/model.safetensors, validates every tensor, writes ckpt.h5.
// tokenizer: "gpt2" (real GPT-2) or "byte" (w2s's small family, exported earlier).
void import_hf_gpt2(const std::string& dir, const std::string& out_ckpt, const std::string& tokenizer);

// Writes DIR/config.json and DIR/model.safetensors (F32, "transformer." names) from ckpt.h5.
void export_hf_gpt2(const std::string& ckpt, const std::string& out_dir);

}  // namespace w2s
