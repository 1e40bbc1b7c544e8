"""Scaling inside the model (scale="standard" | "minmax"): the statistics of the training rows,
applied by C++ to inputs and targets as batches are gathered, undone on what the model returns;
against the NumPy reference on pre-scaled data, over dtype x threads x loss."""

import tracemalloc

import numpy as np
import pytest

import fastae
from fastae import Autoencoder, VariationalAutoencoder
from fastae.reference import ReferenceAutoencoder

from conftest import DTYPES, PARITY_TOL, THREADS, make_data, relative_error


def tabular(n=120, d=7, seed=0):
    rng = np.random.default_rng(seed)
    X = make_data(n, d, seed) * rng.uniform(1, 50, d) + rng.uniform(-100, 100, d)  # columns far from [0, 1]
    X[:, 3] = 4.25  # a constant column
    return X


def scaled_pair(X, epochs=3, **params):
    params = {"latent_dim": 3, "hidden": (6,), "random_state": 0, "batch_size": 16, **params}
    model = Autoencoder(**params).fit(X, epochs=0)  # built, with the statistics of X
    reference = ReferenceAutoencoder(model)
    model.set_params(warm_start=True).fit(X, epochs=epochs)
    reference.fit(X, epochs)
    return model, reference


@pytest.mark.parametrize("scale", ["standard", "minmax"])
def test_the_statistics_are_the_training_rows(scale):
    X = tabular()
    model = Autoencoder(latent_dim=2, scale=scale, loss="mse", epochs=0, dtype="float64").fit(X)
    s = model.scaling_
    if scale == "standard":
        np.testing.assert_allclose(s.in_shift, X.mean(axis=0), rtol=1e-12)
        want = X.std(axis=0)
        want[3] = 1.0  # zero variance: scale 1
        np.testing.assert_allclose(s.in_scale, want, rtol=1e-10)
    else:
        np.testing.assert_array_equal(s.in_shift, X.min(axis=0))
        want = np.ptp(X, axis=0)
        want[3] = 1.0
        np.testing.assert_array_equal(s.in_scale, want)
    assert s.out_shift is s.in_shift or np.array_equal(s.out_shift, s.in_shift)


def test_a_validation_split_leaves_its_rows_out_of_the_statistics():
    X = tabular(200)
    model = Autoencoder(latent_dim=2, scale="standard", loss="mse", epochs=1, validation_fraction=0.25,
                        random_state=0, dtype="float64").fit(X)
    train_rows, _ = model._split(X, 0.25)
    np.testing.assert_allclose(model.scaling_.in_shift, X[train_rows].mean(axis=0), rtol=1e-12)


@pytest.mark.parametrize("scale, loss", [("standard", "mse"), ("minmax", "mse"), ("minmax", "bce"),
                                         ("standard", "huber"), ("minmax", "mae")])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
def test_cpp_matches_the_reference(scale, loss, dtype, n_threads):
    X = tabular()
    out = "sigmoid" if loss == "bce" else "linear"
    model, reference = scaled_pair(X, scale=scale, loss=loss, output_activation=out, dtype=dtype, n_threads=n_threads)
    tol = PARITY_TOL[dtype]
    assert relative_error(model.get_weights(), reference.get_weights()) < tol
    np.testing.assert_allclose(model.history_["loss"], reference.history, rtol=tol * 10)
    assert relative_error([model.reconstruct(X)], [reference.reconstruct(X)]) < tol * 10
    assert relative_error([model.encode(X)], [reference.encode(X)]) < tol * 10
    np.testing.assert_allclose(model.reconstruction_error(X), reference.reconstruction_error(X), rtol=tol * 100,
                               atol=tol)


