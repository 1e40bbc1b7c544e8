"""The variational autoencoder: its sampling stage, KL term and objective (sampling.hpp, network.hpp).

The weights are in the C++ layout: [W, b] per dense layer, the heads layer's W of shape
(in, 2 L) giving [mu | logvar]. Each row's objective is the sum over the outputs of the
elementwise loss plus beta * KL, averaged over the batch's rows.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .activations import activate, activation_derivative
from .dropout import dropout_mask, dropout_stage
from .losses import loss_elements, loss_gradient
from .network import BatchKeys
from .rng import bits_to_normal, counter_bits

LOGVAR_LOW, LOGVAR_HIGH = -30.0, 20.0  # logvar is clamped here where it is exponentiated (as PyOD does)


def sampling_eps(seed: int, epoch: int, rows: np.ndarray, layer: int, width: int, dtype: type) -> np.ndarray:
    """eps ~ N(0, I) of the sampling after layer `layer`: the counter RNG at stage 1 + layer."""
    return bits_to_normal(counter_bits(seed, epoch, rows, dropout_stage(layer), width)).astype(dtype)


def kl_rows(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """Each row's KL(N(mu, exp(lv)) || N(0, I)) = sum_j -1/2 (1 + lv - mu^2 - exp(lv)), lv clamped (float64)."""
    lv = np.clip(logvar, LOGVAR_LOW, LOGVAR_HIGH).astype(np.float64)
    m = mu.astype(np.float64)
    return (-0.5 * (1.0 + lv - m * m - np.exp(lv))).sum(axis=1)


