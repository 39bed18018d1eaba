#include "model/gpt2.h"

#include "ops/cpu/blas.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/strings.h"
#include "ops/cpu/cpu_ops.h"
#include "parallel/tensor_parallel.h"

namespace w2s {

Gpt2::Gpt2(const ModelConfig& cfg, Communicator& tp, uint64_t seed, int align, int64_t bucket_elems)
    : cfg_(cfg), tp_(tp), table_(build_param_table(cfg, tp.size())) {
  layout_ = build_param_layout(table_, tp.size(), align, bucket_elems);
  params_.assign(static_cast<size_t>(layout_.total), 0.0f);
  grads_.assign(static_cast<size_t>(layout_.total), 0.0f);
  for (size_t i = 0; i < table_.specs.size(); ++i)
    init_param_shard(table_.specs[i], seed, tp.size(), tp.rank(), param(static_cast<int>(i)));
  const int n_tp = tp.size();
  heads_local_ = cfg.n_head / n_tp;
  att_local_ = heads_local_ * cfg.head_dim();
  qkv_local_ = 3 * att_local_;
  ffn_local_ = cfg.ffn_dim() / n_tp;
  vocab_local_ = cfg.padded_vocab(n_tp) / n_tp;
}

void Gpt2::zero_grads() { std::fill(grads_.begin(), grads_.end(), 0.0f); }

namespace {
// Resizes an activation buffer, growing it to exactly n when it must grow. std::vector's
// geometric growth would make the buffers' final size depend on the order in which batch
// shapes arrive (up to twice the largest batch's needs), i.e. on the dataset's size rather than
// on the largest batch; freeing first also keeps the old and new buffers from coexisting.
void fit(std::vector<float>& v, size_t n) {
  if (n > v.capacity()) {
    std::vector<float>().swap(v);
    v.reserve(n);
  }
  v.resize(n);
}
}  // namespace

void Gpt2::ensure_acts(int B, int T) {
  if (T > cfg_.n_ctx)
    throw UsageError(strfmt("a sequence of %d tokens exceeds the model context of %d (n_ctx)", T, cfg_.n_ctx));
  if (B == B_ && T == T_) return;
  B_ = B;
  T_ = T;
  const size_t rows = static_cast<size_t>(B) * T, C = static_cast<size_t>(cfg_.d_model);
  acts_.resize(static_cast<size_t>(cfg_.n_layer));
  for (auto& a : acts_) {
    fit(a.x_in, rows * C);
    fit(a.ln1, rows * C);
    fit(a.ln1_mean, rows);
    fit(a.ln1_rstd, rows);
    fit(a.qkv, rows * static_cast<size_t>(qkv_local_));
    fit(a.probs, static_cast<size_t>(B) * heads_local_ * T * T);
    fit(a.att, rows * static_cast<size_t>(att_local_));
    fit(a.x_mid, rows * C);
    fit(a.ln2, rows * C);
    fit(a.ln2_mean, rows);
    fit(a.ln2_rstd, rows);
    fit(a.fc, rows * static_cast<size_t>(ffn_local_));
    fit(a.fc_gelu, rows * static_cast<size_t>(ffn_local_));
  }
  fit(x_final_, rows * C);
  fit(lnf_, rows * C);
  fit(lnf_mean_, rows);
  fit(lnf_rstd_, rows);
  fit(tmp_, rows * C);
  fit(dtmp_, rows * C);
  fit(dln_, rows * C);
  fit(dqkv_, rows * static_cast<size_t>(qkv_local_));
  fit(datt_, rows * static_cast<size_t>(att_local_));
  fit(dfc_, rows * static_cast<size_t>(ffn_local_));
}

size_t Gpt2::activation_bytes() const {
  size_t n = x_final_.size() + lnf_.size() + tmp_.size() + dtmp_.size() + dln_.size() + dqkv_.size() +
             datt_.size() + dfc_.size();
  for (const auto& a : acts_)
    n += a.x_in.size() + a.ln1.size() + a.qkv.size() + a.probs.size() + a.att.size() + a.x_mid.size() +
         a.ln2.size() + a.fc.size() + a.fc_gelu.size() + 4 * a.ln1_mean.size();
  return n * sizeof(float);
}

// ---------------------------------------------------------------------------------------------
// Forward

void Gpt2::block_forward(int l, const float* x_in, float* x_out) {
  const BlockParams& p = table_.blocks[static_cast<size_t>(l)];
  LayerActs& a = acts_[static_cast<size_t>(l)];
  const int rows = B_ * T_, C = cfg_.d_model;
  std::memcpy(a.x_in.data(), x_in, sizeof(float) * static_cast<size_t>(rows) * C);
  // Attention: LN → QKV (column-parallel, heads split) → causal attention → out-proj (row-parallel).
  cpu::layernorm_forward(a.ln1.data(), a.ln1_mean.data(), a.ln1_rstd.data(), a.x_in.data(), param(p.ln1_w),
                         param(p.ln1_b), rows, C);
  ColumnParallelLinear::forward(a.qkv.data(), a.ln1.data(), param(p.qkv_w), param(p.qkv_b), rows, C, qkv_local_);
  cpu::attention_forward(a.att.data(), a.probs.data(), a.qkv.data(), B_, T_, heads_local_, cfg_.head_dim());
  RowParallelLinear::forward(tp_, tmp_.data(), a.att.data(), param(p.attn_proj_w), param(p.attn_proj_b), rows,
                             att_local_, C);
  for (size_t i = 0; i < a.x_mid.size(); ++i) a.x_mid[i] = a.x_in[i] + tmp_[i];
  // MLP: LN → fc (column-parallel) → GELU → proj (row-parallel).
  cpu::layernorm_forward(a.ln2.data(), a.ln2_mean.data(), a.ln2_rstd.data(), a.x_mid.data(), param(p.ln2_w),
                         param(p.ln2_b), rows, C);
  ColumnParallelLinear::forward(a.fc.data(), a.ln2.data(), param(p.fc_w), param(p.fc_b), rows, C, ffn_local_);
  cpu::gelu_forward(a.fc_gelu.data(), a.fc.data(), static_cast<int64_t>(a.fc.size()));
  RowParallelLinear::forward(tp_, tmp_.data(), a.fc_gelu.data(), param(p.mlp_proj_w), param(p.mlp_proj_b), rows,
                             ffn_local_, C);
  for (size_t i = 0; i < a.x_mid.size(); ++i) x_out[i] = a.x_mid[i] + tmp_[i];
}

void Gpt2::forward_backbone(const int32_t* tokens, int B, int T) {
  ensure_acts(B, T);
  const int rows = B * T, C = cfg_.d_model;
  tokens_.assign(tokens, tokens + rows);
  for (int i = 0; i < rows; ++i)
    if (tokens[i] < 0 || tokens[i] >= cfg_.vocab_size)
      throw DataError("input tokens", "token id " + std::to_string(tokens[i]) + " is outside the model vocabulary of " +
                                          std::to_string(cfg_.vocab_size) + " (tokenizer mismatch?)");
  VocabParallelEmbedding::forward(tp_, tmp_.data(), tokens, param(table_.wte), param(table_.wpe), B, T, C,
                                  vocab_begin(), vocab_begin() + vocab_local_);
  const float* x = tmp_.data();
  for (int l = 0; l < cfg_.n_layer; ++l) {
    float* out = (l + 1 < cfg_.n_layer) ? dtmp_.data() : x_final_.data();
    block_forward(l, x, out);
    x = out;
  }
  cpu::layernorm_forward(lnf_.data(), lnf_mean_.data(), lnf_rstd_.data(), x_final_.data(), param(table_.lnf_w),
                         param(table_.lnf_b), rows, C);
}

double Gpt2::lm_forward(const int32_t* tokens, const int32_t* targets, int B, int T, float* token_loss) {
  forward_backbone(tokens, B, T);
  return vocab_parallel_lm_loss(tp_, lnf_.data(), param(table_.wte), targets, B * T, cfg_.d_model, vocab_begin(),
                                vocab_begin() + vocab_local_, cfg_.vocab_size, 0.0f, nullptr, nullptr, token_loss);
}

double Gpt2::lm_forward_backward(const int32_t* tokens, const int32_t* targets, int B, int T, float grad_scale) {
  forward_backbone(tokens, B, T);
  // dln_ receives d(lnf) from the vocab-parallel head.
  double loss = vocab_parallel_lm_loss(tp_, lnf_.data(), param(table_.wte), targets, B * T, cfg_.d_model,
                                       vocab_begin(), vocab_begin() + vocab_local_, cfg_.vocab_size, grad_scale,
                                       dln_.data(), grad(table_.wte), nullptr);
  backward_backbone(dln_.data());
  return loss;
}

void Gpt2::lm_logits_local(const int32_t* tokens, int B, int T, std::vector<float>& logits) {
  forward_backbone(tokens, B, T);
  logits.resize(static_cast<size_t>(B) * T * vocab_local_);
  // logits = lnf · wte_localᵀ
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B * T, vocab_local_, cfg_.d_model, 1.0f, lnf_.data(),
              cfg_.d_model, param(table_.wte), cfg_.d_model, 0.0f, logits.data(), vocab_local_);
}

