"""Checks at the boundary: arrays and hyperparameters. Errors name the argument."""

from __future__ import annotations

import math
import numbers
import os
import sys
from typing import Any, Optional, Tuple

import numpy as np

from . import _core

ACTIVATIONS = ("linear", "relu", "leaky_relu", "elu", "tanh", "sigmoid", "softplus")
LOSSES = ("mse", "bce", "mae", "huber")
NOISES = ("none", "gaussian", "masking", "salt_pepper")
SCALES = ("none", "standard", "minmax")
MISSINGS = ("error", "mask")
DTYPES = {"float32": np.float32, "float64": np.float64}

MAX_THREADS = 256      # n_threads above this is refused; the team is also bounded by the work
MAX_UNITS = 2**31 - 1  # a layer's width (latent_dim, hidden[i], n_features)
MAX_COUNT = 2**62      # any other count (batch_size, epochs, patience, ...)


class NotFittedError(ValueError, AttributeError):
    """Raised when a model is used before fit/build (the same bases as scikit-learn's)."""


def not_fitted(message: str) -> NotFittedError:
    """A NotFittedError that, once scikit-learn is imported, is also scikit-learn's NotFittedError
    (so `except sklearn.exceptions.NotFittedError` and sklearn's own checks see it) without
    fastae importing scikit-learn itself."""
    sklearn_exceptions = sys.modules.get("sklearn.exceptions")
    if sklearn_exceptions is None:
        return NotFittedError(message)
    global _SklearnNotFittedError
    if _SklearnNotFittedError is None:
        _SklearnNotFittedError = type("NotFittedError", (NotFittedError, sklearn_exceptions.NotFittedError),
                                      {"__module__": __name__})
    return _SklearnNotFittedError(message)


_SklearnNotFittedError: Optional[type] = None


