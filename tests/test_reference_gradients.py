"""The NumPy reference's gradients against central finite differences, in float64."""

import numpy as np
import pytest

from fastae.reference import Network

from conftest import ACTIVATIONS, LOSSES, make_data


def random_network(activation: str, output_activation: str, loss: str, seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    sizes = [5, 4, 3, 4, 5]
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        weights += [rng.normal(0, 0.7, (fan_in, fan_out)), rng.normal(0, 0.3, fan_out)]
    return Network(weights, [activation, activation, activation, output_activation], loss)


def numerical_gradients(net: Network, X: np.ndarray, h: float = 1e-6, target=None, keys=None, *extra):
    """Central differences of net.loss_and_gradients(X, target, keys, *extra)'s objective."""
    grads = []
    for w in net.weights:
        g = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            saved = w[idx]
            w[idx] = saved + h
            plus, _ = net.loss_and_gradients(X, target, keys, *extra)
            w[idx] = saved - h
            minus, _ = net.loss_and_gradients(X, target, keys, *extra)
            w[idx] = saved
            g[idx] = (plus - minus) / (2 * h)  # (L(w + h) - L(w - h)) / 2h
        grads.append(g)
    return grads


def check_gradients(net: Network, X: np.ndarray, target=None, keys=None) -> None:
    """The objective's gradient against finite differences (keys: the dropout masks' RNG keys)."""
    _, analytic = net.loss_and_gradients(X, target, keys)
    numeric = numerical_gradients(net, X, target=target, keys=keys)
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-8, err_msg=f"gradient {i}")


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", LOSSES)
def test_gradients_match_finite_differences(activation, loss):
    X = make_data(6, 5, seed=1)
    check_gradients(random_network(activation, "sigmoid", loss), X)


@pytest.mark.parametrize("output_activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_output_activation_gradients(output_activation, loss):
    X = make_data(6, 5, seed=2) * 3 - 1  # targets beyond [0, 1] reach the huber/mae branches
    check_gradients(random_network("tanh", output_activation, loss, seed=3), X)


def test_finite_difference_check_detects_a_wrong_gradient():
    """The check above can fail: a network whose relu derivative is wrong is caught."""
    import fastae.reference.network as ref  # where the network looks the derivative up

    net = random_network("relu", "sigmoid", "mse")
    X = make_data(6, 5, seed=1)
    original = ref.activation_derivative
    try:
        ref.activation_derivative = lambda name, a: np.ones_like(a)  # the linear derivative everywhere
        with pytest.raises(AssertionError):
            check_gradients(net, X)
    finally:
        ref.activation_derivative = original
