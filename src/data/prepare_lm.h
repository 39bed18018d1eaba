// `w2s prepare --lm`: plain-text and JSONL files cut into documents, tokenized and packed into
// one LM dataset (data/lm_dataset.h), each document followed by the tokenizer's end of text.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "data/tokenizer.h"

namespace w2s {

struct LmPrepareOptions {
  std::vector<std::string> text_files;   // each cut into documents at blank lines (split_documents)
  std::vector<std::string> jsonl_files;  // each line's "txt" one document
  size_t doc_bytes = 4096;               // most bytes per --text document (paragraphs are never split)
  std::string out;                       // the .h5 to write
};

// Documents in the order given (all text files, then all JSONL files), packed into options.out;
// logs the counts.
void prepare_lm_data(const LmPrepareOptions& options, const Tokenizer& tokenizer);

}  // namespace w2s
