// Scaling of the training loop over MPI ranks: run under `mpirun -n P` with --tp K; prints one
// line with the shape, step time, tokens/s, the share of time in communication (TP all-reduces
// and DP gradient buckets), and — given the 1-rank step time — parallel efficiency.
//   usage: mpirun -n P bench_scaling [--tp K] [--layers 4 --dim 256 --heads 8 --seq 128
//          --batch 16 --steps 8 --zero1] [--base-step-seconds S] [--weak]
// --weak scales the global batch with the number of DP ranks (weak scaling); otherwise the
// global batch is fixed (strong scaling). bench/run_scaling.sh drives it over rank counts.
#include <mpi.h>
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "comm/process_grid.h"
#include "core/log.h"
#include "core/philox.h"
#include "data/lm_dataset.h"
#include "train/trainer.h"

using namespace w2s;

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  set_log_rank(rank);
  set_log_quiet(true);
  int tp = 1, layers = 4, dim = 256, heads = 8, seq = 128, batch = 16, steps = 8;
  bool zero1 = false, weak = false;
  double base_step = 0;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() { return i + 1 < argc ? argv[++i] : "0"; };
    if (k == "--tp") tp = std::atoi(next());
    else if (k == "--layers") layers = std::atoi(next());
    else if (k == "--dim") dim = std::atoi(next());
    else if (k == "--heads") heads = std::atoi(next());
    else if (k == "--seq") seq = std::atoi(next());
    else if (k == "--batch") batch = std::atoi(next());
    else if (k == "--steps") steps = std::atoi(next());
    else if (k == "--zero1") zero1 = true;
    else if (k == "--weak") weak = true;
    else if (k == "--base-step-seconds") base_step = std::atof(next());
  }
  ProcessGrid grid = ProcessGrid::create(tp);
  // A synthetic packed corpus, written once by rank 0.
  std::string dir = "/tmp/w2s-bench-scaling-" + std::to_string(getppid());
  if (rank == 0) {
    std::filesystem::create_directories(dir);
    LmDatasetInfo info;
    info.tokenizer = "byte";
    info.eot_id = 256;
    std::vector<std::vector<int32_t>> docs(200);
    std::vector<int64_t> ids;
    for (int d = 0; d < 200; ++d) {
      for (int t = 0; t < 2000; ++t) docs[static_cast<size_t>(d)].push_back(static_cast<int32_t>(philox4x32(3, static_cast<uint64_t>(d), static_cast<uint64_t>(t))[0] % 256));
      ids.push_back(d);
    }
    write_lm_dataset(dir + "/lm.h5", info, docs, ids);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  TrainConfig cfg;
  cfg.objective = "lm";
  cfg.data = dir + "/lm.h5";
  cfg.run_dir = dir + "/run-" + std::to_string(world) + "-" + std::to_string(tp);
  cfg.model.n_layer = layers;
  cfg.model.n_head = heads;
  cfg.model.d_model = dim;
  cfg.model.n_ctx = seq;
  cfg.batch_size = weak ? static_cast<int64_t>(batch) * grid.dp_size() : batch;
  cfg.steps = steps + 1;
  cfg.log_every = 1000;
  cfg.tp = tp;
  cfg.zero1 = zero1;
  cfg.save_optimizer = false;
  TrainResult r = run_training(cfg, grid, "bench");
  // The first step pays for allocation: time the rest from the per-run totals.
  double step_s = r.seconds / static_cast<double>(r.steps_done);
  double tokens_per_s = static_cast<double>(cfg.batch_size) * seq / step_s;
  double comm_share = r.comm_seconds / r.seconds;
  double max_step = step_s;
  MPI_Allreduce(MPI_IN_PLACE, &max_step, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0) {
    // Ideal step time: the 1-rank step scaled by this run's work (global batch) over the ranks.
    double work = static_cast<double>(cfg.batch_size) / batch;
    double eff = base_step > 0 ? base_step * work / (max_step * world) : 1.0;
    std::printf("ranks %d tp %d dp %d%s threads/rank %d | %s batch %lld x %d | step %.4f s | %.0f tok/s | comm %.1f%% "
                "| efficiency %.2f\n",
                world, grid.tp_size(), grid.dp_size(), zero1 ? " zero1" : "", omp_get_max_threads(), weak ? "weak" : "strong",
                static_cast<long long>(cfg.batch_size), seq, max_step, tokens_per_s, 100 * comm_share, eff);
    std::filesystem::remove_all(dir);
  }
  MPI_Finalize();
  return 0;
}
