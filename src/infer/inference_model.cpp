#include "infer/inference_model.h"

#include "core/error.h"
#include "core/log.h"
#include "core/strings.h"
#include "model/gpu_model.h"

namespace w2s {

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::Cpu;
  if (name == "cuda") return Device::Cuda;
  throw UsageError("--device must be cpu or cuda, got '" + name + "'");
}

const char* device_name(Device d) { return d == Device::Cuda ? "cuda" : "cpu"; }

InferenceModel::InferenceModel(const std::string& ckpt, const ProcessGrid& grid, Device device) {
  if (device == Device::Cuda && grid.tp_size() != 1)
    throw UsageError(strfmt("--device cuda runs tp = 1 only (got --tp %d; TP on the GPU is not done)", grid.tp_size()));
  if (device == Device::Cuda) GpuModel::require_available();
  cpu_ = load_model_for_inference(ckpt, grid);
  head_ = head_forward(*cpu_);
  if (device == Device::Cpu) return;
  gpu_ = GpuModel::create(*cpu_);
  if (grid.is_root()) log_info(strfmt("  model on GPU %d (bf16, plain attention kernels)", gpu_->device()));
  head_ = head_forward(*gpu_, cpu_->config());
}

InferenceModel::~InferenceModel() = default;

}  // namespace w2s
