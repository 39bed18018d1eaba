// `w2s import-hf` / `w2s export-hf`: Hugging Face GPT-2 checkpoints in and out.
#include "cli/command.h"
#include "cli/options.h"
#include "io/hf_gpt2.h"

namespace w2s {
namespace {

int import_command(const std::vector<std::string>& args) {
  std::string dir, out, tokenizer;
  po::options_description d("w2s import-hf options");
  d.add_options()("dir", po::value(&dir)->required(), "folder with config.json and model.safetensors")(
      "out", po::value(&out)->required(), "w2s checkpoint to write (ckpt.h5)")(
      "tokenizer", po::value(&tokenizer)->default_value("gpt2"), "the model's tokenizer: gpt2 | byte");
  po::positional_options_description pos;
  pos.add("dir", 1);
  ParsedCommand p = parse_command("import-hf", "DIR --out ckpt.h5 [--tokenizer gpt2]\n\n"
                                  "Reads a Hugging Face GPT-2 (GPT2Model, GPT2LMHeadModel or GPT2ForSequenceClassification;\n"
                                  "F32/F16/BF16 safetensors) and writes it as a w2s checkpoint, validating every tensor.",
                                  d, args, &pos);
  if (p.help) return 0;
  import_hf_gpt2(dir, out, tokenizer);
  return 0;
}

int export_command(const std::vector<std::string>& args) {
  std::string ckpt, out;
  po::options_description d("w2s export-hf options");
  d.add_options()("ckpt", po::value(&ckpt)->required(), "w2s checkpoint")(
      "out", po::value(&out)->required(), "folder for config.json + model.safetensors");
  po::positional_options_description pos;
  pos.add("ckpt", 1);
  ParsedCommand p = parse_command("export-hf", "CKPT --out DIR\n\n"
                                  "Writes a Hugging Face GPT-2 folder (F32 safetensors, \"transformer.\" names;\n"
                                  "GPT2ForSequenceClassification with score.weight when the model has a classifier).",
                                  d, args, &pos);
  if (p.help) return 0;
  export_hf_gpt2(ckpt, out);
  return 0;
}

W2S_COMMAND("import-hf", "a Hugging Face GPT-2 (config.json + model.safetensors) -> ckpt.h5", import_command);
W2S_COMMAND("export-hf", "ckpt.h5 -> a Hugging Face GPT-2 folder (config.json + model.safetensors)", export_command);

}  // namespace
}  // namespace w2s
