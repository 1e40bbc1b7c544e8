"""The denoising autoencoder: noise="gaussian" | "masking" | "salt_pepper" with noise_level. The
input noise comes from the counter-based RNG; C++ and the reference draw the same values; the
network learns to reconstruct the clean rows; inference, evaluate and val_loss see no noise."""

import numpy as np
import pytest

import fastae
from fastae import SGD, Adam, Autoencoder, _core
from fastae.reference import add_noise

from conftest import DTYPES, PARITY_TOL, THREADS, make_data, relative_error, trained_pair

KINDS = {"gaussian": 0.2, "masking": 0.3, "salt_pepper": 0.25}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", list(KINDS))
def test_cpp_and_reference_draw_the_same_noise(kind, dtype):
    X = make_data(50, 17).astype(dtype)
    rows = np.random.default_rng(0).permutation(1000)[:50]
    got = _core._noisy_rows(kind, KINDS[kind], 99, 3, rows.tolist(), X)
    want = add_noise(kind, KINDS[kind], 99, 3, rows, X)
    assert got.dtype == dtype and np.array_equal(got, want)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_rows_noise_depends_on_seed_epoch_and_row_alone(kind):
    X = make_data(6, 9)
    rows = np.array([40, 2, 17, 5, 33, 8])
    together = add_noise(kind, KINDS[kind], 5, 1, rows, X)
    for i in range(6):  # alone, or in another order: the same noise
        assert np.array_equal(add_noise(kind, KINDS[kind], 5, 1, rows[i:i + 1], X[i:i + 1])[0], together[i])
    assert not np.array_equal(add_noise(kind, KINDS[kind], 5, 2, rows, X), together)  # the next epoch differs
    assert not np.array_equal(add_noise(kind, KINDS[kind], 6, 1, rows, X), together)  # another seed differs


def test_the_noise_has_the_asked_rates_and_moments():
    """512 x 512 draws; tolerances of about five standard errors."""
    X = np.full((512, 512), 0.5)
    rows = np.arange(512)
    n = X.size
    masked = add_noise("masking", 0.3, 1, 0, rows, X)
    assert abs(np.mean(masked == 0) - 0.3) < 5 * np.sqrt(0.3 * 0.7 / n) and set(np.unique(masked)) == {0.0, 0.5}
    salted = add_noise("salt_pepper", 0.2, 1, 0, rows, X)
    for value in (0.0, 1.0):
        assert abs(np.mean(salted == value) - 0.1) < 5 * np.sqrt(0.1 * 0.9 / n)
    e = add_noise("gaussian", 0.3, 1, 0, rows, X) - X
    assert abs(e.mean()) < 5 * 0.3 / np.sqrt(n) and abs(e.std() - 0.3) < 5 * 0.3 / np.sqrt(2 * n)


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("loss, activation", [("mse", "relu"), ("bce", "tanh"), ("huber", "elu"), ("mae", "sigmoid")])
def test_training_with_noise_matches_the_reference(kind, dtype, n_threads, loss, activation):
    X = make_data(45, 10, seed=3)
    model, reference = trained_pair(X, epochs=3, latent_dim=3, hidden=(6,), activation=activation, loss=loss,
                                    optimizer=Adam(lr=0.01), batch_size=8, dtype=dtype, n_threads=n_threads,
                                    noise=kind, noise_level=KINDS[kind])
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL[dtype]
    np.testing.assert_allclose(model.history_["loss"], reference.history, rtol=1e-5 if dtype == "float32" else 1e-10)


@pytest.mark.parametrize("shuffle", [False, True])
def test_noise_without_shuffle_and_on_a_validation_split(shuffle):
    X = make_data(60, 8, seed=4)
    model, reference = trained_pair(X, epochs=2, latent_dim=3, optimizer=SGD(lr=0.3), batch_size=16,
                                    dtype="float64", shuffle=shuffle, noise="masking", noise_level=0.4)
    assert relative_error(model.get_weights(), reference.get_weights()) < 1e-10


