// Causal SDPA as cuDNN operation graphs (backend API). The graphs are the ones cuDNN's runtime
// fusion engine recognises as flash attention, built op by op the way NVIDIA's frontend lowers its
// SDPA nodes for cuDNN < 9.21 (matmul, pointwise, reduction and reshape operations; no unified
// SDPA operation, whose causal mask needs 9.21 subgraphs):
//   forward:  S = Q·Kᵀ · scale; S = row ≥ col ? S : −inf; M = max S; E = exp(S − M); Z = Σ E;
//             stats = M + log Z; P = E / Z (bf16); O = P·V
//   backward: D = Σ dO∘O (fp32, workspace); P = exp(mask(Q·Kᵀ · scale − stats)); dV = Pᵀ·dO;
//             dS = P ∘ (dO·Vᵀ − D) · scale; dK = dSᵀ·Q; dQ = dS·K (fp32 accumulator, workspace)
// Kᵀ and Vᵀ are the same qkv bytes described with the last two dimensions' strides swapped.
#include "ops/cuda/attention_cudnn.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "core/cuda_check.h"
#include "core/log.h"
#include "core/strings.h"

namespace w2s::cuda {

using Desc = cudnnBackendDescriptor_t;

// Unique ids of the tensors the variant pack binds; virtual tensors get ids from kFirstVirtual.
enum Uid : int64_t {
  kQ = 1, kK, kV, kO, kStats, kScale, kNegInf, kOne, kdO, kdQ, kdK, kdV, kRowDot, kdQAcc, kFirstVirtual = 100
};

struct CudnnAttention::Plan {
  std::vector<Desc> owned;  // every descriptor of the graph: the plan may refer to any of them
  Desc exec = nullptr;      // nullptr: no plan for this shape (`why` says why)
  int64_t workspace = 0;
  std::string why;          // the reason (require() and the log add the shape)
  ~Plan() {
    for (auto it = owned.rbegin(); it != owned.rend(); ++it) cudnnBackendDestroyDescriptor(*it);
  }
};

namespace {

constexpr cudnnDataType_t kF32 = CUDNN_DATA_FLOAT, kBF16 = CUDNN_DATA_BFLOAT16;
constexpr int64_t kAlign = 16;  // bytes; tensor-core engines need 16-byte aligned operands

struct Shape {
  AttentionPass pass;
  int64_t B, T, H, hd;
  int64_t C() const { return H * hd; }  // one of q/k/v in a qkv row; the output row
  std::string text() const {
    const char* names[] = {"inference", "training", "backward"};
    return std::string("cuDNN SDPA ") + names[static_cast<int>(pass)] + " B=" + std::to_string(B) +
           " T=" + std::to_string(T) + " heads=" + std::to_string(H) + " hd=" + std::to_string(hd);
  }
};

// A 4-d tensor's dimensions and strides in elements.
struct Layout {
  int64_t dim[4];
  int64_t stride[4];
};

// Every layout the graphs use, derived from the shape once.
struct Layouts {
  Layout bhtd;     // Q, K, V, dQ, dK, dV: [B, H, T, hd] inside qkv rows of 3C
  Layout bhdt;     // Kᵀ, Vᵀ: the same bytes as [B, H, hd, T]
  Layout out;      // O, dO: [B, H, T, hd] inside rows of C
  Layout scores;   // [B, H, T, T] packed, fp32 (virtual)
  Layout scoresT;  // its transpose as the reshape produces it (virtual)
  Layout rows;     // stats and Σ dO∘O: [B, H, T, 1] packed
  Layout acc;      // dQ accumulator: [B, H, T, hd] packed fp32
  Layout dot;      // dO∘O before its row sum (virtual); strides as NVIDIA's frontend gives them
  explicit Layouts(const Shape& s) {
    const int64_t B = s.B, H = s.H, T = s.T, d = s.hd, R = 3 * s.C(), C = s.C();
    bhtd = {{B, H, T, d}, {T * R, d, R, 1}};
    bhdt = {{B, H, d, T}, {T * R, d, 1, R}};
    out = {{B, H, T, d}, {T * C, d, C, 1}};
    scores = {{B, H, T, T}, {H * T * T, T * T, T, 1}};
    scoresT = {{B, H, T, T}, {H * T * T, T * T, 1, T}};
    rows = {{B, H, T, 1}, {H * T, T, 1, 1}};
    acc = {{B, H, T, d}, {H * T * d, T * d, d, 1}};
    dot = {{B, H, T, d}, {H * T * d, T * d, H * d, 1}};
  }
};

const Layout kScalar = {{1, 1, 1, 1}, {1, 1, 1, 1}};

// Builds the descriptors of one graph; each is owned by the plan under construction. Errors name
// the attribute or descriptor and the shape.
class GraphBuilder {
 public:
  GraphBuilder(std::vector<Desc>& owned, std::string where) : owned_(owned), where_(std::move(where)) {}
  const std::string& where() const { return where_; }
  const std::vector<Desc>& ops() const { return ops_; }

