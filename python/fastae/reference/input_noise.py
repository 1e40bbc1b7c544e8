"""The input noise of a denoising autoencoder (input_noise.hpp)."""

from __future__ import annotations

import numpy as np

from .rng import bits_to_normal, bits_to_uniform, counter_bits


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
