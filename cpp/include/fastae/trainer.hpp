// The epoch loop, all in C++: seeded shuffle, batch gather into preallocated buffers, forward,
// loss, backward, clip, update. One parallel region covers the whole epoch. In each batch every
// thread gathers its own rows of the batch and runs forward and backward on them; after a
// barrier, each thread takes its own rows (or, for some matrices, columns) of every weight
// matrix and its share of every bias, claims them from the other cores' caches where those read
// them in place (claim.hpp), computes their gradient over the whole batch, clips and updates
// them, and repacks that block of W for the next step's products (packed_weights.hpp).
// A fixed (seed, batch size) and n_threads therefore give bitwise the same weights.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "fastae/claim.hpp"
#include "fastae/denormals.hpp"
#include "fastae/input_noise.hpp"
#include "fastae/network.hpp"
#include "fastae/optimizer.hpp"
#include "fastae/parallel.hpp"
#include "fastae/shuffle.hpp"

namespace fastae {

// hook(rows_done, mean_loss): progress so far (the epoch's mean loss over the rows done); throw to stop.
using BatchHook = std::function<void(Index, double)>;

// Thrown by train_epoch when a batch holds a value outside the range it was asked to check
// (NaN and infinity always are; with missing values, NaN is not, but a row with nothing
// observed is): the epoch stopped before that batch's update.
struct BadRows : std::domain_error {
  explicit BadRows(const char* what = "X: a training row holds NaN, infinity or a value out of range")
      : std::domain_error(what) {}
};

// Thrown by a data-parallel train_epoch when another process reported a bad step: every process
// stopped before that step's update.
struct StoppedElsewhere : std::runtime_error {
  StoppedElsewhere() : std::runtime_error("training stopped: another process reported an error") {}
};

// The values every training row must hold when train_epoch checks them: finite, in [low, high].
struct ValueRange {
  double low, high;
};

// Data-parallel training: one model trained by several processes, each holding some of the rows
// (fastae/_distributed.py drives it over MPI). Every process runs the same steps; step s is a
// global batch of step_rows[s] rows, of which this process holds rows[step_ends[s-1] ..
// step_ends[s]) (indices into its x; possibly none). Each row's global index (keys) keys the
// counter RNG, so noise and dropout are those of one process holding every row. After a step's
// gradient (the sum over this process's rows, each scaled by the global batch), reduce(gradient,
// size, status) sums it across the processes in place and returns the largest status (0: every
// process is fine; this one passes 1 when its rows are bad): all then clip, update, or stop alike.
// add(values, size) sums doubles across the processes in place: with missing values each step's
// observed count (the loss is a mean over the global batch's observed entries), and with the KL
// sparsity penalty the code's batch means.
template <class S>
struct DataParallel {
  const std::int64_t* rows = nullptr;
  const std::int64_t* keys = nullptr;
  const std::int64_t* step_ends = nullptr;
  const std::int64_t* step_rows = nullptr;
  Index n_steps = 0;
  std::function<double(S*, Index, double)> reduce;
  std::function<void(double*, Index)> add;
};

template <class S>
class Trainer {
  static constexpr Index kSplitColumnsAboveBytes = 128 << 10;  // sgemm's in-place limit for B
  static constexpr Index kSplitColumnsBelowRows = 32;           // rows of W per thread (see param_ranges)

 public:
  Trainer(Network<S>& network, Optimizer<S>& optimizer) : net_(network), opt_(&optimizer) {
    packed_.prepare(net_.layers(), 0, net_.layers().size(), true);  // once: the network's shapes never change
  }

  // The optimizer the next steps use; the workspace is kept.
  void set_optimizer(Optimizer<S>& optimizer) { opt_ = &optimizer; }

