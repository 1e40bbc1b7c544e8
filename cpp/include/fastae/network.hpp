// The layer stack: shapes, one flat parameter vector (W1, b1, W2, b2, ... with each W row-major
// [in, out]) and the workspace a batch needs, sized once. Training slices the batch by rows so
// that several threads can run forward and backward on their own rows of the same buffers.
#pragma once

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "fastae/dense.hpp"
#include "fastae/loss.hpp"
#include "fastae/packed_weights.hpp"
#include "fastae/penalty.hpp"
#include "fastae/parallel.hpp"
#include "fastae/types.hpp"

namespace fastae {

// Buffers for `capacity` rows: each layer's output and dL/dz, a scratch row block, per-row losses.
template <class S>
struct Workspace {
  Index capacity = 0;
  std::vector<RowMatrix<S>> outputs;  // outputs[l] = a_l, [capacity, out_l]
  std::vector<RowMatrix<S>> deltas;   // deltas[l] = dL/dz_l, [capacity, out_l]
  RowMatrix<S> scratch;               // [capacity, out of the last layer]: elementwise losses
  RowMatrix<S> batch;                 // the gathered rows (the target) when shuffling or adding noise
  RowMatrix<S> input;                 // the rows with noise added (the input), when there is noise
  std::vector<double> row_loss;
  std::vector<double> row_penalty;  // the penalties' part of each row's objective (penalty.hpp)

