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

// Right exactly on examples [begin, end) of n.
inline std::vector<bool> right_on(int n, int begin, int end) {
  std::vector<bool> r(static_cast<size_t>(n));
  for (int i = begin; i < end; ++i) r[static_cast<size_t>(i)] = true;
  return r;
}

// Test labels 0, 1, 0, 1, ...: a balanced binary test set of n examples.
inline std::vector<int32_t> alternating(int n) {
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = i % 2;
  return labels;
}

// One pair of `task` for seeds 0 and 1 on alternating labels: the weak model "weak" right on
// `weak`, its ceiling "strong" on `ceiling`, and the xent student on `student`.
inline void weak_strong_tree(const std::string& root, const std::string& task, const std::vector<bool>& weak,
                             const std::vector<bool>& student, const std::vector<bool>& ceiling) {
  const std::vector<int32_t> labels = alternating(static_cast<int>(weak.size()));
  for (int seed : {0, 1}) {
    const std::string sd = layout::seed_dir(root, task, seed);
    put(layout::gt_run(sd, "weak"), classifier(labels, weak));
    put(layout::gt_run(sd, "strong"), classifier(labels, ceiling));
    put(layout::student(sd, "weak", "strong", "xent"), classifier(labels, student));
  }
}

}  // namespace w2s::test
