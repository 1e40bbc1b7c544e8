// The layer stack: shapes, one flat parameter vector (W1, b1, W2, b2, ... with each W row-major
// [in, out]) and the workspace a batch needs, sized once. Training slices the batch by rows so
// that several threads can run forward and backward on their own rows of the same buffers.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "fastae/dense.hpp"
#include "fastae/dropout.hpp"
#include "fastae/loss.hpp"
#include "fastae/packed_weights.hpp"
#include "fastae/penalty.hpp"
#include "fastae/sampling.hpp"
#include "fastae/missing.hpp"
#include "fastae/scaling.hpp"
#include "fastae/parallel.hpp"
#include "fastae/types.hpp"

namespace fastae {

// Buffers for `capacity` rows: each layer's output and dL/dz, a scratch row block, per-row losses;
// for a layer with dropout, its mask and its output after dropout (the next layer's input).
template <class S>
struct Workspace {
  Index capacity = 0;
  std::vector<RowMatrix<S>> outputs;  // outputs[l] = a_l, [capacity, out_l]
  std::vector<RowMatrix<S>> deltas;   // deltas[l] = dL/dz_l, [capacity, out_l]
  std::vector<RowMatrix<S>> masks;    // masks[l]: 0 or 1 / (1 - rate) per value, where layer l has dropout
  std::vector<RowMatrix<S>> dropped;  // dropped[l] = a_l * masks[l], where layer l has dropout
  RowMatrix<S> scratch;               // [capacity, out of the last layer]: elementwise losses
  RowMatrix<S> batch;                 // the gathered input rows when shuffling or adding noise
  RowMatrix<S> input;                 // the rows with noise added (the input), when there is noise
  RowMatrix<S> target;                // the gathered target rows, when the target is not the input
  RowMatrix<S> mask;                  // 1 where a target entry is observed, 0 where it is missing (missing.hpp)
  std::vector<double> row_observed;   // the number of observed target entries of each row, with missing values
  RowMatrix<S> eps, z, dz;            // a VAE's draws, its latent sample and dL/dz (sampling.hpp), [capacity, L]
  std::vector<double> row_loss;
  std::vector<double> row_penalty;  // the penalties' part of each row's objective (penalty.hpp)
  std::vector<double> code_means;   // the batch mean of each code unit, when a penalty needs it
  std::vector<double> row_kl;       // a VAE's KL term of each row

  // `sampling`: the VAE's heads layer, whose training needs eps, z and dz (-1: none).
  void reserve(const std::vector<LayerShape>& layers, Index rows, const std::vector<double>& dropout = {},
               Index sampling = -1) {
    if (rows <= capacity) return;
    outputs.resize(layers.size());
    deltas.resize(layers.size());
    masks.resize(layers.size());
    dropped.resize(layers.size());
    for (std::size_t l = 0; l < layers.size(); ++l) {
      outputs[l].resize(rows, layers[l].out);
      deltas[l].resize(rows, layers[l].out);
      if (l < dropout.size() && dropout[l] > 0.0) {
        masks[l].resize(rows, layers[l].out);
        dropped[l].resize(rows, layers[l].out);
      }
    }
    scratch.resize(rows, layers.back().out);
    batch.resize(rows, layers.front().in);
    row_loss.assign(static_cast<std::size_t>(rows), 0.0);
    row_penalty.assign(static_cast<std::size_t>(rows), 0.0);
    if (sampling >= 0) {
      const Index L = layers[static_cast<std::size_t>(sampling + 1)].in;
      eps.resize(rows, L);
      z.resize(rows, L);
      dz.resize(rows, L);
      row_kl.assign(static_cast<std::size_t>(rows), 0.0);
    }
    capacity = rows;
  }
};

template <class S>
class Network {
 public:
  // sizes: the width of the data between layers. With sampling_layer = k >= 0 (a variational
  // autoencoder), layer k is linear with 2 sizes[k + 1] outputs, [mu | logvar], and layer k + 1
  // reads the sizes[k + 1] values of z (sampling.hpp).
  Network(const std::vector<Index>& sizes, const std::vector<Activation>& activations, Loss loss,
          Index sampling_layer = -1)
      : loss_(loss) {
    if (sizes.size() < 2) throw std::invalid_argument("sizes: a network needs at least an input and an output size");
    if (activations.size() != sizes.size() - 1)
      throw std::invalid_argument("activations: need one activation per layer (" + std::to_string(sizes.size() - 1) + ")");
    Index offset = 0;
    for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
      if (sizes[l] <= 0 || sizes[l + 1] <= 0) throw std::invalid_argument("sizes: every layer size must be positive");
      LayerShape shape;
      shape.in = sizes[l];
      shape.out = static_cast<Index>(l) == sampling_layer ? 2 * sizes[l + 1] : sizes[l + 1];
      shape.weight_offset = offset;
      shape.bias_offset = offset + shape.in * shape.out;
      shape.activation = activations[l];
      offset = shape.bias_offset + shape.out;
      layers_.push_back(shape);
    }
    if (loss == Loss::Bce && layers_.back().activation != Activation::Sigmoid)
      throw std::invalid_argument("loss: 'bce' needs a sigmoid output activation");
    if (sampling_layer >= 0 && (sampling_layer + 1 >= static_cast<Index>(layers_.size()) ||
                                layers_[static_cast<std::size_t>(sampling_layer)].activation != Activation::Linear))
      throw std::invalid_argument("sampling: the heads layer must be a linear hidden layer");
    sampling_.layer = sampling_layer;
    params_ = Vector<S>::Zero(offset);
    dropout_.assign(layers_.size(), 0.0);
    mirror_.assign(layers_.size(), -1);
  }

