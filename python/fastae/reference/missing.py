"""Missing values (missing.hpp): NaN inputs filled with the column means, NaN targets masked out of the loss."""

from __future__ import annotations

from typing import Tuple

import numpy as np


def fill_inputs(X: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """X with each NaN replaced by its column's fill value (a copy, in X's dtype)."""
    return np.where(np.isnan(X), fill.astype(X.dtype), X)


def mask_targets(T: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(T with 0 at each NaN, mask: 1 where T is observed and 0 where it is missing, in T's dtype)."""
    observed = ~np.isnan(T)
    return np.where(observed, T, T.dtype.type(0)), observed.astype(T.dtype)
