// `w2s import-hf` / `w2s export-hf`: Hugging Face GPT-2 checkpoints in and out.
#include "cli/command.h"
#include "cli/options.h"
#include "data/tokenizer.h"
#include "io/hf_gpt2.h"

namespace w2s {
namespace {

// The tokenizer files whose identity the checkpoint records: --tokenizer-files DIR, else the
// model folder's own when it has them; "none" records none.
HfTokenizerFiles tokenizer_files_of(const std::string& model_dir, const std::string& option, const std::string& kind) {
  if (option == "none") return {};
  const std::string folder = option.empty() ? model_dir : option;
  if (option.empty() && (kind != "gpt2" || !has_bpe_files(folder))) return {};
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer_option(kind, folder, "", "");
  return {folder, tokenizer->sha256(), tokenizer->vocab_size()};
}

int import_command(const std::vector<std::string>& args) {
  std::string dir, out, tokenizer, files;
  po::options_description d("w2s import-hf options");
  d.add_options()("dir", po::value(&dir)->required(), "folder with config.json and model.safetensors (or its shards)")(
      "out", po::value(&out)->required(), "w2s checkpoint to write (ckpt.h5)")(
      "tokenizer", po::value(&tokenizer)->default_value("gpt2"), "the model's tokenizer: gpt2 | byte")(
      "tokenizer-files", po::value(&files)->default_value(""),
      "gpt2: folder of the model's vocab.json + merges.txt (default: DIR, when it has them; none: record no files)");
  po::positional_options_description pos;
  pos.add("dir", 1);
  ParsedCommand p = parse_command("import-hf", "DIR --out ckpt.h5 [--tokenizer gpt2] [--tokenizer-files DIR|none]\n\n"
                                  "Reads a Hugging Face GPT-2 (GPT2Model, GPT2LMHeadModel or GPT2ForSequenceClassification;\n"
                                  "F32/F16/BF16 safetensors: model.safetensors, or the shards that\n"
                                  "model.safetensors.index.json lists) and writes it as a w2s checkpoint, validating every\n"
                                  "tensor. When the folder has its tokenizer (vocab.json + merges.txt), the checkpoint records\n"
                                  "the files' identity: data must then be prepared with them (w2s prepare --tokenizer-files DIR).",
                                  d, args, &pos);
  if (p.help) return 0;
  import_hf_gpt2(dir, out, tokenizer, tokenizer_files_of(dir, files, tokenizer));
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

W2S_COMMAND("import-hf", "a Hugging Face GPT-2 (config.json + safetensors, single or sharded) -> ckpt.h5", import_command);
W2S_COMMAND("export-hf", "ckpt.h5 -> a Hugging Face GPT-2 folder (config.json + model.safetensors)", export_command);

}  // namespace
}  // namespace w2s