  const std::vector<LayerShape>& layers() const { return layers_; }
  Index n_layers() const { return static_cast<Index>(layers_.size()); }
  Index n_inputs() const { return layers_.front().in; }
  Index n_outputs() const { return layers_.back().out; }
  Index n_params() const { return params_.size(); }
  Loss loss() const { return loss_; }
  const Penalties& penalties() const { return penalties_; }
  const Sampling& sampling() const { return sampling_; }
  const Scaling<S>& scaling() const { return scaling_; }
  // Scaling inside the model (scaling.hpp): shift and scale per input column and per output
  // column (empty vectors: none). Every scale must be positive and finite.
  void set_scaling(const std::vector<double>& in_shift, const std::vector<double>& in_scale,
                   const std::vector<double>& out_shift, const std::vector<double>& out_scale, bool clip_target) {
    Scaling<S> scaling;
    if (!in_scale.empty()) {
      if (static_cast<Index>(in_shift.size()) != n_inputs() || in_scale.size() != in_shift.size() ||
          static_cast<Index>(out_shift.size()) != n_outputs() || out_scale.size() != out_shift.size())
        throw std::invalid_argument("scale: need a shift and a scale per input and per output column");
      for (double v : in_scale) check_scale(v);
      for (double v : out_scale) check_scale(v);
      scaling.in_shift = as_row(in_shift);
      scaling.in_multiplier = as_row(in_scale).cwiseInverse();
      scaling.out_shift = as_row(out_shift);
      scaling.out_multiplier = as_row(out_scale).cwiseInverse();
      scaling.clip_target = clip_target;
    }
    scaling_ = std::move(scaling);
  }
  const MissingValues<S>& missing() const { return missing_; }
  // Missing values (missing.hpp): fill[j] = the value a NaN in input column j is replaced by, in
  // the data's units (empty: NaN is an error). Every fill value must be finite.
  void set_missing(const std::vector<double>& fill) {
    if (!fill.empty() && static_cast<Index>(fill.size()) != n_inputs())
      throw std::invalid_argument("fill: needs one value per input column");
    for (double v : fill)
      if (!std::isfinite(v)) throw std::invalid_argument("fill: every value must be finite");
    missing_.fill = as_row(fill);
  }
  // The KL term's weight in the objective (a VAE's beta, for the coming epoch).
  void set_beta(double beta) {
    if (!sampling_.active() || !(beta >= 0.0 && std::isfinite(beta))) throw std::invalid_argument("beta: a VAE's beta must be finite and >= 0");
    sampling_.beta = beta;
  }
  void set_penalties(const Penalties& p) {
    if (p.any() && (p.code_layer < 0 || p.code_layer >= n_layers() - 1))
      throw std::invalid_argument("penalties: the code layer must be a hidden layer");
    if (p.sparsity_weight > 0.0 && layers_[static_cast<std::size_t>(p.code_layer)].activation != Activation::Sigmoid)
      throw std::invalid_argument("sparsity_weight: the KL sparsity penalty needs a sigmoid code");
    if (p.sparsity_weight > 0.0 && !(p.sparsity_target > 0.0 && p.sparsity_target < 1.0))
      throw std::invalid_argument("sparsity_target: must be in (0, 1)");
    if (p.contractive > 0.0 && p.code_layer != 0)
      throw std::invalid_argument("contractive: the exact penalty needs a one-layer encoder");
    penalties_ = p;
  }
  // Tied weights: mirror[d] = e makes decoder layer d use W_e^T, the transpose of encoder layer
  // e's weight (its own bias stays). The trainer adds d's gradient, transposed, to e's, updates
  // W_e alone and writes W_d = W_e^T after every step; W_d stays in the flat vector, so the
  // layout, inference and the packed panels are those of an untied network. -1: not tied.
  Index mirror(Index l) const { return mirror_[static_cast<std::size_t>(l)]; }
  bool mirrored(Index l) const {  // whether some decoder layer uses encoder layer l's W
    return std::find(mirror_.begin(), mirror_.end(), l) != mirror_.end();
  }
  void set_tied(const std::vector<Index>& mirror) {
    if (static_cast<Index>(mirror.size()) != n_layers()) throw std::invalid_argument("tied: need one entry per layer");
    for (Index d = 0; d < n_layers(); ++d) {
      const Index e = mirror[static_cast<std::size_t>(d)];
      if (e < 0) continue;
      if (e >= n_layers() || e == d || mirror[static_cast<std::size_t>(e)] >= 0 ||
          std::count(mirror.begin(), mirror.end(), e) > 1)
        throw std::invalid_argument("tied: each decoder layer mirrors its own encoder layer");
      const LayerShape& sd = layers_[static_cast<std::size_t>(d)];
      const LayerShape& se = layers_[static_cast<std::size_t>(e)];
      if (sd.in != se.out || sd.out != se.in) throw std::invalid_argument("tied: a decoder W must have the encoder W's transposed shape");
    }
    mirror_ = mirror;
  }

