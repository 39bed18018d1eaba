// predictions.h5, `w2s_kind` = "predictions": what `w2s eval` writes and `w2s analyze` reads
// (schema: docs/formats.md §5).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace w2s {

struct PredictionFile {
  std::string task = "classification";
  int C = 0;
  std::vector<int64_t> ids;
  std::vector<float> probs, logits;
  std::vector<int32_t> labels;  // classification
  std::vector<float> targets;   // regression
  std::string model_sha256, dataset_sha256;
  double metric = 0.0;          // accuracy, or mean squared error for regression
};

void write_predictions(const std::string& path, const PredictionFile& p);  // atomic
PredictionFile read_predictions(const std::string& path);                  // DataError naming the file

}  // namespace w2s
