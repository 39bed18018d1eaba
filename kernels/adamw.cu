// AdamW / Adam on fp32 master weights with fp32 moments (optim/adamw.cpp's update, term by
// term), writing the bf16 compute copy in the same pass so the weights are read once.
#include "common.cuh"

namespace w2s::cuda {
namespace {

template <class T>
__global__ void adamw_kernel(float* params, T* param_copy, const float* grads, float* m, float* v, int64_t n,
                             AdamStep s) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float p = params[i];
    const float g = s.decoupled ? grads[i] : grads[i] + s.weight_decay * p;
    const float mi = s.beta1 * m[i] + (1.0f - s.beta1) * g;
    const float vi = s.beta2 * v[i] + (1.0f - s.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const float mhat = mi / s.bias_correction1, vhat = vi / s.bias_correction2;
    float update = mhat / (sqrtf(vhat) + s.eps);
    if (s.decoupled) update += s.weight_decay * p;
    const float np = p - s.lr * update;
    params[i] = np;
    if (param_copy) param_copy[i] = from_float<T>(np);
  }
}

}  // namespace

template <class T>
void adamw_update(float* params, T* param_copy, const float* grads, float* m, float* v, int64_t n,
                  const AdamStep& step, cudaStream_t stream) {
  if (n <= 0) return;
  adamw_kernel<<<blocks_for(n, 256), 256, 0, stream>>>(params, param_copy, grads, m, v, n, step);
  W2S_CUDA_LAUNCH_CHECK("adamw_kernel");
}

template void adamw_update<float>(float*, float*, const float*, float*, float*, int64_t, const AdamStep&,
                                  cudaStream_t);
template void adamw_update<bf16>(float*, bf16*, const float*, float*, float*, int64_t, const AdamStep&, cudaStream_t);

}  // namespace w2s::cuda
