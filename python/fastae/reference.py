"""The NumPy reference: the same network, losses, optimizers and epoch loop as the C++ core,
written for clarity rather than speed. Tests run both on the same seeds and compare; the
reference's own gradients are checked against finite differences in float64.

Conventions (shared with C++): activations are rows [batch, features]; W has shape (in, out);
a loss is the mean over every element of the batch; BCE is computed from the logits of the
sigmoid output; the shuffle is SplitMix64 + Fisher-Yates.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

LEAKY_SLOPE = 0.01
ELU_ALPHA = 1.0
HUBER_DELTA = 1.0
MASK64 = (1 << 64) - 1


# ----------------------------------------------------------------------------- activations
def sigmoid(z: np.ndarray) -> np.ndarray:
    """Overflow-safe logistic: with e = exp(-|z|), 1/(1+e) for z >= 0 and e/(1+e) otherwise."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def activate(name: str, z: np.ndarray) -> np.ndarray:
    if name == "linear":
        return z.copy()
    if name == "relu":
        return np.maximum(z, 0)
    if name == "leaky_relu":
        return np.where(z > 0, z, z.dtype.type(LEAKY_SLOPE) * z)
    if name == "elu":
        return np.where(z > 0, z, z.dtype.type(ELU_ALPHA) * np.expm1(z))
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return sigmoid(z)
    if name == "softplus":
        return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))  # log(1 + e^z), overflow-safe
    raise ValueError(f"activation: unknown name {name!r}")


def activation_derivative(name: str, a: np.ndarray) -> np.ndarray:
    """f'(z) written from the output a = f(z)."""
    one = a.dtype.type(1)
    if name == "linear":
        return np.ones_like(a)
    if name == "relu":
        return (a > 0).astype(a.dtype)
    if name == "leaky_relu":
        return np.where(a > 0, one, a.dtype.type(LEAKY_SLOPE))
    if name == "elu":
        return np.where(a > 0, one, a + a.dtype.type(ELU_ALPHA))  # alpha e^z = a + alpha
    if name == "tanh":
        return one - a * a
    if name == "sigmoid":
        return a * (one - a)
    if name == "softplus":
        return -np.expm1(-a)  # sigmoid(z) = 1 - e^-a
    raise ValueError(f"activation: unknown name {name!r}")


