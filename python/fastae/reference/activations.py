"""Activations and their derivatives (from the outputs), as activation.hpp."""

from __future__ import annotations

import numpy as np


LEAKY_SLOPE = 0.01
ELU_ALPHA = 1.0


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Overflow-safe logistic: with e = exp(-|z|), 1/(1+e) for z >= 0 and e/(1+e) otherwise."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def activate(name: str, z: np.ndarray) -> np.ndarray:
    if name == "linear":
        return z.copy()
    if name == "relu":
        return np.maximum(z, 0)
    if name == "leaky_relu":
        return np.where(z > 0, z, z.dtype.type(LEAKY_SLOPE) * z)
    if name == "elu":
        return np.where(z > 0, z, z.dtype.type(ELU_ALPHA) * np.expm1(z))
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return sigmoid(z)
    if name == "softplus":
        return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))  # log(1 + e^z), overflow-safe
    raise ValueError(f"activation: unknown name {name!r}")


def activation_derivative(name: str, a: np.ndarray) -> np.ndarray:
    """f'(z) written from the output a = f(z)."""
    one = a.dtype.type(1)
    if name == "linear":
        return np.ones_like(a)
    if name == "relu":
        return (a > 0).astype(a.dtype)
    if name == "leaky_relu":
        return np.where(a > 0, one, a.dtype.type(LEAKY_SLOPE))
    if name == "elu":
        return np.where(a > 0, one, a + a.dtype.type(ELU_ALPHA))  # alpha e^z = a + alpha
    if name == "tanh":
        return one - a * a
    if name == "sigmoid":
        return a * (one - a)
    if name == "softplus":
        return -np.expm1(-a)  # sigmoid(z) = 1 - e^-a
    raise ValueError(f"activation: unknown name {name!r}")


def activation_second_derivative(name: str, a: np.ndarray) -> np.ndarray:
    """f''(z) written from the output a = f(z), in float64 (the contractive penalty's gradient)."""
    a = a.astype(np.float64)
    if name in ("linear", "relu", "leaky_relu"):
        return np.zeros_like(a)
    if name == "elu":
        return np.where(a > 0, 0.0, a + ELU_ALPHA)  # alpha e^z
    if name == "tanh":
        return -2 * a * (1 - a * a)  # -2 f f'
    if name == "sigmoid":
        return a * (1 - a) * (1 - 2 * a)  # f' (1 - 2 f)
    if name == "softplus":
        sig = -np.expm1(-a)
        return sig * (1 - sig)  # sigmoid'(z)
    raise ValueError(f"activation: unknown name {name!r}")
