// `w2s analyze RUN_DIR`: reads every model's predictions.h5 in an experiment tree
// (src/experiment/run_layout.h) and reports, for every task × (weak, strong) pair × loss over all
// seeds: P_weak, P_w2s, P_ceiling, PGR with a paired bootstrap CI (over seeds and test
// examples), student–supervisor agreement, calibration (ECE), and misfit (Charikar et al.
// 2024: squared distance between student and supervisor probabilities on the test split) beside
// the errors it predicts; which weak supervisor the misfit would choose for each strong model;
// and bootstrapping chains beside the direct transfer. report.json's keys: docs/formats.md §6.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace w2s {

struct AnalyzeOptions {
  std::string root;
  int resamples = 1000;
  double level = 0.95;
  uint64_t seed = 0;
  // Cluster bootstrap: task -> divisor d, examples whose ids share floor(id / d) are resampled
  // together (d = 1: every example alone). Tasks not listed use default_cluster_divisor.
  std::map<std::string, int64_t> cluster_divisor;
};

// The grouping a task's data declares through its ids (sotu-party: id = speech · 10000 +
// passage, so passages of one speech form a cluster); 1 (none) for every other task.
int64_t default_cluster_divisor(const std::string& task);

struct AnalyzeResult {
  nlohmann::json report;  // what report.json holds
  std::string table;      // the printed table (also report.md)
};

AnalyzeResult analyze_experiment(const AnalyzeOptions& options);

// analyze_experiment, then report.json at `out` (default ROOT/report.json) and report.md beside
// it, both written atomically. Returns the result so the caller decides when to print the table.
AnalyzeResult write_experiment_report(const AnalyzeOptions& options, std::string out = "");

}  // namespace w2s