# ----------------------------------------------------------------------------- losses
def loss_elements(name: str, out: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Elementwise loss; `out` is the output a, or the logits z for BCE."""
    if name == "bce":
        z = out
        return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    d = out - y
    if name == "mse":
        return d * d
    if name == "mae":
        return np.abs(d)
    if name == "huber":
        half = d.dtype.type(0.5)
        return np.where(np.abs(d) <= HUBER_DELTA, half * d * d, HUBER_DELTA * (np.abs(d) - half * HUBER_DELTA))
    raise ValueError(f"loss: unknown name {name!r}")


def loss_gradient(name: str, out: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d(elementwise loss)/d(out): with respect to a, or to the logits z for BCE."""
    if name == "bce":
        return sigmoid(out) - y
    d = out - y
    if name == "mse":
        return 2 * d
    if name == "mae":
        return np.sign(d)
    if name == "huber":
        return np.clip(d, -HUBER_DELTA, HUBER_DELTA)
    raise ValueError(f"loss: unknown name {name!r}")


# ----------------------------------------------------------------------------- network
class Network:
    """A stack of dense layers a_l = f_l(a_{l-1} W_l + b_l), a loss, and the penalties training
    adds to it: activity_l1 * (mean over rows of sum |a_code|), a_code the output of code_layer."""

    def __init__(self, weights: Sequence[np.ndarray], activations: Sequence[str], loss: str,
                 code_layer: Optional[int] = None, activity_l1: float = 0.0):
        self.weights = [np.array(w) for w in weights]  # [W1, b1, W2, b2, ...]
        self.activations = list(activations)
        self.loss = loss
        self.code_layer, self.activity_l1 = code_layer, activity_l1
        self.last_reconstruction = 0.0  # the last batch's mean reconstruction loss
        self.last_penalty_sum = 0.0     # and its penalties' sum over rows
        if loss == "bce" and self.activations[-1] != "sigmoid":
            raise ValueError("loss: 'bce' needs a sigmoid output activation")

    @property
    def n_layers(self) -> int:
        return len(self.activations)

    def layer(self, l: int) -> Tuple[np.ndarray, np.ndarray]:
        return self.weights[2 * l], self.weights[2 * l + 1]

    def forward(self, x: np.ndarray, first: int = 0, last: Optional[int] = None) -> List[np.ndarray]:
        """[a_first, ..., a_last] for input x (a_{first-1} = x); the last entry is the output."""
        last = self.n_layers if last is None else last
        outputs = []
        a = x
        for l in range(first, last):
            W, b = self.layer(l)
            a = activate(self.activations[l], a @ W + b)
            outputs.append(a)
        return outputs

    def output_logits(self, x: np.ndarray) -> Tuple[List[np.ndarray], np.ndarray]:
        """Hidden outputs and the last layer's pre-activation z."""
        hidden = self.forward(x, 0, self.n_layers - 1)
        below = hidden[-1] if hidden else x
        W, b = self.layer(self.n_layers - 1)
        return hidden, below @ W + b

    def row_losses(self, x: np.ndarray) -> np.ndarray:
        """Per-row sums of the elementwise loss of reconstructing x (in float64)."""
        _, z = self.output_logits(x)
        out = z if self.loss == "bce" else activate(self.activations[-1], z)
        return loss_elements(self.loss, out, x).astype(np.float64).sum(axis=1)

    def loss_and_gradients(self, x: np.ndarray, target: Optional[np.ndarray] = None) -> Tuple[float, List[np.ndarray]]:
        """The objective of the batch x: the mean loss over all elements of reconstructing `target`
        (default: x itself), plus the penalties' mean over rows; and its gradients [dW1, db1, ...]."""
        y = x if target is None else target
        hidden, z = self.output_logits(x)
        count = y.size
        if self.loss == "bce":
            loss = loss_elements("bce", z, y).astype(np.float64).sum() / count
            dz = loss_gradient("bce", z, y) / y.dtype.type(count)  # dL/dz = (sigmoid(z) - y) / N
        else:
            a = activate(self.activations[-1], z)
            loss = loss_elements(self.loss, a, y).astype(np.float64).sum() / count
            dz = loss_gradient(self.loss, a, y) / y.dtype.type(count) * activation_derivative(self.activations[-1], a)
        grads: List[np.ndarray] = [np.empty(0)] * (2 * self.n_layers)
        inputs = [x] + hidden  # inputs[l] is the input of layer l
        for l in range(self.n_layers - 1, -1, -1):
            W, _ = self.layer(l)
            grads[2 * l] = inputs[l].T @ dz       # dL/dW = x^T dL/dz
            grads[2 * l + 1] = dz.sum(axis=0)     # dL/db = sum over rows of dL/dz
            if l > 0:
                da = dz @ W.T  # dL/da of the layer below
                if l - 1 == self.code_layer and self.activity_l1:
                    da = da + x.dtype.type(self.activity_l1 / len(x)) * np.sign(inputs[l])  # + lambda/n sign(a)
                dz = da * activation_derivative(self.activations[l - 1], inputs[l])  # dL/dz below
        self.last_reconstruction, self.last_penalty_sum = float(loss), 0.0
        if self.activity_l1:
            self.last_penalty_sum = self.activity_l1 * float(np.abs(inputs[self.code_layer + 1].astype(np.float64)).sum())
        return float(loss) + self.last_penalty_sum / len(x), grads


# ----------------------------------------------------------------------------- optimizers
def clip_gradients(grads: List[np.ndarray], clip_value: Optional[float], clip_norm: Optional[float]) -> List[np.ndarray]:
    """clip_grad_value_ then clip_grad_norm_ (global L2 norm over all gradients)."""
    if clip_value:
        grads = [np.clip(g, -clip_value, clip_value) for g in grads]
    if clip_norm:
        total = np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads))
        coef = min(1.0, clip_norm / (total + 1e-6))  # max_norm / (||g|| + 1e-6), at most 1
        grads = [g * g.dtype.type(coef) for g in grads]
    return grads


