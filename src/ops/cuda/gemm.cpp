#include "ops/cuda/gemm.h"

#include <string>
#include <type_traits>

#include "core/error.h"
#include "core/cuda_check.h"

namespace w2s::cuda {
namespace {

void check_lt(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw RuntimeError(std::string("cuBLASLt error in ") + what + ": status " + std::to_string(static_cast<int>(status)));
}
#define W2S_LT_CHECK(expr) check_lt((expr), #expr)

template <class U>
cudaDataType_t data_type() {
  if constexpr (std::is_same_v<U, float>) {
    return CUDA_R_32F;
  } else {
    static_assert(std::is_same_v<U, bf16>, "Gemm: float or bf16 only");
    return CUDA_R_16BF;
  }
}

cublasLtEpilogue_t lt_epilogue(Epilogue e) {
  switch (e) {
    case Epilogue::None: return CUBLASLT_EPILOGUE_DEFAULT;
    case Epilogue::Bias: return CUBLASLT_EPILOGUE_BIAS;
    case Epilogue::GeluBias: return CUBLASLT_EPILOGUE_GELU_AUX_BIAS;
  }
  return CUBLASLT_EPILOGUE_DEFAULT;
}

// Owns the descriptors of one call (destroyed on every path, including errors).
struct Descriptors {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~Descriptors() {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

template <class V>
void set_op(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr, const V& value) {
  W2S_LT_CHECK(cublasLtMatmulDescSetAttribute(d, attr, &value, sizeof(value)));
}

}  // namespace

Gemm::Gemm(size_t workspace_bytes) : workspace_bytes_(workspace_bytes) {
  W2S_LT_CHECK(cublasLtCreate(&handle_));
  W2S_CUDA_CHECK(cudaMalloc(&workspace_, workspace_bytes_));
}

Gemm::~Gemm() {
  if (workspace_) cudaFree(workspace_);
  if (handle_) cublasLtDestroy(handle_);
}

template <class TAB, class TC>
void Gemm::run(bool transA, bool transB, int M, int N, int K, float alpha, const TAB* A, int lda, const TAB* B,
               int ldb, float beta, TC* C, int ldc, cudaStream_t stream, Epilogue epilogue, const TC* bias, TC* aux) {
  if (M <= 0 || N <= 0) return;
  if (epilogue != Epilogue::None && !bias) throw UsageError("Gemm: the bias epilogues need a bias");
  if (epilogue == Epilogue::GeluBias && !aux) throw UsageError("Gemm: GeluBias needs an aux (pre-GELU) buffer");
  // Column-major view: C'[N, M] = op(B')[N, K] · op(A')[K, M] with B' = B's storage, A' = A's.
  Descriptors d;
  W2S_LT_CHECK(cublasLtMatmulDescCreate(&d.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t opB = transB ? CUBLAS_OP_T : CUBLAS_OP_N, opA = transA ? CUBLAS_OP_T : CUBLAS_OP_N;
  set_op(d.op, CUBLASLT_MATMUL_DESC_TRANSA, opB);
  set_op(d.op, CUBLASLT_MATMUL_DESC_TRANSB, opA);
  set_op(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE, lt_epilogue(epilogue));
  if (bias) {
    set_op(d.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias);
    set_op(d.op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, data_type<TC>());
  }
  if (aux) {
    set_op(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, aux);
    set_op(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, static_cast<int64_t>(ldc));
  }
  W2S_LT_CHECK(cublasLtMatrixLayoutCreate(&d.a, data_type<TAB>(), transB ? K : N, transB ? N : K, ldb));
  W2S_LT_CHECK(cublasLtMatrixLayoutCreate(&d.b, data_type<TAB>(), transA ? M : K, transA ? K : M, lda));
  W2S_LT_CHECK(cublasLtMatrixLayoutCreate(&d.c, data_type<TC>(), N, M, ldc));

  const Key key{transA, transB, M, N, K, lda, ldb, ldc, static_cast<int>(data_type<TAB>()),
                static_cast<int>(data_type<TC>()), static_cast<int>(epilogue), beta != 0.0f};
  auto it = algos_.find(key);
  if (it == algos_.end()) {
    W2S_LT_CHECK(cublasLtMatmulPreferenceCreate(&d.pref));
    const uint64_t ws = workspace_bytes_;
    W2S_LT_CHECK(cublasLtMatmulPreferenceSetAttribute(d.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                                      sizeof(ws)));
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    W2S_LT_CHECK(cublasLtMatmulAlgoGetHeuristic(handle_, d.op, d.a, d.b, d.c, d.c, d.pref, 1, &result, &found));
    if (found == 0)
      throw RuntimeError("cuBLASLt has no algorithm for M=" + std::to_string(M) + " N=" + std::to_string(N) +
                         " K=" + std::to_string(K) + " (leading dimensions " + std::to_string(lda) + "/" +
                         std::to_string(ldb) + "/" + std::to_string(ldc) +
                         "; bf16 needs them to be multiples of 8)");
    it = algos_.emplace(key, result.algo).first;
  }
  W2S_LT_CHECK(cublasLtMatmul(handle_, d.op, &alpha, B, d.a, A, d.b, &beta, C, d.c, C, d.c, &it->second, workspace_,
                              workspace_bytes_, stream));
}

template <class T>
void matmul_forward(Gemm& gemm, T* out, const T* inp, const T* W, const T* bias, int rows, int k, int n,
                    cudaStream_t stream) {
  gemm.run<T, T>(false, false, rows, n, k, 1.0f, inp, k, W, n, 0.0f, out, n, stream,
                 bias ? Epilogue::Bias : Epilogue::None, bias);
}

template <class T>
void matmul_forward_gelu(Gemm& gemm, T* out, T* pre_gelu, const T* inp, const T* W, const T* bias, int rows, int k,
                         int n, bool fused, cudaStream_t stream) {
  if (fused) {
    gemm.run<T, T>(false, false, rows, n, k, 1.0f, inp, k, W, n, 0.0f, out, n, stream, Epilogue::GeluBias, bias,
                   pre_gelu);
    return;
  }
  matmul_forward(gemm, pre_gelu, inp, W, bias, rows, k, n, stream);
  gelu_forward(out, pre_gelu, static_cast<int64_t>(rows) * n, stream);
}

template <class T>
void matmul_backward(Gemm& gemm, T* dinp, float* dW, float* dbias, const T* dout, const T* inp, const T* W, int rows,
                     int k, int n, cudaStream_t stream) {
  // dinp[rows, k] = dout[rows, n] · W[k, n]ᵀ
  if (dinp) gemm.run<T, T>(false, true, rows, k, n, 1.0f, dout, n, W, n, 0.0f, dinp, k, stream);
  // dW[k, n] += inp[rows, k]ᵀ · dout[rows, n], accumulated in fp32
  gemm.run<T, float>(true, false, k, n, rows, 1.0f, inp, k, dout, n, 1.0f, dW, n, stream);
  if (dbias) bias_backward(dbias, dout, rows, n, stream);
}

template void Gemm::run<float, float>(bool, bool, int, int, int, float, const float*, int, const float*, int, float,
                                      float*, int, cudaStream_t, Epilogue, const float*, float*);
template void Gemm::run<bf16, bf16>(bool, bool, int, int, int, float, const bf16*, int, const bf16*, int, float, bf16*,
                                    int, cudaStream_t, Epilogue, const bf16*, bf16*);
template void Gemm::run<bf16, float>(bool, bool, int, int, int, float, const bf16*, int, const bf16*, int, float,
                                     float*, int, cudaStream_t, Epilogue, const float*, float*);

#define W2S_INSTANTIATE(T)                                                                                        \
  template void matmul_forward<T>(Gemm&, T*, const T*, const T*, const T*, int, int, int, cudaStream_t);          \
  template void matmul_forward_gelu<T>(Gemm&, T*, T*, const T*, const T*, const T*, int, int, int, bool,          \
                                       cudaStream_t);                                                             \
  template void matmul_backward<T>(Gemm&, T*, float*, float*, const T*, const T*, const T*, int, int, int,        \
                                   cudaStream_t);
W2S_INSTANTIATE(float)
W2S_INSTANTIATE(bf16)
#undef W2S_INSTANTIATE

}  // namespace w2s::cuda
