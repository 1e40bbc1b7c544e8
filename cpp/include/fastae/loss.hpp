// Losses and their gradients. Every loss is a mean over all elements of the batch; the
// per-row sums are kept in double. BCE is always computed from the logits of a sigmoid output.
#pragma once

#include <string>

#include "fastae/activation.hpp"
#include "fastae/types.hpp"

namespace fastae {

enum class Loss { Mse, Bce, Mae, Huber };

Loss loss_from_name(const std::string& name);
const char* loss_name(Loss loss);

constexpr double kHuberDelta = 1.0;

// The output head. On entry z holds the output layer's pre-activation (bias added); on exit it
// holds a = f(z). row_loss[r] = sum over the row of l(a, y). When dz is given, it receives
// dL/dz for L = (sum of l) * inv_count, i.e. the gradient of the batch mean.
template <class S>
void output_loss(Loss loss, Activation out_act, RowMap<S> z, const ConstRowMap<S>& y, double* row_loss,
                 RowMap<S>* dz, S inv_count) {
  for (Index r = 0; r < z.rows(); ++r) {
    auto zr = z.row(r).array();
    const auto yr = y.row(r).array();
    if (loss == Loss::Bce) {  // out_act is sigmoid, checked at construction
      // l = max(z,0) - z y + log1p(e^-|z|);  dl/dz = sigmoid(z) - y
      row_loss[r] = (zr.max(S(0)) - zr * yr + (-zr.abs()).exp().log1p()).template cast<double>().sum();
      zr = sigmoid_of(zr);
      if (dz) dz->row(r).array() = (zr - yr) * inv_count;
      continue;
    }
    activate_row(zr, out_act);
    const auto d = zr - yr;
    switch (loss) {
      case Loss::Mse: row_loss[r] = (d * d).template cast<double>().sum(); break;  // (a - y)^2
      case Loss::Mae: row_loss[r] = d.abs().template cast<double>().sum(); break;  // |a - y|
      case Loss::Huber:  // d^2/2 if |d| <= delta, else delta (|d| - delta/2)
        row_loss[r] = (d.abs() <= S(kHuberDelta))
                          .select(S(0.5) * d * d, S(kHuberDelta) * (d.abs() - S(0.5 * kHuberDelta)))
                          .template cast<double>()
                          .sum();
        break;
      case Loss::Bce: break;
    }
    if (!dz) continue;
    auto g = dz->row(r).array();
    switch (loss) {
      case Loss::Mse: g = S(2) * d * inv_count; break;                                       // 2 (a - y)
      case Loss::Mae: g = d.sign() * inv_count; break;                                       // sign(a - y)
      case Loss::Huber: g = d.max(S(-kHuberDelta)).min(S(kHuberDelta)) * inv_count; break;  // clamp(a - y, ±delta)
      case Loss::Bce: break;
    }
    multiply_by_derivative(dz->middleRows(r, 1), z.middleRows(r, 1), out_act);
  }
}

}  // namespace fastae
