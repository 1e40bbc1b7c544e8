// Names of activations, losses and optimizers, and the checks on an optimizer configuration.
#include <cmath>
#include <stdexcept>
#include <string>

#include "fastae/activation.hpp"
#include "fastae/loss.hpp"
#include "fastae/optimizer.hpp"

namespace fastae {

namespace {
template <class Enum, std::size_t N>
Enum from_name(const std::string& name, const char* const (&names)[N], const char* what) {
  for (std::size_t i = 0; i < N; ++i)
    if (name == names[i]) return static_cast<Enum>(i);
  std::string known;
  for (std::size_t i = 0; i < N; ++i) known += std::string(i ? ", " : "") + names[i];
  throw std::invalid_argument(std::string(what) + ": unknown name '" + name + "' (known: " + known + ")");
}

const char* const kActivationNames[] = {"linear", "relu", "leaky_relu", "elu", "tanh", "sigmoid", "softplus"};
const char* const kLossNames[] = {"mse", "bce", "mae", "huber"};
const char* const kOptimizerNames[] = {"sgd", "adagrad", "rmsprop", "adam", "adamw"};

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}
bool finite_nonneg(double v) { return std::isfinite(v) && v >= 0.0; }
}  // namespace

Activation activation_from_name(const std::string& name) {
  return from_name<Activation>(name, kActivationNames, "activation");
}
const char* activation_name(Activation act) { return kActivationNames[static_cast<int>(act)]; }
Loss loss_from_name(const std::string& name) { return from_name<Loss>(name, kLossNames, "loss"); }
const char* loss_name(Loss loss) { return kLossNames[static_cast<int>(loss)]; }
OptimizerKind optimizer_from_name(const std::string& name) {
  return from_name<OptimizerKind>(name, kOptimizerNames, "optimizer");
}
const char* optimizer_name(OptimizerKind kind) { return kOptimizerNames[static_cast<int>(kind)]; }

void OptimizerConfig::validate() const {
  require(finite_nonneg(lr), "lr: must be a finite number >= 0");
  require(finite_nonneg(weight_decay), "weight_decay: must be a finite number >= 0");
  require(finite_nonneg(momentum), "momentum: must be a finite number >= 0");
  require(finite_nonneg(eps), "eps: must be a finite number >= 0");
  require(finite_nonneg(clip_value), "clip_value: must be a finite number > 0");
  require(finite_nonneg(clip_norm), "clip_norm: must be a finite number > 0");
  require(std::isfinite(dampening), "dampening: must be finite");
  require(alpha >= 0.0 && alpha <= 1.0, "alpha: must be in [0, 1]");
  require(beta1 >= 0.0 && beta1 < 1.0, "betas: beta1 must be in [0, 1)");
  require(beta2 >= 0.0 && beta2 < 1.0, "betas: beta2 must be in [0, 1)");
  require(!nesterov || (momentum > 0.0 && dampening == 0.0), "nesterov: needs momentum > 0 and dampening = 0");
}

std::vector<std::string> optimizer_slot_names(const OptimizerConfig& c) {
  switch (c.kind) {
    case OptimizerKind::Sgd: return c.momentum != 0.0 ? std::vector<std::string>{"momentum_buffer"} : std::vector<std::string>{};
    case OptimizerKind::Adagrad: return {"sum"};
    case OptimizerKind::Rmsprop: {
      std::vector<std::string> names{"square_avg"};
      if (c.centered) names.push_back("grad_avg");
      if (c.momentum > 0.0) names.push_back("momentum_buffer");
      return names;
    }
    case OptimizerKind::Adam:
    case OptimizerKind::AdamW:
      return c.amsgrad ? std::vector<std::string>{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
                       : std::vector<std::string>{"exp_avg", "exp_avg_sq"};
  }
  return {};
}

}  // namespace fastae
