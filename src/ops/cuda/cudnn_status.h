// What a failed cuDNN call means for the attention path, as a pure function of cuDNN 9's status
// code (cudnn_graph.h: codes are grouped by thousands, CUDNN_STATUS_CATEGORY). No cuDNN header is
// needed, so the rule is unit-tested in every build (tests/unit/test_cudnn_status.cpp).
//
//   0             success
//   3000..3999    NOT_SUPPORTED and its specific codes: the graph or shape is outside what the
//                 engines serve. Use the plain attention kernels.
//   5000..5999    EXECUTION_FAILED (CUDA driver, cudart, cuBLAS, cuRAND failed underneath): the
//                 CUDA context may hold a sticky error, so falling back would only hide it. Fatal.
//   anything else NOT_INITIALIZED, version or sublibrary-loading problems (1000s), BAD_PARAM
//                 (2000s: a descriptor cuDNN rejects, i.e. our graph is wrong for this version),
//                 INTERNAL_ERROR (4000s, runtime compilation included), unknown codes: cuDNN
//                 cannot serve us, but the GPU is fine. Fall back to the plain kernels, logging why.
#pragma once

namespace w2s::cuda {

enum class CudnnVerdict { Ok, Unsupported, Fallback, Fatal };

constexpr CudnnVerdict classify_cudnn_status(int status) {
  if (status == 0) return CudnnVerdict::Ok;
  switch (status / 1000) {
    case 3: return CudnnVerdict::Unsupported;
    case 5: return CudnnVerdict::Fatal;
    default: return CudnnVerdict::Fallback;
  }
}

// Whether a plan-building failure with this status should fall back to the plain kernels (true)
// or propagate as an error (false; also false for success, which is no failure).
constexpr bool cudnn_falls_back(int status) {
  const CudnnVerdict v = classify_cudnn_status(status);
  return v == CudnnVerdict::Unsupported || v == CudnnVerdict::Fallback;
}

constexpr const char* cudnn_verdict_name(CudnnVerdict v) {
  switch (v) {
    case CudnnVerdict::Ok: return "ok";
    case CudnnVerdict::Unsupported: return "not supported";
    case CudnnVerdict::Fallback: return "fallback";
    case CudnnVerdict::Fatal: return "fatal";
  }
  return "?";
}

}  // namespace w2s::cuda
