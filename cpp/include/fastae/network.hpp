// The layer stack: shapes, one flat parameter vector (W1, b1, W2, b2, ... with each W row-major
// [in, out]) and the workspace a batch needs, sized once. Training slices the batch by rows so
// that several threads can run forward and backward on their own rows of the same buffers.
#pragma once

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "fastae/dense.hpp"
#include "fastae/loss.hpp"
#include "fastae/parallel.hpp"
#include "fastae/types.hpp"

namespace fastae {

// Buffers for `capacity` rows: each layer's output, two gradient buffers used in turn, per-row losses.
template <class S>
struct Workspace {
  Index capacity = 0;
  std::vector<RowMatrix<S>> outputs;  // outputs[l] = a_l, [capacity, out_l]
  RowMatrix<S> delta_a, delta_b;      // dL/dz of the current layer and of the one below
  RowMatrix<S> batch;                 // the gathered input rows when shuffling
  std::vector<double> row_loss;

  void reserve(const std::vector<LayerShape>& layers, Index rows) {
    if (rows <= capacity) return;
    Index widest = 0;
    outputs.resize(layers.size());
    for (std::size_t l = 0; l < layers.size(); ++l) {
      outputs[l].resize(rows, layers[l].out);
      widest = std::max(widest, std::max(layers[l].in, layers[l].out));
    }
    delta_a.resize(rows, widest);
    delta_b.resize(rows, widest);
    batch.resize(rows, layers.front().in);
    row_loss.assign(static_cast<std::size_t>(rows), 0.0);
    capacity = rows;
  }
};

template <class S>
class Network {
 public:
  Network(const std::vector<Index>& sizes, const std::vector<Activation>& activations, Loss loss)
      : loss_(loss) {
    if (sizes.size() < 2) throw std::invalid_argument("sizes: a network needs at least an input and an output size");
    if (activations.size() != sizes.size() - 1)
      throw std::invalid_argument("activations: need one activation per layer (" + std::to_string(sizes.size() - 1) + ")");
    Index offset = 0;
    for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
      if (sizes[l] <= 0 || sizes[l + 1] <= 0) throw std::invalid_argument("sizes: every layer size must be positive");
      LayerShape shape;
      shape.in = sizes[l];
      shape.out = sizes[l + 1];
      shape.weight_offset = offset;
      shape.bias_offset = offset + shape.in * shape.out;
      shape.activation = activations[l];
      offset = shape.bias_offset + shape.out;
      layers_.push_back(shape);
    }
    if (loss == Loss::Bce && layers_.back().activation != Activation::Sigmoid)
      throw std::invalid_argument("loss: 'bce' needs a sigmoid output activation");
    params_ = Vector<S>::Zero(offset);
  }

  const std::vector<LayerShape>& layers() const { return layers_; }
  Index n_layers() const { return static_cast<Index>(layers_.size()); }
  Index n_inputs() const { return layers_.front().in; }
  Index n_outputs() const { return layers_.back().out; }
  Index n_params() const { return params_.size(); }
  Loss loss() const { return loss_; }
  Vector<S>& params() { return params_; }
  const Vector<S>& params() const { return params_; }

  ConstRowMap<S> weight(Index l) const { return weight_in(params_.data(), l); }
  ConstRowVectorMap<S> bias(Index l) const { return bias_in(params_.data(), l); }
  ConstRowMap<S> weight_in(const S* flat, Index l) const {
    const LayerShape& s = layers_[static_cast<std::size_t>(l)];
    return ConstRowMap<S>(flat + s.weight_offset, s.in, s.out, Eigen::OuterStride<>(s.out));
  }
  ConstRowVectorMap<S> bias_in(const S* flat, Index l) const {
    const LayerShape& s = layers_[static_cast<std::size_t>(l)];
    return ConstRowVectorMap<S>(flat + s.bias_offset, s.out);
  }
  RowMap<S> weight_in(S* flat, Index l) const {
    const LayerShape& s = layers_[static_cast<std::size_t>(l)];
    return RowMap<S>(flat + s.weight_offset, s.in, s.out, Eigen::OuterStride<>(s.out));
  }
  RowVectorMap<S> bias_in(S* flat, Index l) const {
    const LayerShape& s = layers_[static_cast<std::size_t>(l)];
    return RowVectorMap<S>(flat + s.bias_offset, s.out);
  }

  // Training pass over rows [lo, hi) of a batch of `batch_rows` rows whose input is x (all batch
  // rows). Writes this slice's gradient into `grad` (a flat vector shaped like the parameters)
  // and its per-row loss sums into ws.row_loss[lo..hi).
  void train_slice(const ConstRowMap<S>& x, Workspace<S>& ws, Index lo, Index hi, Index batch_rows, S* grad) const {
    const Index rows = hi - lo;
    if (rows <= 0) {
      Eigen::Map<Vector<S>>(grad, n_params()).setZero();
      return;
    }
    const Index L = n_layers();
    const ConstRowMap<S> x_rows = middle_rows(x, lo, rows);
    forward_rows(x_rows, 0, L, ws, lo, false);  // the output head applies the last activation with the loss
    RowMap<S> delta = slice(ws.delta_a, lo, rows, n_outputs());
    const S inv_count = S(1.0 / (static_cast<double>(batch_rows) * static_cast<double>(n_outputs())));
    output_loss<S>(loss_, layers_.back().activation, slice(ws.outputs.back(), lo, rows), x_rows, ws.row_loss.data() + lo,
                   &delta, slice(ws.delta_b, lo, rows, n_outputs()), inv_count);
    RowMatrix<S>* current = &ws.delta_a;
    RowMatrix<S>* below = &ws.delta_b;
    for (Index l = L - 1; l >= 0; --l) {
      const LayerShape& s = layers_[static_cast<std::size_t>(l)];
      const RowMap<S> dz = slice(*current, lo, rows, s.out);
      if (l == 0) {  // no gradient with respect to the input
        dense_backward<S>(x_rows, weight(l), dz, weight_in(grad, l), bias_in(grad, l), nullptr);
        break;
      }
      const RowMap<S> a_below = slice(ws.outputs[static_cast<std::size_t>(l - 1)], lo, rows);
      RowMap<S> dx = slice(*below, lo, rows, s.in);
      dense_backward<S>(a_below, weight(l), dz, weight_in(grad, l), bias_in(grad, l), &dx);
      multiply_by_derivative(dx, a_below, layers_[static_cast<std::size_t>(l - 1)].activation);  // dL/dz = dL/da f'(z)
      std::swap(current, below);
    }
  }