  // One pass over the training rows of x in batches of batch_size (the last, partial batch
  // included). The training rows are subset[0..n_subset) when subset is given, else every row
  // of x. Returns the objective: the mean loss over every element of the epoch, plus the mean over
  // rows of the penalties (penalty.hpp) if any; advances rng_state when shuffling.
  // With `check`, each batch's rows are checked as they are read (x need not be scanned first):
  // at the first batch with a value outside check's range, or NaN or infinity, the epoch stops
  // before that batch's update and throws BadRows; the caller restores what earlier batches changed.
  // With active `noise`, the network learns to reconstruct each clean row from the row with the
  // noise of (`epoch`, its index in x) added; noise.seed also keys the network's dropout. With a
  // `target` (the same rows as x), the network learns to produce row i of target from row i of x.
  // With missing values (missing.hpp), NaN inputs are filled, NaN targets count for nothing, the
  // loss is the mean over each batch's observed entries, and a row with nothing observed stops
  // the epoch as a bad row does (always checked).
  // With `parallel`, the steps are its global batches (subset, batch_size and shuffle are unused),
  // and the return value is this process's part: see last_sums().
  double train_epoch(const ConstRowMap<S>& x, const ConstRowMap<S>* target, const std::int64_t* subset, Index n_subset,
                     Index batch_size,
                     bool shuffle, std::uint64_t& rng_state, int n_threads, const BatchHook& hook = {},
                     double hook_seconds = 0.1, const ValueRange* check = nullptr, const InputNoise& noise = {},
                     std::uint64_t epoch = 0, const DataParallel<S>* parallel = nullptr) {
    if (parallel) {  // the steps' rows stand for the subset
      subset = parallel->rows;
      n_subset = parallel->n_steps > 0 ? parallel->step_ends[parallel->n_steps - 1] : 0;
      shuffle = false;
      batch_size = 1;
      for (Index s = 0; s < parallel->n_steps; ++s)
        batch_size = std::max<Index>(batch_size, parallel->step_ends[s] - (s ? parallel->step_ends[s - 1] : 0));
    }
    const Index n = subset ? n_subset : x.rows();
    if (n <= 0) throw std::invalid_argument("X: no rows");
    if (x.cols() != net_.n_inputs()) throw std::invalid_argument("X: wrong number of columns");
    if (target ? target->rows() != x.rows() || target->cols() != net_.n_outputs() : x.cols() != net_.n_outputs())
      throw std::invalid_argument("target: wrong shape");
    if (batch_size <= 0) throw std::invalid_argument("batch_size: must be positive");
    for (Index i = 0; subset && i < n; ++i)
      if (subset[i] < 0 || subset[i] >= x.rows()) throw std::invalid_argument("rows: index out of range");
    const Index batch_rows = std::min(batch_size, n);
    const int threads = static_cast<int>(std::min<Index>(std::max(n_threads, 1), batch_rows));
    const bool scaled = net_.scaling().active(), masked = net_.missing().active();
    prepare(batch_rows, threads, noise.active(), target != nullptr || scaled || masked, masked);
    const bool use_order = shuffle || subset || scaled || masked;  // otherwise batches are slices of x itself
    const bool dropout = std::any_of(net_.dropout().begin(), net_.dropout().end(), [](double p) { return p > 0.0; });
    if (use_order || noise.active() || dropout || net_.sampling().active()) {  // the counter RNG needs each batch row's index in x
      order_.resize(static_cast<std::size_t>(n));
      if (subset) std::copy(subset, subset + n, order_.begin());
      else std::iota(order_.begin(), order_.end(), std::int64_t{0});
      if (shuffle) shuffle_in_place(order_, rng_state);
    } else {
      order_.clear();
    }
    keys_ = parallel ? parallel->keys : order_.empty() ? nullptr : order_.data();  // what the counter RNG is keyed by
    parallel_ = parallel;
    const Index n_steps = parallel ? parallel->n_steps : (n + batch_rows - 1) / batch_rows;
    double remote_status = 0.0;  // the largest status the processes reported (parallel only)
    double global_observed = 0.0;  // a step's observed count over every process (parallel, missing values)

    using Clock = std::chrono::steady_clock;
    const auto hook_every = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(hook_seconds));
    auto next_hook = Clock::now() + hook_every;
    std::atomic<bool> stop{false}, bad_rows{false}, empty_rows{false};
    std::exception_ptr hook_error;
    double loss_sum = 0.0, penalty_sum = 0.0, kl_sum = 0.0, observed_sum = 0.0;
    const bool sampled = net_.sampling().active();
    const bool penalised = net_.penalties().any() || sampled;
    const bool code_means = net_.penalties().needs_code_means();
    const Index code_width = code_means ? net_.layers()[static_cast<std::size_t>(net_.penalties().code_layer)].out : 0;
    Index rows_done = 0;
    run_threads(threads, [&](int t, int count) {
      const FlushDenormals flush;  // denormals.hpp
      const std::vector<ParamRange> mine = param_ranges(t, count, batch_rows);
      pack_panels(mine);
      thread_barrier(count);  // every thread's block of the packed weights is written
      for (Index step = 0; step < n_steps; ++step) {
        const Index start = parallel ? (step ? parallel->step_ends[step - 1] : 0) : step * batch_rows;
        const Index rows = parallel ? parallel->step_ends[step] - start : std::min(batch_rows, n - start);
        const Index mean_rows = parallel ? parallel->step_rows[step] : rows;  // what the loss is a mean over
        Index lo, hi;  // this thread's rows of the batch
        split_range(rows, t, count, lo, hi);
        const ConstRowMap<S> batch = use_order ? gather(x, ws_.batch, start, lo, hi) : middle_rows(x, start, rows);
        const ConstRowMap<S> gathered =
            !target ? batch : use_order ? gather(*target, ws_.target, start, lo, hi) : middle_rows(*target, start, rows);
        const ConstRowMap<S> raw_clean = masked ? mask_batch(lo, hi, target != nullptr) : gathered;
        if (masked && std::any_of(ws_.row_observed.begin() + lo, ws_.row_observed.begin() + hi, [](double c) { return c == 0.0; }))
          empty_rows.store(true, std::memory_order_relaxed);
        if (check && !(values_within(batch, lo, hi, *check) && ((!target && !masked) || values_within(raw_clean, lo, hi, *check))))
          bad_rows.store(true, std::memory_order_relaxed);
        const ConstRowMap<S> clean = scaled ? scale_batch(lo, hi, target != nullptr || masked) : raw_clean;
        const ConstRowMap<S> input = noise.active() ? noisy_input(batch, start, lo, hi, noise, epoch) : batch;
        const BatchKeys keys{noise.seed, epoch, keys_ ? keys_ + start : nullptr};
        net_.forward_train(input, ws_, lo, hi, keys, packed_.view());
        if (code_means) {  // a deterministic reduction over the whole batch, only for the penalties that need it
          thread_barrier(count);  // every row's code is ready
          Index j_lo, j_hi;
          split_range(code_width, t, count, j_lo, j_hi);
          net_.code_means(ws_, j_lo, j_hi, rows, mean_rows);
          thread_barrier(count);  // every unit's mean is ready
          if (parallel) {  // this process's part of each mean: add every process's
            if (t == 0) add_across(ws_.code_means.data(), code_width, hook_error);
            thread_barrier(count);
          }
        }
        double observed = 0.0;  // the batch's observed target entries, with missing values
        if (masked) {
          thread_barrier(count);  // every row's count is ready; each thread adds them in row order
          for (Index r = 0; r < rows; ++r) observed += ws_.row_observed[static_cast<std::size_t>(r)];
        }
        double mean_over = observed;  // what the loss is a mean over: the global batch's observed entries
        if (masked && parallel) {
          if (t == 0) {
            global_observed = observed;
            add_across(&global_observed, 1, hook_error);
          }
          thread_barrier(count);  // the global count is ready
          mean_over = global_observed;
        }
        const ConstRowMap<S> mask(ws_.mask.data(), masked ? batch_rows : 0, net_.n_outputs(),
                                  Eigen::OuterStride<>(net_.n_outputs()));
        net_.backward_train(clean, ws_, lo, hi, mean_rows, packed_.view(), masked ? &mask : nullptr,
                            std::max(mean_over, 1.0));
        if (t == 0) opt_->begin_step();  // nobody reads the step count until after the barrier
        thread_barrier(count);           // every row's outputs, dL/dz and loss are ready
        const bool bad_here = bad_rows.load(std::memory_order_relaxed) || empty_rows.load(std::memory_order_relaxed);
        if (bad_here && !parallel) break;  // every thread sees it here, before any update

        if (t == 0) {
          for (Index r = 0; r < rows; ++r) loss_sum += ws_.row_loss[static_cast<std::size_t>(r)];
          observed_sum += masked ? observed : static_cast<double>(rows) * static_cast<double>(net_.n_outputs());
          for (Index r = 0; penalised && r < rows; ++r) penalty_sum += ws_.row_penalty[static_cast<std::size_t>(r)];
          for (Index r = 0; sampled && r < rows; ++r) kl_sum += ws_.row_kl[static_cast<std::size_t>(r)];
          rows_done = start + rows;
        }
        if (count > 1) claim_weights(mine);  // while the gradients are computed
        double sum_sq = 0.0;
        for (const ParamRange& r : mine) {
          if (parallel && rows == 0) {  // no rows of this step here: this process adds nothing
            for (const FlatRange& f : r.flat) std::fill(grad_.data() + f.lo, grad_.data() + f.hi, S(0));
            continue;
          }
          if (r.mirror >= 0) {  // dL/dW_d[:, in_lo:in_hi) of the decoder layer that uses this W^T, first
            const LayerShape& sd = net_.layers()[static_cast<std::size_t>(r.mirror)];
            net_.layer_gradient(input, ws_, r.mirror, rows, 0, sd.in, r.in_lo, r.in_hi, 0, 0, grad_.data());
          }
          net_.layer_gradient(input, ws_, r.layer, rows, r.in_lo, r.in_hi, r.out_lo, r.out_hi, r.b_lo, r.b_hi,
                              grad_.data());
          if (r.mirror >= 0) net_.add_mirror_gradient(r.layer, r.in_lo, r.in_hi, grad_.data());  // dL/dW_e += (dL/dW_d)^T
          if (!parallel)
            for (const FlatRange& f : r.flat) sum_sq += opt_->clip_range(grad_.data(), f.lo, f.hi);
        }
        if (parallel) {  // the sum over every process's rows, then clipping as one process would
          thread_barrier(count);  // every thread's block of the gradient is ready
          if (t == 0) {
            try {
              remote_status = parallel->reduce(grad_.data(), static_cast<Index>(grad_.size()), bad_here ? 1.0 : 0.0);
            } catch (...) {  // never leave the other threads waiting at the barrier
              hook_error = std::current_exception();
              remote_status = -1.0;
            }
          }
          thread_barrier(count);  // the summed gradient and the status are ready
          if (remote_status != 0.0) break;  // every process stops at this step, before any update
          for (const ParamRange& r : mine)
            for (const FlatRange& f : r.flat) sum_sq += opt_->clip_range(grad_.data(), f.lo, f.hi);
        }
        sum_sq_[static_cast<std::size_t>(t)] = sum_sq;
        double total_sq = 0.0;
        if (opt_->config().clip_norm > 0.0) {
          thread_barrier(count);  // every thread's sum of squares is ready; add them in thread order
          for (int k = 0; k < count; ++k) total_sq += sum_sq_[static_cast<std::size_t>(k)];
        }
        const S scale = opt_->norm_scale(total_sq);
        for (const ParamRange& r : mine) {
          for (const FlatRange& f : r.flat) opt_->update_range(net_.params(), grad_, f.lo, f.hi, scale);
          if (r.mirror >= 0) net_.copy_to_mirror(r.layer, r.in_lo, r.in_hi);  // W_d = W_e^T
        }
        pack_panels(mine);  // the next step's products read them after the barrier below
        if (t == 0 && hook && rows_done < n && Clock::now() >= next_hook) {
          try {
            hook(rows_done, loss_sum / loss_count(rows_done, observed_sum));
          } catch (...) {  // never leave the other threads waiting at the barrier
            hook_error = std::current_exception();
            stop.store(true, std::memory_order_relaxed);
          }
          next_hook = Clock::now() + hook_every;
        }
        thread_barrier(count);  // the parameters are updated (and `stop` set) before the next batch reads them
        if (stop.load(std::memory_order_relaxed)) break;
      }
    });
    if (hook_error) std::rethrow_exception(hook_error);
    if (bad_rows) throw BadRows();
    if (empty_rows) throw BadRows("X: a training row has nothing observed (every value is NaN)");
    if (remote_status != 0.0) throw StoppedElsewhere();
    last_sums_ = {loss_sum, loss_count(n, observed_sum), penalty_sum, kl_sum, static_cast<double>(n)};
    last_penalty_ = penalty_sum / static_cast<double>(n);  // the penalties' mean over rows
    last_kl_ = kl_sum / static_cast<double>(n);
    return loss_sum / loss_count(n, observed_sum) + last_penalty_;
  }

