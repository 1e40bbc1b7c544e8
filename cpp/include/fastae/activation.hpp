// Activation functions, applied in place with the bias in one pass, and their derivatives.
// Every derivative is written in terms of the layer's output a = f(z), so only a is stored.
#pragma once

#include <cmath>
#include <string>

#include "fastae/packet.hpp"
#include "fastae/types.hpp"

namespace fastae {

enum class Activation { Linear, Relu, LeakyRelu, Elu, Tanh, Sigmoid, Softplus };

Activation activation_from_name(const std::string& name);
const char* activation_name(Activation act);

constexpr double kLeakySlope = 0.01;  // leaky_relu: f(z) = z for z > 0, 0.01 z otherwise
constexpr double kEluAlpha = 1.0;     // elu: f(z) = z for z > 0, alpha (e^z - 1) otherwise

// The logistic 1 / (1 + exp(-z)) in place over n values, with one exp: far below zero exp(-z) is
// clamped near 2e38 and the result is a denormal below 1e-38, far above it exp(-z) is about 1e-38
// and the result 1, so it needs no branch and vectorises.
template <class S>
inline void sigmoid_in_place(S* v, Index n) {
  using namespace Eigen::internal;
  const Packet<S> one = pset1<Packet<S>>(S(1));
  transform_packets(v, n, [&](const Packet<S>& z) { return pdiv(one, padd(one, exp_packet<S>(pnegate(z)))); });
}

// row = f(row), in place; `row` is an Eigen array expression that can be assigned to.
template <class RowArray>
inline void activate_row(RowArray& row, Activation act) {
  using S = typename RowArray::Scalar;
  switch (act) {
    case Activation::Linear: break;
    case Activation::Relu: row = row.max(S(0)); break;                  // max(z, 0)
    case Activation::LeakyRelu: row = row.max(S(kLeakySlope) * row); break;  // max(z, 0.01 z)
    case Activation::Elu: row = row.max(S(0)) + S(kEluAlpha) * row.min(S(0)).expm1(); break;  // z>0: z, else alpha (e^z - 1)
    case Activation::Tanh: row = row.tanh(); break;
    case Activation::Sigmoid: sigmoid_in_place(&row.coeffRef(0), row.size()); break;  // rows are contiguous
    case Activation::Softplus: row = row.max(S(0)) + (-row.abs()).exp().log1p(); break;  // max(z,0) + log1p(e^-|z|)
  }
}

// a = f(z + b) for each row of z, in place: the bias and the activation in one pass.
template <class Z, class B>
void bias_activate(Z&& z, const B& b, Activation act) {
  for (Index r = 0; r < z.rows(); ++r) {
    auto row = z.row(r).array();
    row += b.array();
    activate_row(row, act);
  }
}

// f'(z) and f''(z) at one value, written from a = f(z) (the contractive penalty needs both).
inline void first_and_second_derivative(Activation act, double a, double& d1, double& d2) {
  switch (act) {
    case Activation::Linear: d1 = 1.0, d2 = 0.0; return;
    case Activation::Relu: d1 = a > 0.0 ? 1.0 : 0.0, d2 = 0.0; return;
    case Activation::LeakyRelu: d1 = a > 0.0 ? 1.0 : kLeakySlope, d2 = 0.0; return;
    case Activation::Elu: d1 = a > 0.0 ? 1.0 : a + kEluAlpha, d2 = a > 0.0 ? 0.0 : a + kEluAlpha; return;  // alpha e^z
    case Activation::Tanh: d1 = 1.0 - a * a, d2 = -2.0 * a * d1; return;                                  // f'' = -2 f f'
    case Activation::Sigmoid: d1 = a * (1.0 - a), d2 = d1 * (1.0 - 2.0 * a); return;                      // f'' = f' (1 - 2 f)
    case Activation::Softplus: {
      const double sig = -std::expm1(-a);  // f' = sigmoid(z) = 1 - e^-a
      d1 = sig, d2 = sig * (1.0 - sig);    // f'' = sigmoid' = sigmoid (1 - sigmoid)
      return;
    }
  }
}

// d *= f'(z), with f'(z) written from a = f(z).
template <class D, class A>
void multiply_by_derivative(D&& d, const A& a, Activation act) {
  using S = typename A::Scalar;
  if (act == Activation::Linear) return;
  for (Index r = 0; r < d.rows(); ++r) {
    auto g = d.row(r).array();
    const auto y = a.row(r).array();
    switch (act) {
      case Activation::Linear: break;
      case Activation::Relu: g = (y > S(0)).select(g, S(0)); break;  // 1 if z > 0 else 0
      case Activation::LeakyRelu: g = (y > S(0)).select(g, S(kLeakySlope) * g); break;
      case Activation::Elu: g = g * (y.min(S(0)) + S(kEluAlpha)); break;  // 1 for z > 0, alpha e^z = a + alpha otherwise
      case Activation::Tanh: g = g * (S(1) - y * y); break;                          // 1 - a^2
      case Activation::Sigmoid: g = g * (y * (S(1) - y)); break;                     // a (1 - a)
      case Activation::Softplus: g = g * -((-y).expm1()); break;                     // sigmoid(z) = 1 - e^-a
    }
  }
}

}  // namespace fastae