  Desc make(cudnnBackendDescriptorType_t type) {
    Desc d = nullptr;
    check_cudnn(cudnnBackendCreateDescriptor(type, &d), "cudnnBackendCreateDescriptor(type " + std::to_string(static_cast<int>(type)) + ")",
                where_);
    owned_.push_back(d);
    return d;
  }
  template <class V>
  void set(Desc d, cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, const V* values,
           int64_t count = 1) {
    check_cudnn(cudnnBackendSetAttribute(d, name, type, count, values),
                "cudnnBackendSetAttribute(attribute " + std::to_string(static_cast<int>(name)) + ")", where_);
  }
  void finalize(Desc d, const char* what) {
    check_cudnn(cudnnBackendFinalize(d), std::string("cudnnBackendFinalize(") + what + ")", where_);
  }

  // A tensor bound by the variant pack (uid) or an intermediate that never reaches memory.
  Desc tensor(int64_t uid, cudnnDataType_t type, const Layout& l, bool is_virtual, bool by_value = false) {
    Desc t = make(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    set(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, &type);
    set(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, l.dim, 4);
    set(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, l.stride, 4);
    set(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, &uid);
    set(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, &kAlign);
    set(t, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, &is_virtual);
    if (by_value) set(t, CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, &by_value);
    finalize(t, "tensor");
    return t;
  }
  Desc temp(cudnnDataType_t type, const Layout& l) { return tensor(next_uid_++, type, l, true); }
  // A host fp32 scalar passed by value in the variant pack (scale, −inf, 1).
  Desc scalar(int64_t uid) { return tensor(uid, kF32, kScalar, false, true); }

  // y = mode(x[, b][, t]); axis only for GEN_INDEX. prec is the pointwise math precision.
  void pointwise(cudnnPointwiseMode_t mode, cudnnDataType_t prec, Desc x, Desc b, Desc y, Desc t = nullptr,
                 int64_t axis = -1) {
    Desc pw = make(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
    set(pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, &mode);
    set(pw, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, &prec);
    if (axis >= 0) set(pw, CUDNN_ATTR_POINTWISE_AXIS, CUDNN_TYPE_INT64, &axis);
    finalize(pw, "pointwise descriptor");
    Desc op = make(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
    set(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, CUDNN_TYPE_BACKEND_DESCRIPTOR, &pw);
    set(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, &x);
    if (b) set(op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, &b);
    if (t) set(op, CUDNN_ATTR_OPERATION_POINTWISE_TDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, &t);
    set(op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, &y);
    finalize(op, "pointwise operation");
    ops_.push_back(op);
  }
  // Batched c = a·b over the first two dimensions, fp32 accumulation.
  void matmul(Desc a, Desc b, Desc c) {
    Desc mm = make(CUDNN_BACKEND_MATMUL_DESCRIPTOR);
    set(mm, CUDNN_ATTR_MATMUL_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, &kF32);
    finalize(mm, "matmul descriptor");
    Desc op = make(CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR);
    set(op, CUDNN_ATTR_OPERATION_MATMUL_ADESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, &a);
    set(op, CUDNN_ATTR_OPERATION_MATMUL_BDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, &b);
    set(op, CUDNN_ATTR_OPERATION_MATMUL_CDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, &c);
    set(op, CUDNN_ATTR_OPERATION_MATMUL_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, &mm);
    finalize(op, "matmul operation");
    ops_.push_back(op);
  }
  // y = reduce(x) over the dimensions where y has extent 1, in fp32.
  void reduction(cudnnReduceTensorOp_t mode, Desc x, Desc y) {
    Desc red = make(CUDNN_BACKEND_REDUCTION_DESCRIPTOR);
    set(red, CUDNN_ATTR_REDUCTION_OPERATOR, CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, &mode);
    set(red, CUDNN_ATTR_REDUCTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, &kF32);
    finalize(red, "reduction descriptor");
    Desc op = make(CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR);
    set(op, CUDNN_ATTR_OPERATION_REDUCTION_XDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, &x);
    set(op, CUDNN_ATTR_OPERATION_REDUCTION_YDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, &y);
    set(op, CUDNN_ATTR_OPERATION_REDUCTION_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, &red);
    finalize(op, "reduction operation");
    ops_.push_back(op);
  }
  // y = x seen through y's dimensions and strides (how the graph spells a transpose).
  void reshape(Desc x, Desc y) {
    Desc op = make(CUDNN_BACKEND_OPERATION_RESHAPE_DESCRIPTOR);
    set(op, CUDNN_ATTR_OPERATION_RESHAPE_XDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, &x);
    set(op, CUDNN_ATTR_OPERATION_RESHAPE_YDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, &y);
    finalize(op, "reshape operation");
    ops_.push_back(op);
  }

  // Binary fp32 pointwise into a fresh virtual fp32 tensor of layout l.
  Desc binary(cudnnPointwiseMode_t mode, Desc x, Desc b, const Layout& l) {
    Desc y = temp(kF32, l);
    pointwise(mode, kF32, x, b, y);
    return y;
  }
  Desc unary(cudnnPointwiseMode_t mode, Desc x, const Layout& l) {
    Desc y = temp(kF32, l);
    pointwise(mode, kF32, x, nullptr, y);
    return y;
  }

 private:
  std::vector<Desc>& owned_;
  std::string where_;
  std::vector<Desc> ops_;
  int64_t next_uid_ = kFirstVirtual;
};

// scale · Q·Kᵀ as fp32 scores [B, H, T, T].
Desc scaled_scores(GraphBuilder& g, const Layouts& L, Desc q, Desc kt, Desc scale) {
  Desc s = g.temp(kF32, L.scores);
  g.matmul(q, kt, s);
  return g.binary(CUDNN_POINTWISE_MUL, s, scale, L.scores);
}

// Causal mask: keep x where row (query) ≥ column (key), −inf elsewhere. Indices in int32 and the
// comparison in booleans, as the frontend's composite diagonal-band mask builds it.
Desc causal_mask(GraphBuilder& g, const Layouts& L, Desc x, Desc neg_inf) {
  Desc row = g.temp(CUDNN_DATA_INT32, L.scores), col = g.temp(CUDNN_DATA_INT32, L.scores);
  g.pointwise(CUDNN_POINTWISE_GEN_INDEX, kF32, x, nullptr, row, nullptr, 2);
  g.pointwise(CUDNN_POINTWISE_GEN_INDEX, kF32, x, nullptr, col, nullptr, 3);
  Desc keep = g.temp(CUDNN_DATA_BOOLEAN, L.scores);
  g.pointwise(CUDNN_POINTWISE_CMP_GE, CUDNN_DATA_BOOLEAN, row, col, keep);
  Desc y = g.temp(kF32, L.scores);
  g.pointwise(CUDNN_POINTWISE_BINARY_SELECT, kF32, x, neg_inf, y, keep);  // y = keep ? x : −inf
  return y;
}

// Softmax with its statistics: returns P (bf16, the second matmul's input type); stats is the
// saved [B, H, T, 1] tensor (virtual for inference).
Desc softmax_with_stats(GraphBuilder& g, const Layouts& L, Desc s, Desc stats) {
  Desc m = g.temp(kF32, L.rows);
  g.reduction(CUDNN_REDUCE_TENSOR_MAX, s, m);
  Desc e = g.unary(CUDNN_POINTWISE_EXP, g.binary(CUDNN_POINTWISE_SUB, s, m, L.scores), L.scores);
  Desc z = g.temp(kF32, L.rows);
  g.reduction(CUDNN_REDUCE_TENSOR_ADD, e, z);
  g.pointwise(CUDNN_POINTWISE_ADD, kF32, m, g.unary(CUDNN_POINTWISE_LOG, z, L.rows), stats);
  Desc p = g.temp(kBF16, L.scores);
  g.pointwise(CUDNN_POINTWISE_DIV, kF32, e, z, p);
  return p;
}

void build_forward(GraphBuilder& g, const Shape& s) {
  const Layouts L(s);
  const bool training = s.pass == AttentionPass::Training;
  Desc q = g.tensor(kQ, kBF16, L.bhtd, false), kt = g.tensor(kK, kBF16, L.bhdt, false);
  Desc v = g.tensor(kV, kBF16, L.bhtd, false), o = g.tensor(kO, kBF16, L.out, false);
  Desc stats = training ? g.tensor(kStats, kF32, L.rows, false) : g.temp(kF32, L.rows);
  Desc scores = causal_mask(g, L, scaled_scores(g, L, q, kt, g.scalar(kScale)), g.scalar(kNegInf));
  g.matmul(softmax_with_stats(g, L, scores, stats), v, o);
}

// D = Σ_d dO∘O per row, written to the workspace (the backward engine reads it as a tensor).
Desc row_dot(GraphBuilder& g, const Layouts& L, Desc dout, Desc o) {
  Desc prod = g.binary(CUDNN_POINTWISE_MUL, dout, o, L.dot);
  Desc sum = g.temp(kF32, L.rows);
  g.reduction(CUDNN_REDUCE_TENSOR_ADD, prod, sum);
  Desc d = g.tensor(kRowDot, kF32, L.rows, false);
  g.pointwise(CUDNN_POINTWISE_MUL, kF32, sum, g.scalar(kOne), d);  // × 1: the frontend's dropout-free form
  return d;
}

void build_backward(GraphBuilder& g, const Shape& s) {
  const Layouts L(s);
  Desc q = g.tensor(kQ, kBF16, L.bhtd, false), kt = g.tensor(kK, kBF16, L.bhdt, false);
  Desc vt = g.tensor(kV, kBF16, L.bhdt, false), o = g.tensor(kO, kBF16, L.out, false);
  Desc dout = g.tensor(kdO, kBF16, L.out, false), stats = g.tensor(kStats, kF32, L.rows, false);
  Desc scale = g.scalar(kScale);
  Desc d = row_dot(g, L, dout, o);
  // P recomputed from the saved statistics.
  Desc centred = g.binary(CUDNN_POINTWISE_SUB, scaled_scores(g, L, q, kt, scale), stats, L.scores);
  Desc p = g.unary(CUDNN_POINTWISE_EXP, causal_mask(g, L, centred, g.scalar(kNegInf)), L.scores);
  // dV = Pᵀ·dO
  Desc pt = g.temp(kBF16, L.scoresT);
  g.reshape(p, pt);
  g.matmul(pt, dout, g.tensor(kdV, kBF16, L.bhtd, false));
  // dS = P ∘ (dO·Vᵀ − D) · scale
  Desc dp = g.temp(kF32, L.scores);
  g.matmul(dout, vt, dp);
  Desc ds = g.binary(CUDNN_POINTWISE_MUL,
                     g.binary(CUDNN_POINTWISE_MUL, g.binary(CUDNN_POINTWISE_SUB, dp, d, L.scores), p, L.scores),
                     scale, L.scores);
  // dK = dSᵀ·Q
  Desc dst = g.temp(kBF16, L.scoresT);
  g.reshape(ds, dst);
  g.matmul(dst, q, g.tensor(kdK, kBF16, L.bhtd, false));
  // dQ = dS·K, accumulated in fp32 and then converted into dqkv.
  Desc k = g.temp(kBF16, L.bhtd);
  g.reshape(kt, k);
  Desc acc = g.tensor(kdQAcc, kF32, L.acc, false);
  g.matmul(ds, k, acc);
  g.pointwise(CUDNN_POINTWISE_IDENTITY, kF32, acc, nullptr, g.tensor(kdQ, kBF16, L.bhtd, false));
}

// Why no plan: the text logged and kept (with the shape) and the key that logs it once (without).
struct NoPlan {
  std::string key, why;
};

// The status of a plan-building call: success continues, a fatal status throws (check_cudnn),
// any other ends the search with the reason in `out` (the caller falls back to the plain kernels).
bool plan_call_ok(cudnnStatus_t status, const std::string& call, const std::string& where, NoPlan& out) {
  if (status == CUDNN_STATUS_SUCCESS) return true;
  if (!cudnn_falls_back(static_cast<int>(status))) check_cudnn(status, call, where);
  const char* verdict = cudnn_verdict_name(classify_cudnn_status(static_cast<int>(status)));
  out.key = call + ": " + cudnnGetErrorString(status);
  char detail[512] = {};
  cudnnGetLastErrorString(detail, sizeof(detail));
  out.why = call + " returned " + cudnnGetErrorString(status) + " (status " + std::to_string(static_cast<int>(status)) +
            ", " + verdict + ")" + (detail[0] != '\0' ? std::string(": ") + detail : std::string());
  return false;
}

// The first engine configuration the heuristics offer (mode A, then the fallback list) whose
// execution plan finalizes, trying at most CudnnAttention::kMaxEngineConfigs in all; nullptr with
// the reason in `no` when there is none. `tried` counts the configurations tried.
Desc select_plan(cudnnHandle_t handle, GraphBuilder& g, NoPlan& no, int& tried) {
  Desc graph = g.make(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  g.set(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, g.ops().data(),
        static_cast<int64_t>(g.ops().size()));
  g.set(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, &handle);
  if (!plan_call_ok(cudnnBackendFinalize(graph), "cudnnBackendFinalize(operation graph)", g.where(), no))
    return nullptr;
  NoPlan last;  // the last configuration's failure, reported when none finalizes
  tried = 0;
  for (cudnnBackendHeurMode_t mode : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
    if (tried >= CudnnAttention::kMaxEngineConfigs) break;
    const std::string heur_name = mode == CUDNN_HEUR_MODE_A ? "heuristics mode A" : "heuristics mode FALLBACK";
    Desc heur = g.make(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    g.set(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, &graph);
    g.set(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, &mode);
    if (!plan_call_ok(cudnnBackendFinalize(heur), "cudnnBackendFinalize(" + heur_name + ")", g.where(), last))
      continue;
    int64_t count = 0;
    if (!plan_call_ok(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0,
                                               &count, nullptr),
                      "cudnnBackendGetAttribute(" + heur_name + " result count)", g.where(), last))
      continue;
    count = std::min<int64_t>(count, CudnnAttention::kMaxEngineConfigs - tried);
    if (count <= 0) continue;
    std::vector<Desc> configs;
    for (int64_t i = 0; i < count; ++i) configs.push_back(g.make(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR));
    int64_t got = 0;
    if (!plan_call_ok(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                               count, &got, configs.data()),
                      "cudnnBackendGetAttribute(" + heur_name + " results)", g.where(), last))
      continue;
    for (int64_t i = 0; i < std::min(got, count); ++i) {
      ++tried;
      // Plans that fail to finalize are destroyed at once; the one kept joins the owned set.
      Desc plan = nullptr;
      if (!plan_call_ok(cudnnBackendCreateDescriptor(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, &plan),
                        "cudnnBackendCreateDescriptor(execution plan)", g.where(), last))
        continue;
      const bool ok =
          plan_call_ok(cudnnBackendSetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle),
                       "cudnnBackendSetAttribute(execution plan handle)", g.where(), last) &&
          plan_call_ok(cudnnBackendSetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG,
                                                CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &configs[static_cast<size_t>(i)]),
                       "cudnnBackendSetAttribute(execution plan engine config)", g.where(), last) &&
          plan_call_ok(cudnnBackendFinalize(plan), "cudnnBackendFinalize(execution plan, " + heur_name + ")",
                       g.where(), last);
      if (ok) return plan;
      cudnnBackendDestroyDescriptor(plan);
    }
  }
  no.key = "no execution plan finalizes";
  no.why = "the engine heuristics offered no execution plan that finalizes (" + std::to_string(tried) +
           " engine configurations tried, at most " + std::to_string(CudnnAttention::kMaxEngineConfigs) + ")" +
           (last.why.empty() ? std::string() : "; last failure: " + last.why);
  return nullptr;
}

void check_shape(int B, int T, int heads, int hd) {
  if (B < 1 || T < 1 || heads < 1 || hd < 8 || hd % 8 != 0)
    throw UsageError("cuDNN attention: B=" + std::to_string(B) + " T=" + std::to_string(T) + " heads=" +
                     std::to_string(heads) + " hd=" + std::to_string(hd) +
                     " (needs positive sizes and hd a multiple of 8, so every head starts 16-byte aligned; "
                     "use the plain kernels of kernels/attention.cu)");
}

// Every bound buffer must exist and start 16-byte aligned, as its tensor descriptor declares.
void check_aligned(const void* p, const char* name, const std::string& where) {
  if (!p) throw UsageError(where + ": " + name + " is null");
  if (reinterpret_cast<uintptr_t>(p) % kAlign != 0)
    throw UsageError(where + ": " + name + " is not 16-byte aligned");
}

int64_t round_up(int64_t n) { return (n + 255) / 256 * 256; }

// Stream-ordered device memory for one call (cudaMallocAsync's pool makes it cheap after warm-up);
// freed on the same stream, after the work queued before the free.
class StreamBuffer {
 public:
  StreamBuffer(int64_t bytes, cudaStream_t stream) : stream_(stream) {
    if (bytes > 0) W2S_CUDA_CHECK(cudaMallocAsync(&ptr_, static_cast<size_t>(bytes), stream));
  }
  ~StreamBuffer() {
    if (ptr_) cudaFreeAsync(ptr_, stream_);
  }
  StreamBuffer(const StreamBuffer&) = delete;
  StreamBuffer& operator=(const StreamBuffer&) = delete;
  char* get() const { return static_cast<char*>(ptr_); }