def test_noise_changes_training_and_a_plain_model_is_unchanged():
    X = make_data(80, 10)
    plain = Autoencoder(latent_dim=3, epochs=2, random_state=0, n_threads=1).fit(X).get_weights()
    zero = Autoencoder(latent_dim=3, epochs=2, random_state=0, n_threads=1, noise="gaussian", noise_level=0.0)
    noisy = Autoencoder(latent_dim=3, epochs=2, random_state=0, n_threads=1, noise="gaussian", noise_level=0.1)
    assert all(np.array_equal(a, b) for a, b in zip(zero.fit(X).get_weights(), plain))
    assert not all(np.array_equal(a, b) for a, b in zip(noisy.fit(X).get_weights(), plain))


def test_inference_and_evaluation_see_no_noise():
    X = make_data(80, 10)
    model = Autoencoder(latent_dim=3, epochs=2, random_state=0, noise="salt_pepper", noise_level=0.5,
                        validation_fraction=0.25).fit(X)
    assert np.array_equal(model.reconstruct(X), model.reconstruct(X))
    assert model.evaluate(X) == model.evaluate(X)
    plain_twin = Autoencoder(latent_dim=3, random_state=0).build(10).set_weights(model.get_weights())
    assert model.evaluate(X) == plain_twin.evaluate(X)  # the clean reconstruction loss alone


def test_resuming_draws_what_an_unbroken_fit_would(tmp_path):
    X = make_data(70, 9)
    params = dict(latent_dim=3, epochs=4, random_state=0, n_threads=1, noise="masking", noise_level=0.3)
    whole = Autoencoder(**params).fit(X)
    half = Autoencoder(**params).fit(X, epochs=2)
    half.save(tmp_path / "half.fae")
    resumed = fastae.load(tmp_path / "half.fae").fit(X, epochs=2, resume=True)
    assert all(np.array_equal(a, b) for a, b in zip(resumed.get_weights(), whole.get_weights()))
    assert resumed.history_["loss"] == whole.history_["loss"]


def test_denoising_learns_to_remove_the_noise():
    """Trained on masked rows, the model restores masked test rows better than a plain model does."""
    rng = np.random.default_rng(0)
    codes = rng.random((3000, 4))
    X = np.clip(codes @ rng.random((4, 40)) / 2, 0, 1)
    test = X[2500:]
    noisy = add_noise("masking", 0.4, 123, 0, np.arange(len(test)), test)
    common = dict(latent_dim=8, hidden=(32,), epochs=30, random_state=0, batch_size=64, optimizer=Adam(lr=3e-3))
    plain = Autoencoder(**common).fit(X[:2500])
    denoising = Autoencoder(noise="masking", noise_level=0.4, **common).fit(X[:2500])
    error = lambda m: float(np.mean((m.reconstruct(noisy) - test) ** 2))
    assert error(denoising) < 0.7 * error(plain)


@pytest.mark.parametrize("params, words", [
    (dict(noise="blur"), "noise: unknown"),
    (dict(noise="masking", noise_level=1.0), r"noise_level: masking noise needs a probability in \[0, 1\)"),
    (dict(noise="salt_pepper", noise_level=1.5), "noise_level: salt_pepper noise needs a probability"),
    (dict(noise="gaussian", noise_level=-0.1), "noise_level: must be a finite number >= 0"),
    (dict(noise="gaussian", noise_level=float("nan")), "noise_level: must be a finite number >= 0"),
    (dict(noise=3), "noise"),
])
def test_bad_noise_settings_are_refused_by_name(params, words):
    with pytest.raises((ValueError, TypeError), match=words):
        Autoencoder(**params).fit(make_data(10, 4))


def test_a_gaussian_level_above_one_is_allowed():
    Autoencoder(latent_dim=2, epochs=1, noise="gaussian", noise_level=2.5, loss="mse",
                output_activation="linear").fit(make_data(20, 4))
