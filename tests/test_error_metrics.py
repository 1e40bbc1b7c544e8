"""reconstruction_error(X, per_feature=True, metric=...): each output's elementwise loss, with the
training loss or another metric, against NumPy's."""

import numpy as np
import pytest

from fastae import Autoencoder, VariationalAutoencoder
from fastae.reference import ReferenceAutoencoder, loss_elements

from conftest import DTYPES, THREADS, make_data

METRICS = [None, "mse", "mae", "bce", "huber"]


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("loss", ["bce", "mse"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
def test_per_feature_errors_are_the_elementwise_losses(metric, loss, dtype, n_threads):
    X = make_data(1500, 9)  # more than one 1024-row chunk
    model = Autoencoder(latent_dim=3, hidden=(5,), loss=loss, epochs=2, random_state=0, dtype=dtype,
                        n_threads=n_threads).fit(X)
    ref = ReferenceAutoencoder(model)
    Xd = X.astype(dtype)
    measure = metric or loss
    logits_or_out = (ref.net.output_logits(Xd)[1] if measure == "bce" else ref.reconstruct(Xd))
    want = loss_elements(measure, logits_or_out, Xd).astype(np.float64)
    got = model.reconstruction_error(X, per_feature=True, metric=metric)
    tol = 1e-9 if dtype == "float64" else 1e-4
    assert got.shape == (1500, 9) and got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    np.testing.assert_allclose(model.reconstruction_error(X, metric=metric), got.astype(np.float64).mean(axis=1),
                               rtol=tol, atol=tol)


def test_the_default_metric_is_the_training_loss():
    X = make_data(80, 6)
    model = Autoencoder(latent_dim=2, loss="bce", epochs=1, random_state=0).fit(X)
    assert np.array_equal(model.reconstruction_error(X), model.reconstruction_error(X, metric="bce"))
    assert not np.allclose(model.reconstruction_error(X), model.reconstruction_error(X, metric="mse"))


def test_scaled_models_measure_in_the_scaled_space():
    X = make_data(80, 6) * 40 + 7
    model = Autoencoder(latent_dim=2, scale="standard", output_activation="linear", epochs=1, random_state=0,
                        dtype="float64").fit(X)
    s = model.scaling_
    want = (((model.reconstruct(X) - X) / s.in_scale) ** 2)
    np.testing.assert_allclose(model.reconstruction_error(X, per_feature=True), want, rtol=1e-8, atol=1e-12)


def test_a_vae_and_a_target_give_per_feature_errors_too():
    X = make_data(60, 6)
    vae = VariationalAutoencoder(latent_dim=2, hidden=(4,), epochs=1, random_state=0).fit(X)
    f = vae.reconstruction_error(X, per_feature=True, metric="mse")
    np.testing.assert_allclose(f, (vae.reconstruct(X) - X) ** 2, rtol=1e-4, atol=1e-7)
    T = X[:, :3]
    ae = Autoencoder(latent_dim=2, epochs=1, random_state=0).fit(X, target=T)
    assert ae.reconstruction_error(X, target=T, per_feature=True).shape == (60, 3)


def test_bad_metrics_name_the_argument():
    X = make_data(30, 5)
    model = Autoencoder(latent_dim=2, output_activation="linear", epochs=1).fit(X)
    with pytest.raises(ValueError, match="metric"):
        model.reconstruction_error(X, metric="bce")  # BCE from logits needs a sigmoid output
    with pytest.raises(ValueError, match="metric"):
        model.reconstruction_error(X, metric="rmse")
    with pytest.raises(TypeError, match="per_feature"):
        model.reconstruction_error(X, per_feature="yes")
