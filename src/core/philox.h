// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011). A value depends only on
// (seed, stream, index): parameter element i of tensor "h.3.mlp.c_fc.weight" gets the same
// initial value whether the tensor lives on one rank or is split over eight. That property is
// what makes sharded runs equal single-rank runs.
#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <string_view>

namespace w2s {

using Philox4 = std::array<uint32_t, 4>;

// One Philox4x32-10 block: 4 random words for counter (index, stream) under key seed.
inline Philox4 philox4x32(uint64_t seed, uint64_t stream, uint64_t index) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  uint32_t c0 = static_cast<uint32_t>(index), c1 = static_cast<uint32_t>(index >> 32);
  uint32_t c2 = static_cast<uint32_t>(stream), c3 = static_cast<uint32_t>(stream >> 32);
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(kM0) * c0;
    uint64_t p1 = static_cast<uint64_t>(kM1) * c2;
    uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<uint32_t>(p1);
    c3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += kW0;
    k1 += kW1;
  }
  return {c0, c1, c2, c3};
}

// Uniform in (0, 1): never exactly 0, so log() is safe.
inline double philox_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
  Philox4 r = philox4x32(seed, stream, index);
  uint64_t bits = (static_cast<uint64_t>(r[0]) << 21) ^ r[1];  // 53 random bits
  bits &= (1ull << 53) - 1;
  return (static_cast<double>(bits) + 0.5) / 9007199254740992.0;
}

// Standard normal by Box-Muller on two words of the same block.
inline double philox_normal(uint64_t seed, uint64_t stream, uint64_t index) {
  Philox4 r = philox4x32(seed, stream, index);
  double u1 = (static_cast<double>(r[0]) + 0.5) / 4294967296.0;
  double u2 = (static_cast<double>(r[1]) + 0.5) / 4294967296.0;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// Stable 64-bit stream id from a name (FNV-1a), e.g. a parameter's name.
inline uint64_t stream_id(std::string_view name) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : name) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace w2s
