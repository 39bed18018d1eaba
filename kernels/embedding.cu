// Token + position embeddings, forward and a deterministic backward. The wte gradient sorts the
// rows by token with CUB's stable radix sort, then one block per distinct token sums that token's
// rows in ascending row order — the CPU op's order, with no floating-point atomics.
#include <cub/device/device_radix_sort.cuh>

#include "common.cuh"

namespace w2s::cuda {
namespace {

template <class T>
__global__ void embedding_forward_kernel(T* out, const int32_t* tokens, const T* wte_local, const T* wpe, int rows,
                                         int T_, int C, int vocab_begin, int vocab_end) {
  const int r = blockIdx.x;
  const int tok = tokens[r];
  const bool owned = tok >= vocab_begin && tok < vocab_end;
  const T* e = wte_local + static_cast<int64_t>(owned ? tok - vocab_begin : 0) * C;
  const T* p = wpe ? wpe + static_cast<int64_t>(r % T_) * C : nullptr;
  T* o = out + static_cast<int64_t>(r) * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    float x = owned ? to_float(e[c]) : 0.0f;
    if (p) x += to_float(p[c]);
    o[c] = from_float<T>(x);
  }
}

template <class T>
__global__ void add_positions_kernel(T* out, const T* wpe, int rows, int T_, int C) {
  const int r = blockIdx.x;
  const T* p = wpe + static_cast<int64_t>(r % T_) * C;
  T* o = out + static_cast<int64_t>(r) * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) o[c] = from_float<T>(to_float(o[c]) + to_float(p[c]));
}

// dwpe[t, c] += Σ_b dout[b·T + t, c], b ascending.
template <class T>
__global__ void wpe_backward_kernel(float* dwpe, const T* dout, int B, int T_, int C) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<int64_t>(T_) * C) return;
  const int t = static_cast<int>(i / C), c = static_cast<int>(i % C);
  float acc = dwpe[i];
  for (int b = 0; b < B; ++b) acc += to_float(dout[(static_cast<int64_t>(b) * T_ + t) * C + c]);
  dwpe[i] = acc;
}

// Sort keys: the local vocabulary row of an owned token, V_local (sorts last, skipped) otherwise.
__global__ void token_keys_kernel(uint32_t* keys, int32_t* row_ids, const int32_t* tokens, int rows, int vocab_begin,
                                  int vocab_end) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const int tok = tokens[r];
  const bool owned = tok >= vocab_begin && tok < vocab_end;
  keys[r] = owned ? static_cast<uint32_t>(tok - vocab_begin) : static_cast<uint32_t>(vocab_end - vocab_begin);
  row_ids[r] = r;
}

// Block i handles the run of equal keys that starts at sorted position i (other blocks exit).
template <class T>
__global__ void wte_backward_kernel(float* dwte_local, const T* dout, const uint32_t* keys, const int32_t* row_ids,
                                    int rows, int C, uint32_t V_local) {
  const int i = blockIdx.x;
  const uint32_t key = keys[i];
  if (key >= V_local || (i > 0 && keys[i - 1] == key)) return;
  float* w = dwte_local + static_cast<int64_t>(key) * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    float acc = w[c];
    for (int j = i; j < rows && keys[j] == key; ++j) acc += to_float(dout[static_cast<int64_t>(row_ids[j]) * C + c]);
    w[c] = acc;
  }
}

int bits_for(uint32_t max_key) {
  int bits = 1;
  while (bits < 32 && (max_key >> bits) != 0) ++bits;
  return bits;
}

}  // namespace

template <class T>
void embedding_forward(T* out, const int32_t* tokens, const T* wte_local, const T* wpe, int B, int T_, int C,
                       int vocab_begin, int vocab_end, cudaStream_t stream) {
  const int rows = B * T_;
  if (rows <= 0) return;
  embedding_forward_kernel<<<rows, 256, 0, stream>>>(out, tokens, wte_local, wpe, rows, T_, C, vocab_begin, vocab_end);
  W2S_CUDA_LAUNCH_CHECK("embedding_forward_kernel");
}

template <class T>
void add_positions(T* out, const T* wpe, int B, int T_, int C, cudaStream_t stream) {
  const int rows = B * T_;
  if (rows <= 0) return;
  add_positions_kernel<<<rows, 256, 0, stream>>>(out, wpe, rows, T_, C);
  W2S_CUDA_LAUNCH_CHECK("add_positions_kernel");
}

template <class T>
void embedding_backward(float* dwte_local, float* dwpe, const T* dout, const int32_t* tokens, int B, int T_, int C,
                        int vocab_begin, int vocab_end, cudaStream_t stream) {
  const int rows = B * T_;
  if (rows <= 0) return;
  const int64_t pos = static_cast<int64_t>(T_) * C;
  wpe_backward_kernel<<<blocks_for(pos, 256), 256, 0, stream>>>(dwpe, dout, B, T_, C);
  W2S_CUDA_LAUNCH_CHECK("wpe_backward_kernel");

  const uint32_t V_local = static_cast<uint32_t>(vocab_end - vocab_begin);
  Scratch<uint32_t> keys_in(rows, stream), keys_out(rows, stream);
  Scratch<int32_t> ids_in(rows, stream), ids_out(rows, stream);
  token_keys_kernel<<<(rows + 255) / 256, 256, 0, stream>>>(keys_in.get(), ids_in.get(), tokens, rows, vocab_begin,
                                                            vocab_end);
  W2S_CUDA_LAUNCH_CHECK("token_keys_kernel");
  const int end_bit = bits_for(V_local);
  size_t temp_bytes = 0;
  W2S_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, keys_in.get(), keys_out.get(), ids_in.get(),
                                                 ids_out.get(), rows, 0, end_bit, stream));
  Scratch<unsigned char> temp(temp_bytes, stream);
  W2S_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp.get(), temp_bytes, keys_in.get(), keys_out.get(), ids_in.get(),
                                                 ids_out.get(), rows, 0, end_bit, stream));
  wte_backward_kernel<<<rows, 256, 0, stream>>>(dwte_local, dout, keys_out.get(), ids_out.get(), rows, C, V_local);
  W2S_CUDA_LAUNCH_CHECK("wte_backward_kernel");
}

#define W2S_INSTANTIATE(T)                                                                                   \
  template void embedding_forward<T>(T*, const int32_t*, const T*, const T*, int, int, int, int, int,        \
                                     cudaStream_t);                                                          \
  template void add_positions<T>(T*, const T*, int, int, int, cudaStream_t);                                \
  template void embedding_backward<T>(float*, float*, const T*, const int32_t*, int, int, int, int, int,     \
                                      cudaStream_t);
W2S_INSTANTIATE(float)
W2S_INSTANTIATE(bf16)
#undef W2S_INSTANTIATE

}  // namespace w2s::cuda
