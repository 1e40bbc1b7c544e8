// The seeded shuffle shared with the NumPy reference: SplitMix64 draws and a Fisher-Yates pass.
#pragma once

#include <cstdint>
#include <numeric>
#include <vector>

namespace fastae {

constexpr std::uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ULL;  // 2^64 / golden ratio, odd

// SplitMix64's output function: a 64-bit finaliser in which every input bit flips about half the output bits.
inline std::uint64_t splitmix64_finalise(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// SplitMix64 (Steele, Lea, Flood 2014): state += golden gamma, then the finaliser.
inline std::uint64_t splitmix64_next(std::uint64_t& state) {
  state += kGoldenGamma;
  return splitmix64_finalise(state);
}

// Shuffles order in place (Fisher-Yates from the back); j for position i is floor(draw * (i + 1) / 2^64).
inline void shuffle_in_place(std::vector<std::int64_t>& order, std::uint64_t& state) {
  const auto n = static_cast<std::int64_t>(order.size());
  for (std::int64_t i = n - 1; i > 0; --i) {
    const unsigned __int128 wide = static_cast<unsigned __int128>(splitmix64_next(state)) * static_cast<unsigned __int128>(i + 1);
    const auto j = static_cast<std::int64_t>(wide >> 64);
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
}

}  // namespace fastae