  void reserve(const std::vector<LayerShape>& layers, Index rows) {
    if (rows <= capacity) return;
    outputs.resize(layers.size());
    deltas.resize(layers.size());
    for (std::size_t l = 0; l < layers.size(); ++l) {
      outputs[l].resize(rows, layers[l].out);
      deltas[l].resize(rows, layers[l].out);
    }
    scratch.resize(rows, layers.back().out);
    batch.resize(rows, layers.front().in);
    row_loss.assign(static_cast<std::size_t>(rows), 0.0);
    row_penalty.assign(static_cast<std::size_t>(rows), 0.0);
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
  const Penalties& penalties() const { return penalties_; }
  void set_penalties(const Penalties& p) {
    if (p.any() && (p.code_layer < 0 || p.code_layer >= n_layers() - 1))
      throw std::invalid_argument("penalties: the code layer must be a hidden layer");
    penalties_ = p;
  }
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

  // Training, first half: forward and backward over rows [lo, hi) of a batch of `batch_rows` rows
  // whose input is x and whose target is `target` (all batch rows; the same rows for a plain
  // autoencoder). Leaves each layer's output and dL/dz for these rows in the workspace, and their
  // per-row loss sums in ws.row_loss[lo..hi) and penalty sums in ws.row_penalty[lo..hi). Threads run it on their own rows.
  // `panels`: the weights packed ahead, or null.
  void backward_rows(const ConstRowMap<S>& x, const ConstRowMap<S>& target, Workspace<S>& ws, Index lo, Index hi,
                     Index batch_rows, const WeightPanels* panels = nullptr) const {
    const Index rows = hi - lo;
    if (rows <= 0) return;
    const Index L = n_layers();
    forward_rows(middle_rows(x, lo, rows), 0, L, ws, lo, false, nullptr, panels);  // the output head applies the last activation with the loss
    RowMap<S> delta = slice(ws.deltas.back(), lo, rows);
    const S inv_count = S(1.0 / (static_cast<double>(batch_rows) * static_cast<double>(n_outputs())));
    output_loss<S>(loss_, layers_.back().activation, slice(ws.outputs.back(), lo, rows), middle_rows(target, lo, rows),
                   ws.row_loss.data() + lo, &delta, slice(ws.scratch, lo, rows), inv_count);
    for (Index l = L - 1; l >= 1; --l) {  // no gradient with respect to the input
      const std::size_t below = static_cast<std::size_t>(l - 1);
      RowMap<S> dx = slice(ws.deltas[below], lo, rows);
      const float* wt_panels = panels ? panels->wt[static_cast<std::size_t>(l)] : nullptr;
      product<S>(slice(ws.deltas[static_cast<std::size_t>(l)], lo, rows), false, weight(l), true, dx, Kernel::Auto,
                 wt_panels);  // dL/da = dL/dz W^T
      if (l - 1 == penalties_.code_layer && penalties_.activity_l1 > 0.0)
        add_activity_l1<S>(slice(ws.outputs[below], lo, rows), dx, penalties_.activity_l1, batch_rows,
                           ws.row_penalty.data() + lo);  // dL/da += lambda/n sign(a)
      multiply_by_derivative(dx, slice(ws.outputs[below], lo, rows), layers_[below].activation);  // dL/dz = dL/da f'(z)
    }
  }

  // Training, second half, after backward_rows on every row: the gradient of the block
  // [in_lo, in_hi) x [out_lo, out_hi) of layer l's W and of bias entries [b_lo, b_hi), over all
  // `batch_rows` rows, into the flat `grad`: dL/dW = a^T dL/dz and dL/db = the column sums of
  // dL/dz, a being the layer's input. Threads each take their own block of every W, so each
  // gradient is one product over the whole batch: no per-thread copies of the gradient to add up.
  void layer_gradient(const ConstRowMap<S>& x, Workspace<S>& ws, Index l, Index batch_rows, Index in_lo, Index in_hi,
                      Index out_lo, Index out_hi, Index b_lo, Index b_hi, S* grad) const {
    const LayerShape& s = layers_[static_cast<std::size_t>(l)];
    const RowMap<S> dz = slice(ws.deltas[static_cast<std::size_t>(l)], 0, batch_rows);
    if (in_hi > in_lo && out_hi > out_lo) {
      const RowMatrix<S>* below = l > 0 ? &ws.outputs[static_cast<std::size_t>(l - 1)] : nullptr;
      const ConstRowMap<S> a(below ? below->data() + in_lo : x.data() + in_lo, batch_rows, in_hi - in_lo,
                             Eigen::OuterStride<>(below ? below->cols() : x.outerStride()));
      const ConstRowMap<S> dz_cols(dz.data() + out_lo, batch_rows, out_hi - out_lo, Eigen::OuterStride<>(dz.outerStride()));
      RowMap<S> gW(grad + s.weight_offset + in_lo * s.out + out_lo, in_hi - in_lo, out_hi - out_lo,
                   Eigen::OuterStride<>(s.out));
      product<S>(a, true, dz_cols, false, gW);  // dL/dW[in_lo:in_hi, out_lo:out_hi] = a[:, in_lo:in_hi]^T dL/dz[:, out_lo:out_hi]
    }
    if (b_hi > b_lo) bias_in(grad, l).segment(b_lo, b_hi - b_lo) = dz.middleCols(b_lo, b_hi - b_lo).colwise().sum();
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
    const PackedWeights<S> packed = packed_weights(first, last);
    for_chunks(x.rows(), n_threads, [&](Workspace<S>& ws, Index lo, Index rows, int t) {
      bool bad = false;
      forward_rows(middle_rows(x, lo, rows), first, last, ws, 0, true, &bad, packed.view());
      if (bad) non_finite[static_cast<std::size_t>(t)] = 1;
      out.middleRows(lo, rows) = slice(ws.outputs[static_cast<std::size_t>(last - 1)], 0, rows);
    });
    return std::find(non_finite.begin(), non_finite.end(), 1) != non_finite.end();
  }

  // row_loss[i] = sum over features of the loss of reconstructing row i of x.
  void row_losses(const ConstRowMap<S>& x, double* row_loss, int n_threads) const {
    if (x.cols() != n_inputs()) throw std::invalid_argument("X: wrong number of columns");
    const PackedWeights<S> packed = packed_weights(0, n_layers());
    for_chunks(x.rows(), n_threads, [&](Workspace<S>& ws, Index lo, Index rows, int) {
      const ConstRowMap<S> x_rows = middle_rows(x, lo, rows);
      forward_rows(x_rows, 0, n_layers(), ws, 0, false, nullptr, packed.view());
      output_loss<S>(loss_, layers_.back().activation, slice(ws.outputs.back(), 0, rows), x_rows, row_loss + lo, nullptr,
                     slice(ws.scratch, 0, rows), S(1));
    });
  }

 private:
  static constexpr Index kChunkRows = 1024;  // W is packed once per chunk when it is large

  // Rows [lo, lo + rows) of m: threads working on different rows never overlap.
  static RowMap<S> slice(RowMatrix<S>& m, Index lo, Index rows) {
    return RowMap<S>(m.data() + lo * m.cols(), rows, m.cols(), Eigen::OuterStride<>(m.cols()));
  }

  void check_range(Index first, Index last) const {
    if (first < 0 || last > n_layers() || first >= last) throw std::invalid_argument("layers: empty or out of range");
  }

  // W of layers [first, last) packed once for every chunk of an inference call.
  PackedWeights<S> packed_weights(Index first, Index last) const {
    PackedWeights<S> packed;
    packed.prepare(layers_, static_cast<std::size_t>(first), static_cast<std::size_t>(last), false);
    for (Index l = first; l < last; ++l) {
      const LayerShape& s = layers_[static_cast<std::size_t>(l)];
      packed.pack_block(s, static_cast<std::size_t>(l), params_.data(), 0, s.in, 0, s.out);
    }
    return packed;
  }

  // Runs x through layers [first, last), writing each layer's output into rows [lo, lo + x.rows())
  // of the workspace; the last activation is applied unless `activate_last` is false (the output
  // head applies it with the loss). `non_finite`: see dense_forward (first layer only). `panels`:
  // the weights packed ahead, or null.
  void forward_rows(const ConstRowMap<S>& x, Index first, Index last, Workspace<S>& ws, Index lo,
                    bool activate_last, bool* non_finite = nullptr, const WeightPanels* panels = nullptr) const {
    const Index rows = x.rows();
    for (Index l = first; l < last; ++l) {
      const bool activate = activate_last || l != last - 1;
      const Activation act = layers_[static_cast<std::size_t>(l)].activation;
      const float* w_panels = panels ? panels->w[static_cast<std::size_t>(l)] : nullptr;
      RowMap<S> z = slice(ws.outputs[static_cast<std::size_t>(l)], lo, rows);
      if (l == first)
        dense_forward<S>(x, weight(l), bias(l), z, act, activate, non_finite, w_panels);
      else
        dense_forward<S>(slice(ws.outputs[static_cast<std::size_t>(l - 1)], lo, rows), weight(l), bias(l), z, act,
                         activate, nullptr, w_panels);
    }
  }

  // body(workspace, first_row, rows, thread) for chunks of kChunkRows rows; each thread has its
  // own workspace and takes the next chunk from a shared counter, so a thread that another
  // process keeps off its core holds back one chunk, not a fixed share. A chunk's result does not
  // depend on which thread computes it.
  template <class Body>
  void for_chunks(Index n_rows, int n_threads, Body&& body) const {
    const Index chunks = (n_rows + kChunkRows - 1) / kChunkRows;
    std::atomic<Index> next{0};
    run_threads(team_size(n_threads, chunks), [&](int t, int) {
      Workspace<S> ws;
      bool reserved = false;
      for (Index c = next.fetch_add(1, std::memory_order_relaxed); c < chunks; c = next.fetch_add(1, std::memory_order_relaxed)) {
        if (!reserved) {  // only a thread that gets a chunk needs a workspace
          ws.reserve(layers_, kChunkRows);
          reserved = true;
        }
        const Index lo = c * kChunkRows;
        body(ws, lo, std::min(kChunkRows, n_rows - lo), t);
      }
    });
  }

  std::vector<LayerShape> layers_;
  Loss loss_;
  Penalties penalties_;  // training only
  Vector<S> params_;
};

}  // namespace fastae
