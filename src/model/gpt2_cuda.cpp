#include "model/gpt2_cuda.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>

#include "core/cuda_check.h"
#include "core/error.h"
#include "core/log.h"
#include "core/strings.h"

namespace w2s::cuda {

// ---------------------------------------------------------------------------------------------
// DeviceArray

template <class U>
DeviceArray<U>& DeviceArray<U>::operator=(DeviceArray&& o) noexcept {
  if (this != &o) {
    release();
    p_ = o.p_, n_ = o.n_;
    o.p_ = nullptr, o.n_ = 0;
  }
  return *this;
}

template <class U>
void DeviceArray<U>::resize(size_t n) {
  if (n == n_) return;
  release();  // free first: the old and the new buffer never coexist
  if (n == 0) return;
  // Into a local first: after a failed cudaMalloc the array stays empty (nullptr, size 0), never
  // a size without its memory.
  void* p = nullptr;
  W2S_CUDA_CHECK(cudaMalloc(&p, n * sizeof(U)));
  p_ = static_cast<U*>(p);
  n_ = n;
}

template <class U>
void DeviceArray<U>::release() {
  if (p_) cudaFree(p_);  // no check: also runs from destructors
  p_ = nullptr;
  n_ = 0;
}

template class DeviceArray<float>;
template class DeviceArray<bf16>;
template class DeviceArray<double>;
template class DeviceArray<int32_t>;

namespace {

// Every tensor starts on a 64-element boundary in the device buffers: cuBLASLt's bf16 kernels
// want 16-byte aligned operands, which the CPU layout (bucket padding to the DP size) does not
// promise.
constexpr int64_t kAlign = 64;

// Host copies of a T array as floats (bf16 widened exactly).
template <class T>
void download(std::vector<float>& out, const T* dev, size_t n, cudaStream_t stream) {
  out.resize(n);
  if constexpr (std::is_same_v<T, float>) {
    W2S_CUDA_CHECK(cudaMemcpyAsync(out.data(), dev, n * sizeof(float), cudaMemcpyDeviceToHost, stream));
    W2S_CUDA_CHECK(cudaStreamSynchronize(stream));
  } else {
    std::vector<uint16_t> bits(n);
    W2S_CUDA_CHECK(cudaMemcpyAsync(bits.data(), dev, n * sizeof(uint16_t), cudaMemcpyDeviceToHost, stream));
    W2S_CUDA_CHECK(cudaStreamSynchronize(stream));
    for (size_t i = 0; i < n; ++i) {
      const uint32_t u = static_cast<uint32_t>(bits[i]) << 16;
      std::memcpy(&out[i], &u, sizeof(float));
    }
  }
}

template <class U>
void upload(U* dev, const U* host, size_t n, cudaStream_t stream) {
  W2S_CUDA_CHECK(cudaMemcpyAsync(dev, host, n * sizeof(U), cudaMemcpyHostToDevice, stream));
  // The host buffer may be the caller's temporary: wait until it has been read.
  W2S_CUDA_CHECK(cudaStreamSynchronize(stream));
}

// The host layout must hold every tensor whole (tp = 1), in table order without overlap: a TP
// shard's layout has the same tensors but smaller ones, and is refused here.
void check_layout(const ParamTable& table, const ParamLayout& layout, size_t n_params) {
  bool ok = layout.offset.size() == table.specs.size() && static_cast<size_t>(layout.total) == n_params;
  for (size_t i = 0; ok && i < table.specs.size(); ++i) {
    const int64_t end = layout.offset[i] + table.specs[i].local_numel(1);
    const int64_t next = i + 1 < table.specs.size() ? layout.offset[i + 1] : layout.total;
    ok = layout.offset[i] >= 0 && end <= next;
  }
  if (!ok)
    throw UsageError(
        "Gpt2Cuda: the parameter layout does not match a tp = 1 model of this config "
        "(tensor parallelism on the GPU is not implemented)");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Construction and parameters

template <class T>
Gpt2Cuda<T>::Gpt2Cuda(const ModelConfig& cfg, const ParamLayout& host_layout, const std::vector<float>& host_params)
    : cfg_(cfg), table_(build_param_table(cfg, 1)), vocab_padded_(cfg.padded_vocab(1)) {
  check_layout(table_, host_layout, host_params.size());
  if (cfg.head_dim() > 128) throw UsageError("Gpt2Cuda: the plain attention kernels need head_dim <= 128");
  host_offset_ = host_layout.offset;
  host_total_ = host_layout.total;
  offset_.resize(table_.specs.size());
  for (size_t i = 0; i < table_.specs.size(); ++i) {
    offset_[i] = total_;
    total_ += (table_.specs[i].local_numel(1) + kAlign - 1) / kAlign * kAlign;
  }
  trainable_.assign(table_.specs.size(), true);
  W2S_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  master_.resize(static_cast<size_t>(total_));
  grads_.resize(static_cast<size_t>(total_));
  if constexpr (!std::is_same_v<T, float>) copy_.resize(static_cast<size_t>(total_));
  sum_.resize(1);
  set_params(host_params);
  zero_grads();
}

template <class T>
Gpt2Cuda<T>::~Gpt2Cuda() {
  if (stream_) {
    cudaStreamSynchronize(stream_);
    cudaStreamDestroy(stream_);
  }
}

template <class T>
const T* Gpt2Cuda<T>::weight(int i) const {
  if constexpr (std::is_same_v<T, float>) {
    return master(i);
  } else {
    return copy_.get() + offset_[static_cast<size_t>(i)];
  }
}

template <class T>
void Gpt2Cuda<T>::set_params(const std::vector<float>& host_params) {
  if (static_cast<int64_t>(host_params.size()) != host_total_)
    throw UsageError("Gpt2Cuda::set_params: expected " + std::to_string(host_total_) + " values");
  // Gaps between tensors are zero, so Σ g² and the optimizer never see garbage there.
  std::vector<float> dev_order(static_cast<size_t>(total_), 0.0f);
  for (size_t i = 0; i < table_.specs.size(); ++i)
    std::copy_n(host_params.begin() + host_offset_[i], table_.specs[i].local_numel(1), dev_order.begin() + offset_[i]);
  upload(master_.get(), dev_order.data(), dev_order.size(), stream_);
  refresh_compute_copy();
}

template <class T>
void Gpt2Cuda<T>::refresh_compute_copy() {
  if constexpr (!std::is_same_v<T, float>) to_bf16(copy_.get(), master_.get(), total_, stream_);
}

template <class T>
void Gpt2Cuda<T>::params_to_host(std::vector<float>& host_params) const {
  to_host_layout(master_.get(), host_params);
}

template <class T>
void Gpt2Cuda<T>::grads_to_host(std::vector<float>& host_grads) const {
  to_host_layout(grads_.get(), host_grads);
}

template <class T>
void Gpt2Cuda<T>::to_host_layout(const float* device_buffer, std::vector<float>& host) const {
  std::vector<float> dev_order;
  download(dev_order, device_buffer, static_cast<size_t>(total_), stream_);
  host.assign(static_cast<size_t>(host_total_), 0.0f);
  for (size_t i = 0; i < table_.specs.size(); ++i)
    std::copy_n(dev_order.begin() + offset_[i], table_.specs[i].local_numel(1), host.begin() + host_offset_[i]);
}

template <class T>
void Gpt2Cuda<T>::zero_grads() {
  W2S_CUDA_CHECK(cudaMemsetAsync(grads_.get(), 0, grads_.bytes(), stream_));
}

template <class T>
void Gpt2Cuda<T>::synchronize() const {
  W2S_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

// ---------------------------------------------------------------------------------------------
// Activations

template <class T>
void Gpt2Cuda<T>::ensure_acts(int B, int Tn) {
  if (B < 1 || Tn < 1) throw UsageError("Gpt2Cuda: empty batch");
  if (Tn > cfg_.n_ctx)
    throw UsageError(strfmt("a sequence of %d tokens exceeds the model context of %d (n_ctx)", Tn, cfg_.n_ctx));
  if (B == B_ && Tn == T_) return;
  // The recorded shape (B_, T_, cudnn_shape_) always describes buffers that exist: it is
  // invalidated before anything is reallocated and recorded only after every allocation
  // succeeded, so an exception here (out of memory, a fatal cuDNN error) leaves a model whose
  // next call re-plans and re-allocates instead of using half-resized buffers.
  B_ = T_ = 0;
  cudnn_shape_ = false;
  const bool cudnn_shape = cudnn_attention_serves(B, Tn);
  const size_t rows = static_cast<size_t>(B) * Tn, C = static_cast<size_t>(cfg_.d_model), F = 4 * C;
  acts_.resize(static_cast<size_t>(cfg_.n_layer));
  for (auto& a : acts_) {
    a.res.resize(rows * C);
    a.ln1.resize(rows * C);
    a.qkv.resize(rows * 3 * C);
    a.att.resize(rows * C);
    a.x_mid.resize(rows * C);
    a.ln2.resize(rows * C);
    a.fc.resize(rows * F);
    a.fc_gelu.resize(rows * F);
    for (auto* s : {&a.ln1_mean, &a.ln1_rstd, &a.ln2_mean, &a.ln2_rstd}) s->resize(rows);
    a.probs.resize(static_cast<size_t>(B) * cfg_.n_head * Tn * (cudnn_shape_ ? 1 : Tn));
  }
  x_final_.resize(rows * C);
  lnf_.resize(rows * C);
  lnf_mean_.resize(rows);
  lnf_rstd_.resize(rows);
  logits_.resize(rows * static_cast<size_t>(vocab_padded_));
  losses_.resize(rows);
  dres_.resize(rows * C);
  dln_.resize(rows * C);
  dqkv_.resize(rows * 3 * C);
  datt_.resize(rows * C);
  dfc_.resize(rows * F);
  tokens_.resize(rows);
  targets_.resize(rows);
  lengths_.resize(static_cast<size_t>(B));
  cls_dlogits_.resize(static_cast<size_t>(B) * std::max(cfg_.num_classes, 1));
  cls_logits_.resize(cls_dlogits_.size());
  B_ = B;
  T_ = Tn;
  cudnn_shape_ = cudnn_shape;
}

// Whether cuDNN serves attention at this activation shape (training and backward graphs both
// planned). Every non-fatal cuDNN failure while planning is already a `false` from supports()
// (logged once there); a shape cuDNN's preconditions refuse (a usage error, e.g. a head size that
// is not a multiple of 8) is a `false` too, logged once per model. Fatal errors propagate.
template <class T>
bool Gpt2Cuda<T>::cudnn_attention_serves(int B, int Tn) {
  if (!cudnn_) return false;
  try {
    return cudnn_->supports(AttentionPass::Training, B, Tn, cfg_.n_head, cfg_.head_dim()) &&
           cudnn_->supports(AttentionPass::Backward, B, Tn, cfg_.n_head, cfg_.head_dim());
  } catch (const Error& e) {
    if (e.code() != ExitCode::Usage) throw;
    if (!cudnn_refusal_logged_) log_warn(std::string("Gpt2Cuda: plain attention kernels instead of cuDNN: ") + e.what());
    cudnn_refusal_logged_ = true;
    return false;
  }
}

template <class T>
size_t Gpt2Cuda<T>::activation_bytes() const {
  size_t n = x_final_.bytes() + lnf_.bytes() + lnf_mean_.bytes() + lnf_rstd_.bytes() + logits_.bytes() +
             losses_.bytes() + dres_.bytes() + dln_.bytes() + dqkv_.bytes() + datt_.bytes() + dfc_.bytes();
  for (const auto& a : acts_)
    n += a.res.bytes() + a.ln1.bytes() + a.qkv.bytes() + a.att.bytes() + a.x_mid.bytes() + a.ln2.bytes() +
         a.fc.bytes() + a.fc_gelu.bytes() + 4 * a.ln1_mean.bytes() + a.probs.bytes();
  return n;
}

template <class T>
size_t Gpt2Cuda<T>::allocated_bytes() const {
  return activation_bytes() + master_.bytes() + grads_.bytes() + adam_m_.bytes() + adam_v_.bytes() + copy_.bytes();
}

template <class T>
void Gpt2Cuda<T>::sample_memory() {
  size_t free_b = 0, total_b = 0;
  W2S_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  peak_device_bytes_ = std::max(peak_device_bytes_, total_b - free_b);
}

// ---------------------------------------------------------------------------------------------
// Forward

template <class T>
void Gpt2Cuda<T>::upload_tokens(const int32_t* tokens, int B, int Tn) {
  const int rows = B * Tn;
  for (int i = 0; i < rows; ++i)
    if (tokens[i] < 0 || tokens[i] >= cfg_.vocab_size)
      throw DataError("input tokens", "token id " + std::to_string(tokens[i]) + " is outside the model vocabulary of " +
                                          std::to_string(cfg_.vocab_size) + " (tokenizer mismatch?)");
  upload(tokens_.get(), tokens, static_cast<size_t>(rows), stream_);
}

// The CPU block (Gpt2::block_forward) op for op; the GELU is the unfused tanh form (cuBLASLt's
// fused GELU epilogue is its own approximation, unverified against the CPU formula).
template <class T>
void Gpt2Cuda<T>::block_forward(int l, const T* x_in, T* x_out) {
  const BlockParams& p = table_.blocks[static_cast<size_t>(l)];
  LayerActs& a = acts_[static_cast<size_t>(l)];
  const int rows = B_ * T_, C = cfg_.d_model, F = cfg_.ffn_dim();
  const int64_t n = static_cast<int64_t>(rows) * C;
  T* tmp = dln_.get();  // free during forward
  layernorm_forward(a.ln1.get(), a.ln1_mean.get(), a.ln1_rstd.get(), x_in, weight(p.ln1_w), weight(p.ln1_b), rows, C,
                    stream_);
  matmul_forward(gemm_, a.qkv.get(), a.ln1.get(), weight(p.qkv_w), weight(p.qkv_b), rows, C, 3 * C, stream_);
  attend_forward(a);
  matmul_forward(gemm_, tmp, a.att.get(), weight(p.attn_proj_w), weight(p.attn_proj_b), rows, C, C, stream_);
  residual_forward(a.x_mid.get(), x_in, tmp, n, stream_);
  layernorm_forward(a.ln2.get(), a.ln2_mean.get(), a.ln2_rstd.get(), a.x_mid.get(), weight(p.ln2_w), weight(p.ln2_b),
                    rows, C, stream_);
  matmul_forward_gelu(gemm_, a.fc_gelu.get(), a.fc.get(), a.ln2.get(), weight(p.fc_w), weight(p.fc_b), rows, C, F,
                      /*fused=*/false, stream_);
  matmul_forward(gemm_, tmp, a.fc_gelu.get(), weight(p.mlp_proj_w), weight(p.mlp_proj_b), rows, F, C, stream_);
  residual_forward(x_out, a.x_mid.get(), tmp, n, stream_);
}

template <class T>
void Gpt2Cuda<T>::forward_backbone(const int32_t* tokens, int B, int Tn) {
  // Cleared first: a forward that throws half-way must not leave a classifier_backward possible
  // on the activations of an earlier forward mixed with this one's.
  have_classifier_forward_ = false;
  ensure_acts(B, Tn);
  upload_tokens(tokens, B, Tn);
  const int rows = B * Tn, C = cfg_.d_model, L = cfg_.n_layer;
  embedding_forward(acts_[0].res.get(), tokens_.get(), weight(table_.wte), weight(table_.wpe), B, Tn, C, 0,
                    vocab_padded_, stream_);
  // Layer l's output is layer l + 1's saved input (no copy, unlike the CPU's x_in).
  for (int l = 0; l < L; ++l) {
    T* out = (l + 1 < L) ? acts_[static_cast<size_t>(l) + 1].res.get() : x_final_.get();
    block_forward(l, acts_[static_cast<size_t>(l)].res.get(), out);
  }
  layernorm_forward(lnf_.get(), lnf_mean_.get(), lnf_rstd_.get(), x_final_.get(), weight(table_.lnf_w),
                    weight(table_.lnf_b), rows, C, stream_);
}

// The tied LM head (vocab_parallel_lm_loss at tp = 1): logits = lnf · wteᵀ, the fused
// softmax/xent kernel (in backward it overwrites the logits with their gradient), then
// d(lnf) = dlogits · wte into dln_ and dwte += dlogitsᵀ · lnf in fp32.
template <class T>
double Gpt2Cuda<T>::lm_head(const int32_t* targets, float grad_scale, bool backward, float* token_loss) {
  const int rows = B_ * T_, C = cfg_.d_model, V = vocab_padded_;
  upload(targets_.get(), targets, static_cast<size_t>(rows), stream_);
  gemm_.run<T, T>(false, true, rows, V, C, 1.0f, lnf_.get(), C, weight(table_.wte), C, 0.0f, logits_.get(), V, stream_);
  lm_xent_forward_backward(logits_.get(), losses_.get(), targets_.get(), rows, cfg_.vocab_size, V, grad_scale, backward,
                           stream_);
  if (backward) {
    gemm_.run<T, T>(false, false, rows, C, V, 1.0f, logits_.get(), V, weight(table_.wte), C, 0.0f, dln_.get(), C,
                    stream_);
    gemm_.run<T, float>(true, false, V, C, rows, 1.0f, logits_.get(), V, lnf_.get(), C, 1.0f, grad(table_.wte), C,
                        stream_);
  }
  sum(sum_.get(), losses_.get(), rows, stream_);
  double total = 0.0;
  W2S_CUDA_CHECK(cudaMemcpyAsync(&total, sum_.get(), sizeof(double), cudaMemcpyDeviceToHost, stream_));
  if (token_loss)
    W2S_CUDA_CHECK(cudaMemcpyAsync(token_loss, losses_.get(), losses_.bytes(), cudaMemcpyDeviceToHost, stream_));
  synchronize();
  sample_memory();
  return total;
}

template <class T>
double Gpt2Cuda<T>::lm_forward(const int32_t* tokens, const int32_t* targets, int B, int Tn, float* token_loss) {
  forward_backbone(tokens, B, Tn);
  have_classifier_forward_ = false;
  return lm_head(targets, 0.0f, false, token_loss);
}

template <class T>
double Gpt2Cuda<T>::lm_forward_backward(const int32_t* tokens, const int32_t* targets, int B, int Tn,
                                        float grad_scale) {
  forward_backbone(tokens, B, Tn);
  have_classifier_forward_ = false;
  const double loss = lm_head(targets, grad_scale, true, nullptr);
  backward_backbone();
  return loss;
}

template <class T>
void Gpt2Cuda<T>::lm_logits(const int32_t* tokens, int B, int Tn, std::vector<float>& logits) {
  forward_backbone(tokens, B, Tn);
  have_classifier_forward_ = false;
  const int rows = B * Tn, C = cfg_.d_model, V = vocab_padded_;
  gemm_.run<T, T>(false, true, rows, V, C, 1.0f, lnf_.get(), C, weight(table_.wte), C, 0.0f, logits_.get(), V, stream_);
  download(logits, logits_.get(), static_cast<size_t>(rows) * V, stream_);
}

template <class T>
void Gpt2Cuda<T>::classifier_forward(const int32_t* tokens, const int32_t* lengths, int B, int Tn, float* logits) {
  if (table_.score < 0) throw UsageError("this model has no classification head (num_classes = 0)");
  for (int b = 0; b < B; ++b)
    if (lengths[b] < 1 || lengths[b] > Tn) throw DataError("input batch", "example length out of range");
  forward_backbone(tokens, B, Tn);
  upload(lengths_.get(), lengths, static_cast<size_t>(B), stream_);
  const int K = cfg_.num_classes;
  cuda::classifier_forward(cls_logits_.get(), lnf_.get(), lengths_.get(), weight(table_.score), B, Tn, cfg_.d_model, K,
                           stream_);
  W2S_CUDA_CHECK(cudaMemcpyAsync(logits, cls_logits_.get(), sizeof(float) * static_cast<size_t>(B) * K,
                                 cudaMemcpyDeviceToHost, stream_));
  synchronize();
  have_classifier_forward_ = true;
  sample_memory();
}

// ---------------------------------------------------------------------------------------------
// Backward

template <class T>
void Gpt2Cuda<T>::classifier_backward(const float* dlogits, bool backbone) {
  if (!have_classifier_forward_) throw UsageError("Gpt2Cuda::classifier_backward without a classifier_forward");
  const int K = cfg_.num_classes;
  upload(cls_dlogits_.get(), dlogits, static_cast<size_t>(B_) * K, stream_);
  // d(lnf) is overwritten: zero except each example's last real token.
  cuda::classifier_backward(dln_.get(), grad(table_.score), cls_dlogits_.get(), lnf_.get(), lengths_.get(),
                            weight(table_.score), B_, T_, cfg_.d_model, K, stream_);
  if (backbone) backward_backbone();
  synchronize();
}

template <class T>
void Gpt2Cuda<T>::backward_backbone() {
  const int rows = B_ * T_, C = cfg_.d_model;
  // dres_ = d(x_final) from the final LayerNorm (its backward accumulates: start from zero).
  W2S_CUDA_CHECK(cudaMemsetAsync(dres_.get(), 0, dres_.bytes(), stream_));
  layernorm_backward(dres_.get(), grad(table_.lnf_w), grad(table_.lnf_b), dln_.get(), x_final_.get(),
                     weight(table_.lnf_w), lnf_mean_.get(), lnf_rstd_.get(), rows, C, stream_);
  for (int l = cfg_.n_layer - 1; l >= 0; --l) block_backward(l);
  embedding_backward(grad(table_.wte), grad(table_.wpe), dres_.get(), tokens_.get(), B_, T_, C, 0, vocab_padded_,
                     stream_);
  synchronize();
  sample_memory();
}

// Gpt2::block_backward op for op. dres_ holds d(x_out) on entry; both LayerNorm backwards add
// into it, so it leaves as d(x_in).
template <class T>
void Gpt2Cuda<T>::block_backward(int l) {
  const BlockParams& p = table_.blocks[static_cast<size_t>(l)];
  LayerActs& a = acts_[static_cast<size_t>(l)];
  const int rows = B_ * T_, C = cfg_.d_model, F = cfg_.ffn_dim();
  T* dx = dres_.get();
  matmul_backward(gemm_, dfc_.get(), grad(p.mlp_proj_w), grad(p.mlp_proj_b), dx, a.fc_gelu.get(), weight(p.mlp_proj_w),
                  rows, F, C, stream_);
  gelu_backward(dfc_.get(), a.fc.get(), dfc_.get(), static_cast<int64_t>(rows) * F, stream_);
  matmul_backward(gemm_, dln_.get(), grad(p.fc_w), grad(p.fc_b), dfc_.get(), a.ln2.get(), weight(p.fc_w), rows, C, F,
                  stream_);
  layernorm_backward(dx, grad(p.ln2_w), grad(p.ln2_b), dln_.get(), a.x_mid.get(), weight(p.ln2_w), a.ln2_mean.get(),
                     a.ln2_rstd.get(), rows, C, stream_);
  matmul_backward(gemm_, datt_.get(), grad(p.attn_proj_w), grad(p.attn_proj_b), dx, a.att.get(), weight(p.attn_proj_w),
                  rows, C, C, stream_);
  attend_backward(a);
  matmul_backward(gemm_, dln_.get(), grad(p.qkv_w), grad(p.qkv_b), dqkv_.get(), a.ln1.get(), weight(p.qkv_w), rows, C,
                  3 * C, stream_);
  // The key bias's true gradient is exactly zero (softmax ignores a per-query shift); the CPU
  // zeroes its rounding noise so Adam does not amplify it, and so does this.
  W2S_CUDA_CHECK(cudaMemsetAsync(grad(p.qkv_b) + C, 0, sizeof(float) * static_cast<size_t>(C), stream_));
  layernorm_backward(dx, grad(p.ln1_w), grad(p.ln1_b), dln_.get(), a.res.get(), weight(p.ln1_w), a.ln1_mean.get(),
                     a.ln1_rstd.get(), rows, C, stream_);
}

// ---------------------------------------------------------------------------------------------
// Optimizer

template <class T>
void Gpt2Cuda<T>::set_trainable(const std::vector<bool>& trainable) {
  if (trainable.size() != table_.specs.size())
    throw UsageError("Gpt2Cuda::set_trainable: one flag per parameter tensor expected");
  trainable_ = trainable;
}

// Over trainable tensors only, as AdamW::grad_sq_sums: one pass over the whole buffer when
// everything trains (the gaps between tensors are zero), else one per tensor summed in order.
template <class T>
double Gpt2Cuda<T>::grad_sq_sum() {
  const bool all = std::all_of(trainable_.begin(), trainable_.end(), [](bool b) { return b; });
  if (all) {
    sum_squares(sum_.get(), grads_.get(), total_, stream_);
    double s = 0.0;
    W2S_CUDA_CHECK(cudaMemcpyAsync(&s, sum_.get(), sizeof(double), cudaMemcpyDeviceToHost, stream_));
    synchronize();
    return s;
  }
  DeviceArray<double> parts;
  parts.resize(table_.specs.size());
  for (size_t i = 0; i < table_.specs.size(); ++i)
    if (trainable_[i]) sum_squares(parts.get() + i, grad(static_cast<int>(i)), numel(static_cast<int>(i)), stream_);
  std::vector<double> host(table_.specs.size());
  W2S_CUDA_CHECK(cudaMemcpyAsync(host.data(), parts.get(), parts.bytes(), cudaMemcpyDeviceToHost, stream_));
  synchronize();
  double s = 0.0;
  for (size_t i = 0; i < host.size(); ++i)
    if (trainable_[i]) s += host[i];
  return s;
}

template <class T>
void Gpt2Cuda<T>::scale_grads(float factor) {
  scale_inplace(grads_.get(), factor, total_, stream_);
}

// ---------------------------------------------------------------------------------------------
// Attention: cuDNN's fused kernels where enabled and planned, else kernels/attention.cu

template <class T>
bool Gpt2Cuda<T>::use_cudnn_attention() {
  if constexpr (!std::is_same_v<T, bf16>) {
    return false;
  } else {
    if (!cudnn_) cudnn_ = std::make_unique<CudnnAttention>();
    B_ = T_ = 0;  // the next forward re-plans its shape and re-sizes probs for the stats
    cudnn_shape_ = false;
    return true;
  }
}

template <class T>
void Gpt2Cuda<T>::attend_forward(LayerActs& a) {
  if constexpr (std::is_same_v<T, bf16>) {
    if (cudnn_shape_) {
      cudnn_->forward(a.att.get(), a.probs.get(), a.qkv.get(), B_, T_, cfg_.n_head, cfg_.head_dim(), stream_);
      return;
    }
  }
  attention_forward(a.att.get(), a.probs.get(), a.qkv.get(), B_, T_, cfg_.n_head, cfg_.head_dim(), stream_);
}

template <class T>
void Gpt2Cuda<T>::attend_backward(LayerActs& a) {
  if constexpr (std::is_same_v<T, bf16>) {
    if (cudnn_shape_) {
      cudnn_->backward(dqkv_.get(), datt_.get(), a.att.get(), a.qkv.get(), a.probs.get(), B_, T_, cfg_.n_head,
                       cfg_.head_dim(), stream_);
      return;
    }
  }
  attention_backward(dqkv_.get(), datt_.get(), a.qkv.get(), a.probs.get(), B_, T_, cfg_.n_head, cfg_.head_dim(),
                     stream_);
}

template class Gpt2Cuda<float>;
template class Gpt2Cuda<bf16>;

}  // namespace w2s::cuda
