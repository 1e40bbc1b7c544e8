"""The output heads in C++ (loss and dL/dz from the output layer's pre-activations), element by
element against float64 formulas, over logits from -100 to 100 and a width that leaves a partial
SIMD packet: BCE from the logits (one fused pass per row, with its own log1p) and sigmoid + MSE,
both through fastae's packet exp."""

import numpy as np
import pytest

from fastae import _core

ROWS, WIDTH = 27, 37  # 37 = 4 packets of 8 floats (or 9 of 4 doubles) and a partial one


def logits(dtype: str) -> np.ndarray:
    return np.linspace(-100, 100, ROWS * WIDTH).reshape(ROWS, WIDTH).astype(dtype)


def targets(z: np.ndarray, kind: str) -> np.ndarray:
    if kind == "labels":  # y = [z > 0]: max(z, 0) - z y is exactly 0, so BCE is log1p(exp(-|z|)) alone
        return (z > 0).astype(z.dtype)
    return np.random.default_rng(0).random(z.shape).astype(z.dtype)


def expected(loss: str, z: np.ndarray, y: np.ndarray):
    z, y = z.astype(np.float64), y.astype(np.float64)
    sigmoid = 1 / (1 + np.exp(-z))
    if loss == "bce":
        return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), sigmoid - y
    return (sigmoid - y) ** 2, 2 * (sigmoid - y) * sigmoid * (1 - sigmoid)


@pytest.mark.parametrize("kind", ["labels", "random"])
@pytest.mark.parametrize("loss", ["bce", "mse"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_heads_match_the_formulas(loss, dtype, kind):
    z = logits(dtype)
    y = targets(z, kind)
    got_loss, got_dz = _core._output_head(loss, "sigmoid", z, y)
    want_loss, want_dz = expected(loss, z, y)
    if dtype == "float32":
        # Random targets: max(z, 0) - z y cancels, with the rounding of z y (about 1e-5 at |z| = 100).
        # Labels: a sigmoid within 6e-8 of 1 rounds to 1, and BCE far out is below float32's smallest normal.
        loss_atol, dz_atol, rtol = (1e-5 if kind == "random" else 1e-7), 2e-7, 1e-6
    else:
        loss_atol, dz_atol, rtol = (1e-13 if kind == "random" else 1e-300), 1e-16, 1e-12
    np.testing.assert_allclose(got_loss, want_loss, rtol=rtol, atol=loss_atol)
    np.testing.assert_allclose(got_dz, want_dz, rtol=rtol, atol=dz_atol)


def test_the_head_check_can_fail():
    z = logits("float32")
    y = targets(z, "labels")
    got_loss, _ = _core._output_head("bce", "sigmoid", z, y)
    want_loss, _ = expected("bce", z, y)
    with pytest.raises(AssertionError):  # a relative error of 1e-5 in one element is caught
        np.testing.assert_allclose(got_loss * np.where(np.arange(z.size) == 500, 1 + 1e-5, 1).reshape(z.shape),
                                   want_loss, rtol=1e-6)
