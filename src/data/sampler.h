// The DP-sharded sampler. The sequence of global batches depends only on (seed, pool, batch
// size): epochs are seeded permutations of the pool laid end to end, and global batch s is the
// next `batch` positions of that stream. A global batch is cut into micro-steps of `micro`
// examples; within a micro-step, DP rank r takes the examples at positions r, r + dp, r + 2·dp, …
// So the examples of every micro-step — and any batch statistic computed over it — are the same
// for every DP degree; only who computes which rows changes. Each position is computed on its
// own (a seeded bijection, not a stored permutation), so the sampler holds nothing per example
// and a resumed run draws exactly what an uninterrupted one would.
#pragma once
#include <cstdint>
#include <vector>

namespace w2s {

class Sampler {
 public:
  // Draws from dataset indices 0..n−1.
  Sampler(int64_t n, int64_t batch, int64_t micro, uint64_t seed, bool shuffle = true);
  // Draws from `pool` (dataset indices, e.g. a confident subset): O(pool) memory.
  Sampler(std::vector<int64_t> pool, int64_t batch, int64_t micro, uint64_t seed, bool shuffle = true);

  int64_t batch() const { return batch_; }
  int64_t micro_steps() const { return (batch_ + micro_ - 1) / micro_; }
  int64_t pool_size() const { return n_; }
  // Dataset indices of micro-step k of global batch `step` (all DP ranks' examples).
  std::vector<int64_t> micro_batch(int64_t step, int64_t k) const;
  // The part of a micro-step that DP rank `rank` of `dp` computes: positions ≡ rank (mod dp).
  static std::vector<int64_t> rank_slice(const std::vector<int64_t>& micro, int rank, int dp);
  // Steps for `epochs` passes over the pool (rounded up).
  int64_t steps_for_epochs(double epochs) const;

 private:
  int64_t position_index(int64_t pos) const;  // dataset index at stream position pos
  std::vector<int64_t> pool_;  // empty: the pool is 0..n−1
  int64_t n_, batch_, micro_;
  uint64_t seed_;
  bool shuffle_;
};

// A seeded permutation of [0, n) evaluated one element at a time in O(1) memory: a balanced
// Feistel network over the smallest even-bit domain 2^(2h) >= n, with Philox(seed, stream) as
// its round function, and cycle walking (apply again until the value falls below n; fewer than
// 4 applications on average, since 2^(2h) < 4n). Any Feistel network is a bijection of its
// domain, and cycle walking restricts a bijection to a bijection of [0, n).
class SeededBijection {
 public:
  SeededBijection(int64_t n, uint64_t seed, uint64_t stream);
  int64_t operator()(int64_t x) const;  // x in [0, n)

 private:
  uint64_t encrypt(uint64_t x) const;
  int64_t n_;
  uint64_t seed_, stream_;
  int half_bits_;
  uint64_t half_mask_;
};

}  // namespace w2s
