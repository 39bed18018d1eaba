// Linear layers through OpenBLAS sgemm. W is [in, out] (HF Conv1D), row-major.
#include "ops/cpu/blas.h"

#include "ops/cpu/cpu_ops.h"

namespace w2s::cpu {

void matmul_forward(float* out, const float* inp, const float* W, const float* bias, int rows, int k, int n) {
  // out = inp · W
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, n, k, 1.0f, inp, k, W, n, 0.0f, out, n);
  if (bias) add_bias(out, bias, rows, n);
}

void matmul_backward(float* dinp, float* dW, float* dbias, const float* dout, const float* inp, const float* W,
                     int rows, int k, int n) {
  // dinp = dout · Wᵀ
  if (dinp) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, k, n, 1.0f, dout, n, W, n, 0.0f, dinp, k);
  // dW += inpᵀ · dout
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, n, rows, 1.0f, inp, k, dout, n, 1.0f, dW, n);
  if (dbias) bias_backward(dbias, dout, rows, n);
}

}  // namespace w2s::cpu
