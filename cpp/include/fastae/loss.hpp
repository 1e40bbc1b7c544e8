// Losses and their gradients. Every loss is a mean over all elements of the batch (with missing
// values, over its observed elements); the per-row sums are kept in double. BCE is always
// computed from the logits of a sigmoid output.
#pragma once

#include <string>
#include <type_traits>

#include "fastae/activation.hpp"
#include "fastae/packet.hpp"
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

// log1p(e) for packets of e in [0, 1]. float: 2 atanh(s) = 2 (s + s^3/3 + ... + s^13/13) with
// s = e / (2 + e) <= 1/3, whose first omitted term is below 2e-8 of the sum (no log, whose range
// reduction costs more than the series); double: log(u) - (u - 1 - e) / u with u = 1 + e rounded.
template <class S>
inline Packet<S> log1p_unit(const Packet<S>& e) {
  using namespace Eigen::internal;
  using P = Packet<S>;
  const P one = pset1<P>(S(1));
  if constexpr (std::is_same_v<S, float>) {
    const P s = pdiv(e, padd(pset1<P>(S(2)), e));  // s = e / (2 + e)
    const P s2 = pmul(s, s);
    P series = pset1<P>(S(1.0 / 13));
    for (const double c : {1.0 / 11, 1.0 / 9, 1.0 / 7, 1.0 / 5, 1.0 / 3, 1.0})
      series = pmadd(series, s2, pset1<P>(S(c)));  // Horner: sum over k of s2^k / (2k + 1)
    return pmul(padd(s, s), series);               // 2 s (1 + s^2/3 + ...)
  } else {
    const P u = padd(one, e);
    return psub(plog(u), pdiv(psub(psub(u, one), e), u));  // log(u) - (u - 1 - e) / u
  }
}

// BCE from the logits z of a sigmoid output, in one pass with one exp (and for float no log):
// loss[i] = l(z, y) and, when dz is given, dz[i] = dl/dz * scale. With e = exp(-|z|), r = 1 / (1 + e):
// l = max(z, 0) - z y + log1p(e), dl/dz = sigmoid(z) - y, and sigmoid(z) = r for z >= 0, e r below.
template <class S>
void bce_head(const S* z, const S* y, S* loss, S* dz, Index n, S scale) {
  using namespace Eigen::internal;
  using P = Packet<S>;
  const P one = pset1<P>(S(1)), zero = pset1<P>(S(0)), by = pset1<P>(scale);
  for_each_packet<S>(n, z, y, loss, dz, [&](const S* zs, const S* ys, S* ls, S* ds) {
    const P zp = ploadu<P>(zs), yp = ploadu<P>(ys);
    const P e = exp_packet<S>(pnegate(pabs(zp)));                        // e = exp(-|z|), in (0, 1]
    pstoreu(ls, padd(psub(pmax(zp, zero), pmul(zp, yp)), log1p_unit<S>(e)));  // max(z, 0) - z y + log1p(e)
    if (!ds) return;
    const P r = pdiv(one, padd(one, e));                                               // r = 1 / (1 + e)
    pstoreu(ds, pmul(psub(pselect(pcmp_le(zero, zp), r, pmul(e, r)), yp), by));  // (sigmoid(z) - y) scale
  });
}

// The output head. On entry z holds the output layer's pre-activation (bias added); z is
// overwritten. row_loss[r] = sum over the row of l(a, y) with a = f(z). When dz is given, it
// receives dL/dz for L = (sum of l) * inv_count, i.e. the gradient of the batch mean. `scratch`
// is a buffer of z's shape: the elementwise losses are evaluated there, vectorised, and then
// added up in double (an Eigen expression cast to double would be evaluated one scalar at a time).
// With a `mask` of z's shape (missing.hpp), each entry's loss and gradient are multiplied by its
// mask value: 0 for a missing target, which then counts for nothing.
template <class S>
void output_loss(Loss loss, Activation out_act, RowMap<S> z, const ConstRowMap<S>& y, double* row_loss,
                 RowMap<S>* dz, RowMap<S> scratch, S inv_count, const ConstRowMap<S>* mask = nullptr) {
  const Index cols = z.cols();
  for (Index r = 0; r < z.rows(); ++r) {
    auto zr = z.row(r).array();
    auto tmp = scratch.row(r).array();
    const auto yr = y.row(r).array();
    if (loss == Loss::Bce) {  // out_act is sigmoid, checked at construction
      bce_head<S>(z.row(r).data(), y.row(r).data(), scratch.row(r).data(), dz ? dz->row(r).data() : nullptr, cols,
                  inv_count);
      if (mask) {
        tmp *= mask->row(r).array();                     // l m
        if (dz) dz->row(r).array() *= mask->row(r).array();  // dl/dz m
      }
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
    if (mask) tmp *= mask->row(r).array();  // l m
    row_loss[r] = sum_in_double(scratch.row(r).data(), cols);
    if (!dz) continue;
    auto g = dz->row(r).array();
    switch (loss) {
      case Loss::Mse: g = S(2) * d * inv_count; break;                                       // 2 (a - y)
      case Loss::Mae: g = d.sign() * inv_count; break;                                       // sign(a - y)
      case Loss::Huber: g = d.max(S(-kHuberDelta)).min(S(kHuberDelta)) * inv_count; break;  // clamp(a - y, ±delta)
      case Loss::Bce: break;
    }
    if (mask) g *= mask->row(r).array();  // dl/da m
    multiply_by_derivative(dz->middleRows(r, 1), z.middleRows(r, 1), out_act);
  }
}

}  // namespace fastae
