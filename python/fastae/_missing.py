"""Missing values inside the model (missing="mask"): the value C++ puts at a NaN input, each
column's mean over the training rows (cpp/include/fastae/missing.hpp)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

__all__ = ["fill_values"]

_CHUNK = 8192  # rows per pass: no copy of X


def fill_values(X: np.ndarray, rows: Optional[np.ndarray], name: str = "X", across: Any = None) -> np.ndarray:
    """Each column's mean over its observed (non-NaN) values in X's rows `rows` (default: all),
    in float64; a column with nothing observed there is refused by name. With `across` (a
    _distributed.DataParallel), the means are over every rank's rows."""
    n = X.shape[0] if rows is None else len(rows)
    total = np.zeros(X.shape[1])
    count = np.zeros(X.shape[1])
    for i in range(0, n, _CHUNK):
        c = X[i:i + _CHUNK] if rows is None else X[rows[i:i + _CHUNK]]
        observed = ~np.isnan(c)
        total += np.where(observed, c, 0).sum(axis=0, dtype=np.float64)
        count += observed.sum(axis=0)
    if across is not None:
        total, count = across.total(total), across.total(count)
    empty = np.flatnonzero(count == 0)
    if empty.size:
        raise ValueError(f"{name}: column {int(empty[0])} has no observed value in the training rows "
                         f"({empty.size} column(s) are all NaN); missing='mask' fills a NaN with its column's "
                         "training mean, so drop the column or give it values")
    return total / count  # the mean of each column's observed values
