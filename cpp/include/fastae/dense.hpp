// One dense layer, y = f(x W + b), on row-major views. W is [in, out], b is [1, out].
#pragma once

#include <stdexcept>
#include <type_traits>

#include "fastae/activation.hpp"
#include "fastae/gemm.hpp"
#include "fastae/types.hpp"

namespace fastae {

struct LayerShape {
  Index in = 0;
  Index out = 0;
  Index weight_offset = 0;  // where W starts in the flat parameter vector (row-major, in*out values)
  Index bias_offset = 0;    // where b starts (out values)
  Activation activation = Activation::Linear;
};

// Which GEMM computes a product. Auto: fastae's sgemm for float (its direct path on small
// products, its packed path on large ones; faster than Eigen on every product of the four
// workloads, benchmarks/bench_gemm.py --training), Eigen for double and where sgemm is not built.
// Sgemm lets sgemm choose its path; SgemmDirect and SgemmPacked force one (tests and benchmarks).
enum class Kernel { Auto, Eigen, Sgemm, SgemmDirect, SgemmPacked };

// c = op(a) op(b), op transposing when asked; every operand is a row-major view with an outer stride.
// b_panels: op(b) already packed as sgemm packs it (pack_b_block), or null (float only).
template <class S, class A, class B, class C>
void product(const A& a, bool transpose_a, const B& b, bool transpose_b, C&& c, Kernel kernel = Kernel::Auto,
             const float* b_panels = nullptr) {
  const Index k = transpose_a ? a.rows() : a.cols();
#ifdef FASTAE_HAVE_SGEMM
  if constexpr (std::is_same_v<S, float>) {
    if (b_panels && kernel == Kernel::Auto) {
      sgemm_prepacked(c.rows(), c.cols(), k, a.data(), transpose_a ? 1 : a.outerStride(),
                      transpose_a ? a.outerStride() : 1, b_panels, c.data(), c.outerStride(), false);
      return;
    }
    if (kernel != Kernel::Eigen) {
      const SgemmPath path = kernel == Kernel::SgemmDirect   ? SgemmPath::Direct
                             : kernel == Kernel::SgemmPacked ? SgemmPath::Packed
                                                             : SgemmPath::Auto;
      sgemm(c.rows(), c.cols(), k, a.data(), transpose_a ? 1 : a.outerStride(), transpose_a ? a.outerStride() : 1,
            b.data(), transpose_b ? 1 : b.outerStride(), transpose_b ? b.outerStride() : 1, c.data(), c.outerStride(),
            false, path);
      return;
    }
  }
#endif
  (void)b_panels;  // packed panels are sgemm's; Eigen reads b itself
  if (kernel != Kernel::Auto && kernel != Kernel::Eigen) throw std::invalid_argument("kernel: this build has no sgemm (it needs AVX2 and FMA)");
  if (transpose_a && transpose_b) c.noalias() = a.transpose() * b.transpose();
  else if (transpose_a) c.noalias() = a.transpose() * b;
  else if (transpose_b) c.noalias() = a * b.transpose();
  else c.noalias() = a * b;
}

// z = x W + b, then a = f(z) in the same pass over z unless `activate` is false. When
// `non_finite` is given it is set if some z = x W is NaN or infinite, before the activation can
// hide it (relu(-inf) = 0): a NaN or infinity in a row of x makes every z of that row one.
// w_panels: W already packed for sgemm, or null.
template <class S, class X>
void dense_forward(const X& x, const ConstRowMap<S>& W, const ConstRowVectorMap<S>& b, RowMap<S> z, Activation act,
                   bool activate, bool* non_finite = nullptr, const float* w_panels = nullptr) {
  product<S>(x, false, W, false, z, Kernel::Auto, w_panels);  // z = x W
  if (non_finite && !z.allFinite()) *non_finite = true;
  bias_activate(z, b, activate ? act : Activation::Linear);
}

}  // namespace fastae
