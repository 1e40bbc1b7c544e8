// Counter-based random values for everything stochastic in training (noise, dropout, the VAE's
// sampling): a value is a function of (seed, epoch, original row index, stage, column) alone, so
// the noise a row gets does not depend on the thread count, the batch split or the shuffle, and
// the NumPy reference (reference/rng.py: counter_bits) computes the same bits with vectorised uint64
// maths. A row's key absorbs the four coordinates; its columns are then SplitMix64's stream from
// that key: bits(c) = finalise(key + (c + 1) * gamma). Uniforms take the top 53 bits; normals
// invert the normal CDF at an open uniform.
#pragma once

#include <cstdint>

#include "fastae/shuffle.hpp"
#include "fastae/types.hpp"

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

// A uniform double (top 53 bits + 1/2) / 2^53: exact, and never 0, below 1/2; above it the
// sum rounds to an integer (the top value to 1.0), so the normals' upper tail complements the bits.
inline double bits_to_open_uniform(std::uint64_t bits) { return (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53; }

// Standard normal values by the inverse normal CDF of open uniforms (Acklam's rational
// approximation, relative error < 1.2e-9): out[i] for columns first .. first + n - 1 of the row
// with this key. counter_normals.cpp, compiled without fused multiply-adds, so that NumPy's
// separately rounded products and sums (reference/rng.py) give the same bits.
void counter_normals(std::uint64_t key, std::uint64_t first, Index n, double* out);

// row[c] += static_cast<S>(level * normal(c)) for the row with this key (the product rounded
// before the sum, as in the reference).
void add_gaussian(std::uint64_t key, double level, float* row, Index n);
void add_gaussian(std::uint64_t key, double level, double* row, Index n);

}  // namespace fastae
