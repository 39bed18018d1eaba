// Helpers for the CUDA kernel tests: device buffers poisoned with NaN, bf16 rounding on the host
// (so the CPU reference sees exactly the inputs the GPU sees), fresh random inputs, and a
// comparison that prints the measured error of every check (the record of a GPU run).
#pragma once
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "comm/communicator.h"
#include "core/cuda_check.h"
#include "kernels/cuda_kernels.h"

namespace w2s::cuda::test {

// Names typed test suites by storage type ("KernelTest/float", "KernelTest/bf16" instead of /0
// and /1), so a ctest test or a device-check step can select one precision by suite name.
struct StorageTypeNames {
  template <class T>
  static std::string GetName(int) {
    return std::is_same_v<T, float> ? "float" : "bf16";
  }
};

// Round to nearest even, as __float2bfloat16_rn does.
inline uint16_t bf16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
inline float bf16_value(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline float round_bf16(float f) { return bf16_value(bf16_bits(f)); }

// The values type T can hold: bf16-rounded for bf16, unchanged for fp32.
template <class T>
std::vector<float> representable(std::vector<float> x) {
  if constexpr (std::is_same_v<T, bf16>)
    for (float& v : x) v = round_bf16(v);
  return x;
}

// A device array of n T's, filled with NaN bytes (0xFF) so an element a kernel forgets to write
// fails the comparison.
template <class T>
class Dev {
 public:
  explicit Dev(size_t n) : n_(n) {
    W2S_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), bytes()));
    W2S_CUDA_CHECK(cudaMemset(p_, 0xFF, bytes()));
  }
  explicit Dev(const std::vector<float>& host) : Dev(host.size()) { upload(host); }
  ~Dev() { cudaFree(p_); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  T* get() const { return p_; }
  size_t size() const { return n_; }
  size_t bytes() const { return n_ * sizeof(T) + (n_ == 0 ? 1 : 0); }

  void upload(const std::vector<float>& host) {
    if constexpr (std::is_same_v<T, bf16>) {
      std::vector<uint16_t> bits(n_);
      for (size_t i = 0; i < n_; ++i) bits[i] = bf16_bits(host[i]);
      W2S_CUDA_CHECK(cudaMemcpy(p_, bits.data(), n_ * 2, cudaMemcpyHostToDevice));
    } else {
      static_assert(sizeof(T) == 4, "float or int32 device arrays");
      W2S_CUDA_CHECK(cudaMemcpy(p_, host.data(), n_ * 4, cudaMemcpyHostToDevice));
    }
  }
  std::vector<float> download() const {
    W2S_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<float> out(n_);
    if constexpr (std::is_same_v<T, bf16>) {
      std::vector<uint16_t> bits(n_);
      W2S_CUDA_CHECK(cudaMemcpy(bits.data(), p_, n_ * 2, cudaMemcpyDeviceToHost));
      for (size_t i = 0; i < n_; ++i) out[i] = bf16_value(bits[i]);
    } else {
      W2S_CUDA_CHECK(cudaMemcpy(out.data(), p_, n_ * 4, cudaMemcpyDeviceToHost));
    }
    return out;
  }

 private:
  T* p_ = nullptr;
  size_t n_;
};

inline Dev<int32_t>* make_ints(const std::vector<int32_t>& host) {
  auto* d = new Dev<int32_t>(host.size());
  W2S_CUDA_CHECK(cudaMemcpy(d->get(), host.data(), host.size() * 4, cudaMemcpyHostToDevice));
  return d;
}

// Fresh inputs every run; the seed is printed so a failure can be replayed (W2S_TEST_SEED=...).
std::mt19937_64& rng();
inline std::vector<float> uniform(size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> x(n);
  for (float& v : x) v = d(rng());
  return x;
}

// Passes when |got − want| ≤ atol + rtol·|want| everywhere, with atol = atol_frac · max|want|;
// non-finite values (a poisoned, unwritten element) always fail.
inline void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rtol,
                         double atol_frac, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 0.0;
  for (float w : want) scale = std::fmax(scale, std::fabs(w));
  const double atol = atol_frac * scale + 1e-30;
  double max_abs = 0.0, worst = 0.0;
  size_t bad = 0, worst_i = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (!std::isfinite(got[i])) err = INFINITY;
    double ratio = err / (atol + rtol * std::fabs(want[i]));
    max_abs = std::fmax(max_abs, err);
    if (ratio > 1.0) ++bad;
    if (ratio > worst || !std::isfinite(ratio)) {
      worst = ratio;
      worst_i = i;
    }
  }
  std::printf("[check] %-40s n=%-8zu max_abs_err=%.3e (max|ref| %.3e) worst/tol=%.3f  tol: rtol %.1e atol %.1e\n",
              what, got.size(), max_abs, scale, worst, rtol, atol);
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " elements out of tolerance; worst at " << worst_i << ": got "
                     << got[worst_i] << ", want " << want[worst_i];
}

// Bit-for-bit equality (deterministic kernels that add in the CPU op's order).
inline void expect_equal(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  expect_close(got, want, 0.0, 0.0, what);
}

// The CPU reference ops and model at tp = 1 through a one-rank communicator: every collective is
// the identity (no MPI needed in the GPU test program).
class SoloComm final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string name() const override { return "solo"; }
  void all_reduce(void*, size_t, DType, ReduceOp) override {}
  void reduce_scatter(const void* s, void* r, size_t count, DType t, ReduceOp) override {
    std::memcpy(r, s, count * dtype_size(t));
  }
  void all_gather(const void* s, void* r, size_t count, DType t) override { std::memcpy(r, s, count * dtype_size(t)); }
  void broadcast(void*, size_t, DType, int) override {}
  void barrier() override {}
};

}  // namespace w2s::cuda::test
