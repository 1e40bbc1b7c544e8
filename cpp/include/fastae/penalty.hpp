// Penalties that training adds to the reconstruction loss (inference and evaluation never see
// them). Each adds a per-row value to the objective and a term to dL/d(a stage's output).
#pragma once

#include <cmath>

#include "fastae/types.hpp"

namespace fastae {

struct Penalties {
  Index code_layer = -1;     // the layer whose output is the code
  double activity_l1 = 0.0;  // lambda: lambda * (mean over rows of sum_j |code_j|), Keras' activity_regularizer=l1
  bool any() const { return activity_l1 > 0.0; }
};

// The L1 activity penalty on rows of the code a: row_penalty[r] = lambda * sum_j |a_rj|, and
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
    row_penalty[r] = lambda * sum;
  }
}

}  // namespace fastae