  // The last epoch's sums over this process's rows: loss, what it is a mean over (elements, or a
  // VAE's rows), penalties, KL terms, rows. Data-parallel training adds them across processes.
  const std::vector<double>& last_sums() const { return last_sums_; }

  // The penalties' part of the objective the last epoch returned (0 without penalties; a VAE's beta KL).
  double last_penalty() const { return last_penalty_; }
  // A VAE's mean KL term over the last epoch's rows (before beta).
  double last_kl() const { return last_kl_; }

 private:
  // parallel_->add(values, size), from thread 0 inside the epoch: an exception is kept for after it.
  void add_across(double* values, Index size, std::exception_ptr& error) {
    try {
      parallel_->add(values, size);
    } catch (...) {  // never leave the other threads waiting at the barrier
      error = std::current_exception();
    }
  }

  // What the loss sum of `rows` rows is a mean over: a VAE's rows (it sums over the outputs), else
  // the elements of the rows, which with missing values are the observed ones.
  double loss_count(Index rows, double elements) const {
    return net_.sampling().active() ? static_cast<double>(rows) : elements;
  }

  // [lo, hi) of the flat parameter vector.
  struct FlatRange {
    Index lo, hi;
  };

  // What one thread computes and updates in one layer: the block [in_lo, in_hi) x [out_lo, out_hi)
  // of W and bias entries [b_lo, b_hi); `flat` lists them as ranges of the parameter vector. A
  // tied decoder layer has no block of its own: the thread with rows [in_lo, in_hi) of the
  // encoder W it mirrors (`mirror`, else -1) computes and writes columns [in_lo, in_hi) of its W.
  struct ParamRange {
    Index layer, in_lo, in_hi, out_lo, out_hi, b_lo, b_hi;
    std::vector<FlatRange> flat;
    Index mirror = -1;
  };