  // out = layers [first, last) applied to x, in chunks of rows split across threads. Returns true
  // if x W of the first layer had a NaN or an infinity, which every NaN or infinity in x causes
  // (so x need not be scanned first; the caller looks for the culprit only then).
  bool apply(const ConstRowMap<S>& x, Index first, Index last, RowMap<S> out, int n_threads) const {
    check_range(first, last);
    if (x.cols() != layers_[static_cast<std::size_t>(first)].in) throw std::invalid_argument("X: wrong number of columns");
    if (out.rows() != x.rows() || out.cols() != layers_[static_cast<std::size_t>(last - 1)].out)
      throw std::invalid_argument("out: wrong shape");
    std::vector<char> non_finite(static_cast<std::size_t>(std::max(n_threads, 1)), 0);
    for_chunks(x.rows(), n_threads, [&](Workspace<S>& ws, Index lo, Index rows, int t) {
      bool bad = false;
      forward_rows(middle_rows(x, lo, rows), first, last, ws, 0, true, &bad);
      if (bad) non_finite[static_cast<std::size_t>(t)] = 1;
      out.middleRows(lo, rows) = slice(ws.outputs[static_cast<std::size_t>(last - 1)], 0, rows);
    });
    return std::find(non_finite.begin(), non_finite.end(), 1) != non_finite.end();
  }

  // row_loss[i] = sum over features of the loss of reconstructing row i of x.
  void row_losses(const ConstRowMap<S>& x, double* row_loss, int n_threads) const {
    if (x.cols() != n_inputs()) throw std::invalid_argument("X: wrong number of columns");
    for_chunks(x.rows(), n_threads, [&](Workspace<S>& ws, Index lo, Index rows, int) {
      const ConstRowMap<S> x_rows = middle_rows(x, lo, rows);
      forward_rows(x_rows, 0, n_layers(), ws, 0, false);
      output_loss<S>(loss_, layers_.back().activation, slice(ws.outputs.back(), 0, rows), x_rows, row_loss + lo, nullptr,
                     slice(ws.delta_a, 0, rows, n_outputs()), S(1));
    });
  }

 private:
  static constexpr Index kChunkRows = 256;

  // Rows [lo, lo + rows) and the first `cols` columns of m. The row stride stays m's width, so
  // threads working on different rows never overlap, whatever layer each is on.
  static RowMap<S> slice(RowMatrix<S>& m, Index lo, Index rows, Index cols = -1) {
    if (cols < 0) cols = m.cols();
    return RowMap<S>(m.data() + lo * m.cols(), rows, cols, Eigen::OuterStride<>(m.cols()));
  }

  void check_range(Index first, Index last) const {
    if (first < 0 || last > n_layers() || first >= last) throw std::invalid_argument("layers: empty or out of range");
  }

  // Runs x through layers [first, last), writing each layer's output into rows [lo, lo + x.rows())
  // of the workspace; the last activation is applied unless `activate_last` is false (the output
  // head applies it with the loss). `non_finite`: see dense_forward (first layer only).
  void forward_rows(const ConstRowMap<S>& x, Index first, Index last, Workspace<S>& ws, Index lo,
                    bool activate_last, bool* non_finite = nullptr) const {
    const Index rows = x.rows();
    for (Index l = first; l < last; ++l) {
      const bool activate = activate_last || l != last - 1;
      const Activation act = layers_[static_cast<std::size_t>(l)].activation;
      RowMap<S> z = slice(ws.outputs[static_cast<std::size_t>(l)], lo, rows);
      if (l == first)
        dense_forward<S>(x, weight(l), bias(l), z, act, activate, non_finite);
      else
        dense_forward<S>(slice(ws.outputs[static_cast<std::size_t>(l - 1)], lo, rows), weight(l), bias(l), z, act, activate);
    }
  }

  // body(workspace, first_row, rows, thread) for chunks of kChunkRows rows; each thread takes a
  // contiguous run of chunks and has its own workspace.
  template <class Body>
  void for_chunks(Index n_rows, int n_threads, Body&& body) const {
    const Index chunks = (n_rows + kChunkRows - 1) / kChunkRows;
    const int parts = static_cast<int>(std::min<Index>(std::max(n_threads, 1), std::max<Index>(chunks, 1)));
    run_threads(parts, [&](int t, int count) {
      Index c_lo, c_hi;
      split_range(chunks, t, count, c_lo, c_hi);
      if (c_lo >= c_hi) return;
      Workspace<S> ws;
      ws.reserve(layers_, kChunkRows);
      for (Index c = c_lo; c < c_hi; ++c) {
        const Index lo = c * kChunkRows;
        body(ws, lo, std::min(kChunkRows, n_rows - lo), t);
      }
    });
  }

  std::vector<LayerShape> layers_;
  Loss loss_;
  Vector<S> params_;
};

}  // namespace fastae
