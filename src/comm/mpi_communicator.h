// Communicator over an MPI communicator, on host memory.
#pragma once
#include <mpi.h>

#include "comm/communicator.h"
#include "core/timer.h"

namespace w2s {

class MpiCommunicator final : public Communicator {
 public:
  // Takes ownership of comm (freed in the destructor) unless it is MPI_COMM_WORLD/SELF.
  MpiCommunicator(MPI_Comm comm, std::string name);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return name_; }
  MPI_Comm comm() const { return comm_; }

  void all_reduce(void* buf, size_t count, DType type, ReduceOp op) override;
  void reduce_scatter(const void* send, void* recv, size_t count, DType type, ReduceOp op) override;
  void all_gather(const void* send, void* recv, size_t count, DType type) override;
  void broadcast(void* buf, size_t count, DType type, int root) override;
  void barrier() override;
  using Communicator::all_reduce;

  // Seconds spent inside this communicator's blocking collectives (for scaling reports).
  double comm_seconds() const { return watch_.total(); }
  void reset_comm_seconds() { watch_.clear(); }

  // MPI_Iallreduce / MPI_Ireduce_scatter_block: the collective progresses while backward runs.
  std::unique_ptr<PendingCollective> start_all_reduce(void* buf, size_t count, DType type, ReduceOp op) override;
  std::unique_ptr<PendingCollective> start_reduce_scatter(const void* send, void* recv, size_t count, DType type,
                                                          ReduceOp op) override;

 private:
  void check(int rc, const char* what) const;
  MPI_Comm comm_;
  std::string name_;
  int rank_ = 0;
  int size_ = 1;
  StopWatch watch_;
};


}  // namespace w2s
