// Matrix aliases used everywhere in fastae. Activations are row-major [batch, features];
// a layer's weight is W[in, out]; biases are row vectors [1, out].
#pragma once

#include <Eigen/Core>
#include <cstdint>

namespace fastae {

using Index = Eigen::Index;

template <class S>
using RowMatrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class S>
using RowVector = Eigen::Matrix<S, 1, Eigen::Dynamic, Eigen::RowMajor>;

template <class S>
using Vector = Eigen::Matrix<S, Eigen::Dynamic, 1>;

// Views over memory we do not own (NumPy arrays, slices of our flat buffers). Never aligned.
template <class S>
using RowMap = Eigen::Map<RowMatrix<S>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class S>
using ConstRowMap = Eigen::Map<const RowMatrix<S>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class S>
using RowVectorMap = Eigen::Map<RowVector<S>>;
template <class S>
using ConstRowVectorMap = Eigen::Map<const RowVector<S>>;

// What crosses the binding: a C-contiguous (or row-strided) NumPy array used in place.
template <class S>
using ConstRowRef = Eigen::Ref<const RowMatrix<S>, 0, Eigen::OuterStride<>>;
template <class S>
using RowRef = Eigen::Ref<RowMatrix<S>, 0, Eigen::OuterStride<>>;

// A view of `rows` rows of a dense row-major buffer of width `cols`, starting at row `first`.
template <class S>
inline RowMap<S> rows_of(S* data, Index first, Index rows, Index cols) {
  return RowMap<S>(data + first * cols, rows, cols, Eigen::OuterStride<>(cols));
}
template <class S>
inline ConstRowMap<S> rows_of(const S* data, Index first, Index rows, Index cols) {
  return ConstRowMap<S>(data + first * cols, rows, cols, Eigen::OuterStride<>(cols));
}

}  // namespace fastae

namespace fastae {

// A view of what crossed the binding.
template <class S>
inline ConstRowMap<S> as_map(const ConstRowRef<S>& x) {
  return ConstRowMap<S>(x.data(), x.rows(), x.cols(), Eigen::OuterStride<>(x.outerStride()));
}

// Rows [first, first + rows) of a row-major view, as a view of the same kind.
template <class S>
inline ConstRowMap<S> middle_rows(const ConstRowMap<S>& m, Index first, Index rows) {
  return ConstRowMap<S>(m.data() + first * m.outerStride(), rows, m.cols(), Eigen::OuterStride<>(m.outerStride()));
}

// True when no value of `row` (an Eigen array) is NaN or infinite: x * 0 is NaN exactly where x
// is, so the sum of x * 0 is 0 for a finite row and NaN otherwise; one vectorised pass.
template <class RowArray>
inline bool row_is_finite(const RowArray& row) {
  using S = typename RowArray::Scalar;
  return (row * S(0)).sum() == S(0);
}

}  // namespace fastae