  // Encoder layer e's gradient rows [i_lo, i_hi) += the transpose of columns [i_lo, i_hi) of its
  // mirror d's gradient (dL/dW_e += (dL/dW_d)^T, W_d being W_e^T), both in the flat `grad`.
  void add_mirror_gradient(Index e, Index i_lo, Index i_hi, S* grad) const {
    const Index d = static_cast<Index>(std::find(mirror_.begin(), mirror_.end(), e) - mirror_.begin());
    RowMap<S> ge = weight_in(grad, e);
    const RowMap<S> gd = weight_in(grad, d);
    ge.middleRows(i_lo, i_hi - i_lo) += gd.middleCols(i_lo, i_hi - i_lo).transpose();
  }

  // W_d[:, i_lo:i_hi) = (W_e[i_lo:i_hi, :))^T for encoder layer e and its mirror d.
  void copy_to_mirror(Index e, Index i_lo, Index i_hi) {
    const Index d = static_cast<Index>(std::find(mirror_.begin(), mirror_.end(), e) - mirror_.begin());
    RowMap<S> wd = weight_in(params_.data(), d);
    wd.middleCols(i_lo, i_hi - i_lo) = weight_in(params_.data(), e).middleRows(i_lo, i_hi - i_lo).transpose();
  }

  // dropout[l]: the dropout rate on layer l's output in training (0: none); hidden layers only.
  const std::vector<double>& dropout() const { return dropout_; }
  void set_dropout(const std::vector<double>& rates) {
    if (static_cast<Index>(rates.size()) != n_layers()) throw std::invalid_argument("dropout: need one rate per layer");
    for (std::size_t l = 0; l < rates.size(); ++l)
      if (!(rates[l] >= 0.0 && rates[l] < 1.0) || (rates[l] > 0.0 && static_cast<Index>(l) == n_layers() - 1))
        throw std::invalid_argument("dropout: a rate in [0, 1) on hidden layers only");
    dropout_ = rates;
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

  // Training, first part: the forward pass of rows [lo, hi) of a batch whose input is x (all batch
  // rows), with dropout keyed by `keys`. Threads run it on their own rows. `panels`: the weights
  // packed ahead, or null. The output head applies the last activation with the loss.
  void forward_train(const ConstRowMap<S>& x, Workspace<S>& ws, Index lo, Index hi, const BatchKeys& keys,
                     const WeightPanels* panels = nullptr) const {
    if (hi > lo) forward_rows(middle_rows(x, lo, hi - lo), 0, n_layers(), ws, lo, false, nullptr, panels, &keys);
  }

  // Between the two parts, when a penalty needs them (penalties().needs_code_means()), after every
  // thread's forward: the batch means of code units [j_lo, j_hi) over the batch's `rows` rows,
  // summed in row order (so they do not depend on the thread count) and divided by `batch_rows`
  // (rows, or a data-parallel step's global batch, whose processes then add their parts), into
  // ws.code_means (sized to the code's width beforehand). Threads take their own units.
  void code_means(Workspace<S>& ws, Index j_lo, Index j_hi, Index rows, Index batch_rows) const {
    const RowMatrix<S>& code = ws.outputs[static_cast<std::size_t>(penalties_.code_layer)];
    for (Index j = j_lo; j < j_hi; ++j) {
      double sum = 0.0;
      for (Index r = 0; r < rows; ++r) sum += static_cast<double>(code(r, j));
      ws.code_means[static_cast<std::size_t>(j)] = sum / static_cast<double>(batch_rows);  // rho_hat_j
    }
  }

  // Training, second part: the backward pass of rows [lo, hi) of a batch of `batch_rows` rows
  // whose target is `target` (all batch rows; the input rows for a plain autoencoder). Leaves
  // dL/dz of every layer for these rows in the workspace, their per-row loss sums in
  // ws.row_loss[lo..hi) and penalty sums in ws.row_penalty[lo..hi). With a `mask` (all batch rows;
  // missing values), only the target's observed entries count, and an autoencoder's loss is the
  // mean over the batch's `observed` entries instead of all its elements.
  void backward_train(const ConstRowMap<S>& target, Workspace<S>& ws, Index lo, Index hi, Index batch_rows,
                      const WeightPanels* panels = nullptr, const ConstRowMap<S>* mask = nullptr,
                      double observed = 0.0) const {
    const Index rows = hi - lo;
    if (rows <= 0) return;
    const Index L = n_layers();
    RowMap<S> delta = slice(ws.deltas.back(), lo, rows);
    const double elements = sampling_.active() ? static_cast<double>(batch_rows)  // a VAE sums over the outputs
                            : mask ? observed : static_cast<double>(batch_rows) * static_cast<double>(n_outputs());
    const ConstRowMap<S> mask_rows = mask ? middle_rows(*mask, lo, rows) : middle_rows(target, lo, 0);
    output_loss<S>(loss_, layers_.back().activation, slice(ws.outputs.back(), lo, rows), middle_rows(target, lo, rows),
                   ws.row_loss.data() + lo, &delta, slice(ws.scratch, lo, rows), S(1.0 / elements),
                   mask ? &mask_rows : nullptr);
    if (penalties_.any() || sampling_.active()) std::fill(ws.row_penalty.begin() + lo, ws.row_penalty.begin() + hi, 0.0);
    for (Index l = L - 1; l >= 1; --l) {  // no gradient with respect to the input
      const std::size_t below = static_cast<std::size_t>(l - 1);
      const bool sampled = l - 1 == sampling_.layer;
      RowMap<S> dx = slice(sampled ? ws.dz : ws.deltas[below], lo, rows);
      const float* wt_panels = panels ? panels->wt[static_cast<std::size_t>(l)] : nullptr;
      product<S>(slice(ws.deltas[static_cast<std::size_t>(l)], lo, rows), false, weight(l), true, dx, Kernel::Auto,
                 wt_panels);  // dL/d(input of l) = dL/dz W^T
      if (sampled) {  // through z = mu + sigma eps and the KL term to dL/d[mu | logvar] (a linear layer's dL/dz)
        sample_backward_rows(ws, lo, rows, batch_rows);
        continue;
      }
      if (dropout_[below] > 0.0) dx.array() *= slice(ws.masks[below], lo, rows).array();  // dL/da = dL/d(a m) m
      if (l - 1 == penalties_.code_layer) add_code_penalties(ws, dx, lo, rows, batch_rows);
      multiply_by_derivative(dx, slice(ws.outputs[below], lo, rows), layers_[below].activation);  // dL/dz = dL/da f'(z)
    }
    if (penalties_.contractive > 0.0)  // its part of dL/dz of the code (the first layer), penalty.hpp
      add_contractive<S>(slice(ws.outputs[0], lo, rows), slice(ws.deltas[0], lo, rows), layers_[0].activation, weight(0),
                         penalties_.contractive, batch_rows, ws.row_penalty.data() + lo);
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
      const RowMatrix<S>* below = l > 0 ? &layer_input(ws, l - 1) : nullptr;
      const ConstRowMap<S> a(below ? below->data() + in_lo : x.data() + in_lo, batch_rows, in_hi - in_lo,
                             Eigen::OuterStride<>(below ? below->cols() : x.outerStride()));
      const ConstRowMap<S> dz_cols(dz.data() + out_lo, batch_rows, out_hi - out_lo, Eigen::OuterStride<>(dz.outerStride()));
      RowMap<S> gW(grad + s.weight_offset + in_lo * s.out + out_lo, in_hi - in_lo, out_hi - out_lo,
                   Eigen::OuterStride<>(s.out));
      product<S>(a, true, dz_cols, false, gW);  // dL/dW[in_lo:in_hi, out_lo:out_hi] = a[:, in_lo:in_hi]^T dL/dz[:, out_lo:out_hi]
      if (l == 0 && penalties_.contractive > 0.0)  // and the contractive penalty's part through W itself
        add_contractive_weight_gradient<S>(slice(ws.outputs[0], 0, batch_rows), s.activation, weight(0),
                                           penalties_.contractive, in_lo, in_hi, out_lo, out_hi, gW);
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
      forward_rows(first == 0 ? model_inputs(x, ws, lo, rows) : middle_rows(x, lo, rows), first, last, ws, 0, true,
                   &bad, packed.view());
      if (bad) non_finite[static_cast<std::size_t>(t)] = 1;
      out.middleRows(lo, rows) = slice(ws.outputs[static_cast<std::size_t>(last - 1)], 0, rows);
    });
    return std::find(non_finite.begin(), non_finite.end(), 1) != non_finite.end();
  }

  // row_loss[i] = sum over the outputs of the loss of producing row i of target (for an
  // autoencoder, x itself) from row i of x, the input of layer `first` (a VAE's decoder: 0 < first).
  // `metric`: another elementwise loss to measure with (default: the training loss); with
  // `per_feature` (rows x outputs, row-major), each entry's loss is written there as well. With
  // missing values, a NaN target entry counts for nothing (its per-feature entry is NaN) and
  // `observed`, if given, receives the number of observed entries of each row.
  void row_losses(const ConstRowMap<S>& x, const ConstRowMap<S>& target, double* row_loss, int n_threads,
                  Index first = 0, std::optional<Loss> metric = std::nullopt, S* per_feature = nullptr,
                  double* observed = nullptr) const {
    check_range(first, n_layers());
    const Loss measure = metric.value_or(loss_);
    if (measure == Loss::Bce && layers_.back().activation != Activation::Sigmoid)
      throw std::invalid_argument("metric: 'bce' needs a sigmoid output activation");
    if (x.cols() != layers_[static_cast<std::size_t>(first)].in) throw std::invalid_argument("X: wrong number of columns");
    if (target.rows() != x.rows() || target.cols() != n_outputs()) throw std::invalid_argument("target: wrong shape");
    const PackedWeights<S> packed = packed_weights(first, n_layers());
    for_chunks(x.rows(), n_threads, [&](Workspace<S>& ws, Index lo, Index rows, int) {
      const ConstRowMap<S> x_rows = first == 0 ? model_inputs(x, ws, lo, rows) : middle_rows(x, lo, rows);
      forward_rows(x_rows, first, n_layers(), ws, 0, false, nullptr, packed.view());
      const bool masked = missing_.active();
      const ConstRowMap<S> t_rows = model_targets(target, ws, lo, rows);
      const ConstRowMap<S> mask(ws.mask.data(), masked ? rows : 0, n_outputs(), Eigen::OuterStride<>(n_outputs()));
      output_loss<S>(measure, layers_.back().activation, slice(ws.outputs.back(), 0, rows), t_rows, row_loss + lo,
                     nullptr, slice(ws.scratch, 0, rows), S(1), masked ? &mask : nullptr);
      if (per_feature) {
        auto out = rows_of<S>(per_feature, lo, rows, n_outputs());
        out = slice(ws.scratch, 0, rows);
        if (masked) out = (mask.array() > S(0)).select(out, std::numeric_limits<S>::quiet_NaN());  // missing: NaN
      }
      if (observed)
        for (Index r = 0; r < rows; ++r)
          observed[lo + r] = masked ? ws.row_observed[static_cast<std::size_t>(r)] : static_cast<double>(n_outputs());
    });
  }

 private:
  static constexpr Index kChunkRows = 1024;  // W is packed once per chunk when it is large

  // Rows [lo, lo + rows) of m: threads working on different rows never overlap.
  static RowMap<S> slice(RowMatrix<S>& m, Index lo, Index rows) {
    return RowMap<S>(m.data() + lo * m.cols(), rows, m.cols(), Eigen::OuterStride<>(m.cols()));
  }

  static void check_scale(double v) {
    if (!(v > 0.0 && std::isfinite(v))) throw std::invalid_argument("scale: every column's scale must be positive and finite");
  }
  static RowVector<S> as_row(const std::vector<double>& v) {
    RowVector<S> out(static_cast<Index>(v.size()));
    for (std::size_t i = 0; i < v.size(); ++i) out(static_cast<Index>(i)) = static_cast<S>(v[i]);
    return out;
  }

  // Rows [lo, lo + rows) of an inference input as the network sees them: copied into ws.batch
  // with each NaN filled (missing values) and scaled (scaling), when the model does either (else x's own rows).
  ConstRowMap<S> model_inputs(const ConstRowMap<S>& x, Workspace<S>& ws, Index lo, Index rows) const {
    if (!scaling_.active() && !missing_.active()) return middle_rows(x, lo, rows);
    return scaled_copy(x, ws.batch, lo, rows, [this](RowMap<S>& m) {
      if (missing_.active()) missing_.fill_inputs(m);
      if (scaling_.active()) scaling_.scale_inputs(m);
    });
  }

  // The same rows of a target as the loss sees them: copied into ws.target with NaN entries
  // masked (ws.mask and ws.row_observed; missing values) and scaled (scaling), when the model does either.
  ConstRowMap<S> model_targets(const ConstRowMap<S>& target, Workspace<S>& ws, Index lo, Index rows) const {
    if (!scaling_.active() && !missing_.active()) return middle_rows(target, lo, rows);
    if (ws.target.rows() < rows) ws.target.resize(kChunkRows, n_outputs());
    if (missing_.active() && ws.mask.rows() < rows) {
      ws.mask.resize(kChunkRows, n_outputs());
      ws.row_observed.resize(static_cast<std::size_t>(kChunkRows));
    }
    return scaled_copy(target, ws.target, lo, rows, [&](RowMap<S>& m) {
      if (missing_.active()) MissingValues<S>::mask_targets(m, slice(ws.mask, 0, rows), ws.row_observed.data());
      if (scaling_.active()) scaling_.scale_targets(m);
    });
  }

  // Rows [lo, lo + rows) of src copied into the top of buffer and scaled there by scale(rows).
  template <class Scale>
  static ConstRowMap<S> scaled_copy(const ConstRowMap<S>& src, RowMatrix<S>& buffer, Index lo, Index rows, Scale&& scale) {
    RowMap<S> copy = slice(buffer, 0, rows);
    copy = middle_rows(src, lo, rows);
    scale(copy);
    return ConstRowMap<S>(copy.data(), rows, copy.cols(), Eigen::OuterStride<>(copy.cols()));
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
  // the weights packed ahead, or null. With `keys` (training), dropout follows each layer that has it.
  void forward_rows(const ConstRowMap<S>& x, Index first, Index last, Workspace<S>& ws, Index lo,
                    bool activate_last, bool* non_finite = nullptr, const WeightPanels* panels = nullptr,
                    const BatchKeys* keys = nullptr) const {
    const Index rows = x.rows();
    for (Index l = first; l < last; ++l) {
      const bool activate = activate_last || l != last - 1;
      const Activation act = layers_[static_cast<std::size_t>(l)].activation;
      const float* w_panels = panels ? panels->w[static_cast<std::size_t>(l)] : nullptr;
      RowMap<S> z = slice(ws.outputs[static_cast<std::size_t>(l)], lo, rows);
      if (l == first)
        dense_forward<S>(x, weight(l), bias(l), z, act, activate, non_finite, w_panels);
      else if (l - 1 == sampling_.layer && !keys)  // inference: z = mu, the first half of the heads
        dense_forward<S>(mu_rows(ws, lo, rows), weight(l), bias(l), z, act, activate, nullptr, w_panels);
      else
        dense_forward<S>(slice(keys ? layer_input(ws, l - 1) : ws.outputs[static_cast<std::size_t>(l - 1)], lo, rows),
                         weight(l), bias(l), z, act, activate, nullptr, w_panels);
      if (keys && l == sampling_.layer && l + 1 < last)  // training: z = mu + sigma eps
        sample_latent<S>(z, slice(ws.eps, lo, rows), slice(ws.z, lo, rows), *keys, l, lo);
      const std::size_t k = static_cast<std::size_t>(l);
      if (keys && dropout_[k] > 0.0)
        apply_dropout<S>(z, slice(ws.masks[k], lo, rows), slice(ws.dropped[k], lo, rows), dropout_[k], *keys, l, lo);
    }
  }

  // What layer l + 1 reads in training: layer l's output, after its dropout if it has one, or a
  // VAE's latent sample.
  RowMatrix<S>& layer_input(Workspace<S>& ws, Index l) const {
    const std::size_t k = static_cast<std::size_t>(l);
    if (l == sampling_.layer) return ws.z;
    return dropout_[k] > 0.0 ? ws.dropped[k] : ws.outputs[k];
  }

  // mu of rows [lo, lo + rows): the first half of the heads layer's output.
  ConstRowMap<S> mu_rows(Workspace<S>& ws, Index lo, Index rows) const {
    const RowMatrix<S>& heads = ws.outputs[static_cast<std::size_t>(sampling_.layer)];
    return ConstRowMap<S>(heads.data() + lo * heads.cols(), rows, heads.cols() / 2, Eigen::OuterStride<>(heads.cols()));
  }

  // The sampling stage's backward for rows [lo, lo + rows): dL/d[mu | logvar] from ws.dz; each
  // row's KL into row_kl and beta KL into row_penalty.
  void sample_backward_rows(Workspace<S>& ws, Index lo, Index rows, Index batch_rows) const {
    const std::size_t k = static_cast<std::size_t>(sampling_.layer);
    std::fill(ws.row_kl.begin() + lo, ws.row_kl.begin() + lo + rows, 0.0);
    sampling_backward<S>(slice(ws.outputs[k], lo, rows), slice(ws.eps, lo, rows), slice(ws.dz, lo, rows),
                         slice(ws.deltas[k], lo, rows), sampling_.beta, batch_rows, ws.row_kl.data() + lo);
    for (Index r = lo; r < lo + rows; ++r)
      ws.row_penalty[static_cast<std::size_t>(r)] += sampling_.beta * ws.row_kl[static_cast<std::size_t>(r)];  // beta KL
  }

  // The code layer's penalties on rows [lo, lo + rows): their part of dL/da in dx, their values in row_penalty.
  void add_code_penalties(Workspace<S>& ws, RowMap<S>& dx, Index lo, Index rows, Index batch_rows) const {
    const RowMap<S> code = slice(ws.outputs[static_cast<std::size_t>(penalties_.code_layer)], lo, rows);
    if (penalties_.activity_l1 > 0.0)
      add_activity_l1<S>(code, dx, penalties_.activity_l1, batch_rows, ws.row_penalty.data() + lo);  // dL/da += lambda/n sign(a)
    if (penalties_.sparsity_weight > 0.0)
      add_kl_sparsity<S>(dx, penalties_.sparsity_weight, penalties_.sparsity_target, ws.code_means, batch_rows,
                         ws.row_penalty.data() + lo);
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
  Penalties penalties_;          // training only
  Sampling sampling_;            // a VAE's sampling stage (its beta: training only)
  Scaling<S> scaling_;           // scaling inside the model (none: empty)
  MissingValues<S> missing_;     // the fill of missing inputs (none: empty)
  std::vector<double> dropout_;  // training only: the rate on each layer's output
  std::vector<Index> mirror_;    // training only: the encoder layer whose W^T each decoder layer uses, or -1
  Vector<S> params_;
};

}  // namespace fastae
