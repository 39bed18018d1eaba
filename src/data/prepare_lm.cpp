// Packing documents into an LM dataset: see prepare_lm.h.
#include "data/prepare_lm.h"

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/strings.h"
#include "data/jsonl.h"
#include "data/lm_dataset.h"
#include "data/prepare.h"

namespace w2s {

namespace {

// LM inputs → documents, in the order given: all --text files, then all --lm-jsonl files.
std::vector<std::string> lm_documents(const std::vector<std::string>& text_files,
                                      const std::vector<std::string>& jsonl_files, size_t doc_bytes,
                                      std::vector<std::string>& file_hashes) {
  std::vector<std::string> documents;
  for (const auto& path : text_files) {
    std::string text = read_text_file(path);
    require_valid_utf8(text, path);
    std::vector<std::string> docs = split_documents(text, doc_bytes);
    if (docs.empty()) throw DataError(path, "no text (the file is empty or blank)");
    for (auto& d : docs) documents.push_back(std::move(d));
    file_hashes.push_back(sha256_hex(text));
  }
  JsonlOptions options;
  options.task = JsonlTask::Text;
  for (const auto& path : jsonl_files) {
    for (auto& ex : read_jsonl(path, options)) {
      if (!ex.txt.empty()) documents.push_back(std::move(ex.txt));
    }
    file_hashes.push_back(sha256_file(path));
  }
  return documents;
}

}  // namespace

void prepare_lm_data(const LmPrepareOptions& options, const Tokenizer& tokenizer) {
  std::vector<std::string> hashes;
  std::vector<std::string> documents = lm_documents(options.text_files, options.jsonl_files, options.doc_bytes, hashes);
  std::vector<const std::string*> texts;
  for (const auto& d : documents) texts.push_back(&d);
  std::vector<std::vector<int32_t>> encoded = encode_all(tokenizer, texts);

  std::vector<int64_t> doc_ids(encoded.size());
  int64_t tokens = 0;
  for (size_t d = 0; d < encoded.size(); ++d) {
    doc_ids[d] = static_cast<int64_t>(d);
    tokens += static_cast<int64_t>(encoded[d].size()) + 1;
  }
  LmDatasetInfo info;
  info.tokenizer = tokenizer.kind();
  info.tokenizer_sha256 = tokenizer.sha256();
  // One input: its sha256. Several: the sha256 of their hashes, one per line, in input order.
  info.source_sha256 = hashes.size() == 1 ? hashes[0] : sha256_hex(join(hashes, "\n") + "\n");
  info.eot_id = tokenizer.eot_id();
  info.vocab_size = tokenizer.vocab_size();
  info.num_documents = static_cast<int64_t>(encoded.size());
  info.num_tokens = tokens;
  write_lm_dataset(options.out, info, encoded, doc_ids);

  log_info(strfmt("prepare --lm: %zu files, %zu documents, %lld tokens (%s, mean %.0f per document) → %s",
                  options.text_files.size() + options.jsonl_files.size(), documents.size(), (long long)tokens,
                  tokenizer.kind().c_str(), static_cast<double>(tokens) / static_cast<double>(documents.size()),
                  options.out.c_str()));
}

}  // namespace w2s