  // Thread t's share of every layer: a contiguous run of the rows of W; or of its columns where W
  // has few rows (fewer than kSplitColumnsBelowRows per thread) and many more columns, and dL/dz
  // is too large for sgemm to read in place. There, a row share makes each thread pack all of
  // dL/dz for a product of a few rows (sgemm packs B), and a column share halves that packing
  // (mnist-shallow's decoder: +4% samples/s at 2 threads; where dL/dz is small, as on tabular,
  // or the row shares are large, as on mnist-deep and wide, columns measured no faster). And a
  // contiguous run of the bias.
  std::vector<ParamRange> param_ranges(int t, int count, Index batch_rows) const {
    std::vector<ParamRange> ranges;
    for (Index l = 0; l < net_.n_layers(); ++l) {
      const LayerShape& s = net_.layers()[static_cast<std::size_t>(l)];
      ParamRange r{l, 0, s.in, 0, s.out, 0, 0, {}};
      const bool tied = net_.mirror(l) >= 0, mirrored = net_.mirrored(l);
      const bool by_columns = !mirrored && s.out > s.in && s.in < count * kSplitColumnsBelowRows &&
                              batch_rows * s.out * Index(sizeof(S)) > kSplitColumnsAboveBytes;
      if (mirrored) {
        for (Index d = 0; d < net_.n_layers(); ++d)
          if (net_.mirror(d) == l) r.mirror = d;
      }
      if (tied) {  // the bias alone: W comes from the mirrored encoder layer's update
        r.in_hi = r.out_hi = 0;
      } else if (by_columns) {  // in multiples of 64 bytes: whole cache lines where rows start on one (and whole AVX2 sgemm panels)
        constexpr Index line = 64 / Index(sizeof(S));
        split_range((s.out + line - 1) / line, t, count, r.out_lo, r.out_hi);
        r.out_lo = std::min(r.out_lo * line, s.out);
        r.out_hi = std::min(r.out_hi * line, s.out);
      } else {
        split_range(s.in, t, count, r.in_lo, r.in_hi);
      }
      split_range(s.out, t, count, r.b_lo, r.b_hi);
      if (!tied && !by_columns) {
        r.flat.push_back({s.weight_offset + r.in_lo * s.out, s.weight_offset + r.in_hi * s.out});
      } else if (!tied && r.out_hi > r.out_lo) {
        for (Index i = 0; i < s.in; ++i)
          r.flat.push_back({s.weight_offset + i * s.out + r.out_lo, s.weight_offset + i * s.out + r.out_hi});
      }
      r.flat.push_back({s.bias_offset + r.b_lo, s.bias_offset + r.b_hi});
      ranges.push_back(std::move(r));
    }
    return ranges;
  }

