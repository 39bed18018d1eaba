// The DP-sharded sampler. The sequence of global batches depends only on (seed, dataset size,
// batch size): epochs are seeded permutations laid end to end, and global batch s is the next
// `batch` positions of that stream. A global batch is cut into micro-steps of `micro` examples;
// within a micro-step, DP rank r takes the examples at positions r, r + dp, r + 2·dp, … So the
// examples of every micro-step — and any batch statistic computed over it — are the same for
// every DP degree; only who computes which rows changes.
#pragma once
#include <cstdint>
#include <vector>

namespace w2s {

class Sampler {
 public:
  // pool: the dataset indices to draw from (e.g. 0..N−1, or a confident subset).
  Sampler(std::vector<int64_t> pool, int64_t batch, int64_t micro, uint64_t seed, bool shuffle = true);

  int64_t batch() const { return batch_; }
  int64_t micro_steps() const { return (batch_ + micro_ - 1) / micro_; }
  int64_t pool_size() const { return static_cast<int64_t>(pool_.size()); }
  // Dataset indices of micro-step k of global batch `step` (all DP ranks' examples).
  std::vector<int64_t> micro_batch(int64_t step, int64_t k) const;
  // The part of a micro-step that DP rank `rank` of `dp` computes: positions ≡ rank (mod dp).
  static std::vector<int64_t> rank_slice(const std::vector<int64_t>& micro, int rank, int dp);
  // Steps for `epochs` passes over the pool (rounded up).
  int64_t steps_for_epochs(double epochs) const;

 private:
  int64_t position_index(int64_t pos) const;  // dataset index at stream position pos
  std::vector<int64_t> pool_;
  int64_t batch_, micro_;
  uint64_t seed_;
  bool shuffle_;
  mutable int64_t cached_epoch_ = -1;
  mutable std::vector<int64_t> perm_;
};

// A seeded permutation of 0..n−1 (Fisher–Yates driven by Philox(seed, stream, i)).
std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed, uint64_t stream);

}  // namespace w2s
