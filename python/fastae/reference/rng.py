"""SplitMix64, the seeded shuffle and the counter-based draws (shuffle.hpp, counter_rng.hpp, counter_normals.cpp)."""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np


MASK64 = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15


def splitmix64_finalise(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function on uint64 values (products wrap modulo 2^64, as in C++)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def splitmix64_next(state: int) -> Tuple[int, int]:
    """(draw, new state) of SplitMix64, in Python integers (the shuffle draws one at a time)."""
    state = (state + GOLDEN_GAMMA) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31), state


def counter_keys(seed: int, epoch: int, rows: np.ndarray, stage: int) -> np.ndarray:
    """Each original row's key: absorb(h, x) = finalise((h ^ x) + gamma) over (seed, epoch, row, stage)."""
    h = np.zeros(len(rows), dtype=np.uint64)
    for x in (np.uint64(seed), np.uint64(epoch), np.asarray(rows, dtype=np.uint64), np.uint64(stage)):
        h = splitmix64_finalise((h ^ x) + np.uint64(GOLDEN_GAMMA))
    return h


def counter_bits(seed: int, epoch: int, rows: np.ndarray, stage: int, n_cols: int) -> np.ndarray:
    """(len(rows), n_cols) uint64: column c of a row is finalise(key + (c + 1) * gamma)."""
    keys = counter_keys(seed, epoch, rows, stage)[:, None]
    steps = (np.arange(1, n_cols + 1, dtype=np.uint64) * np.uint64(GOLDEN_GAMMA))[None, :]
    return splitmix64_finalise(keys + steps)


def bits_to_uniform(bits: np.ndarray) -> np.ndarray:
    """Uniform float64 in [0, 1) from the top 53 bits."""
    return (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53


def bits_to_open_uniform(bits: np.ndarray) -> np.ndarray:
    """(top 53 bits + 1/2) / 2^53: exact below 1/2, rounded above it (the top value to 1.0)."""
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


# Acklam's inverse normal CDF (relative error < 1.2e-9): coefficients of the central region and the tails.
NORMAL_TAIL = 0.02425
_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
      -3.066479806614716e+01, 2.506628277459239e+00)
_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
      -1.328068155288572e+01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
      4.374664141464968e+00, 2.938163982698783e+00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00)


def _horner(coefficients: Sequence[float], x: np.ndarray) -> np.ndarray:
    """((c0 x + c1) x + ...) + c_last, each product and sum rounded on its own (as counter_normals.cpp)."""
    out = coefficients[0] * x + coefficients[1]
    for c in coefficients[2:]:
        out = out * x + c
    return out


# fdlibm's e_log.c: log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f / (2 + f).
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_LG = (6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01, 2.222219843214978396e-01,
       1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01)
_SQRT2 = 1.4142135623730951


def log_positive(p: np.ndarray) -> np.ndarray:
    """ln p of positive normal float64 values from +, -, *, / alone (counter_normals.cpp: log_positive)."""
    bits = np.asarray(p, dtype=np.float64).view(np.uint64)
    m = ((bits & np.uint64(0x000FFFFFFFFFFFFF)) | np.uint64(0x3FF0000000000000)).view(np.float64)  # [1, 2)
    halve = m > _SQRT2
    m = np.where(halve, 0.5 * m, m)  # (sqrt(1/2), sqrt(2)]
    e = ((bits >> np.uint64(52)).astype(np.int64) - 1023 + halve).astype(np.float64)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG[1] + w * (_LG[3] + w * _LG[5]))
    t2 = z * (_LG[0] + w * (_LG[2] + w * (_LG[4] + w * _LG[6])))
    hfsq = 0.5 * f * f
    return e * _LN2_HI - ((hfsq - (s * (hfsq + (t2 + t1)) + e * _LN2_LO)) - f)  # e ln 2 + log(1 + f)


def _normal_tail(p: np.ndarray) -> np.ndarray:
    """The lower tail: q = sqrt(-2 ln p) (log_positive, as C++), then a rational function of q."""
    q = np.sqrt(-2.0 * log_positive(p))
    return _horner(_C, q) / (_horner(_D, q) * q + 1.0)


def bits_to_normal(bits: np.ndarray) -> np.ndarray:
    """Standard normal values: the inverse normal CDF at open uniforms (counter_normals.cpp)."""
    p = bits_to_open_uniform(bits)
    q = p - 0.5
    r = q * q
    out = (_horner(_A, r) * q) / (_horner(_B, r) * r + 1.0)  # the central region
    low, high = p < NORMAL_TAIL, p > 1.0 - NORMAL_TAIL
    out[low] = _normal_tail(p[low])
    out[high] = -_normal_tail(bits_to_open_uniform(~bits[high]))  # 1 - p exactly, from the complemented bits
    return out


def shuffled_order(n: int, state: int) -> Tuple[np.ndarray, int]:
    """Fisher-Yates over 0..n-1 with j = floor(draw * (i + 1) / 2^64); returns (order, new state)."""
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        draw, state = splitmix64_next(state)
        j = (draw * (i + 1)) >> 64
        order[i], order[j] = order[j], order[i]
    return np.array(order, dtype=np.int64), state
