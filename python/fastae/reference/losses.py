"""Elementwise losses and their gradients, as loss.hpp (BCE from the logits)."""

from __future__ import annotations

import numpy as np

from .activations import sigmoid


HUBER_DELTA = 1.0


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