  // True when every value in rows [lo, hi) of b is finite and within the range.
  static bool values_within(const ConstRowMap<S>& b, Index lo, Index hi, const ValueRange& range) {
    for (Index r = lo; r < hi; ++r) {
      const auto row = b.row(r).array();
      if (!row_is_finite(row) || row.minCoeff() < range.low || row.maxCoeff() > range.high) return false;
    }
    return true;
  }

  void prepare(Index batch_rows, int threads, bool noisy, bool separate_target, bool masked) {
    if (net_.dropout() != reserved_dropout_) ws_ = Workspace<S>();  // the dropout buffers change
    reserved_dropout_ = net_.dropout();
    ws_.reserve(net_.layers(), batch_rows, net_.dropout(), net_.sampling().layer);
    if (noisy && ws_.input.rows() < batch_rows) ws_.input.resize(ws_.batch.rows(), ws_.batch.cols());
    if (separate_target && ws_.target.rows() < batch_rows) ws_.target.resize(ws_.batch.rows(), net_.n_outputs());
    if (masked && ws_.mask.rows() < batch_rows) {
      ws_.mask.resize(ws_.batch.rows(), net_.n_outputs());
      ws_.row_observed.assign(static_cast<std::size_t>(ws_.batch.rows()), 0.0);
    }
    if (net_.penalties().needs_code_means())
      ws_.code_means.assign(static_cast<std::size_t>(net_.layers()[static_cast<std::size_t>(net_.penalties().code_layer)].out), 0.0);
    grad_.resize(net_.n_params());
    sum_sq_.assign(static_cast<std::size_t>(threads), 0.0);
  }

