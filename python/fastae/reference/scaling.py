"""Scaling inside the model (scaling.hpp): (x - shift) * (1 / scale) per column, in the data's dtype."""

from __future__ import annotations

import numpy as np


def scale_columns(X: np.ndarray, shift: np.ndarray, scale: np.ndarray, clip: bool = False) -> np.ndarray:
    """X scaled per column (a copy), clipped into [0, 1] with `clip` (targets under min-max scaling and BCE)."""
    dtype = X.dtype.type
    out = (X - shift.astype(dtype)) * (1.0 / scale).astype(dtype)
    return np.clip(out, dtype(0), dtype(1)) if clip else out