def _lerp(a: np.ndarray, b: np.ndarray, w: Any) -> np.ndarray:
    """torch.lerp: a + w (b - a) for w < 0.5, else b - (b - a)(1 - w)."""
    return a + w * (b - a) if w < 0.5 else b - (b - a) * (1 - w)


class ReferenceOptimizer:
    """torch.optim's single-tensor updates, parameter by parameter."""

    def __init__(self, config: Optimizer):
        self.config = config
        self.steps = 0
        self.state: List[Dict[str, np.ndarray]] = []

    def step(self, params: List[np.ndarray], grads: List[np.ndarray]) -> None:
        c = self.config
        if not self.state:
            self.state = [{} for _ in params]
        self.steps += 1
        t = self.steps
        for p, g, state in zip(params, grads, self.state):
            T = p.dtype.type
            if isinstance(c, SGD):
                if c.weight_decay:
                    g = g + T(c.weight_decay) * p                       # g = g + wd p
                if c.momentum:
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = g.copy()             # b_1 = g
                    else:
                        b = state["momentum_buffer"]
                        state["momentum_buffer"] = T(c.momentum) * b + T(1 - c.dampening) * g  # b = mu b + (1-tau) g
                    b = state["momentum_buffer"]
                    g = g + T(c.momentum) * b if c.nesterov else b
                p -= T(c.lr) * g                                        # p = p - lr g
            elif isinstance(c, Adagrad):
                if c.weight_decay:
                    g = g + T(c.weight_decay) * p
                state["sum"] = state.get("sum", np.zeros_like(p)) + g * g   # G = G + g^2
                p -= T(c.lr) * (g / (np.sqrt(state["sum"]) + T(c.eps)))     # p = p - lr g / (sqrt(G) + eps)
            elif isinstance(c, RMSprop):
                if c.weight_decay:
                    g = g + T(c.weight_decay) * p
                v = T(c.alpha) * state.get("square_avg", np.zeros_like(p)) + T(1 - c.alpha) * g * g
                state["square_avg"] = v                                  # v = alpha v + (1 - alpha) g^2
                if c.centered:
                    gbar = _lerp(state.get("grad_avg", np.zeros_like(p)), g, T(1 - c.alpha))
                    state["grad_avg"] = gbar                             # gbar = lerp(gbar, g, 1 - alpha)
                    avg = np.sqrt(v - gbar * gbar) + T(c.eps)
                else:
                    avg = np.sqrt(v) + T(c.eps)
                if c.momentum > 0:
                    b = T(c.momentum) * state.get("momentum_buffer", np.zeros_like(p)) + g / avg
                    state["momentum_buffer"] = b                         # b = mu b + g / avg
                    p -= T(c.lr) * b
                else:
                    p -= T(c.lr) * (g / avg)
            elif isinstance(c, Adam):  # Adam and AdamW
                if isinstance(c, AdamW):
                    p *= T(1 - c.lr * c.weight_decay)                    # decoupled decay: p = p (1 - lr wd)
                elif c.weight_decay:
                    g = g + T(c.weight_decay) * p                        # L2: g = g + wd p
                beta1, beta2 = c.betas
                m = _lerp(state.get("exp_avg", np.zeros_like(p)), g, T(1 - beta1))
                v = T(beta2) * state.get("exp_avg_sq", np.zeros_like(p)) + T(1 - beta2) * g * g
                state["exp_avg"], state["exp_avg_sq"] = m, v
                step_size = T(c.lr / (1 - beta1 ** t))                   # lr / (1 - beta1^t)
                bias2_sqrt = T(np.sqrt(1 - beta2 ** t))
                if c.amsgrad:
                    v = np.maximum(state.get("max_exp_avg_sq", np.zeros_like(p)), v)
                    state["max_exp_avg_sq"] = v
                p -= step_size * (m / (np.sqrt(v) / bias2_sqrt + T(c.eps)))  # m / (sqrt(v)/sqrt(1-beta2^t) + eps)
            else:
                raise TypeError(f"optimizer: unsupported {c!r}")


# ----------------------------------------------------------------------------- shuffle
GOLDEN_GAMMA = 0x9E3779B97F4A7C15


