// The epoch loop, all in C++: seeded shuffle, batch gather into preallocated buffers, forward,
// loss, backward, clip, update. The batch is split by rows across threads; each thread writes
// its own gradient buffer and the buffers are added in thread order, so a fixed
// (seed, n_threads, batch size) gives bitwise the same weights.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "fastae/network.hpp"
#include "fastae/optimizer.hpp"
#include "fastae/parallel.hpp"
#include "fastae/shuffle.hpp"

namespace fastae {

template <class S>
class Trainer {
 public:
  Trainer(Network<S>& network, Optimizer<S>& optimizer) : net_(network), opt_(&optimizer) {}

  // The optimizer the next steps use; the workspace is kept.
  void set_optimizer(Optimizer<S>& optimizer) { opt_ = &optimizer; }

  // One pass over x in batches of batch_size (the last, partial batch included).
  // Returns the mean loss over every element of the epoch; advances rng_state when shuffling.
  double train_epoch(const ConstRowMap<S>& x, Index batch_size, bool shuffle, std::uint64_t& rng_state, int n_threads) {
    const Index n = x.rows();
    if (n <= 0) throw std::invalid_argument("X: no rows");
    if (x.cols() != net_.n_inputs()) throw std::invalid_argument("X: wrong number of columns");
    if (batch_size <= 0) throw std::invalid_argument("batch_size: must be positive");
    n_threads = std::max(n_threads, 1);
    const Index batch_rows = std::min(batch_size, n);
    prepare(batch_rows, n_threads);
    if (shuffle) shuffled_order(order_, n, rng_state);

    double loss_sum = 0.0;
    for (Index start = 0; start < n; start += batch_rows) {
      const Index rows = std::min(batch_rows, n - start);
      const ConstRowMap<S> batch = shuffle ? gather(x, start, rows) : middle_rows(x, start, rows);
      loss_sum += step(batch, n_threads);
    }
    return loss_sum / (static_cast<double>(n) * static_cast<double>(net_.n_outputs()));
  }

 private:
  void prepare(Index batch_rows, int n_threads) {
    ws_.reserve(net_.layers(), batch_rows);
    grad_.resize(net_.n_params());
    thread_grads_.resize(static_cast<std::size_t>(n_threads - 1));
    for (auto& g : thread_grads_) g.resize(net_.n_params());
  }

  // Copies rows order[start .. start+rows) of x into the batch buffer.
  ConstRowMap<S> gather(const ConstRowMap<S>& x, Index start, Index rows) {
    for (Index r = 0; r < rows; ++r) ws_.batch.row(r) = x.row(order_[static_cast<std::size_t>(start + r)]);
    return rows_of<S>(static_cast<const S*>(ws_.batch.data()), 0, rows, x.cols());
  }

  // Forward + backward on the batch split across threads, gradients added in thread order,
  // then one optimizer step. Returns the batch's loss sum over all elements.
  double step(const ConstRowMap<S>& batch, int n_threads) {
    const Index rows = batch.rows();
    const int parts = static_cast<int>(std::min<Index>(n_threads, rows));
    const Index n_params = net_.n_params();
    run_threads(parts, [&](int t, int count) {
      Index lo, hi;
      split_range(rows, t, count, lo, hi);
      S* grad = t == 0 ? grad_.data() : thread_grads_[static_cast<std::size_t>(t - 1)].data();
      net_.train_slice(batch, ws_, lo, hi, rows, grad);
      thread_barrier(count);
      // grad = g_0 + g_1 + ... in thread order, each thread summing its share of the parameters.
      Index p_lo, p_hi;
      split_range(n_params, t, count, p_lo, p_hi);
      for (int other = 1; other < count; ++other)
        grad_.segment(p_lo, p_hi - p_lo) += thread_grads_[static_cast<std::size_t>(other - 1)].segment(p_lo, p_hi - p_lo);
    });
    double loss_sum = 0.0;
    for (Index r = 0; r < rows; ++r) loss_sum += ws_.row_loss[static_cast<std::size_t>(r)];
    opt_->step(net_.params(), grad_, n_threads);
    return loss_sum;
  }

  Network<S>& net_;
  Optimizer<S>* opt_;
  Workspace<S> ws_;
  Vector<S> grad_;
  std::vector<Vector<S>> thread_grads_;
  std::vector<std::int64_t> order_;
};

}  // namespace fastae