  // Claims this thread's block of every W that the other threads' forward reads in place (where
  // they read its packed panels instead, nobody else reads it): they are done reading it for this
  // step, and this thread rewrites it in the update (claim.hpp). Tabular at 2 threads: the update
  // 10 -> 5 us per step, for 2.5 us of claiming.
  void claim_weights(const std::vector<ParamRange>& mine) {
    const WeightPanels* panels = packed_.view();
    for (const ParamRange& r : mine) {
      if (panels && panels->w[static_cast<std::size_t>(r.layer)]) continue;
      for (const FlatRange& f : r.flat) claim_lines(net_.params().data() + f.lo, f.hi - f.lo);
    }
  }

  // Packs this thread's block of every W into the panels that have one (packed_weights.hpp).
  void pack_panels(const std::vector<ParamRange>& mine) {
    for (const ParamRange& r : mine) {
      const std::size_t l = static_cast<std::size_t>(r.layer);
      packed_.pack_block(net_.layers()[l], l, net_.params().data(), r.in_lo, r.in_hi, r.out_lo, r.out_hi);
      if (r.mirror >= 0) {  // the columns of the tied decoder W this thread wrote
        const std::size_t d = static_cast<std::size_t>(r.mirror);
        packed_.pack_block(net_.layers()[d], d, net_.params().data(), 0, net_.layers()[d].in, r.in_lo, r.in_hi);
      }
    }
  }