 private:
  void* ptr_ = nullptr;
  cudaStream_t stream_;
};

// Binds the pointers to the plan's tensors and runs it on `stream`.
void execute(cudnnHandle_t handle, Desc plan, const std::vector<int64_t>& uids, const std::vector<void*>& ptrs,
             void* workspace, cudaStream_t stream, const std::string& where) {
  Desc pack = nullptr;
  W2S_CUDNN_CHECK(cudnnBackendCreateDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &pack), where);
  struct Destroy {
    Desc d;
    ~Destroy() { cudnnBackendDestroyDescriptor(d); }
  } destroy{pack};
  const auto n = static_cast<int64_t>(uids.size());
  W2S_CUDNN_CHECK(cudnnBackendSetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, n, uids.data()),
                  where);
  W2S_CUDNN_CHECK(
      cudnnBackendSetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, n, ptrs.data()),
      where);
  W2S_CUDNN_CHECK(cudnnBackendSetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace),
                  where);
  W2S_CUDNN_CHECK(cudnnBackendFinalize(pack), where);
  W2S_CUDNN_CHECK(cudnnSetStream(handle, stream), where);
  W2S_CUDNN_CHECK(cudnnBackendExecute(handle, plan, pack), where);
}

void* mut(const void* p) { return const_cast<void*>(p); }

