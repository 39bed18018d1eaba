#include "model/gpu_model.h"

#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/strings.h"

#ifdef W2S_HAVE_CUDA
#include "core/cuda_check.h"
#include "model/gpt2_cuda.h"
#include "comm/nccl_communicator.h"
#endif

namespace w2s {

#ifdef W2S_HAVE_CUDA
namespace {

template <class Storage>
class CudaGpuModel final : public GpuModel {
 public:
  CudaGpuModel(Gpt2& host, int device)
      : host_(host), device_(device), model_(host.config(), host.layout(), host.params()) {}
  int device() const override { return device_; }
  void params_from_host() override { model_.set_params(host_.params()); }
  void grads_to_host() override { model_.grads_to_host(host_.grads()); }
  void zero_grads() override { model_.zero_grads(); }
  void classifier_forward(const int32_t* tokens, const int32_t* lengths, int B, int T, float* logits) override {
    model_.classifier_forward(tokens, lengths, B, T, logits);
  }
  void classifier_backward(const float* dlogits, bool backbone) override { model_.classifier_backward(dlogits, backbone); }
  double lm_forward_backward(const int32_t* tokens, const int32_t* targets, int B, int T, float scale) override {
    return model_.lm_forward_backward(tokens, targets, B, T, scale);
  }

 private:
  Gpt2& host_;  // the master copy
  int device_;
  cuda::Gpt2Cuda<Storage> model_;
};

// W2S_CUDA_PRECISION: bf16 (default: bf16 activations and compute copy, the training
// precision) or fp32 (fp32 storage throughout: what the exactness bars of
// tools/device_check.sh compare against the CPU; docs/cuda.md).
bool fp32_storage() {
  const char* env = std::getenv("W2S_CUDA_PRECISION");
  const std::string v = env ? env : "";
  if (v.empty() || v == "bf16") return false;
  if (v == "fp32") return true;
  throw UsageError("W2S_CUDA_PRECISION must be bf16 or fp32 (got '" + v + "')");
}

}  // namespace

void GpuModel::require_available() {
  if (cuda::device_count() == 0) throw RuntimeError("--device cuda: no CUDA device is visible to this process");
}

std::unique_ptr<GpuModel> GpuModel::create(Gpt2& host) {
  if (host.tp_size() != 1)
    throw UsageError(strfmt("--device cuda runs tp = 1 only (got --tp %d; TP on the GPU is not done)", host.tp_size()));
  require_available();
  const bool fp32 = fp32_storage();
  const int device = cuda::select_device_by_local_rank();
  if (fp32) return std::make_unique<CudaGpuModel<float>>(host, device);
  return std::make_unique<CudaGpuModel<cuda::bf16>>(host, device);
}
#else
void GpuModel::require_available() {
  throw UsageError("--device cuda: this w2s was built without the CUDA backend (configure with -DW2S_CUDA=ON)");
}

std::unique_ptr<GpuModel> GpuModel::create(Gpt2&) {
  require_available();
  return nullptr;
}
#endif

}  // namespace w2s
