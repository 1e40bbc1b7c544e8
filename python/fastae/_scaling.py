"""Scaling inside the model: per-column statistics of the training rows, given to C++, which
scales inputs and targets as it reads them (cpp/include/fastae/scaling.hpp); what the model
returns in the data's units is unscaled here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple

import numpy as np

__all__ = ["ColumnScaling", "fit_scaling"]

_CHUNK = 8192  # rows per pass: the statistics need no copy of X


@dataclass
class ColumnScaling:
    """x_scaled = (x - shift) / scale per column, for the inputs and for the outputs (targets)."""

    in_shift: np.ndarray
    in_scale: np.ndarray
    out_shift: np.ndarray
    out_scale: np.ndarray

    def arrays(self) -> Tuple[np.ndarray, ...]:
        return self.in_shift, self.in_scale, self.out_shift, self.out_scale

    def unscale_outputs(self, out: np.ndarray) -> np.ndarray:
        """out in the targets' units, in place: out * scale + shift."""
        out *= self.out_scale.astype(out.dtype)
        out += self.out_shift.astype(out.dtype)
        return out


def column_statistics(X: np.ndarray, rows: Optional[np.ndarray], kind: str,
                      across: Any = None) -> Tuple[np.ndarray, np.ndarray]:
    """(shift, scale) of X's rows `rows` (default: all): the mean and the standard deviation
    (ddof 0) for "standard", the minimum and max - min for "minmax"; a constant column's scale is 1.
    NaN (a missing value) is left out: each column's statistics are over its observed values.
    With `across` (a _distributed.DataParallel), the statistics are of every rank's rows."""
    n = X.shape[0] if rows is None else len(rows)
    chunks = (X[i:i + _CHUNK] if rows is None else X[rows[i:i + _CHUNK]] for i in range(0, n, _CHUNK))
    if kind == "minmax":
        low = np.full(X.shape[1], np.inf)
        high = np.full(X.shape[1], -np.inf)
        for c in chunks:
            missing = np.isnan(c)
            low = np.minimum(low, np.where(missing, np.inf, c).min(axis=0))
            high = np.maximum(high, np.where(missing, -np.inf, c).max(axis=0))
        if across is not None:
            low, high = across.minimum(low), across.maximum(high)
        spread = high - low
        return low, np.where(spread > 0, spread, 1.0)
    total = np.zeros(X.shape[1])
    squares = np.zeros(X.shape[1])
    count = np.zeros(X.shape[1])
    first = None
    for c in chunks:
        c = c.astype(np.float64)
        if first is None:  # sums of deviations from a row of X: no cancellation (every rank: rank 0's row)
            first = _reference_row(c) if across is None else across.broadcast(_reference_row(c))
        d = c - first
        observed = ~np.isnan(d)
        d[~observed] = 0.0
        total += d.sum(axis=0)
        squares += (d * d).sum(axis=0)
        count += observed.sum(axis=0)
    if across is not None:
        total, squares, count = (across.total(a) for a in (total, squares, count))
    count = np.maximum(count, 1.0)  # a column with nothing observed (refused by the fill values first)
    mean_d = total / count
    variance = np.maximum(squares / count - mean_d * mean_d, 0.0)  # Var = E[d^2] - E[d]^2
    std = np.sqrt(variance)
    return first + mean_d, np.where(std > 1e-12 * np.maximum(np.abs(first + mean_d), 1.0), std, 1.0)


def _reference_row(c: np.ndarray) -> np.ndarray:
    """The first row of chunk c, each NaN replaced by its column's mean in the chunk (0 where the
    chunk's column has nothing observed)."""
    row = c[0].copy()
    missing = np.isnan(row)
    if missing.any():
        observed = ~np.isnan(c[:, missing])
        sums = np.where(observed, c[:, missing], 0.0).sum(axis=0)
        row[missing] = sums / np.maximum(observed.sum(axis=0), 1)
    return row


def fit_scaling(kind: str, X: np.ndarray, T: Optional[np.ndarray], rows: Optional[np.ndarray],
                across: Any = None) -> Optional[ColumnScaling]:
    """The scaling of the training rows of X (and of the target T, else X's again); None for "none";
    with `across`, of every rank's rows."""
    if kind == "none":
        return None
    in_shift, in_scale = column_statistics(X, rows, kind, across)
    out_shift, out_scale = (in_shift, in_scale) if T is None else column_statistics(T, rows, kind, across)
    return ColumnScaling(in_shift, in_scale, out_shift, out_scale)