def check_name(name: str, value: Any, known: Tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected one of {', '.join(known)}; got {value!r}")
    if value.lower() not in known:
        raise ValueError(f"{name}: unknown name {value!r} (known: {', '.join(known)})")
    return value.lower()


def physical_memory() -> int:
    """Bytes of memory this machine has (2**40 where the OS does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not on a POSIX system
        return 2**40


def shown(value: Any) -> str:
    """repr(value), shortened when it is very long (10**400 has 401 digits)."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-8:]} ({len(text)} characters)"


def check_int(name: str, value: Any, low: int = 1, high: int = MAX_COUNT) -> int:
    """An integer (Python's or NumPy's, not a bool) in [low, high]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {shown(value)}")
    if value < low:
        raise ValueError(f"{name}: must be >= {low}, got {shown(value)}")
    if value > high:
        raise ValueError(f"{name}: must be <= {high:,}, got {shown(value)}")
    return int(value)


def as_real(name: str, value: Any, optional: bool = False) -> float:
    """A real number (Python's or NumPy's, not a bool) as a float; one too large for a float
    (10**400) is a ValueError, not an OverflowError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number{' or None' if optional else ''}, got {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name}: {shown(value)} is too large for a floating-point number") from None


def check_positive_float(name: str, value: Any, optional: bool = True) -> Optional[float]:
    """A finite number > 0 (or None when optional)."""
    if value is None and optional:
        return None
    return _check_real(name, value, optional, lambda v: v > 0, "> 0")


def check_non_negative_float(name: str, value: Any) -> float:
    """A finite number >= 0."""
    return _check_real(name, value, False, lambda v: v >= 0, ">= 0")


def check_noise(kind: Any, level: Any) -> Tuple[str, float]:
    """(kind, level) of the input noise: a Gaussian's standard deviation is any finite number >= 0,
    a masking or salt-and-pepper probability is in [0, 1)."""
    kind = check_name("noise", kind, NOISES)
    level = check_non_negative_float("noise_level", level)
    if kind in ("masking", "salt_pepper") and level >= 1:
        raise ValueError(f"noise_level: {kind} noise needs a probability in [0, 1), got {shown(level)}")
    return kind, level


def check_probability(name: str, value: Any) -> float:
    """A number in [0, 1): a rate that may be zero but never drops everything."""
    return _check_real(name, value, False, lambda v: 0 <= v < 1, "in [0, 1)")


def check_fraction(name: str, value: Any) -> float:
    """A number strictly between 0 and 1."""
    return _check_real(name, value, False, lambda v: 0 < v < 1, "strictly between 0 and 1")


def _check_real(name: str, value: Any, optional: bool, ok: Any, wanted: str) -> float:
    number = as_real(name, value, optional)
    if not math.isfinite(number) or not ok(number):
        raise ValueError(f"{name}: must be a finite number {wanted}, got {shown(value)}")
    return number


def check_dtype(value: Any) -> type:
    try:
        key = np.dtype(value).name
    except TypeError:
        raise TypeError(f"dtype: expected 'float32' or 'float64', got {value!r}") from None
    if key not in DTYPES:
        raise ValueError(f"dtype: expected 'float32' or 'float64', got {value!r}")
    return DTYPES[key]


def as_matrix(X: Any, name: str, dtype: type, n_features: Optional[int] = None,
              n_threads: int = 1, scan: bool = True, missing: Optional[str] = None,
              empty_rows: bool = False) -> Tuple[np.ndarray, float, float]:
    """X as a C-contiguous 2-D array of ``dtype`` with finite values, and its (min, max).

    An array that already is one is returned as it is (no copy); anything else is converted once.
    With ``scan=False`` the values are not read (min and max are NaN): for callers that detect a
    NaN or infinity another way and then call again with the scan to report it. A model's
    ``missing`` mode: "error" refuses NaN with a hint at missing="mask"; "mask" allows NaN (a
    missing value; min and max are over the observed values) but refuses a row with nothing
    observed unless ``empty_rows``.
    """
    if X is None or isinstance(X, (str, bytes)):
        raise TypeError(f"{name}: expected a 2-D array of numbers, got {type(X).__name__}")
    if hasattr(X, "toarray") and hasattr(X, "nnz"):
        raise TypeError(f"{name}: sparse matrices are not supported; pass {name}.toarray()")
    try:
        arr = X if isinstance(X, np.ndarray) else np.asarray(X)
    except ValueError as err:  # NumPy's "inhomogeneous shape" names nothing
        raise ValueError(f"{name}: expected a 2-D array of numbers, but its rows have different lengths or "
                         f"it mixes numbers and sequences ({err})") from None
    if arr.dtype.kind == "c":
        raise ValueError(f"{name}: Complex data not supported (dtype {arr.dtype}); pass the real part or the magnitude")
    if arr.dtype.kind not in "biuf":
        try:
            arr = np.asarray(arr, dtype=np.float64)
        except OverflowError:
            raise ValueError(f"{name}: holds a number too large for float64 (such as 10**400)") from None
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name}: expected numbers, got an array of dtype {arr.dtype} ({err})") from None
    if arr.ndim != 2:
        hint = (": Reshape your data with X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample"
                if arr.ndim == 1 else "")
        raise ValueError(f"{name}: expected a 2-D array (n_samples, n_features), got shape {arr.shape}{hint}")
    if arr.shape[0] == 0:  # the wording of scikit-learn's check_array
        raise ValueError(f"{name}: found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 is required.")
    if arr.shape[1] == 0:
        raise ValueError(f"{name}: found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required.")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} has {arr.shape[1]} features, but Autoencoder is expecting {n_features} features "
                         "as input")
    original = arr
    if arr.dtype != dtype or not arr.flags.c_contiguous:
        with np.errstate(over="ignore"):  # an overflow shows up as inf, reported below
            arr = np.ascontiguousarray(arr, dtype=dtype)
    if not scan:
        return arr, float("nan"), float("nan")
    if missing == "mask":
        bad_row, bad_col, low, high, empty_row = _core.scan_observed(arr, n_threads)
    else:
        (bad_row, bad_col, low, high), empty_row = _core.scan(arr, n_threads), -1
    if bad_row >= 0:
        value = original[bad_row, bad_col]
        if np.isfinite(value):
            raise ValueError(f"{name}: contains NaN or infinity after conversion to {np.dtype(dtype).name}: "
                             f"{value!r} at row {bad_row}, column {bad_col} is out of range (use dtype='float64')")
        if missing == "mask":
            raise ValueError(f"{name}: contains infinity (first at row {bad_row}, column {bad_col}, value {value!r}); "
                             "missing='mask' allows NaN for a missing value, never infinity")
        hint = ("; for missing values, use missing='mask' (NaN entries are filled for the network and left out "
                "of the loss)" if missing == "error" and np.isnan(value) else "")
        raise ValueError(f"{name}: contains NaN or infinity (first at row {bad_row}, column {bad_col}, "
                         f"value {value!r}){hint}")
    if empty_row >= 0 and not empty_rows:
        raise ValueError(f"{name}: row {empty_row} has nothing observed (every value is NaN); the loss and the error "
                         "are over a row's observed values, so such a row cannot be trained on or scored")
    return arr, low, high