class VaeNetwork:
    """Encoder layers [0, heads], the sampling stage after layer `heads`, then the decoder."""

    sums_outputs = True  # the reconstruction term is a sum over the outputs, not a mean

    def __init__(self, weights: Sequence[np.ndarray], activations: Sequence[str], loss: str, heads: int,
                 beta: float = 1.0, dropout: Optional[Sequence[float]] = None):
        self.weights = [np.array(w) for w in weights]
        self.activations, self.loss, self.heads, self.beta = list(activations), loss, heads, beta
        self.dropout = [0.0] * len(self.activations) if dropout is None else list(dropout)
        self.last_reconstruction = 0.0  # the last batch's mean loss per element
        self.last_penalty_sum = 0.0     # its beta KL summed over rows
        self.last_kl_sum = 0.0          # its KL summed over rows
        self.kl_total = 0.0             # the KL summed over the rows of every batch since it was reset

    @property
    def n_layers(self) -> int:
        return len(self.activations)

    @property
    def latent_dim(self) -> int:
        return self.weights[2 * self.heads].shape[1] // 2

    def tie(self) -> None:
        """(A VAE has no tied weights: for train_epoch's loop.)"""

    def _dense(self, l: int, a: np.ndarray) -> np.ndarray:
        return activate(self.activations[l], a @ self.weights[2 * l] + self.weights[2 * l + 1])

    def encode_distribution(self, x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        a = x
        for l in range(self.heads + 1):
            a = self._dense(l, a)
        L = self.latent_dim
        return a[:, :L], a[:, L:]

    def decode(self, z: np.ndarray) -> np.ndarray:
        a = z
        for l in range(self.heads + 1, self.n_layers):
            a = self._dense(l, a)
        return a

    def row_reconstruction(self, x: np.ndarray, z: np.ndarray, target: Optional[np.ndarray] = None) -> np.ndarray:
        """Per-row sums over the outputs of the loss of decoding z against target (default x), float64."""
        a = z
        for l in range(self.heads + 1, self.n_layers - 1):
            a = self._dense(l, a)
        logits = a @ self.weights[-2] + self.weights[-1]
        out = logits if self.loss == "bce" else activate(self.activations[-1], logits)
        return loss_elements(self.loss, out, x if target is None else target).astype(np.float64).sum(axis=1)

    def loss_and_gradients(self, x: np.ndarray, target: Optional[np.ndarray] = None,
                           keys: Optional[BatchKeys] = None, eps: Optional[np.ndarray] = None,
                           mask: Optional[np.ndarray] = None) -> Tuple[float, List[np.ndarray]]:
        """The batch's objective, mean over rows of (sum of the reconstruction loss + beta KL), and
        its gradients. eps: the draws (default: the counter RNG's for `keys`). With a `mask`
        (missing.py), each row's sum is over its observed outputs (mask 1)."""
        y = x if target is None else target
        n, dtype, L = len(x), x.dtype.type, self.latent_dim
        seed, epoch, rows = keys if keys is not None else (0, 0, np.arange(n))
        inputs, outputs, a = [x], [], x
        for l in range(self.n_layers - 1):
            a = self._dense(l, a)
            outputs.append(a)
            if l == self.heads:
                if eps is None:
                    eps = sampling_eps(seed, epoch, rows, l, L, dtype)
                lv = np.clip(a[:, L:], dtype(LOGVAR_LOW), dtype(LOGVAR_HIGH))
                a = a[:, :L] + np.exp(dtype(0.5) * lv) * eps  # z = mu + sigma eps
            elif self.dropout[l] > 0:
                a = a * dropout_mask(self.dropout[l], seed, epoch, rows, l, a.shape[1], dtype)
            inputs.append(a)
        z = a @ self.weights[-2] + self.weights[-1]
        m = np.ones_like(y) if mask is None else mask
        out = z if self.loss == "bce" else activate(self.activations[-1], z)  # BCE works from the logits
        recon = (loss_elements(self.loss, out, y) * m).astype(np.float64).sum()
        dz = loss_gradient(self.loss, out, y) * m / dtype(n)  # d/dz of the row sums, averaged over rows
        if self.loss != "bce":
            dz = dz * activation_derivative(self.activations[-1], out)
        heads = outputs[self.heads]
        mu, raw = heads[:, :L], heads[:, L:]
        kl = kl_rows(mu, raw)
        grads: List[np.ndarray] = [np.empty(0)] * (2 * self.n_layers)
        for l in range(self.n_layers - 1, -1, -1):
            grads[2 * l] = inputs[l].T @ dz
            grads[2 * l + 1] = dz.sum(axis=0)
            if l == 0:
                break
            da = dz @ self.weights[2 * l].T
            below = l - 1
            if below == self.heads:  # through z = mu + sigma eps and beta KL (the heads are linear)
                w = dtype(self.beta / n)
                inside = (raw >= LOGVAR_LOW) & (raw <= LOGVAR_HIGH)
                lv = np.clip(raw, dtype(LOGVAR_LOW), dtype(LOGVAR_HIGH))
                d_mu = da + w * mu
                d_lv = np.where(inside, dtype(0.5) * (da * eps * np.exp(dtype(0.5) * lv) + w * (np.exp(lv) - dtype(1))),
                                dtype(0))
                dz = np.concatenate([d_mu, d_lv], axis=1)
                continue
            if self.dropout[below] > 0:
                da = da * dropout_mask(self.dropout[below], seed, epoch, rows, below, da.shape[1], dtype)
            dz = da * activation_derivative(self.activations[below], outputs[below])
        self.last_reconstruction, self.last_count = recon / y.size, y.size
        self.last_kl_sum = float(kl.sum())
        self.kl_total += self.last_kl_sum
        self.last_penalty_sum = self.beta * self.last_kl_sum
        return recon / n + self.last_penalty_sum / n, grads


class ReferenceVariationalAutoencoder:
    """The NumPy twin of a built :class:`fastae.VariationalAutoencoder`: the same weights (C++
    layout), optimizer, shuffle state, counter-RNG seed and beta schedule."""

    def __init__(self, model: Any):
        from .optimizers import ReferenceOptimizer
        model._require_built("ReferenceVariationalAutoencoder")
        cfg = model._checked()
        self.model, self.dtype, spec = model, model._dtype(), model.spec_
        params = model._model.params
        weights = []
        for s in spec.layers:
            weights += [params[s.weight_at:s.weight_at + s.fan_in * s.fan_out].reshape(s.fan_in, s.fan_out).copy(),
                        params[s.bias_at:s.bias_at + s.fan_out].copy()]
        self.net = VaeNetwork(weights, spec.activations, spec.loss, spec.sampling_layer, cfg["beta"],
                              spec.dropout_rates)
        self.optimizer = ReferenceOptimizer(copy.deepcopy(cfg["optimizer"]))
        self.batch_size, self.shuffle = cfg["batch_size"], bool(model.shuffle)
        self.clip_value, self.clip_norm = cfg["clip_value"], cfg["clip_norm"]
        self.rng_state, self.noise, self.noise_seed = model._rng_state, cfg["noise"], model._noise_seed
        self.epoch = len(model.history_["loss"])
        self.history: Dict[str, List[float]] = {"loss": [], "kl": []}

    def fit(self, X: np.ndarray, epochs: int = 1) -> "ReferenceVariationalAutoencoder":
        from .missing import fill_inputs, mask_targets
        from .training import train_epoch
        X = np.ascontiguousarray(X, dtype=self.dtype)
        T = mask = None
        if self.model.fill_values_ is not None:  # missing="mask": NaN inputs filled, NaN targets masked
            (T, mask), X = mask_targets(X), fill_inputs(X, self.model.fill_values_)
        for _ in range(epochs):
            self.net.beta, self.net.kl_total = self.model.beta_at(self.epoch), 0.0
            loss, self.rng_state = train_epoch(self.net, self.optimizer, X, self.batch_size, self.shuffle,
                                               self.rng_state, self.clip_value, self.clip_norm, None, self.noise,
                                               self.noise_seed, self.epoch, T, mask)
            self.history["loss"].append(loss)
            self.history["kl"].append(self.net.kl_total / len(X))
            self.epoch += 1
        return self

    def get_weights(self) -> List[np.ndarray]:
        """In the model's get_weights layout: the heads split into W_mu, b_mu, W_logvar, b_logvar."""
        w, k, L = self.net.weights, self.net.heads, self.net.latent_dim
        return [*w[:2 * k], w[2 * k][:, :L], w[2 * k + 1][:L], w[2 * k][:, L:], w[2 * k + 1][L:], *w[2 * k + 2:]]

    def elbo(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=self.dtype)
        mu, logvar = self.net.encode_distribution(X)
        return self.net.row_reconstruction(X, mu) + self.net.beta * kl_rows(mu, logvar)
