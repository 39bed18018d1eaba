#include "data/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/philox.h"

namespace w2s {

std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed, uint64_t stream) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), int64_t{0});
  for (int64_t i = n - 1; i > 0; --i) {
    uint64_t r = philox_uniform(seed, stream, static_cast<uint64_t>(i)) * static_cast<double>(i + 1);
    int64_t j = std::min<int64_t>(static_cast<int64_t>(r), i);
    std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(j)]);
  }
  return p;
}

Sampler::Sampler(std::vector<int64_t> pool, int64_t batch, int64_t micro, uint64_t seed, bool shuffle)
    : pool_(std::move(pool)), batch_(batch), micro_(micro), seed_(seed), shuffle_(shuffle) {
  if (pool_.empty()) throw UsageError("no training examples to sample from");
  if (batch_ < 1) throw UsageError("--batch-size must be at least 1");
  if (micro_ < 1 || micro_ > batch_) micro_ = batch_;
}

int64_t Sampler::position_index(int64_t pos) const {
  const int64_t n = pool_size();
  int64_t epoch = pos / n, within = pos % n;
  if (!shuffle_) return pool_[static_cast<size_t>(within)];
  if (epoch != cached_epoch_) {
    perm_ = seeded_permutation(n, seed_, 0x5a4d504c45000000ull + static_cast<uint64_t>(epoch));
    cached_epoch_ = epoch;
  }
  return pool_[static_cast<size_t>(perm_[static_cast<size_t>(within)])];
}

std::vector<int64_t> Sampler::micro_batch(int64_t step, int64_t k) const {
  int64_t begin = step * batch_ + k * micro_;
  int64_t end = std::min(step * batch_ + batch_, begin + micro_);
  std::vector<int64_t> out;
  for (int64_t pos = begin; pos < end; ++pos) out.push_back(position_index(pos));
  return out;
}

std::vector<int64_t> Sampler::rank_slice(const std::vector<int64_t>& micro, int rank, int dp) {
  std::vector<int64_t> out;
  for (size_t i = static_cast<size_t>(rank); i < micro.size(); i += static_cast<size_t>(dp)) out.push_back(micro[i]);
  return out;
}

int64_t Sampler::steps_for_epochs(double epochs) const {
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(epochs * static_cast<double>(pool_size()) / batch_)));
}

}  // namespace w2s