def test_outputs_are_in_the_data_s_units_and_losses_in_the_scaled_space():
    X = tabular()
    model = Autoencoder(latent_dim=6, loss="mse", output_activation="linear", scale="standard", dtype="float64",
                        epochs=300, batch_size=32, random_state=0, learning_rate=1e-2).fit(X)
    R = model.reconstruct(X)
    assert np.abs(R - X).max() < 0.05 * np.abs(X).max()  # the original units
    scaled_error = np.mean(((R - X) / model.scaling_.in_scale) ** 2, axis=1)
    np.testing.assert_allclose(model.reconstruction_error(X), scaled_error, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(model.decode(model.encode(X)), R, rtol=1e-12)


def test_minmax_with_bce_clips_targets_beyond_the_training_range():
    X = tabular()
    model = Autoencoder(latent_dim=3, scale="minmax", loss="bce", epochs=2, random_state=0).fit(X)
    far = X * 3  # outside the training range: its targets are clipped into [0, 1], not refused
    ref = ReferenceAutoencoder(model)
    np.testing.assert_allclose(model.reconstruction_error(far), ref.reconstruction_error(far), rtol=1e-4)
    assert np.all(np.isfinite(model.reconstruction_error(far)))


def test_no_scaled_copy_of_x_is_made_in_training():
    X = np.random.default_rng(0).random((40_000, 50))  # 16 MB of float64
    model = Autoencoder(latent_dim=4, scale="standard", loss="mse", dtype="float64", epochs=1, random_state=0,
                        batch_size=256).fit(X[:100])
    tracemalloc.start()
    model.set_params(warm_start=True).fit(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < X.nbytes / 4


def test_partial_fit_takes_the_statistics_of_its_first_call_and_keeps_them():
    X = tabular()
    model = Autoencoder(latent_dim=2, scale="minmax", loss="mse", random_state=0, dtype="float64").partial_fit(X[:60])
    np.testing.assert_array_equal(model.scaling_.in_shift, X[:60].min(axis=0))
    model.partial_fit(X)
    np.testing.assert_array_equal(model.scaling_.in_shift, X[:60].min(axis=0))


def test_saved_loaded_pickled_and_resumed_with_the_same_statistics(tmp_path):
    import pickle
    X = tabular()
    params = dict(latent_dim=2, hidden=(5,), scale="standard", loss="mse", epochs=4, random_state=0, n_threads=2)
    whole = Autoencoder(**params).fit(X)
    half = Autoencoder(**params).fit(X, epochs=2)
    half.save(tmp_path / "m.fae")
    for resumed in (fastae.load(tmp_path / "m.fae"), pickle.loads(pickle.dumps(half))):
        np.testing.assert_array_equal(resumed.scaling_.in_scale, half.scaling_.in_scale)
        resumed.fit(X, epochs=2, resume=True)
        assert all(np.array_equal(a, b) for a, b in zip(resumed.get_weights(), whole.get_weights()))
        assert np.array_equal(resumed.reconstruct(X), whole.reconstruct(X))


def test_a_vae_scales_too():
    X = tabular()
    vae = VariationalAutoencoder(latent_dim=2, hidden=(6,), scale="minmax", epochs=3, random_state=0,
                                 dtype="float64").fit(X)
    assert vae.scaling_ is not None and np.all(np.isfinite(vae.elbo(X * 2)))
    lo, hi = X.min(axis=0), X.max(axis=0)
    S = vae.sample(50, random_state=0)
    hi[3] += 1.0  # the constant column's range is [4.25, 4.25 + scale 1]
    assert np.all(S >= lo - 1e-9) and np.all(S <= hi + 1e-9)  # a sigmoid output, unscaled to the training range


def test_a_target_gets_its_own_statistics():
    X = tabular()
    T = X[:, :4] * 10 + 3
    model = Autoencoder(latent_dim=2, scale="standard", loss="mse", output_activation="linear", epochs=1,
                        random_state=0, dtype="float64").fit(X, target=T)
    np.testing.assert_allclose(model.scaling_.out_shift, T.mean(axis=0), rtol=1e-12)
    assert model.reconstruct(X).shape == (len(X), 4)


@pytest.mark.parametrize("params, name", [(dict(scale="robust"), "scale"), (dict(scale="standard", loss="bce"), "scale"),
                                          (dict(scale=3), "scale")])
def test_bad_scale_names_the_argument(params, name):
    with pytest.raises((ValueError, TypeError), match=name):
        Autoencoder(**params).fit(make_data(20, 4))


def test_changing_scale_needs_a_fresh_fit():
    X = tabular()
    model = Autoencoder(latent_dim=2, scale="standard", loss="mse", epochs=1).fit(X)
    with pytest.raises(ValueError, match="scale"):
        model.set_params(scale="minmax", warm_start=True).fit(X)
