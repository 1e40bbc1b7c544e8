"""Checks at the boundary: arrays and hyperparameters. Errors name the argument."""

from __future__ import annotations

import difflib
import math
import numbers
import os
import re
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

# The spellings Keras and PyTorch users type, each the same thing as one of fastae's names
# (fastae's Huber has delta 1: PyTorch's SmoothL1Loss with beta 1, Keras' Huber's default).
ALIASES = {
    LOSSES: {"mean_squared_error": "mse", "MSELoss": "mse", "squared_error": "mse", "l2": "mse",
             "binary_crossentropy": "bce", "binary_cross_entropy": "bce", "BCELoss": "bce", "BCEWithLogitsLoss": "bce",
             "mean_absolute_error": "mae", "L1Loss": "mae", "absolute_error": "mae", "l1": "mae",
             "huber_loss": "huber", "HuberLoss": "huber", "smooth_l1": "huber", "SmoothL1Loss": "huber"},
    ACTIVATIONS: {"identity": "linear", "none": "linear", "logistic": "sigmoid"},  # "LeakyReLU" is leaky_relu already
    NOISES: {"salt_and_pepper": "salt_pepper", "mask": "masking"},
    SCALES: {"standardize": "standard", "StandardScaler": "standard", "zscore": "standard", "min_max": "minmax",
             "MinMaxScaler": "minmax"},
}

MAX_THREADS = 256      # n_threads above this is refused; the team is also bounded by the work
MAX_UNITS = 2**31 - 1  # a layer's width (latent_dim, hidden[i], n_features)
MAX_COUNT = 2**62      # any other count (batch_size, epochs, patience, ...)


class LatentWarning(UserWarning):
    """latent_dim is larger than the input's width: the code cannot compress."""


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


def spelling(text: str) -> str:
    """A name reduced to what tells names apart: lower case, no spaces, underscores or hyphens."""
    return re.sub(r"[\s_\-]", "", text.lower())


def unknown_name(name: str, value: str, known: Tuple[str, ...], aliases: Tuple[str, ...] = ()) -> ValueError:
    """The error for a name that is none of `known` (nor of `aliases`): the closest valid one, then the list."""
    spellings = {spelling(k): k for k in (*known, *aliases)}
    close = difflib.get_close_matches(spelling(value), list(spellings), n=1, cutoff=0.6)
    hint = f"; did you mean {spellings[close[0]]!r}?" if close else ""
    also = f"; also accepted: {', '.join(aliases)}" if aliases else ""
    return ValueError(f"{name}: unknown name {value!r}{hint} (known: {', '.join(known)}{also})")


def check_name(name: str, value: Any, known: Tuple[str, ...]) -> str:
    """One of `known`, whatever its case, spaces, underscores and hyphens, or a Keras/PyTorch
    spelling of one (ALIASES): "binary_crossentropy" is "bce", "LeakyReLU" is "leaky_relu"."""
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected one of {', '.join(known)}; got {value!r}")
    aliases = ALIASES.get(known, {})
    resolved = {spelling(k): k for k in known}
    resolved.update({spelling(a): k for a, k in aliases.items()})
    if spelling(value) not in resolved:
        raise unknown_name(name, value, known, tuple(aliases))
    return resolved[spelling(value)]


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
    """X as a C-contiguous 2-D array of ``dtype`` with finite values, and its (min, max); images
    (n, h, w[, c]) become one row per image.

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
        rows, columns = X.shape
        dense = rows * columns * np.dtype(dtype).itemsize
        raise TypeError(f"{name}: sparse matrices are not supported; densifying this {rows:,} x {columns:,} one takes "
                        f"{dense / 2**30:,.2f} GiB as {np.dtype(dtype).name} (this machine has "
                        f"{physical_memory() / 2**30:,.0f} GiB): pass {name}.toarray(), or train on chunks of rows "
                        f"with partial_fit({name}[i:i + k].toarray())")
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
    if arr.ndim > 2:  # images (n, h, w[, c]): a row of h * w * c values per sample, a view of C-contiguous data
        arr = arr.reshape(arr.shape[0], -1)
    if arr.ndim != 2:
        hint = (": Reshape your data with X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample"
                if arr.ndim == 1 else "")
        raise ValueError(f"{name}: expected a 2-D array (n_samples, n_features) or images (n_samples, height, width"
                         f"[, channels]), got shape {arr.shape}{hint}")
    if arr.shape[0] == 0:  # the wording of scikit-learn's check_array
        raise ValueError(f"{name}: found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 is required.")
    if arr.shape[1] == 0:
        raise ValueError(f"{name}: found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required.")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} has {arr.shape[1]} features, but Autoencoder is expecting {n_features} features "
                         "as input")
    original = arr
    if arr.dtype != dtype or not arr.flags.c_contiguous or not arr.flags.aligned:
        # (an array unpickled from a network frame, as Dask's are, may start at an odd address)
        with np.errstate(over="ignore"):  # an overflow shows up as inf, reported below
            arr = np.require(arr, dtype=dtype, requirements=["C_CONTIGUOUS", "ALIGNED"])
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


def sample_shape(X: Any) -> Optional[Tuple[int, ...]]:
    """The shape of one sample of X: (n_features,) for a table, (h, w[, c]) for images; None when
    X has no regular shape (as_matrix says why)."""
    shape = getattr(X, "shape", None)
    if shape is None:
        try:
            shape = np.shape(X)  # a nested list: converted once more to read its shape
        except (TypeError, ValueError):
            return None
    return tuple(int(d) for d in shape[1:])


def as_samples(rows: np.ndarray, shape: Optional[Tuple[int, ...]]) -> np.ndarray:
    """rows (n, width) as n samples of `shape` when that is an image's shape with `width` values (a view)."""
    if shape is not None and len(shape) > 1 and math.prod(shape) == rows.shape[1]:
        return rows.reshape(rows.shape[0], *shape)
    return rows


def shifted_rows(err: ValueError, first_row: int) -> ValueError:
    """err, raised for a piece of an array that starts at row first_row, with its row numbers the array's."""
    if first_row == 0:
        return err
    return ValueError(re.sub(r"\brow (\d+)\b", lambda m: f"row {int(m.group(1)) + first_row}", str(err)))
