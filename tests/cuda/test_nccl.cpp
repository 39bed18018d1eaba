// NcclCommunicator on one GPU: a one-rank world, bootstrapped through SoloComm (rank 0 makes the
// NCCL unique id, so the bootstrap's broadcast has nothing to carry). At one rank every
// collective is the identity, so results must equal the inputs bit for bit; what this checks is
// that init works, that every DType/ReduceOp maps to a NCCL type/op NCCL accepts, the
// in-place/out-of-place buffer handling, and stream-ordered (synchronous = false) use.
// Multi-GPU results against MpiCommunicator need one process per GPU (mpirun -n 2+): not here.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "cuda_test_util.h"
#include "comm/nccl_communicator.h"

namespace w2s::cuda::test {
namespace {

// Finite values of each element type as raw bytes (so one routine serves every DType).
std::vector<uint8_t> sample_bytes(DType type, size_t count) {
  std::vector<uint8_t> bytes(count * dtype_size(type));
  std::uniform_real_distribution<float> u(-4.0f, 4.0f);
  for (size_t i = 0; i < count; ++i) {
    const float v = u(rng());
    uint8_t* p = bytes.data() + i * dtype_size(type);
    switch (type) {
      case DType::F32: std::memcpy(p, &v, 4); break;
      case DType::F64: { const double d = v; std::memcpy(p, &d, 8); break; }
      case DType::BF16: { const uint16_t b = bf16_bits(v); std::memcpy(p, &b, 2); break; }
      case DType::I32: { const int32_t x = static_cast<int32_t>(v * 1000); std::memcpy(p, &x, 4); break; }
      case DType::I64: { const int64_t x = static_cast<int64_t>(v * 1e6); std::memcpy(p, &x, 8); break; }
      case DType::U8: *p = static_cast<uint8_t>(i * 37 + 11); break;
    }
  }
  return bytes;
}

struct DeviceBytes {
  explicit DeviceBytes(size_t n) : n(n) { W2S_CUDA_CHECK(cudaMalloc(&p, n)); W2S_CUDA_CHECK(cudaMemset(p, 0xFF, n)); }
  ~DeviceBytes() { cudaFree(p); }
  void upload(const std::vector<uint8_t>& h) { W2S_CUDA_CHECK(cudaMemcpy(p, h.data(), n, cudaMemcpyHostToDevice)); }
  std::vector<uint8_t> download() const {
    std::vector<uint8_t> h(n);
    W2S_CUDA_CHECK(cudaMemcpy(h.data(), p, n, cudaMemcpyDeviceToHost));
    return h;
  }
  void* p = nullptr;
  size_t n;
};

constexpr DType kTypes[] = {DType::F32, DType::F64, DType::BF16, DType::I32, DType::I64, DType::U8};

TEST(NcclOneRank, EveryCollectiveIsTheIdentity) {
  SoloComm solo;
  NcclCommunicator nccl(solo, "nccl-test");
  ASSERT_EQ(nccl.rank(), 0);
  ASSERT_EQ(nccl.size(), 1);
  const size_t count = 1000 + 3;  // not a multiple of any vector width
  for (DType type : kTypes) {
    SCOPED_TRACE(dtype_name(type));
    const std::vector<uint8_t> in = sample_bytes(type, count);
    DeviceBytes a(in.size()), b(in.size());
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Avg, ReduceOp::Max, ReduceOp::Min}) {
      if (op == ReduceOp::Avg && (type == DType::U8 || type == DType::I32 || type == DType::I64)) continue;
      a.upload(in);
      nccl.all_reduce(a.p, count, type, op);
      EXPECT_EQ(a.download(), in) << "all_reduce op " << static_cast<int>(op);
    }
    a.upload(in);
    nccl.reduce_scatter(a.p, b.p, count, type, ReduceOp::Sum);
    EXPECT_EQ(b.download(), in) << "reduce_scatter";
    W2S_CUDA_CHECK(cudaMemset(b.p, 0xFF, b.n));
    nccl.all_gather(a.p, b.p, count, type);
    EXPECT_EQ(b.download(), in) << "all_gather";
    nccl.broadcast(a.p, count, type, 0);
    EXPECT_EQ(a.download(), in) << "broadcast";
  }
  nccl.barrier();
}

TEST(NcclOneRank, StreamOrderedUse) {
  cudaStream_t stream;
  W2S_CUDA_CHECK(cudaStreamCreate(&stream));
  {
    SoloComm solo;
    NcclCommunicator nccl(solo, "nccl-async", stream, /*synchronous=*/false);
    const std::vector<uint8_t> in = sample_bytes(DType::F32, 1 << 20);
    DeviceBytes a(in.size());
    W2S_CUDA_CHECK(cudaMemcpyAsync(a.p, in.data(), in.size(), cudaMemcpyHostToDevice, stream));
    for (int k = 0; k < 8; ++k) nccl.all_reduce(a.p, in.size() / 4, DType::F32, ReduceOp::Sum);
    W2S_CUDA_CHECK(cudaStreamSynchronize(stream));
    EXPECT_EQ(a.download(), in);
  }
  W2S_CUDA_CHECK(cudaStreamDestroy(stream));
}

}  // namespace
}  // namespace w2s::cuda::test
