"""The epoch loop and the NumPy twin of a built Autoencoder (trainer.hpp)."""

from __future__ import annotations

import copy
from typing import Any, List, Optional, Tuple

import numpy as np

from .input_noise import add_noise
from .missing import fill_inputs, mask_targets
from .network import Network
from .optimizers import ReferenceOptimizer, clip_gradients
from .rng import shuffled_order
from .scaling import scale_columns


def train_epoch(net: Network, opt: ReferenceOptimizer, X: np.ndarray, batch_size: int, shuffle: bool, rng_state: int,
                clip_value: Optional[float] = None, clip_norm: Optional[float] = None,
                rows: Optional[np.ndarray] = None, noise: Tuple[str, float] = ("none", 0.0), noise_seed: int = 0,
                epoch: int = 0, target: Optional[np.ndarray] = None,
                mask: Optional[np.ndarray] = None) -> Tuple[float, int]:
    """One epoch in batches (the last partial batch included) over X's rows `rows` (default: all);
    returns (objective, new rng state). With noise (kind, level), each batch's input is the noisy
    batch and its target the clean one; with `target`, the batch's target is target's same rows;
    with a `mask` (the target's shape, missing.py), only its observed entries count.
    noise_seed keys the noise and the network's dropout."""
    T = X if target is None else target
    order = np.arange(X.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    if shuffle:
        permutation, rng_state = shuffled_order(len(order), rng_state)
        order = order[permutation]
    loss_sum = penalty_sum = elements = 0.0
    for start in range(0, len(order), batch_size):
        originals = order[start:start + batch_size]
        batch = X[originals]
        clean = T[originals]
        loss, grads = net.loss_and_gradients(add_noise(*noise, noise_seed, epoch, originals, batch), clean,
                                             (noise_seed, epoch, originals),
                                             **({} if mask is None else {"mask": mask[originals]}))
        loss_sum += net.last_reconstruction * net.last_count
        elements += net.last_count
        penalty_sum += net.last_penalty_sum
        opt.step(net.weights, clip_gradients(grads, clip_value, clip_norm))
        net.tie()
    per_element = len(order) if getattr(net, "sums_outputs", False) else elements  # a VAE sums the loss over the outputs
    return loss_sum / per_element + penalty_sum / len(order), rng_state  # the objective


class ReferenceAutoencoder:
    """The NumPy twin of a built :class:`fastae.Autoencoder`: same weights, optimizer and shuffle state."""

    def __init__(self, model: Any):
        model._require_built("ReferenceAutoencoder")
        cfg = model._checked()
        self.dtype = model._dtype()
        self.net = Network([w.astype(self.dtype) for w in model.get_weights()], model.spec_.activations,
                           model.spec_.loss, model.spec_.n_encoder - 1, cfg["activity_l1"], cfg["sparsity_weight"],
                           cfg["sparsity_target"], model._spec(model.n_features_in_, cfg, model.n_outputs_).dropout_rates,
                           model.spec_.mirror, cfg["contractive"])
        self.optimizer = ReferenceOptimizer(copy.deepcopy(cfg["optimizer"]))
        self.batch_size, self.shuffle = cfg["batch_size"], bool(model.shuffle)
        self.clip_value, self.clip_norm = cfg["clip_value"], cfg["clip_norm"]
        self.rng_state = model._rng_state
        self.noise, self.noise_seed = cfg["noise"], model._noise_seed
        self.epoch = len(model.history_["loss"])  # the epoch number that keys the noise
        self.n_encoder_layers = model.n_encoder_layers_
        self.scaling, self.clip_target = model.scaling_, model.spec_.loss == "bce"
        self.fill = model.fill_values_  # missing="mask": NaN inputs filled, NaN targets masked
        self.history: List[float] = []

    def scaled(self, X: np.ndarray, T: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        """(input, target) in the model's scaled space (the target: T, else X); with missing
        values, the input's NaN filled and the target's set to 0 first (see masked)."""
        T = X if T is None else T
        if self.fill is not None:
            X, T = fill_inputs(X, self.fill), mask_targets(T)[0]
        if self.scaling is None:
            return X, T
        s = self.scaling
        return (scale_columns(X, s.in_shift, s.in_scale),
                scale_columns(T, s.out_shift, s.out_scale, self.clip_target))

    def mask(self, T: np.ndarray) -> Optional[np.ndarray]:
        """With missing values, 1 where the target T is observed and 0 where it is NaN; else None."""
        return None if self.fill is None else mask_targets(T)[1]

    def unscaled(self, out: np.ndarray) -> np.ndarray:
        s = self.scaling
        return out if s is None else out * s.out_scale.astype(out.dtype) + s.out_shift.astype(out.dtype)

    def fit(self, X: np.ndarray, epochs: int = 1, target: Optional[np.ndarray] = None) -> "ReferenceAutoencoder":
        X = np.ascontiguousarray(X, dtype=self.dtype)
        T = None if target is None else np.ascontiguousarray(target, dtype=self.dtype)
        mask = self.mask(X if T is None else T)
        if self.scaling is not None or mask is not None:
            X, T = self.scaled(X, T)
        for _ in range(epochs):
            loss, self.rng_state = train_epoch(self.net, self.optimizer, X, self.batch_size, self.shuffle,
                                               self.rng_state, self.clip_value, self.clip_norm, None, self.noise,
                                               self.noise_seed, self.epoch, T, mask)
            self.history.append(loss)
            self.epoch += 1
        return self

    def encode(self, X: np.ndarray) -> np.ndarray:
        return self.net.forward(self.scaled(np.asarray(X, dtype=self.dtype))[0], 0, self.n_encoder_layers)[-1]

    def decode(self, Z: np.ndarray) -> np.ndarray:
        return self.unscaled(self.net.forward(np.asarray(Z, dtype=self.dtype), self.n_encoder_layers)[-1])

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        return self.unscaled(self.net.forward(self.scaled(np.asarray(X, dtype=self.dtype))[0])[-1])

    def reconstruction_error(self, X: np.ndarray, target: Optional[np.ndarray] = None) -> np.ndarray:
        X = np.asarray(X, dtype=self.dtype)
        target = X if target is None else np.asarray(target, dtype=self.dtype)
        mask = self.mask(target)
        X, T = self.scaled(X, target)
        counts = T.shape[1] if mask is None else mask.astype(np.float64).sum(axis=1)
        return self.net.row_losses(X, T, mask) / counts  # the mean over each row's (observed) outputs

    def evaluate(self, X: np.ndarray, target: Optional[np.ndarray] = None) -> float:
        X = np.asarray(X, dtype=self.dtype)
        target = X if target is None else np.asarray(target, dtype=self.dtype)
        mask = self.mask(target)
        X, T = self.scaled(X, target)
        count = T.size if mask is None else mask.astype(np.float64).sum()
        return float(self.net.row_losses(X, T, mask).sum() / count)  # the mean over every (observed) element

    def get_weights(self) -> List[np.ndarray]:
        return [w.copy() for w in self.net.weights]
