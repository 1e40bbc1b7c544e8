// Optimizers with torch.optim semantics (the single-tensor "for-loop" implementations), over the
// flat parameter vector, and gradient clipping as torch.nn.utils does it. The state is kept with
// the model as flat buffers shaped like the parameters, never keyed by pointers.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "fastae/types.hpp"

namespace fastae {

enum class OptimizerKind { Sgd, Adagrad, Rmsprop, Adam, AdamW };

OptimizerKind optimizer_from_name(const std::string& name);
const char* optimizer_name(OptimizerKind kind);

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::Adam;
  double lr = 1e-3;
  double weight_decay = 0.0;
  double momentum = 0.0;   // SGD, RMSprop
  double dampening = 0.0;  // SGD
  bool nesterov = false;   // SGD
  double alpha = 0.99;     // RMSprop
  bool centered = false;   // RMSprop
  double beta1 = 0.9;      // Adam, AdamW
  double beta2 = 0.999;
  bool amsgrad = false;
  double eps = 1e-8;
  double clip_value = 0.0;  // 0: off; clamp each gradient element to [-clip_value, clip_value]
  double clip_norm = 0.0;   // 0: off; scale all gradients so their global L2 norm is at most clip_norm

  void validate() const;
};

// Names of the state buffers each optimizer keeps (those of torch's state dict).
std::vector<std::string> optimizer_slot_names(const OptimizerConfig& config);

template <class S>
class Optimizer {
 public:
  Optimizer(const OptimizerConfig& config, Index n_params) : config_(config) {
    config_.validate();
    for (std::size_t i = 0; i < optimizer_slot_names(config_).size(); ++i) slots_.push_back(Vector<S>::Zero(n_params));
  }

  const OptimizerConfig& config() const { return config_; }
  void set_learning_rate(double lr) {
    OptimizerConfig next = config_;
    next.lr = lr;
    next.validate();  // the same checks as at construction; nothing changes if they fail
    config_ = next;
  }
  std::int64_t steps() const { return steps_; }
  void set_steps(std::int64_t steps) {
    if (steps < 0) throw std::invalid_argument("steps: must be >= 0");
    steps_ = steps;
  }
  std::vector<Vector<S>>& slots() { return slots_; }

  // One step is split so that threads can each update their own range of the parameters:
  // begin_step() once; clip_range() on each range (clip_value, and the range's sum of squares
  // for clip_norm); norm_scale() of the total; update_range() on each range.
  void begin_step() {
    ++steps_;
    // Scalars that depend on the step count, computed in double as torch does in Python, once per
    // step (update_range may be called on many small ranges).
    bias1_ = 1.0 - std::pow(config_.beta1, static_cast<double>(steps_));                // 1 - beta1^t
    bias2_sqrt_ = std::sqrt(1.0 - std::pow(config_.beta2, static_cast<double>(steps_)));  // sqrt(1 - beta2^t)
  }

  // Clamps grad[lo, hi) to [-clip_value, clip_value] (when set); returns the sum of squares of
  // the clamped values when clip_norm is set (else 0), accumulated in double.
  double clip_range(S* grad, Index lo, Index hi) const {
    auto g = Eigen::Map<Vector<S>>(grad + lo, hi - lo).array();
    if (config_.clip_value > 0.0) g = g.max(S(-config_.clip_value)).min(S(config_.clip_value));  // clamp(g, -c, c)
    if (config_.clip_norm <= 0.0) return 0.0;
    double sum_sq = 0.0;
    for (Index i = lo; i < hi; ++i) sum_sq += static_cast<double>(grad[i]) * static_cast<double>(grad[i]);
    return sum_sq;
  }

  // The factor clip_grad_norm_ scales every gradient by: min(1, max_norm / (||g|| + 1e-6)).
  S norm_scale(double total_sum_sq) const {
    if (config_.clip_norm <= 0.0) return S(1);
    return S(std::min(1.0, config_.clip_norm / (std::sqrt(total_sum_sq) + 1e-6)));
  }

