"""Inverted dropout on a hidden layer's output, in training (dropout.hpp)."""

from __future__ import annotations

import numpy as np

from .rng import bits_to_uniform, counter_bits


def dropout_stage(layer: int) -> int:
    """The counter RNG's stage of the dropout on layer `layer`'s output (the input noise is 0)."""
    return 1 + layer


def dropout_mask(rate: float, seed: int, epoch: int, rows: np.ndarray, layer: int, n_cols: int,
                 dtype: type) -> np.ndarray:
    """(len(rows), n_cols): 1 / (1 - rate) where a value is kept (u >= rate), else 0."""
    u = bits_to_uniform(counter_bits(seed, epoch, rows, dropout_stage(layer), n_cols))
    return np.where(u >= rate, dtype(1.0 / (1.0 - rate)), dtype(0))
