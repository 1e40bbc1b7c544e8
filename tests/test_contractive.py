"""The contractive penalty (contractive=lambda, Rifai et al., 2011): training adds
lambda * mean over rows of ||d code / d x||_F^2, exact for a one-layer encoder h = f(x W + b):
sum_j f'(z_j)^2 sum_i W_ij^2. Its gradient needs f''; the reference's is checked by finite
differences, C++ against the reference, and both against PyTorch autograd (tests/test_torch.py)."""

import numpy as np
import pytest

from fastae import Adam, Autoencoder
from fastae.reference import Network

from conftest import ACTIVATIONS, DTYPES, PARITY_TOL, THREADS, make_data, relative_error, trained_pair
from test_reference_gradients import check_gradients


def numerical_jacobian_norms(model, X, h=1e-6):
    """Per row, ||d encode / d x||_F^2 by central differences of the model's own encoder (float64)."""
    norms = np.zeros(len(X))
    for i in range(X.shape[1]):
        step = np.zeros_like(X)
        step[:, i] = h
        d = (model.encode(X + step) - model.encode(X - step)) / (2 * h)
        norms += (d ** 2).sum(axis=1)
    return norms


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_penalty_gradient_matches_finite_differences(activation):
    rng = np.random.default_rng(5)
    weights = [rng.normal(0, 0.7, (5, 3)), rng.normal(0, 0.3, 3), rng.normal(0, 0.7, (3, 5)), rng.normal(0, 0.3, 5)]
    net = Network(weights, [activation, "sigmoid"], "mse", code_layer=0, contractive=0.3)
    check_gradients(net, make_data(7, 5))


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "softplus", "linear"])
def test_the_penalty_is_the_mean_squared_jacobian_norm(activation):
    """A frozen model (a learning rate too small to move a float64 weight), one batch: the epoch's
    penalty is lambda * the mean over rows of ||dh/dx||_F^2 measured by finite differences."""
    X = make_data(64, 10)
    model = Autoencoder(latent_dim=4, latent_activation=activation, contractive=0.5, epochs=1, random_state=0,
                        batch_size=64, optimizer="sgd", learning_rate=1e-300, dtype="float64").fit(X)
    want = 0.5 * numerical_jacobian_norms(model, X).mean()
    assert model.history_["penalty"][0] == pytest.approx(want, rel=1e-6)
    assert model.history_["loss"][0] == pytest.approx(model.evaluate(X) + model.history_["penalty"][0], rel=1e-12)


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_training_with_the_penalty_matches_the_reference(loss, activation, dtype, n_threads):
    X = make_data(45, 10, seed=11)
    model, reference = trained_pair(X, epochs=3, latent_dim=4, latent_activation=activation, loss=loss,
                                    optimizer=Adam(lr=0.01), batch_size=8, dtype=dtype, n_threads=n_threads,
                                    contractive=0.1)
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL[dtype]
    np.testing.assert_allclose(model.history_["loss"], reference.history, rtol=1e-5 if dtype == "float32" else 1e-10)


def test_the_penalty_combines_with_tied_weights_noise_and_other_penalties():
    X = make_data(45, 10, seed=12)
    model, reference = trained_pair(X, epochs=3, latent_dim=4, latent_activation="sigmoid", optimizer=Adam(lr=0.01),
                                    batch_size=8, dtype="float64", n_threads=2, contractive=0.1, tied_weights=True,
                                    noise="gaussian", noise_level=0.1, sparsity_weight=0.1, activity_l1=0.01)
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL["float64"]


def test_the_penalty_makes_the_encoder_contract():
    X = make_data(500, 20)
    common = dict(latent_dim=8, latent_activation="sigmoid", epochs=20, random_state=0, dtype="float64",
                  batch_size=32, learning_rate=1e-2)
    plain = Autoencoder(**common).fit(X)
    contracted = Autoencoder(contractive=0.5, **common).fit(X)
    assert numerical_jacobian_norms(contracted, X[:50]).mean() < 0.5 * numerical_jacobian_norms(plain, X[:50]).mean()


@pytest.mark.parametrize("params, words", [
    (dict(contractive=0.1, hidden=(6,)), r"contractive: .* one-layer encoder \(hidden=\(\)\), not hidden=\(6,\)"),
    (dict(contractive=-0.1), "contractive: must be a finite number >= 0"),
    (dict(contractive=float("inf")), "contractive: must be a finite number >= 0"),
    (dict(contractive="0.1"), "contractive"),
])
def test_bad_contractive_settings_are_refused_by_name(params, words):
    with pytest.raises((ValueError, TypeError), match=words):
        Autoencoder(latent_dim=2, **params).fit(make_data(10, 6))
