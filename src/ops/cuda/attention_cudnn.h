// Causal scaled-dot-product attention through cuDNN 9's C backend graph API (cudnn_graph.h,
// cudnnBackend* descriptors; the C++ frontend is not available to us). Same layouts as the plain
// kernels (cuda_ops.h attention_forward/backward): Q, K and V are read in place out of the packed
// qkv rows [B, T, 3·heads·hd] through strides, the output is written as [B, T, heads·hd] and the
// gradient as dqkv in the qkv layout, so no transposes exist anywhere. bf16 storage, fp32
// accumulation and softmax; scale 1/sqrt(hd).
//
// What is saved for backward differs from the plain kernels: instead of probs [B, heads, T, T]
// the forward saves stats [B, heads, T] in fp32, the log-sum-exp of each scaled, masked score row
// (max + log Σ exp), and the backward recomputes the probabilities from Q, K and the stats (flash
// attention; O(T) memory). The plain kernels (kernels/attention.cu) stay the fallback for shapes
// cuDNN refuses and the reference the tests compare against.
//
// Execution plans are built once per (pass, B, T, heads, hd) and cached; the workspace (cuDNN's
// own plus, for backward, the fp32 dQ accumulator and the Σ dO∘O rows) is a stream-ordered
// allocation made per call. The backward pass is not bitwise deterministic (cuDNN accumulates dQ
// in fp32 with atomics), unlike every other gradient in this backend.
//
// Status: compile-checked only; never run on a GPU (docs/cuda.md).
#pragma once
#include <cuda_runtime.h>
#include <cudnn_graph.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>

#include "core/error.h"
#include "kernels/cuda_kernels.h"
#include "ops/cuda/cudnn_status.h"

namespace w2s::cuda {

// A failed cuDNN call: a w2s runtime error (exit 3) that keeps cuDNN's status, so plan building
// can tell "fall back to the plain kernels" from "fatal" (cudnn_status.h).
class CudnnError : public Error {
 public:
  CudnnError(int status, const std::string& message) : Error(ExitCode::Runtime, message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

// cuDNN's verdict plus its last detailed message (cudnnGetLastErrorString), the call and the
// shape it was building or running: enough to act on from a one-line error.
inline void check_cudnn(cudnnStatus_t status, const std::string& what, const std::string& where) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  char detail[512] = {};
  cudnnGetLastErrorString(detail, sizeof(detail));
  std::string message = "cuDNN error in " + what + " (" + where + "): " + cudnnGetErrorString(status) + " (status " +
                        std::to_string(static_cast<int>(status)) + ")";
  if (detail[0] != '\0') message += ": " + std::string(detail);
  throw CudnnError(static_cast<int>(status), message);
}

}  // namespace w2s::cuda

// `where` names the shape (or other context) the call belongs to.
#define W2S_CUDNN_CHECK(expr, where) ::w2s::cuda::check_cudnn((expr), #expr, (where))

namespace w2s::cuda {

// Which graph: forward without saved statistics (inference), forward saving them (training),
// or the backward pass.
enum class AttentionPass { Inference, Training, Backward };

// One per device (the cuDNN handle belongs to the device current at construction); not thread
// safe. Every cuDNN call is checked; failures are w2s runtime errors naming the call and shape.
//
// Building a plan never throws for cuDNN's sake unless the failure is fatal (cudnn_status.h): a
// status other than success from any descriptor finalize, the heuristics or an execution plan
// makes supports() false, and the reason is logged once (core/log.h, one warning per distinct
// reason), so the caller uses the plain kernels. At most kMaxEngineConfigs engine
// configurations are tried per graph (each can cost a runtime compilation), and the time the
// search took is logged with the outcome.
class CudnnAttention {
 public:
  CudnnAttention();
  ~CudnnAttention();
  CudnnAttention(const CudnnAttention&) = delete;
  CudnnAttention& operator=(const CudnnAttention&) = delete;

  // out [B, T, heads·hd] from qkv [B, T, 3·heads·hd]; stats [B, heads, T] fp32 (log-sum-exp of
  // each row), or nullptr for the inference graph, which saves nothing.
  void forward(bf16* out, float* stats, const bf16* qkv, int B, int T, int heads, int hd, cudaStream_t stream);
  // dqkv [B, T, 3·heads·hd] (overwritten) from dout [B, T, heads·hd], the forward's out and stats.
  void backward(bf16* dqkv, const bf16* dout, const bf16* out, const bf16* qkv, const float* stats, int B, int T,
                int heads, int hd, cudaStream_t stream);

  // Whether cuDNN has an execution plan for this shape: builds and caches it. false (instead of
  // the error forward/backward throw) when the graph is not supported or the engine heuristics
  // offer no plan that finalizes, so callers can pick kernels/attention.cu. Throws for the shape
  // preconditions (hd a multiple of 8) and for any other cuDNN failure.
  bool supports(AttentionPass pass, int B, int T, int heads, int hd);
  // Plans built so far, including shapes found unsupported (for tests of the cache).
  size_t cached_plans() const { return plans_.size(); }
  // Why supports() is false for this shape ("" when it is true or was never asked).
  std::string unsupported_reason(AttentionPass pass, int B, int T, int heads, int hd) const;

  // Engine configurations tried per graph, heuristics modes together.
  static constexpr int kMaxEngineConfigs = 8;

 private:
  struct Plan;
  using Key = std::tuple<int, int, int, int, int>;  // pass, B, T, heads, hd
  const Plan& plan(AttentionPass pass, int B, int T, int heads, int hd);

  void log_fallback_once(const std::string& key, const std::string& message);

  cudnnHandle_t handle_ = nullptr;
  std::map<Key, std::unique_ptr<Plan>> plans_;
  std::set<std::string> logged_;  // fallback reasons already logged
};

}  // namespace w2s::cuda