  // Copies rows order[start + lo .. start + hi) of x into the same rows of `buffer` and returns a
  // view of the whole buffer (the other threads fill the other rows).
  ConstRowMap<S> gather(const ConstRowMap<S>& x, RowMatrix<S>& buffer, Index start, Index lo, Index hi) {
    for (Index r = lo; r < hi; ++r) buffer.row(r) = x.row(order_[static_cast<std::size_t>(start + r)]);
    return rows_of<S>(static_cast<const S*>(buffer.data()), 0, buffer.rows(), x.cols());
  }

  // Scales rows [lo, hi) of the gathered batch in place, after the check of the raw values
  // (scaling.hpp), and returns a view of the whole target buffer: the gathered target's rows
  // scaled, or without a target, the batch's own raw rows copied there first and scaled as targets.
  ConstRowMap<S> scale_batch(Index lo, Index hi, bool has_target) {
    if (!has_target) ws_.target.middleRows(lo, hi - lo) = ws_.batch.middleRows(lo, hi - lo);
    net_.scaling().scale_inputs(ws_.batch.middleRows(lo, hi - lo));
    net_.scaling().scale_targets(ws_.target.middleRows(lo, hi - lo));
    return rows_of<S>(static_cast<const S*>(ws_.target.data()), 0, ws_.target.rows(), ws_.target.cols());
  }

  // With missing values, after the gather: rows [lo, hi) of the target buffer (without a target,
  // the batch's own raw rows copied there first) masked, then the batch's NaN inputs filled, in
  // place (missing.hpp); returns a view of the whole target buffer.
  ConstRowMap<S> mask_batch(Index lo, Index hi, bool has_target) {
    if (!has_target) ws_.target.middleRows(lo, hi - lo) = ws_.batch.middleRows(lo, hi - lo);
    MissingValues<S>::mask_targets(ws_.target.middleRows(lo, hi - lo), ws_.mask.middleRows(lo, hi - lo),
                                   ws_.row_observed.data() + lo);
    net_.missing().fill_inputs(ws_.batch.middleRows(lo, hi - lo));
    return rows_of<S>(static_cast<const S*>(ws_.target.data()), 0, ws_.target.rows(), ws_.target.cols());
  }

  // Rows [lo, hi) of the batch with their noise, in the same rows of the input buffer; returns a
  // view of the whole input buffer. A row's noise is keyed by its index in x.
  ConstRowMap<S> noisy_input(const ConstRowMap<S>& batch, Index start, Index lo, Index hi, const InputNoise& noise,
                             std::uint64_t epoch) {
    for (Index r = lo; r < hi; ++r) {
      ws_.input.row(r) = batch.row(r);
      const std::int64_t original = keys_[static_cast<std::size_t>(start + r)];
      add_noise<S>(noise, epoch, static_cast<std::uint64_t>(original), ws_.input.row(r).data(), batch.cols());
    }
    return rows_of<S>(static_cast<const S*>(ws_.input.data()), 0, ws_.input.rows(), batch.cols());
  }

  Network<S>& net_;
  Optimizer<S>* opt_;
  Workspace<S> ws_;
  Vector<S> grad_;
  std::vector<double> sum_sq_;
  std::vector<std::int64_t> order_;
  const std::int64_t* keys_ = nullptr;  // each batch row's index for the counter RNG: order_, or the global ones
  const DataParallel<S>* parallel_ = nullptr;  // this epoch's data-parallel steps, if any
  std::vector<double> last_sums_;
  double last_penalty_ = 0.0, last_kl_ = 0.0;
  std::vector<double> reserved_dropout_;  // the dropout rates ws_ was sized for
  PackedWeights<S> packed_;  // W and W^T packed for the next step's products, where sgemm would pack them
};

}  // namespace fastae
