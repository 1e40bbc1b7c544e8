// Inverted dropout on the output of a hidden layer, in training only: each value is kept with
// probability 1 - rate and scaled by 1 / (1 - rate), so that its expectation is unchanged and
// inference needs no scaling. The keep decision comes from the counter-based RNG
// (counter_rng.hpp) keyed by (seed, epoch, original row, stage, column), the stage of layer l's
// dropout being 1 + l: a row's mask does not depend on threads, batch size or shuffle.
#pragma once

#include <cstdint>

#include "fastae/counter_rng.hpp"
#include "fastae/types.hpp"

namespace fastae {

// What keys the counter RNG for the rows of one batch: the RNG's seed, the epoch, and each batch
// row's index in the training matrix.
struct BatchKeys {
  std::uint64_t seed = 0, epoch = 0;
  const std::int64_t* original = nullptr;  // original[r]: batch row r's row of x
};

// The counter RNG's stage number of the dropout on layer l's output (the input transform is 0).
inline std::uint64_t dropout_stage(Index layer) { return 1 + static_cast<std::uint64_t>(layer); }

// For rows [lo, lo + a.rows()) of the batch: mask = 1 / (1 - rate) where the value is kept (u >= rate,
// u uniform in [0, 1)), else 0; dropped = a * mask.
template <class S>
void apply_dropout(const RowMap<S>& a, RowMap<S> mask, RowMap<S> dropped, double rate, const BatchKeys& keys,
                   Index layer, Index lo) {
  const S scale = static_cast<S>(1.0 / (1.0 - rate));
  for (Index r = 0; r < a.rows(); ++r) {
    const std::uint64_t key = counter_key(keys.seed, keys.epoch, static_cast<std::uint64_t>(keys.original[lo + r]),
                                          dropout_stage(layer));
    for (Index c = 0; c < a.cols(); ++c) {
      const bool keep = bits_to_uniform(counter_bits(key, static_cast<std::uint64_t>(c))) >= rate;
      mask(r, c) = keep ? scale : S(0);  // kept with probability 1 - rate
      dropped(r, c) = a(r, c) * mask(r, c);  // a m / (1 - rate)
    }
  }
}

}  // namespace fastae
