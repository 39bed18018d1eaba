#include "comm/nccl_communicator.h"

#include <mpi.h>

#include <utility>

#include "comm/mpi_env.h"
#include "core/cuda_check.h"
#include "core/error.h"

namespace w2s::cuda {
namespace {

ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case DType::F32: return ncclFloat32;
    case DType::F64: return ncclFloat64;
    case DType::BF16: return ncclBfloat16;
    case DType::I32: return ncclInt32;
    case DType::I64: return ncclInt64;
    case DType::U8: return ncclUint8;
  }
  throw UsageError(std::string("NCCL communicator: unknown element type ") + dtype_name(t));
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return ncclSum;
    case ReduceOp::Avg: return ncclAvg;
    case ReduceOp::Max: return ncclMax;
    case ReduceOp::Min: return ncclMin;
  }
  return ncclSum;
}

void check_nccl(ncclResult_t rc, const std::string& where) {
  if (rc != ncclSuccess) throw RuntimeError("NCCL error in " + where + ": " + ncclGetErrorString(rc));
}

}  // namespace

int select_device_by_local_rank() {
  const int local_rank = node_local_rank();
  const int n = device_count();
  if (n == 0) throw RuntimeError("no CUDA device is visible to this process (CUDA backend selected)");
  const int dev = local_rank % n;
  W2S_CUDA_CHECK(cudaSetDevice(dev));
  return dev;
}

NcclCommunicator::NcclCommunicator(Communicator& id_exchange, std::string name, cudaStream_t stream, bool synchronous)
    : rank_(id_exchange.rank()), size_(id_exchange.size()), name_(std::move(name)), stream_(stream),
      synchronous_(synchronous) {
  ncclUniqueId id{};
  if (rank_ == 0) check_nccl(ncclGetUniqueId(&id), name_ + ": ncclGetUniqueId");
  id_exchange.broadcast(&id, sizeof(id), DType::U8, 0);
  check_nccl(ncclCommInitRank(&comm_, size_, id, rank_), name_ + ": ncclCommInitRank");
  W2S_CUDA_CHECK(cudaMalloc(&barrier_buf_, sizeof(int)));
}

NcclCommunicator::~NcclCommunicator() {
  if (barrier_buf_) cudaFree(barrier_buf_);
  if (comm_) ncclCommDestroy(comm_);
}

void NcclCommunicator::finish(ncclResult_t rc, const char* what) {
  check_nccl(rc, name_ + ": " + what);
  if (synchronous_) W2S_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void NcclCommunicator::all_reduce(void* buf, size_t count, DType type, ReduceOp op) {
  finish(ncclAllReduce(buf, buf, count, nccl_type(type), nccl_op(op), comm_, stream_), "all_reduce");
}

void NcclCommunicator::reduce_scatter(const void* send, void* recv, size_t count, DType type, ReduceOp op) {
  finish(ncclReduceScatter(send, recv, count, nccl_type(type), nccl_op(op), comm_, stream_), "reduce_scatter");
}

void NcclCommunicator::all_gather(const void* send, void* recv, size_t count, DType type) {
  finish(ncclAllGather(send, recv, count, nccl_type(type), comm_, stream_), "all_gather");
}

void NcclCommunicator::broadcast(void* buf, size_t count, DType type, int root) {
  finish(ncclBroadcast(buf, buf, count, nccl_type(type), root, comm_, stream_), "broadcast");
}

void NcclCommunicator::barrier() {
  check_nccl(ncclAllReduce(barrier_buf_, barrier_buf_, 1, ncclInt32, ncclSum, comm_, stream_), name_ + ": barrier");
  W2S_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

}  // namespace w2s::cuda
