// The CUDA kernel tests: each kernel against its CPU op on fresh random inputs. Without a GPU
// the program exits 77, which ctest reports as skipped (SKIP_RETURN_CODE).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "cuda_test_util.h"

namespace w2s::cuda::test {
std::mt19937_64& rng() {
  static std::mt19937_64 g([] {
    const char* env = std::getenv("W2S_TEST_SEED");
    uint64_t seed = env ? std::stoull(env) : std::random_device{}();
    std::printf("w2s_cuda_tests: seed %llu (replay with W2S_TEST_SEED)\n", static_cast<unsigned long long>(seed));
    return seed;
  }());
  return g;
}
}  // namespace w2s::cuda::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Listing needs no device; running does.
  if (!::testing::GTEST_FLAG(list_tests) && w2s::cuda::device_count() == 0) {
    std::printf("w2s_cuda_tests: no CUDA device visible: skipping (exit 77)\n");
    return 77;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess)
    std::printf("w2s_cuda_tests: device 0: %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
  return RUN_ALL_TESTS();
}
