// Training throughput of the CPU backend beside PyTorch, same model, batch and thread count,
// in one run. Prints tokens/s for both and their ratio (w2s / torch).
//   usage: bench_train_cpu [--layers 6 --heads 6 --dim 384 --seq 256 --batch 8 --steps 10
//                           --warmup 2 --vocab 258 --no-torch]
// Threads: OMP_NUM_THREADS (default: all cores); torch gets the same number.
#include <mpi.h>
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "comm/process_grid.h"
#include "core/log.h"
#include "core/philox.h"
#include "core/timer.h"
#include "model/gpt2.h"
#include "optim/adamw.h"

#include "bench_args.h"

using namespace w2s;

namespace {

struct Args : bench::Shape {
  bool torch = true;
};

Args parse(int argc, char** argv) {
  Args a{};
  static_cast<bench::Shape&>(a) = bench::Shape{6, 6, 384, 256, 8, 258, 10, 2};
  bench::parse_args(argc, argv, a, [&](const std::string& k) {
    if (k != "--no-torch") return false;
    a.torch = false;
    return true;
  });
  return a;
}

double run_w2s(const Args& a, long long* params) {
  ProcessGrid grid = ProcessGrid::single();
  const ModelConfig cfg = bench::model_config(a);
  Gpt2 model(cfg, grid.tp(), 0);
  *params = cfg.num_parameters();
  AdamConfig ac;
  std::vector<FlatRange> all = {{0, model.layout().total}};
  AdamW opt(ac, model.table(), model.layout(), 1, all, std::vector<bool>(model.table().specs.size(), true));
  const int n = a.batch * a.seq;
  const auto [tokens, targets] = bench::random_tokens(a);
  Timer timer;
  for (int s = 0; s < a.warmup + a.steps; ++s) {
    if (s == a.warmup) timer.reset();
    model.zero_grads();
    model.lm_forward_backward(tokens.data(), targets.data(), a.batch, a.seq, 1.0f / n);
    opt.step(model.params().data(), model.grads().data(), 1e-4, s + 1);
  }
  return static_cast<double>(n) * a.steps / timer.seconds();
}

double run_torch(const Args& a, int threads) {
  std::string cmd = "/usr/bin/python3 " W2S_SOURCE_DIR "/bench/torch_gpt2_train.py " + std::to_string(a.layers) + " " +
                    std::to_string(a.heads) + " " + std::to_string(a.dim) + " " + std::to_string(a.seq) + " " +
                    std::to_string(a.vocab) + " " + std::to_string(a.batch) + " " + std::to_string(a.steps) + " " +
                    std::to_string(a.warmup) + " " + std::to_string(threads);
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return 0.0;
  char line[256];
  double tps = 0.0;
  while (std::fgets(line, sizeof line, p))
    if (std::strncmp(line, "tokens_per_s ", 13) == 0) tps = std::atof(line + 13);
  pclose(p);
  return tps;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  set_log_quiet(true);
  Args a = parse(argc, argv);
  int threads = omp_get_max_threads();
  long long params = 0;
  double w2s_tps = run_w2s(a, &params);
  std::printf("model: %d layers, %d heads, d %d, T %d, vocab %d (%.2fM params); batch %d x %d tokens; %d steps "
              "after %d warm-up; %d threads\n",
              a.layers, a.heads, a.dim, a.seq, a.vocab, params / 1e6, a.batch, a.seq, a.steps, a.warmup, threads);
  std::printf("w2s   tokens/s %10.1f\n", w2s_tps);
  if (a.torch) {
    double torch_tps = run_torch(a, threads);
    std::printf("torch tokens/s %10.1f   (python3-torch, same model/batch/threads)\n", torch_tps);
    if (torch_tps > 0) std::printf("ratio w2s/torch %.2f\n", w2s_tps / torch_tps);
  }
  MPI_Finalize();
  return 0;
}
