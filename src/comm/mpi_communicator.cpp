#include "comm/mpi_communicator.h"

#include <climits>
#include <cstring>
#include <functional>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/strings.h"

namespace w2s {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::BF16: return 2;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::U8: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::BF16: return "bf16";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::U8: return "u8";
  }
  return "?";
}

namespace {

MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::F32: return MPI_FLOAT;
    case DType::F64: return MPI_DOUBLE;
    case DType::I32: return MPI_INT32_T;
    case DType::I64: return MPI_INT64_T;
    case DType::U8: return MPI_UINT8_T;
    case DType::BF16: break;
  }
  throw UsageError(std::string("MPI communicator: element type ") + dtype_name(t) + " is not supported on host");
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Avg: return MPI_SUM;
    case ReduceOp::Max: return MPI_MAX;
    case ReduceOp::Min: return MPI_MIN;
  }
  return MPI_SUM;
}

int checked_count(size_t count) {
  if (count > static_cast<size_t>(INT_MAX)) throw RuntimeError("MPI message of " + std::to_string(count) + " elements too large");
  return static_cast<int>(count);
}

// Divides in place by n for ReduceOp::Avg.
void divide(void* buf, size_t count, DType t, int n) {
  if (n == 1) return;
  if (t == DType::F32) {
    float* p = static_cast<float*>(buf);
    float inv = 1.0f / static_cast<float>(n);
    for (size_t i = 0; i < count; ++i) p[i] *= inv;
  } else if (t == DType::F64) {
    double* p = static_cast<double*>(buf);
    for (size_t i = 0; i < count; ++i) p[i] /= n;
  } else {
    throw UsageError("average reduction needs a floating-point type");
  }
}

}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm, std::string name) : comm_(comm), name_(std::move(name)) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_WORLD && comm_ != MPI_COMM_SELF && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void MpiCommunicator::check(int rc, const char* what) const {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw RuntimeError(strfmt("MPI %s on communicator '%s' failed: %.*s", what, name_.c_str(), len, msg));
}

void MpiCommunicator::all_reduce(void* buf, size_t count, DType type, ReduceOp op) {
  if (size_ == 1 || count == 0) return;
  watch_.start();
  int rc = MPI_Allreduce(MPI_IN_PLACE, buf, checked_count(count), mpi_type(type), mpi_op(op), comm_);
  watch_.stop();
  check(rc, "all_reduce");
  if (op == ReduceOp::Avg) divide(buf, count, type, size_);
}

void MpiCommunicator::reduce_scatter(const void* send, void* recv, size_t count, DType type, ReduceOp op) {
  if (size_ == 1) {
    std::memcpy(recv, send, count * dtype_size(type));
    return;
  }
  watch_.start();
  int rc = MPI_Reduce_scatter_block(send, recv, checked_count(count), mpi_type(type), mpi_op(op), comm_);
  watch_.stop();
  check(rc, "reduce_scatter");
  if (op == ReduceOp::Avg) divide(recv, count, type, size_);
}

void MpiCommunicator::all_gather(const void* send, void* recv, size_t count, DType type) {
  if (size_ == 1) {
    if (send != recv) std::memcpy(recv, send, count * dtype_size(type));
    return;
  }
  MPI_Datatype t = mpi_type(type);
  // In-place form when send already sits at this rank's block of recv.
  const char* own = static_cast<const char*>(recv) + rank_ * count * dtype_size(type);
  const void* src = (send == own) ? MPI_IN_PLACE : send;
  watch_.start();
  int rc = MPI_Allgather(src, checked_count(count), t, recv, checked_count(count), t, comm_);
  watch_.stop();
  check(rc, "all_gather");
}

void MpiCommunicator::broadcast(void* buf, size_t count, DType type, int root) {
  if (size_ == 1 || count == 0) return;
  watch_.start();
  int rc = MPI_Bcast(buf, checked_count(count), mpi_type(type), root, comm_);
  watch_.stop();
  check(rc, "broadcast");
}

void MpiCommunicator::barrier() {
  if (size_ > 1) check(MPI_Barrier(comm_), "barrier");
}

namespace {

// An MPI request for a started collective. MPI has no average, so `then` (the division of an
// Avg) runs once the data has arrived.
class MpiPendingCollective final : public PendingCollective {
 public:
  MpiPendingCollective(MPI_Request req, std::string what, std::function<void()> then)
      : req_(req), what_(std::move(what)), then_(std::move(then)) {}
  void wait() override {
    if (req_ != MPI_REQUEST_NULL) {
      int rc = MPI_Wait(&req_, MPI_STATUS_IGNORE);
      if (rc != MPI_SUCCESS) throw RuntimeError("MPI wait for " + what_ + " failed");
    }
    if (then_) std::exchange(then_, nullptr)();
  }

 private:
  MPI_Request req_;
  std::string what_;
  std::function<void()> then_;
};

}  // namespace

std::unique_ptr<PendingCollective> MpiCommunicator::start_all_reduce(void* buf, size_t count, DType type,
                                                                     ReduceOp op) {
  MPI_Request req = MPI_REQUEST_NULL;
  if (size_ == 1 || count == 0) return std::make_unique<MpiPendingCollective>(req, "", nullptr);
  check(MPI_Iallreduce(MPI_IN_PLACE, buf, checked_count(count), mpi_type(type), mpi_op(op), comm_, &req),
        "all_reduce (non-blocking)");
  std::function<void()> then;
  if (op == ReduceOp::Avg) then = [=, n = size_] { divide(buf, count, type, n); };
  return std::make_unique<MpiPendingCollective>(req, "all_reduce on communicator '" + name_ + "'", then);
}

std::unique_ptr<PendingCollective> MpiCommunicator::start_reduce_scatter(const void* send, void* recv, size_t count,
                                                                         DType type, ReduceOp op) {
  MPI_Request req = MPI_REQUEST_NULL;
  if (size_ == 1) {
    std::memcpy(recv, send, count * dtype_size(type));
    return std::make_unique<MpiPendingCollective>(req, "", nullptr);
  }
  check(MPI_Ireduce_scatter_block(send, recv, checked_count(count), mpi_type(type), mpi_op(op), comm_, &req),
        "reduce_scatter (non-blocking)");
  std::function<void()> then;
  if (op == ReduceOp::Avg) then = [=, n = size_] { divide(recv, count, type, n); };
  return std::make_unique<MpiPendingCollective>(req, "reduce_scatter on communicator '" + name_ + "'", then);
}

}  // namespace w2s
