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

// sum of n values, accumulated in double in a fixed order (8 interleaved partial sums, then
// added in order), so that it is deterministic and does not stall on one dependency chain.
template <class S>
inline double sum_in_double(const S* v, Index n) {
  double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  Index i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) part[k] += static_cast<double>(v[i + k]);
  for (; i < n; ++i) part[0] += static_cast<double>(v[i]);
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

// The output head. On entry z holds the output layer's pre-activation (bias added); z is
// overwritten. row_loss[r] = sum over the row of l(a, y) with a = f(z). When dz is given, it
// receives dL/dz for L = (sum of l) * inv_count, i.e. the gradient of the batch mean. `scratch`
// is a buffer of z's shape: the elementwise losses are evaluated there, vectorised, and then
// added up in double (an Eigen expression cast to double would be evaluated one scalar at a time).
template <class S>
void output_loss(Loss loss, Activation out_act, RowMap<S> z, const ConstRowMap<S>& y, double* row_loss,
                 RowMap<S>* dz, RowMap<S> scratch, S inv_count) {
  const Index cols = z.cols();
  for (Index r = 0; r < z.rows(); ++r) {
    auto zr = z.row(r).array();
    auto tmp = scratch.row(r).array();
    const auto yr = y.row(r).array();
    if (loss == Loss::Bce) {  // out_act is sigmoid, checked at construction
      // One exp per element: E = exp(-z). Far out E is huge or tiny and both uses below stay within
      // 1e-38 of the exact values.
      tmp = (-zr).exp();
      if (dz) dz->row(r).array() = ((S(1) + tmp).inverse() - yr) * inv_count;  // dl/dz = sigmoid(z) - y = 1/(1+E) - y
      tmp = zr.max(S(0)) - zr * yr + tmp.min(tmp.inverse()).log1p();  // l = max(z,0) - z y + log1p(e), e = exp(-|z|) = min(E, 1/E)
      row_loss[r] = sum_in_double(scratch.row(r).data(), cols);
      continue;
    }
    activate_row(zr, out_act);
    const auto d = zr - yr;
    switch (loss) {
      case Loss::Mse: tmp = d * d; break;      // (a - y)^2
      case Loss::Mae: tmp = d.abs(); break;    // |a - y|
      case Loss::Huber:  // d^2/2 if |d| <= delta, else delta (|d| - delta/2)
        // with c = min(|d|, delta): c (|d| - c/2)
        tmp = d.abs().min(S(kHuberDelta)) * (d.abs() - S(0.5) * d.abs().min(S(kHuberDelta)));
        break;
      case Loss::Bce: break;
    }
    row_loss[r] = sum_in_double(scratch.row(r).data(), cols);
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
