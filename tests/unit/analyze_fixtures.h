// Constructed predictions for the analyze tests: run folders holding predictions.h5 files whose
// accuracy, and therefore PGR, is known in advance.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "experiment/run_layout.h"
#include "io/predictions.h"

namespace w2s::test {

// A binary model that is right on exactly the examples where right[i] is true (probability 0.8
// on its chosen class); example i has id 100 + i.
inline PredictionFile classifier(const std::vector<int32_t>& labels, const std::vector<bool>& right) {
  PredictionFile p;
  p.C = 2;
  for (size_t i = 0; i < labels.size(); ++i) {
    p.ids.push_back(static_cast<int64_t>(100 + i));
    const int predicted = right[i] ? labels[i] : 1 - labels[i];
    p.probs.push_back(predicted == 0 ? 0.8f : 0.2f);
    p.probs.push_back(predicted == 0 ? 0.2f : 0.8f);
    p.labels.push_back(labels[i]);
  }
  p.logits = p.probs;
  return p;
}

// Writes p as run_dir's predictions, creating the folder.
inline void put(const std::string& run_dir, const PredictionFile& p) {
  std::filesystem::create_directories(run_dir);
  write_predictions(layout::predictions(run_dir), p);
}

}  // namespace w2s::test
