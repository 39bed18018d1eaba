// The `w2s label` and `w2s eval` steps as library calls, shared by the `w2s` subcommands and by
// `w2s pipeline` (which runs them in one MPI job). Each is collective over the grid.
#pragma once
#include <string>

#include "comm/process_grid.h"

namespace w2s {

struct EvalOptions {
  std::string model;   // checkpoint
  std::string data;    // token dataset
  std::string out;     // predictions.h5
  int batch = 64;
  std::string device = "cpu";  // cpu | cuda (infer/inference_model.h)
};
// Writes predictions.h5; returns accuracy (MSE for regression) on every rank.
double run_eval(const EvalOptions& o, const ProcessGrid& grid);

struct LabelOptions {
  std::string model;     // the supervisor's checkpoint
  std::string data;      // dataset to label
  std::string out_dir;   // shard folder
  int shards = 0;        // 0: one per DP rank
  double temperature = 1.0;
  int batch = 64;
  std::string device = "cpu";  // cpu | cuda (infer/inference_model.h)
};
// Writes the shards that do not already verify, then the manifest.
void run_label(const LabelOptions& o, const ProcessGrid& grid);

}  // namespace w2s
