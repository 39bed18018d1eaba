// Megatron-style tensor-parallel layers on the CPU backend. The residual stream is replicated
// on every TP rank; these layers hold their weight shards and put the collectives where
// Megatron-LM puts them:
//   ColumnParallelLinear  y_local = x · W[:, cols of this rank]      (forward: no comm;
//                         backward: dx partial sums → all-reduce over TP)
//   RowParallelLinear     y = Σ_tp x_local · W[rows of this rank]    (forward: all-reduce;
//                         backward: no comm) — its bias is replicated and added after the sum
//   VocabParallelEmbedding / vocab-parallel cross-entropy: each rank owns a slice of the
//   vocabulary rows of wte; lookups and the softmax normaliser are summed over TP, and the
//   full logits are never gathered.
#pragma once
#include <cstdint>
#include <vector>

#include "comm/communicator.h"

namespace w2s {

struct ColumnParallelLinear {
  // out[rows, n_local] = inp[rows, k] · W_local + b_local
  static void forward(float* out, const float* inp, const float* W, const float* b, int rows, int k, int n_local);
  // dinp = all_reduce_tp(dout · W_localᵀ); dW, db accumulate.
  static void backward(Communicator& tp, float* dinp, float* dW, float* db, const float* dout, const float* inp,
                       const float* W, int rows, int k, int n_local);
};

struct RowParallelLinear {
  // out[rows, n] = all_reduce_tp(inp_local · W_local) + b   (b replicated)
  static void forward(Communicator& tp, float* out, const float* inp, const float* W, const float* b, int rows,
                      int k_local, int n);
  // dinp_local = dout · W_localᵀ; dW accumulates; db accumulates (identical on every TP rank).
  static void backward(float* dinp, float* dW, float* db, const float* dout, const float* inp, const float* W,
                       int rows, int k_local, int n);
};

struct VocabParallelEmbedding {
  // out[rows, C] = Σ_tp (wte rows this rank owns, else 0) + wpe[position]
  static void forward(Communicator& tp, float* out, const int32_t* tokens, const float* wte_local,
                      const float* wpe, int B, int T, int C, int vocab_begin, int vocab_end);
  // dwte_local[token − vocab_begin] += dout for owned tokens; dwpe[t] += Σ_b dout[b, t].
  static void backward(float* dwte_local, float* dwpe, const float* dout, const int32_t* tokens, int B, int T, int C,
                       int vocab_begin, int vocab_end);
};

// Vocab-parallel LM head + cross-entropy over rows in chunks (memory bounded by chunk × V/tp).
// logits_local = h · wte_localᵀ; loss_r = logsumexp over the true vocabulary − logit[target].
// Rows with target < 0 are ignored. Returns Σ_r loss_r (this rank's rows; equal on all TP
// ranks). If dh != nullptr, also computes the backward pass for the loss scaled by grad_scale:
// dh = all_reduce_tp(dlogits · wte_local) (overwritten), dwte_local accumulates.
// token_loss (optional, [rows]) receives each row's loss.
double vocab_parallel_lm_loss(Communicator& tp, const float* h, const float* wte_local, const int32_t* targets,
                              int rows, int C, int vocab_begin, int vocab_end, int true_vocab, float grad_scale,
                              float* dh, float* dwte_local, float* token_loss);

}  // namespace w2s