def splitmix64_finalise(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function on uint64 values (products wrap modulo 2^64, as in C++)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def splitmix64_next(state: int) -> Tuple[int, int]:
    """(draw, new state) of SplitMix64, in Python integers (the shuffle draws one at a time)."""
    state = (state + GOLDEN_GAMMA) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31), state


# ----------------------------------------------------------------------------- counter-based draws
def counter_keys(seed: int, epoch: int, rows: np.ndarray, stage: int) -> np.ndarray:
    """Each original row's key: absorb(h, x) = finalise((h ^ x) + gamma) over (seed, epoch, row, stage)."""
    h = np.zeros(len(rows), dtype=np.uint64)
    for x in (np.uint64(seed), np.uint64(epoch), np.asarray(rows, dtype=np.uint64), np.uint64(stage)):
        h = splitmix64_finalise((h ^ x) + np.uint64(GOLDEN_GAMMA))
    return h


def counter_bits(seed: int, epoch: int, rows: np.ndarray, stage: int, n_cols: int) -> np.ndarray:
    """(len(rows), n_cols) uint64: column c of a row is finalise(key + (c + 1) * gamma)."""
    keys = counter_keys(seed, epoch, rows, stage)[:, None]
    steps = (np.arange(1, n_cols + 1, dtype=np.uint64) * np.uint64(GOLDEN_GAMMA))[None, :]
    return splitmix64_finalise(keys + steps)


def bits_to_uniform(bits: np.ndarray) -> np.ndarray:
    """Uniform float64 in [0, 1) from the top 53 bits."""
    return (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53


def bits_to_open_uniform(bits: np.ndarray) -> np.ndarray:
    """Uniform float64 in (0, 1): (top 53 bits + 1/2) / 2^53."""
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


# Acklam's inverse normal CDF (relative error < 1.2e-9): coefficients of the central region and the tails.
NORMAL_TAIL = 0.02425
_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
      -3.066479806614716e+01, 2.506628277459239e+00)
_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
      -1.328068155288572e+01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
      4.374664141464968e+00, 2.938163982698783e+00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00)


def _horner(coefficients: Sequence[float], x: np.ndarray) -> np.ndarray:
    """((c0 x + c1) x + ...) + c_last, each product and sum rounded on its own (as counter_normals.cpp)."""
    out = coefficients[0] * x + coefficients[1]
    for c in coefficients[2:]:
        out = out * x + c
    return out


def _normal_tail(p: np.ndarray) -> np.ndarray:
    """The lower tail: q = sqrt(-2 ln p) with the C library's log (as C++), then a rational function of q."""
    q = np.sqrt(-2.0 * np.array([math.log(v) for v in p.ravel()], dtype=np.float64).reshape(p.shape))
    return _horner(_C, q) / (_horner(_D, q) * q + 1.0)


def bits_to_normal(bits: np.ndarray) -> np.ndarray:
    """Standard normal values: the inverse normal CDF at open uniforms (counter_normals.cpp)."""
    p = bits_to_open_uniform(bits)
    q = p - 0.5
    r = q * q
    out = (_horner(_A, r) * q) / (_horner(_B, r) * r + 1.0)  # the central region
    low, high = p < NORMAL_TAIL, p > 1.0 - NORMAL_TAIL
    out[low] = _normal_tail(p[low])
    out[high] = -_normal_tail(1.0 - p[high])
    return out


INPUT_STAGE = 0  # the counter RNG's stage number of the input noise


def add_noise(kind: str, level: float, seed: int, epoch: int, rows: np.ndarray, X: np.ndarray) -> np.ndarray:
    """A batch X with the input noise of its original rows `rows` in `epoch` (input_noise.hpp)."""
    if kind == "none" or level == 0:
        return X
    bits = counter_bits(seed, epoch, rows, INPUT_STAGE, X.shape[1])
    if kind == "gaussian":
        return X + (level * bits_to_normal(bits)).astype(X.dtype)  # x + N(0, level^2)
    u = bits_to_uniform(bits)
    if kind == "masking":
        return np.where(u < level, X.dtype.type(0), X)  # 0 with probability level
    return np.where(u < level, np.where(u < 0.5 * level, X.dtype.type(0), X.dtype.type(1)), X)  # 0 or 1, level/2 each


