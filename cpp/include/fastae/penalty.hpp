// Penalties that training adds to the reconstruction loss (inference and evaluation never see
// them). Each adds a per-row value to the objective and a term to dL/d(a stage's output); the
// KL sparsity penalty needs the batch mean of the code first (Network::code_means, between a
// barrier after the forward pass and one before the backward pass).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "fastae/activation.hpp"
#include "fastae/types.hpp"

namespace fastae {

struct Penalties {
  Index code_layer = -1;          // the layer whose output is the code
  double activity_l1 = 0.0;       // lambda: lambda * (mean over rows of sum_j |code_j|), Keras' activity_regularizer=l1
  double sparsity_weight = 0.0;   // beta: beta * sum_j KL(rho || rho_hat_j), rho_hat_j the batch mean of code_j
  double sparsity_target = 0.05;  // rho
  double contractive = 0.0;       // lambda: lambda * mean over rows of ||d code / d x||_F^2, for a one-layer encoder
  bool any() const { return activity_l1 > 0.0 || sparsity_weight > 0.0 || contractive > 0.0; }
  bool needs_code_means() const { return sparsity_weight > 0.0; }
};

// rho_hat is kept within [kMeanFloor, 1 - kMeanFloor], where KL and its gradient are finite.
constexpr double kMeanFloor = 1e-6;

inline double clamped_mean(double mean) { return std::min(std::max(mean, kMeanFloor), 1.0 - kMeanFloor); }

// The L1 activity penalty on rows of the code a: row_penalty[r] += lambda * sum_j |a_rj|, and
// dL/da += lambda / batch_rows * sign(a) (sign(0) = 0, as torch's abs).
template <class S>
void add_activity_l1(const RowMap<S>& a, RowMap<S> dL_da, double lambda, Index batch_rows, double* row_penalty) {
  const S step = static_cast<S>(lambda / static_cast<double>(batch_rows));
  for (Index r = 0; r < a.rows(); ++r) {
    double sum = 0.0;
    for (Index j = 0; j < a.cols(); ++j) {
      const S v = a(r, j);
      sum += std::abs(static_cast<double>(v));
      dL_da(r, j) += v > S(0) ? step : v < S(0) ? -step : S(0);  // d/da lambda/n |a| = lambda/n sign(a)
    }
    row_penalty[r] += lambda * sum;
  }
}

// The KL sparsity penalty beta * sum_j KL(rho || rho_hat_j), rho_hat = `means` (the code's batch
// means, clamped): every row of the batch carries the batch's value in row_penalty (so the mean
// over the epoch's rows weighs each batch by its rows), and for each row
// dL/da_j += beta / batch_rows * (-rho / rho_hat_j + (1 - rho) / (1 - rho_hat_j)).
template <class S>
void add_kl_sparsity(RowMap<S> dL_da, double beta, double rho, const std::vector<double>& means, Index batch_rows,
                     double* row_penalty) {
  double kl = 0.0;
  std::vector<S> step(means.size());
  for (std::size_t j = 0; j < means.size(); ++j) {
    const double m = clamped_mean(means[j]);
    kl += rho * std::log(rho / m) + (1.0 - rho) * std::log((1.0 - rho) / (1.0 - m));  // KL(rho || rho_hat_j)
    step[j] = static_cast<S>(beta / static_cast<double>(batch_rows) * (-rho / m + (1.0 - rho) / (1.0 - m)));  // d/da_rj
  }
  for (Index r = 0; r < dL_da.rows(); ++r) {
    for (Index j = 0; j < dL_da.cols(); ++j) dL_da(r, j) += step[static_cast<std::size_t>(j)];
    row_penalty[r] += beta * kl;
  }
}

// The contractive penalty (Rifai et al., 2011) of a one-layer encoder h = f(x W + b): for each
// row, ||dh/dx||_F^2 = sum_j f'(z_j)^2 s_j with s_j = sum_i W_ij^2, exactly. On rows of the code
// h (written from it: activation.hpp) and their dL/dz: row_penalty[r] += lambda * that sum, and
// dL/dz_rj += lambda / batch_rows * 2 f'(z_rj) f''(z_rj) s_j. (The part through W itself is
// add_contractive_weight_gradient's.)
template <class S>
void add_contractive(const RowMap<S>& h, RowMap<S> dL_dz, Activation act, const ConstRowMap<S>& W, double lambda,
                     Index batch_rows, double* row_penalty) {
  std::vector<double> s(static_cast<std::size_t>(W.cols()), 0.0);
  for (Index i = 0; i < W.rows(); ++i)
    for (Index j = 0; j < W.cols(); ++j) s[static_cast<std::size_t>(j)] += static_cast<double>(W(i, j)) * W(i, j);  // s_j = sum_i W_ij^2
  const double step = 2.0 * lambda / static_cast<double>(batch_rows);
  for (Index r = 0; r < h.rows(); ++r) {
    double sum = 0.0;
    for (Index j = 0; j < h.cols(); ++j) {
      double d1, d2;
      first_and_second_derivative(act, static_cast<double>(h(r, j)), d1, d2);
      const double sj = s[static_cast<std::size_t>(j)];
      sum += d1 * d1 * sj;                                      // f'(z_j)^2 s_j
      dL_dz(r, j) += static_cast<S>(step * d1 * d2 * sj);       // d/dz_j: lambda/n 2 f' f'' s_j
    }
    row_penalty[r] += lambda * sum;
  }
}

// The contractive penalty's gradient through W itself, for the block [i_lo, i_hi) x [j_lo, j_hi)
// of the encoder's dL/dW (gW, the block's own view): += 2 lambda c_j W_ij with
// c_j = mean over the batch's rows of f'(z_rj)^2 (h: the code of every batch row).
template <class S>
void add_contractive_weight_gradient(const RowMap<S>& h, Activation act, const ConstRowMap<S>& W, double lambda,
                                     Index i_lo, Index i_hi, Index j_lo, Index j_hi, RowMap<S> gW) {
  std::vector<double> c(static_cast<std::size_t>(j_hi - j_lo), 0.0);
  for (Index r = 0; r < h.rows(); ++r)
    for (Index j = j_lo; j < j_hi; ++j) {
      double d1, d2;
      first_and_second_derivative(act, static_cast<double>(h(r, j)), d1, d2);
      c[static_cast<std::size_t>(j - j_lo)] += d1 * d1;
    }
  for (double& v : c) v *= 2.0 * lambda / static_cast<double>(h.rows());  // 2 lambda c_j
  for (Index i = i_lo; i < i_hi; ++i)
    for (Index j = j_lo; j < j_hi; ++j)
      gW(i - i_lo, j - j_lo) += static_cast<S>(c[static_cast<std::size_t>(j - j_lo)] * W(i, j));  // d/dW_ij: 2 lambda c_j W_ij
}

}  // namespace fastae
