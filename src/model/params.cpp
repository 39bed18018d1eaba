#include "model/params.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/philox.h"
#include "core/strings.h"

namespace w2s {

int64_t ParamSpec::global_index(int tp, int tp_rank, int64_t r, int64_t c) const {
  if (shard.dim < 0) return r * cols + c;
  int64_t split_len = shard.dim == 0 ? rows : cols;
  int64_t group_len = split_len / shard.groups;   // e.g. C for each of q, k, v
  int64_t piece = group_len / tp;                 // this rank's part of one group
  int64_t local = shard.dim == 0 ? r : c;
  int64_t g = local / piece, within = local % piece;
  int64_t global = g * group_len + tp_rank * piece + within;
  return shard.dim == 0 ? global * cols + c : r * cols + global;
}

int ParamTable::find(const std::string& name) const {
  for (size_t i = 0; i < specs.size(); ++i)
    if (specs[i].name == name) return static_cast<int>(i);
  return -1;
}

namespace {

int add_param(ParamTable& t, ParamSpec spec) {
  if (spec.stored_rows == 1 && spec.rows != 1) spec.stored_rows = spec.rows;
  t.specs.push_back(std::move(spec));
  return static_cast<int>(t.specs.size()) - 1;
}

ParamSpec weight(const std::string& name, int64_t rows, int64_t cols, ShardSpec shard, float std, int layer) {
  ParamSpec p;
  p.name = name;
  p.rows = p.stored_rows = rows;
  p.cols = cols;
  p.shard = shard;
  p.init = Init::Normal;
  p.init_std = std;
  p.weight_decay = true;
  p.layer = layer;
  return p;
}

ParamSpec vec(const std::string& name, int64_t n, ShardSpec shard, Init init, int layer) {
  ParamSpec p;
  p.name = name;
  p.rows = p.stored_rows = 1;
  p.cols = n;
  p.is_1d = true;
  // A 1-D tensor split along its only dimension is split along "columns" of the 1 × n view.
  p.shard = shard.dim >= 0 ? ShardSpec{1, shard.groups} : shard;
  p.init = init;
  p.layer = layer;
  return p;
}

}  // namespace

ParamTable build_param_table(const ModelConfig& cfg, int tp) {
  cfg.validate();
  cfg.validate_tp(tp);
  const int64_t C = cfg.d_model, F = cfg.ffn_dim();
  const ShardSpec rep{-1, 1}, col{1, 1}, qkv{1, 3}, row{0, 1};
  // GPT-2 scales the init of residual projections by 1/sqrt(2·n_layer).
  const float proj_std = 0.02f / std::sqrt(2.0f * cfg.n_layer);
  ParamTable t;
  ParamSpec wte = weight("wte.weight", cfg.padded_vocab(tp), C, row, 0.02f, -1);
  wte.stored_rows = cfg.vocab_size;
  t.wte = add_param(t, wte);
  t.wpe = add_param(t, weight("wpe.weight", cfg.n_ctx, C, rep, 0.01f, -1));
  for (int l = 0; l < cfg.n_layer; ++l) {
    std::string p = strfmt("h.%d.", l);
    BlockParams b;
    b.ln1_w = add_param(t, vec(p + "ln_1.weight", C, rep, Init::Ones, l));
    b.ln1_b = add_param(t, vec(p + "ln_1.bias", C, rep, Init::Zeros, l));
    b.qkv_w = add_param(t, weight(p + "attn.c_attn.weight", C, 3 * C, qkv, 0.02f, l));
    b.qkv_b = add_param(t, vec(p + "attn.c_attn.bias", 3 * C, qkv, Init::Zeros, l));
    b.attn_proj_w = add_param(t, weight(p + "attn.c_proj.weight", C, C, row, proj_std, l));
    b.attn_proj_b = add_param(t, vec(p + "attn.c_proj.bias", C, rep, Init::Zeros, l));
    b.ln2_w = add_param(t, vec(p + "ln_2.weight", C, rep, Init::Ones, l));
    b.ln2_b = add_param(t, vec(p + "ln_2.bias", C, rep, Init::Zeros, l));
    b.fc_w = add_param(t, weight(p + "mlp.c_fc.weight", C, F, col, 0.02f, l));
    b.fc_b = add_param(t, vec(p + "mlp.c_fc.bias", F, col, Init::Zeros, l));
    b.mlp_proj_w = add_param(t, weight(p + "mlp.c_proj.weight", F, C, row, proj_std, l));
    b.mlp_proj_b = add_param(t, vec(p + "mlp.c_proj.bias", C, rep, Init::Zeros, l));
    t.blocks.push_back(b);
  }
  t.lnf_w = add_param(t, vec("ln_f.weight", C, rep, Init::Ones, -1));
  t.lnf_b = add_param(t, vec("ln_f.bias", C, rep, Init::Zeros, -1));
  if (cfg.num_classes > 0) {
    // The classification head (HF GPT2ForSequenceClassification's "score"): no bias, zero init.
    ParamSpec score = weight("score.weight", cfg.num_classes, C, rep, 0.0f, -1);
    score.init = Init::Zeros;
    score.weight_decay = false;
    t.score = add_param(t, score);
  }
  return t;
}

ParamLayout build_param_layout(const ParamTable& table, int tp, int align, int64_t bucket_elems) {
  ParamLayout layout;
  int n = static_cast<int>(table.specs.size());
  layout.offset.assign(static_cast<size_t>(n), 0);
  // Group tensors into buckets walking backward from the last one, then place buckets in
  // table order so the flat buffer mirrors the table.
  std::vector<Bucket> rev;
  int last = n;
  int64_t acc = 0;
  for (int i = n - 1; i >= 0; --i) {
    acc += table.specs[static_cast<size_t>(i)].local_numel(tp);
    if (acc >= bucket_elems || i == 0) {
      rev.push_back({i, last, 0, 0});
      last = i;
      acc = 0;
    }
  }
  int64_t off = 0;
  for (auto it = rev.rbegin(); it != rev.rend(); ++it) {
    it->offset = off;
    for (int i = it->first_param; i < it->last_param; ++i) {
      layout.offset[static_cast<size_t>(i)] = off;
      off += table.specs[static_cast<size_t>(i)].local_numel(tp);
    }
    int64_t size = off - it->offset;
    it->size = (size + align - 1) / align * align;
    off = it->offset + it->size;
  }
  layout.buckets = rev;  // completion order: last tensors first
  layout.total = off;
  return layout;
}

void init_param_shard(const ParamSpec& spec, uint64_t seed, int tp, int tp_rank, float* out) {
  int64_t lr = spec.local_rows(tp), lc = spec.local_cols(tp);
  uint64_t stream = stream_id(spec.name);
  for (int64_t r = 0; r < lr; ++r) {
    for (int64_t c = 0; c < lc; ++c) {
      float v = 0.0f;
      if (spec.init == Init::Ones) {
        v = 1.0f;
      } else if (spec.init == Init::Normal) {
        int64_t g = spec.global_index(tp, tp_rank, r, c);
        // Padded vocabulary rows stay zero: they are never looked up and never predicted.
        bool padded_row = g / spec.cols >= spec.stored_rows;
        v = padded_row ? 0.0f : static_cast<float>(spec.init_std * philox_normal(seed, stream, static_cast<uint64_t>(g)));
      }
      out[r * lc + c] = v;
    }
  }
}

void scatter_shard(const ParamSpec& spec, int tp, int tp_rank, const float* full, float* shard) {
  int64_t lr = spec.local_rows(tp), lc = spec.local_cols(tp);
  for (int64_t r = 0; r < lr; ++r) {
    // Within a row, a shard's columns form runs of `piece` contiguous elements.
    for (int64_t c = 0; c < lc; ++c) shard[r * lc + c] = full[spec.global_index(tp, tp_rank, r, c)];
  }
}

void gather_into_full(const ParamSpec& spec, int tp, int tp_rank, const float* shard, float* full) {
  int64_t lr = spec.local_rows(tp), lc = spec.local_cols(tp);
  for (int64_t r = 0; r < lr; ++r)
    for (int64_t c = 0; c < lc; ++c) full[spec.global_index(tp, tp_rank, r, c)] = shard[r * lc + c];
}

}  // namespace w2s
