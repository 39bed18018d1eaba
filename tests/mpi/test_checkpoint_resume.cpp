// Checkpoints hold full tensors, so a run saved with one shape resumes with another and
// follows the uninterrupted single-rank run within 1e-5; and on one rank, N steps in one go
// and N/2 + resume N/2 give bit-identical losses in metrics.jsonl.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "mpi_test_util.h"

using namespace w2s;
using namespace w2s::test;

namespace {

// Runs cfg with `tp` over all ranks, or on rank 0 alone when tp == 0.
TrainResult run_shape(TrainConfig cfg, int tp) {
  TrainResult r;
  if (tp == 0) {
    if (world_rank() == 0) {
      ProcessGrid g = ProcessGrid::single();
      cfg.tp = 1;
      r = run_training(cfg, g, "single");
    }
    broadcast(r.losses);
  } else {
    ProcessGrid g = ProcessGrid::create(tp);
    cfg.tp = tp;
    r = run_training(cfg, g, "sharded");
  }
  return r;
}

std::vector<std::string> metric_losses(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(f, line)) out.push_back(nlohmann::json::parse(line).at("loss").dump());
  return out;
}

}  // namespace

TEST(Checkpoint, ResumeWithAnotherShapeFollowsTheUninterruptedRun) {
  SharedDir dir;
  if (world_rank() == 0) write_tiny_classification(dir.file("cls.h5"), 40);
  MPI_Barrier(MPI_COMM_WORLD);
  TrainConfig base = base_config("classify", dir.file("cls.h5"), dir.file("ref"));
  std::vector<double> ref = single_rank_losses(base);
  const int widest = tp_choices().back() >= 2 ? 2 : 1;  // tp 2 where the world allows it
  // (first shape, second shape): 0 = rank 0 alone; k > 0 = all ranks with tp = k.
  std::vector<std::pair<int, int>> plans = {{0, widest}, {widest, 0}};
  int plan_no = 0;
  for (auto [a, b] : plans) {
    TrainConfig cfg = base;
    cfg.run_dir = dir.file("plan" + std::to_string(plan_no++));
    cfg.stop_after = 10;
    TrainResult first = run_shape(cfg, a);
    cfg.stop_after = 0;
    cfg.resume = true;
    TrainResult second = run_shape(cfg, b);
    ASSERT_EQ(first.losses.size(), 10u);
    ASSERT_EQ(second.losses.size(), 10u);
    for (size_t s = 0; s < 10; ++s) {
      EXPECT_NEAR(first.losses[s], ref[s], 1e-5 * ref[s]) << "before the save, step " << s + 1;
      EXPECT_NEAR(second.losses[s], ref[s + 10], 1e-5 * ref[s + 10])
          << "after resuming (shape " << a << " -> " << b << "), step " << s + 11;
    }
  }
}

TEST(Checkpoint, HalfPlusResumeIsBitIdenticalOnOneRank) {
  SharedDir dir;
  if (world_rank() == 0) {
    write_tiny_lm(dir.file("lm.h5"), 30);
    ProcessGrid g = ProcessGrid::single();
    TrainConfig cfg = base_config("lm", dir.file("lm.h5"), dir.file("whole"));
    cfg.log_every = 1;
    run_training(cfg, g, "whole");
    cfg.run_dir = dir.file("halves");
    cfg.stop_after = 10;
    run_training(cfg, g, "first half");
    cfg.stop_after = 0;
    cfg.resume = true;
    run_training(cfg, g, "second half");
    std::vector<std::string> whole = metric_losses(dir.file("whole/metrics.jsonl"));
    std::vector<std::string> halves = metric_losses(dir.file("halves/metrics.jsonl"));
    ASSERT_EQ(whole.size(), 20u);
    EXPECT_EQ(whole, halves) << "metrics.jsonl losses differ between one run and half + resume";
  }
}
