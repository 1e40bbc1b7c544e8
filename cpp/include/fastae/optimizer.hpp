// Optimizers with torch.optim semantics (the single-tensor "for-loop" implementations), over the
// flat parameter vector, and gradient clipping as torch.nn.utils does it. The state is kept with
// the model as flat buffers shaped like the parameters, never keyed by pointers.
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "fastae/parallel.hpp"
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

// torch's lerp: a + w (b - a) for w < 0.5, else b - (b - a)(1 - w).
template <class A, class B, class S>
inline auto lerp(const A& a, const B& b, S w) {
  return w < S(0.5) ? (a + w * (b - a)).eval() : (b - (b - a) * (S(1) - w)).eval();
}

template <class S>
class Optimizer {
 public:
  Optimizer(const OptimizerConfig& config, Index n_params) : config_(config), n_params_(n_params) {
    config_.validate();
    for (std::size_t i = 0; i < optimizer_slot_names(config_).size(); ++i) slots_.push_back(Vector<S>::Zero(n_params));
  }

  const OptimizerConfig& config() const { return config_; }
  void set_learning_rate(double lr) {
    if (!(lr >= 0.0) || !std::isfinite(lr)) throw std::invalid_argument("learning_rate: must be a finite number >= 0");
    config_.lr = lr;
  }
  std::int64_t steps() const { return steps_; }
  void set_steps(std::int64_t steps) {
    if (steps < 0) throw std::invalid_argument("steps: must be >= 0");
    steps_ = steps;
  }
  std::vector<Vector<S>>& slots() { return slots_; }
  void reset() {
    steps_ = 0;
    for (auto& slot : slots_) slot.setZero();
  }

  // Clips grad (value, then global norm) and applies one update to params. grad is overwritten.
  void step(Vector<S>& params, Vector<S>& grad, int n_threads) {
    clip(grad, n_threads);
    ++steps_;
    const OptimizerConfig& c = config_;
    const S lr = S(c.lr), wd = S(c.weight_decay), eps = S(c.eps);
    // Scalars that depend on the step count are computed once, in double, as torch does in Python.
    const double bias1 = 1.0 - std::pow(c.beta1, static_cast<double>(steps_));
    const double bias2_sqrt = std::sqrt(1.0 - std::pow(c.beta2, static_cast<double>(steps_)));
    const bool first = steps_ == 1;
    parallel_elements(n_params_, n_threads, [&](Index lo, Index n_hi) {
      const Index n = n_hi - lo;
      auto p = params.segment(lo, n).array();
      auto g = grad.segment(lo, n).array();
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
        case OptimizerKind::AdamW: {
          auto m = slots_[0].segment(lo, n).array();
          auto v = slots_[1].segment(lo, n).array();
          if (c.kind == OptimizerKind::AdamW) p *= S(1.0 - c.lr * c.weight_decay);  // decoupled: p = p (1 - lr wd)
          else if (wd != S(0)) g += wd * p;                                         // coupled: g = g + wd p
          m = lerp(m, g, S(1.0 - c.beta1));                                   // m = lerp(m, g, 1 - beta1)
          v = S(c.beta2) * v + S(1.0 - c.beta2) * g * g;                      // v = beta2 v + (1 - beta2) g^2
          const S step_size = S(c.lr / bias1);                                // lr / (1 - beta1^t)
          if (c.amsgrad) {
            auto v_max = slots_[2].segment(lo, n).array();
            v_max = v_max.max(v);                                             // vmax = max(vmax, v)
            p -= step_size * (m / (v_max.sqrt() / S(bias2_sqrt) + eps));
          } else {
            p -= step_size * (m / (v.sqrt() / S(bias2_sqrt) + eps));          // m / (sqrt(v)/sqrt(1-beta2^t) + eps)
          }
          break;
        }
      }
    });
  }

 private:
  void clip(Vector<S>& grad, int n_threads) const {
    if (config_.clip_value > 0.0) {
      const S cv = S(config_.clip_value);
      parallel_elements(n_params_, n_threads, [&](Index lo, Index hi) {
        grad.segment(lo, hi - lo) = grad.segment(lo, hi - lo).cwiseMax(-cv).cwiseMin(cv);  // clamp(g, -c, c)
      });
    }
    if (config_.clip_norm > 0.0) {
      double sum_sq = 0.0;
      for (Index i = 0; i < n_params_; ++i) sum_sq += static_cast<double>(grad[i]) * static_cast<double>(grad[i]);
      const double coef = std::min(1.0, config_.clip_norm / (std::sqrt(sum_sq) + 1e-6));  // max_norm / (||g|| + 1e-6), at most 1
      grad *= S(coef);
    }
  }

  OptimizerConfig config_;
  Index n_params_;
  std::vector<Vector<S>> slots_;
  std::int64_t steps_ = 0;
};

}  // namespace fastae
