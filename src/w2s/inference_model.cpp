#include "w2s/inference_model.h"

#include "core/error.h"
#include "core/log.h"
#include "core/strings.h"

#ifdef W2S_HAVE_CUDA
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/gpt2_cuda.h"
#include "ops/cuda/nccl_communicator.h"
#endif

namespace w2s {

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::Cpu;
  if (name == "cuda") return Device::Cuda;
  throw UsageError("--device must be cpu or cuda, got '" + name + "'");
}

const char* device_name(Device d) { return d == Device::Cuda ? "cuda" : "cpu"; }

#ifdef W2S_HAVE_CUDA
struct InferenceModel::Gpu {
  // The CPU model's weights, read from the checkpoint once and copied to the GPU (bf16 compute
  // copy); the CPU copy is then dropped.
  explicit Gpu(Gpt2& cpu) : model(cpu.config(), cpu.layout(), cpu.params()) {}
  cuda::Gpt2Cuda<cuda::bf16> model;
};
#else
struct InferenceModel::Gpu {};
#endif

InferenceModel::InferenceModel(const std::string& ckpt, const ProcessGrid& grid, Device device) {
  if (device == Device::Cuda) {
#ifdef W2S_HAVE_CUDA
    if (grid.tp_size() != 1)
      throw UsageError(strfmt("--device cuda runs tp = 1 only (got --tp %d; TP on the GPU is not done)", grid.tp_size()));
    if (cuda::device_count() == 0) throw RuntimeError("--device cuda: no CUDA device is visible to this process");
    const int dev = cuda::select_device_by_local_rank();
    auto cpu = load_model_for_inference(ckpt, grid);
    gpu_ = std::make_unique<Gpu>(*cpu);
    if (grid.is_root()) log_info(strfmt("  model on GPU %d (bf16, plain attention kernels)", dev));
    auto* m = &gpu_->model;
    head_ = {cpu->config(), [m](const int32_t* tokens, const int32_t* lengths, int B, int T, float* logits) {
               m->classifier_forward(tokens, lengths, B, T, logits);
             }};
    return;
#else
    (void)ckpt, (void)grid;
    throw UsageError("--device cuda: this w2s was built without the CUDA backend (configure with -DW2S_CUDA=ON)");
#endif
  }
  cpu_ = load_model_for_inference(ckpt, grid);
  head_ = head_forward(*cpu_);
}

InferenceModel::~InferenceModel() = default;

}  // namespace w2s
