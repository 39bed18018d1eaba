// The residual stream and biases: y += x, out = a + b, row-broadcast bias add, and the bias
// gradient as a deterministic column sum.
#include "column_reduce.cuh"

namespace w2s::cuda {
namespace {

template <class T>
__global__ void add_inplace_kernel(T* y, const T* x, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = from_float<T>(to_float(y[i]) + to_float(x[i]));
}

template <class T>
__global__ void residual_kernel(T* out, const T* a, const T* b, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = from_float<T>(to_float(a[i]) + to_float(b[i]));
}

template <class T>
__global__ void add_bias_kernel(T* x, const T* bias, int64_t total, int n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    x[i] = from_float<T>(to_float(x[i]) + to_float(bias[i % n]));
}

template <class T>
struct DoutValue {
  const T* dout;
  int n;
  __device__ void operator()(int r, int c, float (&v)[1]) const { v[0] = to_float(dout[static_cast<int64_t>(r) * n + c]); }
};

}  // namespace

template <class T>
void add_inplace(T* y, const T* x, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  add_inplace_kernel<<<blocks_for(n, 256), 256, 0, stream>>>(y, x, n);
  W2S_CUDA_LAUNCH_CHECK("add_inplace_kernel");
}

template <class T>
void residual_forward(T* out, const T* a, const T* b, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  residual_kernel<<<blocks_for(n, 256), 256, 0, stream>>>(out, a, b, n);
  W2S_CUDA_LAUNCH_CHECK("residual_kernel");
}

template <class T>
void add_bias(T* x, const T* bias, int rows, int n, cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(rows) * n;
  if (total <= 0) return;
  add_bias_kernel<<<blocks_for(total, 256), 256, 0, stream>>>(x, bias, total, n);
  W2S_CUDA_LAUNCH_CHECK("add_bias_kernel");
}

template <class T>
void bias_backward(float* db, const T* dout, int rows, int n, cudaStream_t stream) {
  column_reduce<1>(DoutValue<T>{dout, n}, ColumnOutputs<1>{{db}}, rows, n, stream);
}

#define W2S_INSTANTIATE(T)                                                    \
  template void add_inplace<T>(T*, const T*, int64_t, cudaStream_t);          \
  template void residual_forward<T>(T*, const T*, const T*, int64_t, cudaStream_t); \
  template void add_bias<T>(T*, const T*, int, int, cudaStream_t);            \
  template void bias_backward<T>(float*, const T*, int, int, cudaStream_t);
W2S_INSTANTIATE(float)
W2S_INSTANTIATE(bf16)
#undef W2S_INSTANTIATE

}  // namespace w2s::cuda
