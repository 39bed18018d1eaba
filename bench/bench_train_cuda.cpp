// Training throughput of the GPU model (src/model/gpt2_cuda.h, tp = 1, one GPU): tokens/s,
// MFU against 989 TFLOP/s (H100/H200 dense bf16) and peak device memory, for a GPT-2
// 124M-shaped model at B = 16, T = 1024 by default. A step is what the Trainer does: zero the
// gradients, forward + backward of the mean token loss, global-norm clipping at 1, AdamW.
//   usage: bench_train_cuda [--layers 12 --heads 12 --dim 768 --seq 1024 --batch 16 --vocab 50257
//                            --steps 20 --warmup 3 --fp32 --cudnn]
// Attention is the plain O(T²) kernel pair (kernels/attention.cu) unless --cudnn: expect the
// plain pair to dominate the step at T = 1024. Random tokens: the throughput does not depend on the data.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/philox.h"
#include "model/params.h"
#include "core/cuda_check.h"
#include "model/gpt2_cuda.h"
#include "optim/adamw.h"

#include "bench_args.h"

using namespace w2s;

namespace {

struct Args : bench::Shape {
  bool fp32 = false;   // fp32 storage instead of bf16
  bool cudnn = false;  // cuDNN's fused attention (bf16 only) instead of kernels/attention.cu
};

Args parse(int argc, char** argv) {
  Args a{};
  static_cast<bench::Shape&>(a) = bench::Shape{12, 12, 768, 1024, 16, 50257, 20, 3};
  bench::parse_args(argc, argv, a, [&](const std::string& k) {
    if (k == "--fp32") a.fp32 = true;
    else if (k == "--cudnn") a.cudnn = true;
    else return false;
    return true;
  });
  return a;
}

// The CPU model's initial parameters (same Philox streams), without building a CPU model.
std::vector<float> initial_params(const ModelConfig& cfg, ParamLayout& layout) {
  const ParamTable table = build_param_table(cfg, 1);
  layout = build_param_layout(table, 1, 1, int64_t{1} << 22);
  std::vector<float> params(static_cast<size_t>(layout.total), 0.0f);
  for (size_t i = 0; i < table.specs.size(); ++i)
    init_param_shard(table.specs[i], 0, 1, 0, params.data() + layout.offset[i]);
  return params;
}

struct Result {
  const char* attention;
  double median_s, loss;
  size_t peak_bytes, activation_bytes, allocated_bytes;
};

template <class T>
Result run(const Args& a, const ModelConfig& cfg) {
  ParamLayout layout;
  const std::vector<float> params = initial_params(cfg, layout);
  cuda::Gpt2Cuda<T> model(cfg, layout, params);
  if (a.cudnn && !model.use_cudnn_attention()) {
    std::fprintf(stderr, "--cudnn needs bf16 storage (drop --fp32)\n");
    std::exit(1);
  }
  const int n = a.batch * a.seq;
  const auto [tokens, targets] = bench::random_tokens(a);
  AdamConfig ac;
  ac.beta2 = 0.95;
  ac.weight_decay = 0.1;
  std::vector<double> times;
  double loss = 0.0;
  for (int s = 0; s < a.warmup + a.steps; ++s) {
    model.synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    model.zero_grads();
    loss = model.lm_forward_backward(tokens.data(), targets.data(), a.batch, a.seq, 1.0f / n) / n;
    const double norm = std::sqrt(model.grad_sq_sum());
    if (norm > 1.0) model.scale_grads(static_cast<float>(1.0 / norm));
    model.adamw_step(ac, 6e-4, s + 1);
    model.synchronize();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s >= a.warmup) times.push_back(dt);
  }
  std::sort(times.begin(), times.end());
  return {model.attention_backend(), times[times.size() / 2], loss,
          model.peak_device_bytes(), model.activation_bytes(), model.allocated_bytes()};
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  if (cuda::device_count() == 0) {
    std::printf("bench_train_cuda: no CUDA device visible\n");
    return 77;
  }
  if (a.steps < 1) {
    std::fprintf(stderr, "--steps must be >= 1\n");
    return 1;
  }
  cudaDeviceProp prop{};
  W2S_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  const ModelConfig cfg = bench::model_config(a);
  const Result r = a.fp32 ? run<float>(a, cfg) : run<cuda::bf16>(a, cfg);
  const double tps = static_cast<double>(a.batch) * a.seq / r.median_s;
  const double gib = 1024.0 * 1024.0 * 1024.0;
  std::printf("device: %s\n", prop.name);
  std::printf("model: %s; batch %d x %d tokens; %s storage; %s attention; %d steps after %d warm-up\n",
              cfg.describe().c_str(), a.batch, a.seq, a.fp32 ? "fp32" : "bf16", r.attention, a.steps, a.warmup);
  std::printf("step (median) %.2f ms   tokens/s %.0f   loss %.4f\n", r.median_s * 1e3, tps, r.loss);
  std::printf("MFU %.1f%% of 989 TFLOP/s (%.1f GFLOP/token: 6N + 6LTC, as llm.c)\n",
              100.0 * cuda::Gpt2Cuda<cuda::bf16>::mfu(cfg, a.seq, tps),
              cuda::Gpt2Cuda<cuda::bf16>::flops_per_token(cfg, a.seq) / 1e9);
  std::printf("memory: peak device in use %.2f GiB (cudaMemGetInfo, context included); model allocations %.2f GiB "
              "(activations %.2f GiB)\n",
              r.peak_bytes / gib, r.allocated_bytes / gib, r.activation_bytes / gib);
  return 0;
}
