// The variational autoencoder's sampling stage (the reparameterisation trick) and its KL term.
// The encoder's last layer is linear and outputs [mu | logvar], 2 L values per row; the decoder
// reads z = mu + exp(lv / 2) eps, eps ~ N(0, I) from the counter RNG keyed by (seed, epoch,
// original row, stage 1 + that layer, column), lv being logvar clamped to [-30, 20] (as PyOD
// does; the gradient through the clamp is 0 outside it). Each row's objective gains
// beta * KL, KL = sum_j -1/2 (1 + lv_j - mu_j^2 - exp(lv_j)). In inference z = mu.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "fastae/counter_rng.hpp"
#include "fastae/dropout.hpp"
#include "fastae/types.hpp"

namespace fastae {

constexpr double kLogvarLow = -30.0, kLogvarHigh = 20.0;

// The counter RNG's stage of the sampling after layer l: the one dropout there would have, which
// the heads layer never has.
inline std::uint64_t sampling_stage(Index layer) { return dropout_stage(layer); }

// The sampling stage's settings: the heads layer (-1: a plain network) and the KL weight.
struct Sampling {
  Index layer = -1;
  double beta = 1.0;
  bool active() const { return layer >= 0; }
};

// For rows [lo, lo + heads.rows()) of the batch: eps from the counter RNG, z = mu + exp(lv / 2) eps.
template <class S>
void sample_latent(const RowMap<S>& heads, RowMap<S> eps, RowMap<S> z, const BatchKeys& keys, Index layer, Index lo) {
  const Index L = z.cols();
  constexpr Index kBlock = 256;
  double normal[kBlock];
  for (Index r = 0; r < heads.rows(); ++r) {
    const std::uint64_t key = counter_key(keys.seed, keys.epoch, static_cast<std::uint64_t>(keys.original[lo + r]),
                                          sampling_stage(layer));
    for (Index c0 = 0; c0 < L; c0 += kBlock) {
      const Index m = std::min(kBlock, L - c0);
      counter_normals(key, static_cast<std::uint64_t>(c0), m, normal);
      for (Index j = c0; j < c0 + m; ++j) {
        eps(r, j) = static_cast<S>(normal[j - c0]);
        const S lv = std::clamp(heads(r, L + j), S(kLogvarLow), S(kLogvarHigh));
        z(r, j) = heads(r, j) + std::exp(S(0.5) * lv) * eps(r, j);  // mu + sigma eps
      }
    }
  }
}

// Backward through the sampling and the KL term, for the same rows: from dL/dz (dz), writes
// dL/d[mu | logvar] into d_heads and adds each row's KL to row_kl:
//   dL/dmu = dL/dz + beta / n mu,   dL/dlogvar = [in the clamp] (dL/dz eps sigma / 2 + beta / n (exp(lv) - 1) / 2).
template <class S>
void sampling_backward(const RowMap<S>& heads, const RowMap<S>& eps, const RowMap<S>& dz, RowMap<S> d_heads,
                       double beta, Index batch_rows, double* row_kl) {
  const Index L = dz.cols();
  const S w = static_cast<S>(beta / static_cast<double>(batch_rows));
  for (Index r = 0; r < heads.rows(); ++r) {
    double kl = 0.0;
    for (Index j = 0; j < L; ++j) {
      const S mu = heads(r, j), raw = heads(r, L + j);
      const bool inside = raw >= S(kLogvarLow) && raw <= S(kLogvarHigh);
      const S lv = std::clamp(raw, S(kLogvarLow), S(kLogvarHigh));
      const S var = std::exp(lv), sigma = std::exp(S(0.5) * lv);
      kl += -0.5 * (1.0 + static_cast<double>(lv) - static_cast<double>(mu) * mu - static_cast<double>(var));  // KL_j
      d_heads(r, j) = dz(r, j) + w * mu;  // dL/dmu
      d_heads(r, L + j) = inside ? S(0.5) * (dz(r, j) * eps(r, j) * sigma + w * (var - S(1))) : S(0);  // dL/dlogvar
    }
    row_kl[r] += kl;
  }
}

}  // namespace fastae
