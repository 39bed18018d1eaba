// Error checks for the CUDA backend: every runtime call and every kernel launch is checked, and a
// failure becomes a w2s runtime error (exit code 3) naming the call and CUDA's reason.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "core/error.h"

namespace w2s::cuda {

inline void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw RuntimeError(std::string("CUDA error in ") + what + ": " + cudaGetErrorName(status) + " (" +
                       cudaGetErrorString(status) + ")");
}

// Number of visible CUDA devices; 0 (never an error) when there is no driver or no GPU.
inline int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" status
    return 0;
  }
  return n;
}

}  // namespace w2s::cuda

#define W2S_CUDA_CHECK(expr) ::w2s::cuda::check_cuda((expr), #expr)
// After a <<<...>>> launch: catches bad launch configurations at the launch site.
#define W2S_CUDA_LAUNCH_CHECK(kernel_name) ::w2s::cuda::check_cuda(cudaGetLastError(), "launch of " kernel_name)
