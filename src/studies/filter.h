// Weak-model data filtering (one of the paper's other uses of weak models): a small LM scores every
// document of a packed LM dataset by its mean token cross-entropy, and a quantile range of the
// scores is kept as a new LM dataset for pretraining the strong model. `w2s filter`
// (src/cli/cmd_filter.cpp) drives it.
//
// A document's score: the model reads eot followed by the document and predicts each of the
// document's tokens, its trailing eot included (so a document of n tokens has n predictions,
// as a document-start prompt gives in GPT-2). A document longer than the context is scored in
// consecutive windows of n_ctx predictions, each starting with a fresh context (the first
// window's prompt is eot, later windows' is the token before them): a long document's later
// tokens see at most n_ctx tokens of history, as in training.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "comm/process_grid.h"
#include "data/lm_dataset.h"
#include "model/gpt2.h"

namespace w2s {

// Mean token cross-entropy (nats) of each document in `docs` under the model's LM head.
std::vector<double> score_documents(Gpt2& model, const LmDataset& ds, const std::vector<int64_t>& docs);

// All documents' scores on every rank: DP ranks take documents round-robin, rows summed over DP.
std::vector<double> score_all_documents(Gpt2& model, const LmDataset& ds, const ProcessGrid& grid);

// Which documents to keep: sort by (score, index) ascending and keep sorted positions
// [round(lo·n), round(hi·n)), 0 ≤ lo ≤ hi ≤ 1. --drop-highest q is [0, 1 − q); --drop-lowest q
// is [q, 1). UsageError on a range outside [0, 1] or a NaN score.
std::vector<uint8_t> keep_quantile_range(const std::vector<double>& scores, double lo, double hi);

// A quantile range of ascending scores to keep, and how the user asked for it.
struct KeptRange {
  double lo = 0, hi = 1;
  std::string text;
};

// The outputs (src/studies/filter_outputs.cpp; schemas docs/formats.md §10), written atomically.
void write_filter_scores(const std::string& path, const std::vector<int64_t>& ids, const std::vector<double>& scores,
                         const std::vector<uint8_t>& kept, const std::string& scorer, const LmDataset& ds);
// Counts, a score histogram of `bins` bins, and the `examples` lowest and highest documents.
nlohmann::json filter_summary(const LmDataset& ds, const std::vector<int64_t>& ids, const std::vector<double>& scores,
                              const std::vector<uint8_t>& kept, const KeptRange& r, int examples, int bins);
// The kept documents as a new LM dataset with this one's schema and tokenizer attributes.
void write_kept_documents(const std::string& path, const LmDataset& ds, const std::vector<int64_t>& ids,
                          const std::vector<uint8_t>& kept);

}  // namespace w2s
