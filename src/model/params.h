// The GPT-2 parameter table: every tensor's Hugging Face name, full shape, how tensor
// parallelism splits it, its initialisation, and where its local shard sits in the flat
// parameter/gradient buffers. Checkpoints always hold full tensors; this table is what maps a
// full tensor to the shard a (tp_rank of tp) process owns, and back.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"
#include "parallel/flat_layout.h"

namespace w2s {

// How a tensor is split over TP ranks. The split dimension is viewed as `groups` equal groups
// (3 for the fused q|k|v projection), and each group is cut into tp contiguous pieces; rank r
// holds piece r of every group. Replicated tensors (LayerNorms, row-parallel biases, position
// embeddings, the classifier) are whole on every rank.
struct ShardSpec {
  int dim = -1;    // -1: replicated; 0: rows; 1: columns
  int groups = 1;
};

enum class Init { Normal, Zeros, Ones };

struct ParamSpec {
  std::string name;             // HF GPT-2 name, e.g. "h.3.attn.c_attn.weight"
  int64_t rows = 1, cols = 1;   // full in-memory shape (1-D tensors: rows = 1); wte has padded rows
  int64_t stored_rows = 1;      // rows in a checkpoint (wte: the true vocab)
  bool is_1d = false;
  ShardSpec shard;
  Init init = Init::Normal;
  float init_std = 0.02f;
  bool weight_decay = false;    // 2-D weights decay; biases and LayerNorms do not
  int layer = -1;               // block index, -1 for embeddings/final LN/head

  int64_t local_rows(int tp) const { return shard.dim == 0 ? rows / tp : rows; }
  int64_t local_cols(int tp) const { return shard.dim == 1 ? cols / tp : cols; }
  int64_t local_numel(int tp) const { return local_rows(tp) * local_cols(tp); }
  int64_t numel() const { return rows * cols; }
  bool replicated() const { return shard.dim < 0; }
  // Full-tensor flat index of element (r, c) of the shard held by tp_rank.
  int64_t global_index(int tp, int tp_rank, int64_t r, int64_t c) const;
};

// Indices into the parameter table for one transformer block.
struct BlockParams {
  int ln1_w, ln1_b, qkv_w, qkv_b, attn_proj_w, attn_proj_b, ln2_w, ln2_b, fc_w, fc_b, mlp_proj_w, mlp_proj_b;
};

struct ParamTable {
  std::vector<ParamSpec> specs;
  int wte = -1, wpe = -1, lnf_w = -1, lnf_b = -1, score = -1;
  std::vector<BlockParams> blocks;
  int find(const std::string& name) const;  // -1 if absent
};

// The table for a config at a TP degree (wte rows padded to padded_vocab(tp)).
ParamTable build_param_table(const ModelConfig& cfg, int tp);

// Where each local shard lives in the flat buffers (parallel/flat_layout.h), grouped into
// gradient buckets. Buckets are runs of whole tensors taken from the end of the table (the order
// backward finishes them); each bucket is padded to a multiple of `align` elements (the DP size,
// for ZeRO-1 slicing).
ParamLayout build_param_layout(const ParamTable& table, int tp, int align, int64_t bucket_elems);

// Initial value of every element of the local shard, from Philox at its global index: the
// same full tensor whatever the TP degree.
void init_param_shard(const ParamSpec& spec, uint64_t seed, int tp, int tp_rank, float* out);

// Copies between a full tensor (rows × cols, row-major) and the local shard.
void scatter_shard(const ParamSpec& spec, int tp, int tp_rank, const float* full, float* shard);
void gather_into_full(const ParamSpec& spec, int tp, int tp_rank, const float* shard, float* full);

}  // namespace w2s
