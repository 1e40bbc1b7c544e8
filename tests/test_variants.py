"""Every variant, and all of them at once: saved, loaded, pickled, cloned and resumed like the
plain model; combined, C++ still matches the reference."""

import copy
import pickle

import numpy as np
import pytest
from sklearn.base import clone

import fastae
from fastae import Adam, Autoencoder

from conftest import DTYPES, PARITY_TOL, THREADS, make_data, relative_error, trained_pair

VARIANTS = {
    "gaussian": dict(noise="gaussian", noise_level=0.2),
    "masking": dict(noise="masking", noise_level=0.3),
    "salt_pepper": dict(noise="salt_pepper", noise_level=0.2),
    "dropout": dict(dropout=0.3),
    "activity_l1": dict(activity_l1=0.01),
    "kl_sparsity": dict(latent_activation="sigmoid", sparsity_weight=0.2, sparsity_target=0.1),
    "tied": dict(tied_weights=True),
    "contractive": dict(contractive=0.1, hidden=()),
}
ALL = {k: v for params in VARIANTS.values() for k, v in params.items()
       if k not in ("noise", "noise_level", "contractive", "hidden")}  # contractive: see test_contractive.py
ALL.update(noise="salt_pepper", noise_level=0.2)


@pytest.mark.parametrize("name", [*VARIANTS, "all"])
def test_each_variant_saves_loads_pickles_clones_and_resumes(name, tmp_path):
    params = dict(latent_dim=3, hidden=(6,), epochs=4, random_state=0, n_threads=1)
    params.update(VARIANTS.get(name, ALL))
    X = make_data(60, 9)
    whole = Autoencoder(**params).fit(X)
    half = Autoencoder(**params).fit(X, epochs=2)
    half.save(tmp_path / "half.fae")
    loaded = fastae.load(tmp_path / "half.fae")
    assert loaded.get_params() == half.get_params()
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), half.get_weights()))
    loaded.fit(X, epochs=2, resume=True)
    pickled = pickle.loads(pickle.dumps(half)).fit(X, epochs=2, resume=True)
    deep = copy.deepcopy(half).fit(X, epochs=2, resume=True)
    for resumed in (loaded, pickled, deep):
        assert all(np.array_equal(a, b) for a, b in zip(resumed.get_weights(), whole.get_weights()))
        assert resumed.history_ == whole.history_
    fresh = clone(whole)
    assert fresh.get_params() == whole.get_params() and not fresh.__sklearn_is_fitted__()
    assert all(np.array_equal(a, b) for a, b in zip(fresh.fit(X).get_weights(), whole.get_weights()))


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss, activation", [("mse", "relu"), ("bce", "tanh"), ("huber", "elu")])
def test_all_variants_at_once_match_the_reference(loss, activation, dtype, n_threads):
    X = make_data(45, 10, seed=10)
    model, reference = trained_pair(X, epochs=3, latent_dim=3, hidden=(7,), activation=activation, loss=loss,
                                    optimizer=Adam(lr=0.01), batch_size=8, dtype=dtype, n_threads=n_threads, **ALL)
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL[dtype]
    np.testing.assert_allclose(model.history_["loss"], reference.history, rtol=1e-5 if dtype == "float32" else 1e-10)


def test_inference_of_every_variant_is_deterministic_and_measures_reconstruction_alone():
    X = make_data(60, 9)
    model = Autoencoder(latent_dim=3, hidden=(6,), epochs=2, random_state=0, validation_fraction=0.2, **ALL).fit(X)
    twin = Autoencoder(latent_dim=3, hidden=(6,), latent_activation="sigmoid", random_state=0).build(9)
    twin.set_weights(model.get_weights())
    for method in ("encode", "reconstruct", "reconstruction_error"):
        assert np.array_equal(getattr(model, method)(X), getattr(twin, method)(X))
    assert model.evaluate(X) == twin.evaluate(X)
    assert model.history_["loss"][-1] > model.history_["penalty"][-1] > 0