void Gpt2::classifier_forward(const int32_t* tokens, const int32_t* lengths, int B, int T, float* logits) {
  if (table_.score < 0) throw UsageError("this model has no classification head (num_classes = 0)");
  forward_backbone(tokens, B, T);
  lengths_.assign(lengths, lengths + B);
  const int C = cfg_.d_model, K = cfg_.num_classes;
  const float* W = param(table_.score);  // [K, C]
  for (int b = 0; b < B; ++b) {
    if (lengths[b] < 1 || lengths[b] > T) throw DataError("input batch", "example length out of range");
    const float* h = lnf_.data() + (static_cast<int64_t>(b) * T + lengths[b] - 1) * C;
    for (int k = 0; k < K; ++k) {
      const float* w = W + static_cast<int64_t>(k) * C;
      float s = 0.0f;
      for (int c = 0; c < C; ++c) s += h[c] * w[c];
      logits[b * K + k] = s;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Backward

void Gpt2::classifier_backward(const float* dlogits, bool backbone) {
  const int B = B_, T = T_, C = cfg_.d_model, K = cfg_.num_classes;
  float* dW = grad(table_.score);
  const float* W = param(table_.score);
  std::fill(dln_.begin(), dln_.end(), 0.0f);
  for (int b = 0; b < B; ++b) {
    int64_t row = static_cast<int64_t>(b) * T + lengths_[static_cast<size_t>(b)] - 1;
    const float* h = lnf_.data() + row * C;
    float* dh = dln_.data() + row * C;
    for (int k = 0; k < K; ++k) {
      float g = dlogits[b * K + k];
      const float* w = W + static_cast<int64_t>(k) * C;
      float* dw = dW + static_cast<int64_t>(k) * C;
      for (int c = 0; c < C; ++c) {
        dw[c] += g * h[c];
        dh[c] += g * w[c];
      }
    }
  }
  if (on_grads_ready && !backbone) on_grads_ready(0);
  if (backbone) backward_backbone(dln_.data());
}

void Gpt2::backward_backbone(float* dlnf) {
  const int rows = B_ * T_, C = cfg_.d_model;
  // dx = d(x_final) from the final LayerNorm.
  float* dx = dtmp_.data();
  std::fill(dtmp_.begin(), dtmp_.end(), 0.0f);
  cpu::layernorm_backward(dx, grad(table_.lnf_w), grad(table_.lnf_b), dlnf, x_final_.data(), param(table_.lnf_w),
                          lnf_mean_.data(), lnf_rstd_.data(), rows, C);
  if (on_grads_ready) on_grads_ready(table_.lnf_w);
  for (int l = cfg_.n_layer - 1; l >= 0; --l) {
    block_backward(l, dx);
    if (on_grads_ready) on_grads_ready(table_.blocks[static_cast<size_t>(l)].ln1_w);
  }
  VocabParallelEmbedding::backward(grad(table_.wte), grad(table_.wpe), dx, tokens_.data(), B_, T_, C, vocab_begin(),
                                   vocab_begin() + vocab_local_);
  if (on_grads_ready) on_grads_ready(0);
}

void Gpt2::block_backward(int l, float* dx) {
  const BlockParams& p = table_.blocks[static_cast<size_t>(l)];
  LayerActs& a = acts_[static_cast<size_t>(l)];
  const int rows = B_ * T_, C = cfg_.d_model;
  // MLP branch: x_out = x_mid + proj(gelu(fc(ln2(x_mid)))); dx holds d(x_out) = d(x_mid) so far.
  RowParallelLinear::backward(dfc_.data(), grad(p.mlp_proj_w), grad(p.mlp_proj_b), dx, a.fc_gelu.data(),
                              param(p.mlp_proj_w), rows, ffn_local_, C);
  cpu::gelu_backward(dfc_.data(), a.fc.data(), dfc_.data(), static_cast<int64_t>(dfc_.size()));
  ColumnParallelLinear::backward(tp_, dln_.data(), grad(p.fc_w), grad(p.fc_b), dfc_.data(), a.ln2.data(),
                                 param(p.fc_w), rows, C, ffn_local_);
  cpu::layernorm_backward(dx, grad(p.ln2_w), grad(p.ln2_b), dln_.data(), a.x_mid.data(), param(p.ln2_w),
                          a.ln2_mean.data(), a.ln2_rstd.data(), rows, C);
  // Attention branch: x_mid = x_in + proj(attn(qkv(ln1(x_in)))).
  RowParallelLinear::backward(datt_.data(), grad(p.attn_proj_w), grad(p.attn_proj_b), dx, a.att.data(),
                              param(p.attn_proj_w), rows, att_local_, C);
  cpu::attention_backward(dqkv_.data(), datt_.data(), a.qkv.data(), a.probs.data(), B_, T_, heads_local_,
                          cfg_.head_dim());
  ColumnParallelLinear::backward(tp_, dln_.data(), grad(p.qkv_w), grad(p.qkv_b), dqkv_.data(), a.ln1.data(),
                                 param(p.qkv_w), rows, C, qkv_local_);
  // The key bias shifts every score of a query by the same q·b_k, which softmax ignores: its
  // true gradient is exactly zero. Rounding leaves ~1e-9 noise that Adam would normalise into
  // lr-sized random steps (different for every DP/TP shape), so it is zeroed here.
  std::fill(grad(p.qkv_b) + att_local_, grad(p.qkv_b) + 2 * att_local_, 0.0f);
  cpu::layernorm_backward(dx, grad(p.ln1_w), grad(p.ln1_b), dln_.data(), a.x_in.data(), param(p.ln1_w),
                          a.ln1_mean.data(), a.ln1_rstd.data(), rows, C);
}

}  // namespace w2s
