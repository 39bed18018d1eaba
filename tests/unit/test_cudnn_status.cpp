// The classification of cuDNN status codes behind CudnnAttention's fallback to the plain
// attention kernels (src/ops/cuda/cudnn_status.h): pure host logic, tested without cuDNN or a GPU.
#include <gtest/gtest.h>

#include "ops/cuda/cudnn_status.h"

namespace w2s::cuda {
namespace {

TEST(CudnnStatus, SuccessIsOk) {
  EXPECT_EQ(classify_cudnn_status(0), CudnnVerdict::Ok);
  EXPECT_FALSE(cudnn_falls_back(0));
}

TEST(CudnnStatus, NotSupportedAndItsSpecificCodesAreUnsupported) {
  for (int code : {3000, 3001, 3002, 3003, 3007, 3009, 3010, 3014, 3999}) {
    EXPECT_EQ(classify_cudnn_status(code), CudnnVerdict::Unsupported) << code;
    EXPECT_TRUE(cudnn_falls_back(code)) << code;
  }
}

TEST(CudnnStatus, ApiAndInternalErrorsFallBack) {
  // NOT_INITIALIZED, SUBLIBRARY_VERSION_MISMATCH, SUBLIBRARY_LOADING_FAILED, BAD_PARAM and its
  // codes (a descriptor this cuDNN rejects), INTERNAL_ERROR incl. COMPILATION_FAILED and
  // DEVICE_ALLOCATION_FAILED: cuDNN cannot serve the graph, the GPU is fine.
  for (int code : {1001, 1002, 1008, 2000, 2002, 2003, 2004, 2008, 2010, 4000, 4001, 4002, 4004, 4006}) {
    EXPECT_EQ(classify_cudnn_status(code), CudnnVerdict::Fallback) << code;
    EXPECT_TRUE(cudnn_falls_back(code)) << code;
  }
  // Codes this table does not know (a newer cuDNN) fall back rather than abort.
  EXPECT_EQ(classify_cudnn_status(7000), CudnnVerdict::Fallback);
  EXPECT_EQ(classify_cudnn_status(-1), CudnnVerdict::Fallback);
}

TEST(CudnnStatus, ExecutionFailuresAreFatal) {
  // A failing CUDA driver/runtime underneath may leave a sticky error: never hidden by a fallback.
  for (int code : {5000, 5001, 5002, 5003, 5004}) {
    EXPECT_EQ(classify_cudnn_status(code), CudnnVerdict::Fatal) << code;
    EXPECT_FALSE(cudnn_falls_back(code)) << code;
  }
}

TEST(CudnnStatus, VerdictNames) {
  EXPECT_STREQ(cudnn_verdict_name(CudnnVerdict::Unsupported), "not supported");
  EXPECT_STREQ(cudnn_verdict_name(CudnnVerdict::Fatal), "fatal");
}

}  // namespace
}  // namespace w2s::cuda
