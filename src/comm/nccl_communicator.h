// Communicator over NCCL on device buffers: the same interface the parallel layers use with
// MpiCommunicator (comm/communicator.h), for one process per GPU. The NCCL unique id is created
// on rank 0 and broadcast over a host communicator of the same group (an MpiCommunicator).
// Collectives are enqueued on the communicator's stream; with synchronous = true (the default,
// the MPI semantics) each call returns after the stream has finished it, with false the caller
// orders work by stream (for gradient buckets overlapped with backward).
// Compile-checked only: never run on a GPU yet (docs/cuda.md).
#pragma once
#include <cuda_runtime.h>
#include <nccl.h>

#include <string>

#include "comm/communicator.h"

namespace w2s::cuda {

// cudaSetDevice(node-local rank mod visible devices), the node-local rank from comm/mpi_env.h
// (the launcher's environment, else MPI's shared-memory split). Returns the device chosen.
// Requires MPI to be initialised.
int select_device_by_local_rank();

// id_exchange: a host communicator over the same ranks, through which rank 0's NCCL unique id
// reaches the others.
class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(Communicator& id_exchange, std::string name, cudaStream_t stream = nullptr, bool synchronous = true);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return name_; }
  cudaStream_t stream() const { return stream_; }
  void set_stream(cudaStream_t stream) { stream_ = stream; }

  void all_reduce(void* buf, size_t count, DType type, ReduceOp op) override;
  void reduce_scatter(const void* send, void* recv, size_t count, DType type, ReduceOp op) override;
  void all_gather(const void* send, void* recv, size_t count, DType type) override;
  void broadcast(void* buf, size_t count, DType type, int root) override;
  void barrier() override;
  using Communicator::all_reduce;

 private:
  void finish(ncclResult_t rc, const char* what);
  ncclComm_t comm_ = nullptr;
  int rank_, size_;
  std::string name_;
  cudaStream_t stream_;
  bool synchronous_;
  int* barrier_buf_ = nullptr;  // one device int for barrier()
};

}  // namespace w2s::cuda
