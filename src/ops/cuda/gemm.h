// GEMMs through cuBLASLt: bf16 (or fp32) inputs, fp32 accumulation (CUBLAS_COMPUTE_32F — true
// fp32 for fp32 inputs, never TF32), optional fused epilogues (bias; bias + GELU with the
// pre-activation saved for backward). Row-major like the CPU ops; cuBLASLt is column-major, so
// each call is issued as the transposed product Cᵀ = op(B)ᵀ · op(A)ᵀ.
#pragma once
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <tuple>

#include "kernels/cuda_kernels.h"

namespace w2s::cuda {

enum class Epilogue { None, Bias, GeluBias };

class Gemm {
 public:
  explicit Gemm(size_t workspace_bytes = size_t{32} << 20);
  ~Gemm();
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;

  // Row-major C[M, N] = alpha · op(A)[M, K] · op(B)[K, N] + beta · C, op = transpose if trans*.
  // TAB is the input type (float or bf16), TC the output type (TAB, or float for bf16 inputs).
  // Bias (type TC, length N) is added to every row; GeluBias writes gelu(x) to C and x to aux
  // (same layout as C, leading dimension ldc). Algorithms are chosen once per shape and cached.
  template <class TAB, class TC>
  void run(bool transA, bool transB, int M, int N, int K, float alpha, const TAB* A, int lda, const TAB* B, int ldb,
           float beta, TC* C, int ldc, cudaStream_t stream, Epilogue epilogue = Epilogue::None,
           const TC* bias = nullptr, TC* aux = nullptr);

 private:
  using Key = std::tuple<int, int, int, int, int, int, int, int, int, int, int, int>;
  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_;
  std::map<Key, cublasLtMatmulAlgo_t> algos_;
};

// The linear layers with cpu_ops.h semantics (W [k, n], y = x·W + b).
// out[rows, n] = inp · W (+ bias), bias fused into the GEMM.
template <class T>
void matmul_forward(Gemm& gemm, T* out, const T* inp, const T* W, const T* bias, int rows, int k, int n,
                    cudaStream_t stream);
// out = gelu(inp · W + bias), pre_gelu = inp · W + bias. fused = true uses cuBLASLt's GELU_AUX_BIAS
// epilogue (one pass); false runs the bias GEMM and then gelu_forward (the exact CPU formula).
template <class T>
void matmul_forward_gelu(Gemm& gemm, T* out, T* pre_gelu, const T* inp, const T* W, const T* bias, int rows, int k,
                         int n, bool fused, cudaStream_t stream);
// dinp[rows, k] = dout · Wᵀ (overwritten; skipped if null); dW[k, n] += inpᵀ · dout in fp32;
// dbias[n] += column sums of dout (deterministic kernel; skipped if null).
template <class T>
void matmul_backward(Gemm& gemm, T* dinp, float* dW, float* dbias, const T* dout, const T* inp, const T* W, int rows,
                     int k, int n, cudaStream_t stream);

}  // namespace w2s::cuda
