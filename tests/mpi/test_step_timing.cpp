// metrics.jsonl splits every logged step into compute and exposed communication
// (jobs/scaling-study reads it): the fields exist, 0 <= exposed_comm_s <= step_s, compute_s is
// the rest, several ranks do communicate, and the per-step exposed time never exceeds what the
// run counted in total (TrainResult::comm_seconds, which also holds the checkpoint's collectives).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "mpi_test_util.h"

using namespace w2s;
using namespace w2s::test;

namespace {

std::vector<nlohmann::json> metric_lines(const std::string& path) {
  std::ifstream f(path);
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

void expect_split_steps(const std::vector<nlohmann::json>& lines, const TrainResult& r, double flops_per_token) {
  double exposed_sum = 0.0;
  for (const nlohmann::json& j : lines) {
    const int64_t step = j.at("step").get<int64_t>();
    const double step_s = j.at("step_s").get<double>(), comm = j.at("exposed_comm_s").get<double>();
    EXPECT_GT(step_s, 0.0) << "step " << step;
    EXPECT_GE(comm, 0.0) << "step " << step;
    EXPECT_LE(comm, step_s) << "step " << step;
    EXPECT_NEAR(j.at("compute_s").get<double>() + comm, step_s, 1e-9 * step_s + 1e-12) << "step " << step;
    if (world_size() > 1) EXPECT_GT(comm, 0.0) << "step " << step << ": " << world_size() << " ranks exchanged nothing?";
    EXPECT_DOUBLE_EQ(j.at("model_flops_per_token").get<double>(), flops_per_token) << "step " << step;
    exposed_sum += comm;
  }
  EXPECT_LE(exposed_sum, r.comm_seconds * (1 + 1e-9) + 1e-12);
}

}  // namespace

TEST(StepTiming, MetricsSplitComputeAndExposedCommunication) {
  SharedDir dir;
  if (world_rank() == 0) write_tiny_lm(dir.file("lm.h5"), 30);
  MPI_Barrier(MPI_COMM_WORLD);
  for (bool zero1 : {false, true}) {  // ZeRO-1's all-gather is counted once, not twice
    TrainConfig cfg = base_config("lm", dir.file("lm.h5"), dir.file(zero1 ? "zero1" : "dp"));
    cfg.log_every = 1;
    cfg.steps = 6;
    cfg.zero1 = zero1;
    ProcessGrid g = ProcessGrid::create(1);
    const TrainResult r = run_training(cfg, g, "timing");
    if (world_rank() != 0) continue;
    const std::vector<nlohmann::json> lines = metric_lines(dir.file(std::string(zero1 ? "zero1" : "dp") + "/metrics.jsonl"));
    ASSERT_EQ(lines.size(), 6u);
    expect_split_steps(lines, r, tiny_model().flops_per_token(tiny_model().n_ctx));
  }
}
