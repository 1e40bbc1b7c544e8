// One dense layer, y = f(x W + b), on row-major views. W is [in, out], b is [1, out].
#pragma once

#include "fastae/activation.hpp"
#include "fastae/types.hpp"

namespace fastae {

struct LayerShape {
  Index in = 0;
  Index out = 0;
  Index weight_offset = 0;  // where W starts in the flat parameter vector (row-major, in*out values)
  Index bias_offset = 0;    // where b starts (out values)
  Activation activation = Activation::Linear;
};

// z = x W + b, then a = f(z) in the same pass over z unless `activate` is false.
template <class S, class X>
void dense_forward(const X& x, const ConstRowMap<S>& W, const ConstRowVectorMap<S>& b, RowMap<S> z, Activation act,
                   bool activate) {
  z.noalias() = x * W;
  bias_activate(z, b, activate ? act : Activation::Linear);
}

// Given dz = dL/dz for this layer's rows: gW = x^T dz, gb = sum over rows of dz, and, when dx is
// wanted (not for the first layer), dx = dz W^T.
template <class S, class X, class DZ>
void dense_backward(const X& x, const ConstRowMap<S>& W, const DZ& dz, RowMap<S> gW, RowVectorMap<S> gb,
                    RowMap<S>* dx) {
  gW.noalias() = x.transpose() * dz;  // dL/dW = x^T dL/dz
  gb = dz.colwise().sum();            // dL/db = sum_rows dL/dz
  if (dx) dx->noalias() = dz * W.transpose();  // dL/dx = dL/dz W^T
}

}  // namespace fastae