  // The update of params[lo, hi) from grad[lo, hi) (scaled by grad_scale); grad is overwritten.
  void update_range(Vector<S>& params, Vector<S>& grad, Index lo, Index n_hi, S grad_scale) {
    const OptimizerConfig& c = config_;
    const S lr = S(c.lr), wd = S(c.weight_decay), eps = S(c.eps);
    const bool first = steps_ == 1;
    const Index n = n_hi - lo;
    auto p = params.segment(lo, n).array();
    auto g = grad.segment(lo, n).array();
    if (c.clip_norm > 0.0) g *= grad_scale;
    switch (c.kind) {
      case OptimizerKind::Sgd: {
        if (wd != S(0)) g += wd * p;  // g = g + wd p
        if (c.momentum != 0.0) {
          auto buf = slots_[0].segment(lo, n).array();
          if (first) buf = g;                                               // b_1 = g
          else buf = S(c.momentum) * buf + S(1.0 - c.dampening) * g;        // b = mu b + (1 - tau) g
          if (c.nesterov) g += S(c.momentum) * buf;                         // g = g + mu b
          else g = buf;                                                     // g = b
        }
        p -= lr * g;  // p = p - lr g
        break;
      }
      case OptimizerKind::Adagrad: {
        auto sum = slots_[0].segment(lo, n).array();
        if (wd != S(0)) g += wd * p;
        sum += g * g;                          // G = G + g^2
        p -= lr * (g / (sum.sqrt() + eps));    // p = p - lr g / (sqrt(G) + eps)
        break;
      }
      case OptimizerKind::Rmsprop: {
        const S alpha = S(c.alpha), mu = S(c.momentum), w = S(1.0 - c.alpha);
        S* square_avg = slots_[0].data();
        S* grad_avg = c.centered ? slots_[1].data() : nullptr;
        S* buf = c.momentum > 0.0 ? slots_[c.centered ? 2 : 1].data() : nullptr;
        S* pp = params.data();
        S* gg = grad.data();
        for (Index i = lo; i < n_hi; ++i) {
          S gi = gg[i];
          if (wd != S(0)) gi += wd * pp[i];
          square_avg[i] = alpha * square_avg[i] + w * gi * gi;  // v = alpha v + (1 - alpha) g^2
          S avg;
          if (grad_avg) {
            grad_avg[i] = w < S(0.5) ? grad_avg[i] + w * (gi - grad_avg[i])   // gbar = lerp(gbar, g, 1 - alpha)
                                     : gi - (gi - grad_avg[i]) * (S(1) - w);
            avg = std::sqrt(square_avg[i] - grad_avg[i] * grad_avg[i]) + eps;  // sqrt(v - gbar^2) + eps
          } else {
            avg = std::sqrt(square_avg[i]) + eps;  // sqrt(v) + eps
          }
          if (buf) {
            buf[i] = mu * buf[i] + gi / avg;  // b = mu b + g / avg
            pp[i] -= lr * buf[i];             // p = p - lr b
          } else {
            pp[i] -= lr * (gi / avg);         // p = p - lr g / avg
          }
        }
        break;
      }
      case OptimizerKind::Adam:
      case OptimizerKind::AdamW:
        if (c.amsgrad) adam_range<true>(params.data(), grad.data(), lo, n_hi);
        else adam_range<false>(params.data(), grad.data(), lo, n_hi);
        break;
    }
  }

 private:
  // Adam and AdamW on [lo, hi) in one pass (one loop, so that the square root and the division,
  // which bound it, overlap with the loads and stores). torch's step
  //   p -= step_size m / (sqrt(v) / c + eps), with c = sqrt(1 - beta2^t),
  // is taken as p -= (step_size c) m / (sqrt(v) + eps c): the same value with one division fewer.
  template <bool kAmsgrad>
  void adam_range(S* __restrict p, S* __restrict g, Index lo, Index hi) {
    const OptimizerConfig& c = config_;
    const S step_size = S(c.lr / bias1_ * bias2_sqrt_);  // lr sqrt(1 - beta2^t) / (1 - beta1^t)
    const S eps = S(c.eps * bias2_sqrt_);                   // eps sqrt(1 - beta2^t)
    const S decay = S(1.0 - c.lr * c.weight_decay), wd = S(c.weight_decay);
    const S beta2 = S(c.beta2), w2 = S(1.0 - c.beta2), w1 = S(1.0 - c.beta1);
    const bool decoupled = c.kind == OptimizerKind::AdamW, coupled = !decoupled && wd != S(0);
    S* __restrict m = slots_[0].data();
    S* __restrict v = slots_[1].data();
    S* __restrict v_max = kAmsgrad ? slots_[2].data() : nullptr;
    if (decoupled)
      for (Index i = lo; i < hi; ++i) p[i] *= decay;  // decoupled decay: p = p (1 - lr wd)
    else if (coupled)
      for (Index i = lo; i < hi; ++i) g[i] += wd * p[i];  // coupled: g = g + wd p
    const bool low = w1 < S(0.5);  // m = lerp(m, g, 1 - beta1), torch's form of lerp for each side of 0.5
    for (Index i = lo; i < hi; ++i) {
      const S gi = g[i];
      const S mi = low ? m[i] + w1 * (gi - m[i]) : gi - (gi - m[i]) * (S(1) - w1);
      const S vi = beta2 * v[i] + w2 * gi * gi;  // v = beta2 v + (1 - beta2) g^2
      m[i] = mi;
      v[i] = vi;
      S v_used = vi;
      if constexpr (kAmsgrad) v_used = v_max[i] = std::max(v_max[i], vi);  // vmax = max(vmax, v)
      p[i] -= step_size * (mi / (std::sqrt(v_used) + eps));  // (step_size c) m / (sqrt(v) + eps c)
    }
  }

  OptimizerConfig config_;
  std::vector<Vector<S>> slots_;
  std::int64_t steps_ = 0;
  double bias1_ = 1.0, bias2_sqrt_ = 1.0;  // set by begin_step
};

}  // namespace fastae
