#include "data/sampler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/philox.h"

namespace w2s {
namespace {
constexpr int kFeistelRounds = 6;                   // 4 already make a strong pseudo-random permutation
constexpr uint64_t kEpochStream = 0x5a4d504c45000000ull;  // + epoch: each epoch its own permutation
}  // namespace

SeededBijection::SeededBijection(int64_t n, uint64_t seed, uint64_t stream) : n_(n), seed_(seed), stream_(stream) {
  W2S_CHECK(n >= 1, "a bijection of a non-empty range");
  half_bits_ = 1;
  while (half_bits_ < 32 && (uint64_t{1} << (2 * half_bits_)) < static_cast<uint64_t>(n)) ++half_bits_;
  half_mask_ = (uint64_t{1} << half_bits_) - 1;
}

uint64_t SeededBijection::encrypt(uint64_t x) const {
  uint64_t left = x >> half_bits_, right = x & half_mask_;
  for (int round = 0; round < kFeistelRounds; ++round) {
    const Philox4 f = philox4x32(seed_, stream_, (static_cast<uint64_t>(round) << 32) | right);
    const uint64_t mixed = ((static_cast<uint64_t>(f[1]) << 32) | f[0]) & half_mask_;
    const uint64_t next = left ^ mixed;
    left = right;
    right = next;
  }
  return (left << half_bits_) | right;
}

int64_t SeededBijection::operator()(int64_t x) const {
  W2S_CHECK(x >= 0 && x < n_, "bijection input in [0, n)");
  uint64_t y = static_cast<uint64_t>(x);
  do {
    y = encrypt(y);
  } while (y >= static_cast<uint64_t>(n_));
  return static_cast<int64_t>(y);
}

Sampler::Sampler(int64_t n, int64_t batch, int64_t micro, uint64_t seed, bool shuffle)
    : n_(n), batch_(batch), micro_(micro), seed_(seed), shuffle_(shuffle) {
  if (n_ < 1) throw UsageError("no training examples to sample from");
  if (batch_ < 1) throw UsageError("--batch-size must be at least 1");
  if (micro_ < 1 || micro_ > batch_) micro_ = batch_;
}

Sampler::Sampler(std::vector<int64_t> pool, int64_t batch, int64_t micro, uint64_t seed, bool shuffle)
    : Sampler(static_cast<int64_t>(pool.size()), batch, micro, seed, shuffle) {
  pool_ = std::move(pool);
}

int64_t Sampler::position_index(int64_t pos) const {
  const int64_t epoch = pos / n_, within = pos % n_;
  const int64_t k = shuffle_ ? SeededBijection(n_, seed_, kEpochStream + static_cast<uint64_t>(epoch))(within) : within;
  return pool_.empty() ? k : pool_[static_cast<size_t>(k)];
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
