// Counter-based random values for everything stochastic in training (noise, dropout, the VAE's
// sampling): a value is a function of (seed, epoch, original row index, stage, column) alone, so
// the noise a row gets does not depend on the thread count, the batch split or the shuffle, and
// the NumPy reference (reference.py: counter_bits) computes the same bits with vectorised uint64
// maths. A row's key absorbs the four coordinates; its columns are then SplitMix64's stream from
// that key: bits(c) = finalise(key + (c + 1) * gamma).
#pragma once

#include <cmath>
#include <cstdint>

#include "fastae/shuffle.hpp"

namespace fastae {

// The key of one row of one stage in one epoch: absorb(h, x) = finalise((h ^ x) + gamma), from h = 0.
inline std::uint64_t counter_key(std::uint64_t seed, std::uint64_t epoch, std::uint64_t row, std::uint64_t stage) {
  std::uint64_t h = 0;
  for (std::uint64_t x : {seed, epoch, row, stage}) h = splitmix64_finalise((h ^ x) + kGoldenGamma);
  return h;
}

// The 64 random bits of column c of the row with this key.
inline std::uint64_t counter_bits(std::uint64_t key, std::uint64_t column) {
  return splitmix64_finalise(key + (column + 1) * kGoldenGamma);
}

// A uniform double in [0, 1) from the top 53 bits.
inline double bits_to_uniform(std::uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }

// A standard normal value by Box-Muller from the two 32-bit halves: u1 in (0, 1], u2 in [0, 1);
// z = sqrt(-2 ln u1) cos(2 pi u2) (|z| < 6.7).
inline double bits_to_normal(std::uint64_t bits) {
  const double u1 = static_cast<double>((bits >> 32) + 1) * 0x1.0p-32;
  const double u2 = static_cast<double>(bits & 0xFFFFFFFFULL) * 0x1.0p-32;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace fastae