// Throws the "no plan" error callers are told to answer with kernels/attention.cu.
void require(const std::string& where, const std::string& why, Desc exec) {
  if (!exec) throw RuntimeError(where + ": no cuDNN execution plan (" + why + "); use kernels/attention.cu for it");
}

}  // namespace

CudnnAttention::CudnnAttention() { W2S_CUDNN_CHECK(cudnnCreate(&handle_), "cuDNN attention setup"); }

CudnnAttention::~CudnnAttention() {
  plans_.clear();  // descriptors before the handle they were built with
  if (handle_) cudnnDestroy(handle_);
}

void CudnnAttention::log_fallback_once(const std::string& key, const std::string& message) {
  if (logged_.insert(key).second) log_warn(message);
}

// Builds (once per shape) the graph and its plan. Every cuDNN failure while building falls back
// (exec = nullptr, reason logged once) unless cudnn_status.h calls it fatal; a plan that is
// found is logged with the search's time, as is a fallback.
const CudnnAttention::Plan& CudnnAttention::plan(AttentionPass pass, int B, int T, int heads, int hd) {
  check_shape(B, T, heads, hd);
  const Key key{static_cast<int>(pass), B, T, heads, hd};
  auto it = plans_.find(key);
  if (it != plans_.end()) return *it->second;
  const Shape shape{pass, B, T, heads, hd};
  const auto start = std::chrono::steady_clock::now();
  auto p = std::make_unique<Plan>();
  NoPlan no;
  int tried = 0;
  try {
    GraphBuilder g(p->owned, shape.text());
    if (pass == AttentionPass::Backward)
      build_backward(g, shape);
    else
      build_forward(g, shape);
    p->exec = select_plan(handle_, g, no, tried);
    if (p->exec) {
      p->owned.push_back(p->exec);
      int64_t got = 0;
      if (!plan_call_ok(cudnnBackendGetAttribute(p->exec, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64,
                                                 1, &got, &p->workspace),
                        "cudnnBackendGetAttribute(execution plan workspace size)", shape.text(), no))
        p->exec = nullptr;  // still owned: destroyed with the plan
    }
  } catch (const CudnnError& e) {
    // A descriptor of the graph itself was refused (GraphBuilder throws): fall back unless fatal.
    if (!cudnn_falls_back(e.status())) throw;
    p->exec = nullptr;
    no.key = "graph construction: status " + std::to_string(e.status());
    no.why = e.what();
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (p->exec) {
    log_info(strfmt("%s: cuDNN plan found in %.0f ms (%d engine configurations tried, at most %d), workspace %lld B",
                    shape.text().c_str(), ms, tried, kMaxEngineConfigs, static_cast<long long>(p->workspace)));
  } else {
    p->why = no.why;
    log_fallback_once(std::to_string(static_cast<int>(pass)) + " " + no.key,
                      strfmt("%s: no cuDNN plan after %.0f ms, using the plain attention kernels: %s (logged once per "
                             "reason)",
                             shape.text().c_str(), ms, no.why.c_str()));
  }
  return *plans_.emplace(key, std::move(p)).first->second;
}

bool CudnnAttention::supports(AttentionPass pass, int B, int T, int heads, int hd) {
  return plan(pass, B, T, heads, hd).exec != nullptr;
}

std::string CudnnAttention::unsupported_reason(AttentionPass pass, int B, int T, int heads, int hd) const {
  auto it = plans_.find(Key{static_cast<int>(pass), B, T, heads, hd});
  return it == plans_.end() || it->second->exec ? std::string() : it->second->why;
}

void CudnnAttention::forward(bf16* out, float* stats, const bf16* qkv, int B, int T, int heads, int hd,
                             cudaStream_t stream) {
  const AttentionPass pass = stats ? AttentionPass::Training : AttentionPass::Inference;
  const Plan& p = plan(pass, B, T, heads, hd);
  const Shape shape{pass, B, T, heads, hd};
  require(shape.text(), p.why, p.exec);
  check_aligned(qkv, "qkv", shape.text());
  check_aligned(out, "out", shape.text());
  if (stats) check_aligned(stats, "stats", shape.text());
  const int64_t C = shape.C();
  float scale = 1.0f / std::sqrt(static_cast<float>(hd)), neg_inf = -std::numeric_limits<float>::infinity();
  std::vector<int64_t> uids = {kQ, kK, kV, kO, kScale, kNegInf};
  std::vector<void*> ptrs = {mut(qkv), mut(qkv + C), mut(qkv + 2 * C), out, &scale, &neg_inf};
  if (stats) {
    uids.push_back(kStats);
    ptrs.push_back(stats);
  }
  StreamBuffer ws(p.workspace, stream);
  execute(handle_, p.exec, uids, ptrs, ws.get(), stream, shape.text());
}

void CudnnAttention::backward(bf16* dqkv, const bf16* dout, const bf16* out, const bf16* qkv, const float* stats,
                              int B, int T, int heads, int hd, cudaStream_t stream) {
  const Plan& p = plan(AttentionPass::Backward, B, T, heads, hd);
  const Shape shape{AttentionPass::Backward, B, T, heads, hd};
  require(shape.text(), p.why, p.exec);
  const std::pair<const void*, const char*> buffers[] = {
      {dqkv, "dqkv"}, {dout, "dout"}, {out, "out"}, {qkv, "qkv"}, {stats, "stats"}};
  for (const auto& [ptr, name] : buffers) check_aligned(ptr, name, shape.text());
  const int64_t C = shape.C(), rows = shape.B * shape.H * shape.T;
  // One allocation: cuDNN's workspace, then Σ dO∘O [B, H, T] and the dQ accumulator [B, H, T, hd].
  const int64_t ws = round_up(p.workspace), dot_bytes = round_up(rows * 4), acc_bytes = rows * shape.hd * 4;
  StreamBuffer buf(ws + dot_bytes + acc_bytes, stream);
  char* row_dot = buf.get() + ws;
  char* acc = row_dot + dot_bytes;
  // Zeroed because dQ is accumulated into it (the frontend stopped doing this for cuDNN ≥ 9.6, which
  // clears it itself; once more costs one memset).
  W2S_CUDA_CHECK(cudaMemsetAsync(acc, 0, static_cast<size_t>(acc_bytes), stream));
  float scale = 1.0f / std::sqrt(static_cast<float>(hd)), neg_inf = -std::numeric_limits<float>::infinity(),
        one = 1.0f;
  const std::vector<int64_t> uids = {kQ,      kK,  kV,   kO,  kdO, kStats,  kScale, kNegInf,
                                     kOne,    kdQ, kdK,  kdV, kRowDot, kdQAcc};
  const std::vector<void*> ptrs = {mut(qkv), mut(qkv + C), mut(qkv + 2 * C), mut(out), mut(dout), mut(stats),
                                   &scale,   &neg_inf,     &one,             dqkv,     dqkv + C,  dqkv + 2 * C,
                                   row_dot,  acc};
  execute(handle_, p.exec, uids, ptrs, p.workspace > 0 ? buf.get() : nullptr, stream, shape.text());
}

}  // namespace w2s::cuda
