// The collective-communication interface every parallel layer talks to. MpiCommunicator
// implements it on host buffers; the CUDA backend's NcclCommunicator implements it on device
// buffers. The element type is always explicit, never inferred.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace w2s {

enum class DType { F32, F64, BF16, I32, I64, U8 };
enum class ReduceOp { Sum, Avg, Max, Min };

size_t dtype_size(DType t);
const char* dtype_name(DType t);

// A collective that has been started and may still be running; wait() completes it (once; later
// calls return at once) and throws a RuntimeError naming the collective if it failed. Buffers
// given to the collective must stay alive and untouched until then.
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string name() const = 0;  // "world", "tp", "dp" — for error messages

  // In place: buf holds count elements on every rank.
  virtual void all_reduce(void* buf, size_t count, DType type, ReduceOp op) = 0;
  // send holds size()*count elements; recv gets this rank's reduced block of count elements.
  virtual void reduce_scatter(const void* send, void* recv, size_t count, DType type, ReduceOp op) = 0;
  // send holds count elements; recv gets size()*count elements, rank-ordered.
  virtual void all_gather(const void* send, void* recv, size_t count, DType type) = 0;
  virtual void broadcast(void* buf, size_t count, DType type, int root) = 0;
  virtual void barrier() = 0;

  // Non-blocking forms, for gradient buckets overlapped with backward (parallel/grad_sync.h).
  // The defaults run the blocking collective and return a completed handle: right for a
  // communicator whose collectives are already asynchronous to the host (NCCL on a stream).
  virtual std::unique_ptr<PendingCollective> start_all_reduce(void* buf, size_t count, DType type, ReduceOp op);
  virtual std::unique_ptr<PendingCollective> start_reduce_scatter(const void* send, void* recv, size_t count,
                                                                  DType type, ReduceOp op);

  // Typed conveniences.
  void all_reduce(float* buf, size_t n, ReduceOp op = ReduceOp::Sum) { all_reduce(buf, n, DType::F32, op); }
  void all_reduce(double* buf, size_t n, ReduceOp op = ReduceOp::Sum) { all_reduce(buf, n, DType::F64, op); }
  void all_reduce(int64_t* buf, size_t n, ReduceOp op = ReduceOp::Sum) { all_reduce(buf, n, DType::I64, op); }
  double all_reduce_scalar(double x, ReduceOp op = ReduceOp::Sum) {
    all_reduce(&x, 1, DType::F64, op);
    return x;
  }
};

}  // namespace w2s
