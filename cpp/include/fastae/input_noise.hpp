// The input transform of a denoising autoencoder: noise added to each training row as the batch
// is gathered into its input buffer, the target buffer keeping the clean row. Every value comes
// from the counter-based RNG (counter_rng.hpp) keyed by (seed, epoch, original row, stage 0,
// column), so a row's noise does not depend on threads, batch size or shuffle.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "fastae/counter_rng.hpp"
#include "fastae/types.hpp"

namespace fastae {

enum class Noise { None, Gaussian, Masking, SaltPepper };

inline Noise noise_from_name(const std::string& name) {
  if (name == "none") return Noise::None;
  if (name == "gaussian") return Noise::Gaussian;
  if (name == "masking") return Noise::Masking;
  if (name == "salt_pepper") return Noise::SaltPepper;
  throw std::invalid_argument("noise: unknown kind '" + name + "'");
}

struct InputNoise {
  Noise kind = Noise::None;
  double level = 0.0;  // Gaussian: the standard deviation; masking, salt and pepper: the probability
  std::uint64_t seed = 0;
  bool active() const { return kind != Noise::None && level > 0.0; }
};

constexpr std::uint64_t kInputStage = 0;  // the counter RNG's stage number of the input transform

// row[0..n) of original row `row_index` in `epoch`, with the noise applied in place.
template <class S>
void add_noise(const InputNoise& noise, std::uint64_t epoch, std::uint64_t row_index, S* row, Index n) {
  const std::uint64_t key = counter_key(noise.seed, epoch, row_index, kInputStage);
  const double level = noise.level;
  switch (noise.kind) {
    case Noise::Gaussian:
      add_gaussian(key, level, row, n);  // x + N(0, level^2)
      break;
    case Noise::Masking:
      for (Index c = 0; c < n; ++c)
        if (bits_to_uniform(counter_bits(key, static_cast<std::uint64_t>(c))) < level) row[c] = S(0);  // 0 with probability level
      break;
    case Noise::SaltPepper:
      for (Index c = 0; c < n; ++c) {
        const double u = bits_to_uniform(counter_bits(key, static_cast<std::uint64_t>(c)));
        if (u < level) row[c] = u < 0.5 * level ? S(0) : S(1);  // 0 or 1, each with probability level / 2
      }
      break;
    case Noise::None:
      break;
  }
}

}  // namespace fastae