def shuffled_order(n: int, state: int) -> Tuple[np.ndarray, int]:
    """Fisher-Yates over 0..n-1 with j = floor(draw * (i + 1) / 2^64); returns (order, new state)."""
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        draw, state = splitmix64_next(state)
        j = (draw * (i + 1)) >> 64
        order[i], order[j] = order[j], order[i]
    return np.array(order, dtype=np.int64), state


# ----------------------------------------------------------------------------- training
def train_epoch(net: Network, opt: ReferenceOptimizer, X: np.ndarray, batch_size: int, shuffle: bool, rng_state: int,
                clip_value: Optional[float] = None, clip_norm: Optional[float] = None,
                rows: Optional[np.ndarray] = None, noise: Tuple[str, float] = ("none", 0.0), noise_seed: int = 0,
                epoch: int = 0) -> Tuple[float, int]:
    """One epoch in batches (the last partial batch included) over X's rows `rows` (default: all);
    returns (mean loss, new rng state). With noise (kind, level), each batch's input is the noisy
    batch and its target the clean one."""
    order = np.arange(X.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    if shuffle:
        permutation, rng_state = shuffled_order(len(order), rng_state)
        order = order[permutation]
    loss_sum = penalty_sum = 0.0
    for start in range(0, len(order), batch_size):
        originals = order[start:start + batch_size]
        batch = X[originals]
        loss, grads = net.loss_and_gradients(add_noise(*noise, noise_seed, epoch, originals, batch), batch)
        loss_sum += net.last_reconstruction * batch.size
        penalty_sum += net.last_penalty_sum
        opt.step(net.weights, clip_gradients(grads, clip_value, clip_norm))
    return loss_sum / (len(order) * X.shape[1]) + penalty_sum / len(order), rng_state  # the objective


class ReferenceAutoencoder:
    """The NumPy twin of a built :class:`fastae.Autoencoder`: same weights, optimizer and shuffle state."""

    def __init__(self, model: Any):
        model._require_built("ReferenceAutoencoder")
        cfg = model._checked()
        self.dtype = model._dtype()
        self.net = Network([w.astype(self.dtype) for w in model.get_weights()], model.spec_.activations,
                           model.spec_.loss, model.spec_.n_encoder - 1, cfg["activity_l1"])
        self.optimizer = ReferenceOptimizer(copy.deepcopy(cfg["optimizer"]))
        self.batch_size, self.shuffle = cfg["batch_size"], bool(model.shuffle)
        self.clip_value, self.clip_norm = cfg["clip_value"], cfg["clip_norm"]
        self.rng_state = model._rng_state
        self.noise, self.noise_seed = cfg["noise"], model._noise_seed
        self.epoch = len(model.history_["loss"])  # the epoch number that keys the noise
        self.n_encoder_layers = model.n_encoder_layers_
        self.history: List[float] = []

    def fit(self, X: np.ndarray, epochs: int = 1) -> "ReferenceAutoencoder":
        X = np.ascontiguousarray(X, dtype=self.dtype)
        for _ in range(epochs):
            loss, self.rng_state = train_epoch(self.net, self.optimizer, X, self.batch_size, self.shuffle,
                                               self.rng_state, self.clip_value, self.clip_norm, None, self.noise,
                                               self.noise_seed, self.epoch)
            self.history.append(loss)
            self.epoch += 1
        return self

    def encode(self, X: np.ndarray) -> np.ndarray:
        return self.net.forward(np.asarray(X, dtype=self.dtype), 0, self.n_encoder_layers)[-1]

    def decode(self, Z: np.ndarray) -> np.ndarray:
        return self.net.forward(np.asarray(Z, dtype=self.dtype), self.n_encoder_layers)[-1]

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        return self.net.forward(np.asarray(X, dtype=self.dtype))[-1]

    def reconstruction_error(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=self.dtype)
        return self.net.row_losses(X) / X.shape[1]

    def evaluate(self, X: np.ndarray) -> float:
        return float(np.mean(self.reconstruction_error(X)))

    def get_weights(self) -> List[np.ndarray]:
        return [w.copy() for w in self.net.weights]
