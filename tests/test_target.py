"""fit(X, target=T): learning to produce row i of T from row i of X (users' own noisy/clean pairs,
or any mapping of the same rows), T possibly of another width. partial_fit, evaluate,
reconstruction_error and validation_data take the target too; a 2-D y that looks like one warns."""

import warnings

import numpy as np
import pytest

import fastae
from fastae import Adam, Autoencoder
from fastae.reference import ReferenceAutoencoder

from conftest import DTYPES, PARITY_TOL, THREADS, make_data, relative_error


def pair(n=60, width=4, seed=0):
    X = make_data(n, 10, seed=seed)
    return X, make_data(n, width, seed=seed + 1)


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", ["mse", "bce", "mae"])
@pytest.mark.parametrize("width", [4, 10, 13])
def test_training_to_a_target_matches_the_reference(width, loss, dtype, n_threads):
    X, T = pair(45, width, seed=2)
    model = Autoencoder(latent_dim=3, hidden=(6,), activation="tanh", loss=loss, optimizer=Adam(lr=0.01),
                        batch_size=8, dtype=dtype, n_threads=n_threads, random_state=0, dropout=0.2,
                        noise="masking", noise_level=0.2).build(10, width)
    reference = ReferenceAutoencoder(model)
    model.set_params(warm_start=True).fit(X, target=T, epochs=3)
    reference.fit(X, 3, target=T)
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL[dtype]
    np.testing.assert_allclose(model.history_["loss"], reference.history, rtol=1e-5 if dtype == "float32" else 1e-10)
    np.testing.assert_allclose(model.reconstruction_error(X, target=T), reference.reconstruction_error(X, T),
                               rtol=1e-4 if dtype == "float32" else 1e-10)


def test_the_output_has_the_targets_width():
    X, T = pair(width=4)
    model = Autoencoder(latent_dim=3, epochs=2, random_state=0).fit(X, target=T)
    assert model.n_features_in_ == 10 and model.n_outputs_ == 4 and model.layer_sizes_ == [10, 3, 4]
    assert model.reconstruct(X).shape == model.predict(X).shape == (60, 4)
    assert model.decode(model.encode(X)).shape == (60, 4)
    assert model.evaluate(X, target=T) == pytest.approx(np.mean(model.reconstruction_error(X, target=T)))


def test_the_target_being_x_is_the_plain_autoencoder():
    X = make_data(50, 8)
    common = dict(latent_dim=3, epochs=2, random_state=0, n_threads=1)
    plain = Autoencoder(**common).fit(X)
    mapped = Autoencoder(**common).fit(X, target=X.copy())
    assert all(np.array_equal(a, b) for a, b in zip(plain.get_weights(), mapped.get_weights()))
    assert plain.history_["loss"] == mapped.history_["loss"]


def test_a_model_with_another_width_needs_its_target_everywhere():
    X, T = pair(width=4)
    model = Autoencoder(latent_dim=3, epochs=1, random_state=0).fit(X, target=T)
    for call in (lambda: model.evaluate(X), lambda: model.reconstruction_error(X),
                 lambda: model.partial_fit(X), lambda: model.set_params(warm_start=True).fit(X)):
        with pytest.raises(ValueError, match=r"target: the model was built to produce 4 columns from X's 10; .* target="):
            call()
    model.partial_fit(X, target=T)
    assert len(model.history_["loss"]) == 2


def test_validation_data_is_a_pair_and_the_fraction_splits_the_target():
    X, T = pair(80, 4)
    model = Autoencoder(latent_dim=3, epochs=3, random_state=0).fit(X[:60], target=T[:60],
                                                                     validation_data=(X[60:], T[60:]))
    assert model.history_["val_loss"][-1] == pytest.approx(model.evaluate(X[60:], target=T[60:]), rel=1e-12)
    split = Autoencoder(latent_dim=3, epochs=3, random_state=0, validation_fraction=0.25).fit(X, target=T)
    held_out = split._split(X, 0.25)[1]
    assert split.history_["val_loss"][-1] == pytest.approx(split.evaluate(X[held_out], target=T[held_out]), rel=1e-6)
    with pytest.raises(ValueError, match=r"validation_data: the model is trained with a target; pass \(X_val, target_val\)"):
        Autoencoder(latent_dim=3, epochs=1).fit(X, target=T, validation_data=X)
    with pytest.raises(ValueError, match="validation_data"):
        Autoencoder(latent_dim=3, epochs=1).fit(X, target=T, validation_data=(X, T, T))
    with pytest.raises(ValueError, match=r"validation_data\[1\]"):
        Autoencoder(latent_dim=3, epochs=1).fit(X, target=T, validation_data=(X, T[:, :3]))


def test_noisy_clean_pairs_as_y_warn_and_name_target():
    X, T = pair(width=10)
    with pytest.warns(UserWarning, match=r"y is ignored .* fit\(X, target=\.\.\.\)"):
        Autoencoder(latent_dim=3, epochs=1).fit(X, T)
    with pytest.warns(UserWarning, match=r"partial_fit\(X, target=\.\.\.\)"):
        Autoencoder(latent_dim=3).partial_fit(X, T)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scikit-learn's 1-D labels in a Pipeline stay silent
        Autoencoder(latent_dim=3, epochs=1).fit(X, np.arange(60))
        Autoencoder(latent_dim=3, epochs=1).fit(X, T[:5])  # not the same rows: not a target


@pytest.mark.parametrize("bad, words", [
    (lambda T: T[:50], "target: has 50 rows, but X has 60"),
    (lambda T: np.where(np.arange(T.size).reshape(T.shape) == 17, np.nan, T), "target: .*NaN"),
    (lambda T: T[:, 0], "target: expected a 2-D array"),
    (lambda T: "clean", "target"),
    (lambda T: T * 3, r"target: loss='bce' needs values in \[0, 1\]"),
])
def test_bad_targets_are_refused_by_name(bad, words):
    X, T = pair()
    with pytest.raises((ValueError, TypeError), match=words):
        Autoencoder(latent_dim=3, epochs=1, loss="bce").fit(X, target=bad(T))


def test_partial_fit_checks_the_target_of_a_built_model():
    X, T = pair()
    model = Autoencoder(latent_dim=3, random_state=0).partial_fit(X, target=T)
    before = model.get_weights()
    bad = T.copy()
    bad[37, 2] = np.inf
    with pytest.raises(ValueError, match="target"):
        model.partial_fit(X, target=bad)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # nothing lost
    with pytest.raises(ValueError, match="target"):
        model.partial_fit(X, target=T[:, :3])


def test_save_load_and_pickle_keep_the_output_width(tmp_path):
    import pickle
    X, T = pair(width=6)
    model = Autoencoder(latent_dim=3, epochs=2, random_state=0).fit(X, target=T)
    model.save(tmp_path / "m.fae")
    for copy in (fastae.load(tmp_path / "m.fae"), pickle.loads(pickle.dumps(model))):
        assert copy.n_outputs_ == 6
        assert np.array_equal(copy.reconstruct(X), model.reconstruct(X))
        copy.fit(X, target=T, epochs=1, resume=True)
    whole = Autoencoder(latent_dim=3, epochs=3, random_state=0).fit(X, target=T)
    resumed = fastae.load(tmp_path / "m.fae").fit(X, target=T, epochs=1, resume=True)
    assert all(np.array_equal(a, b) for a, b in zip(resumed.get_weights(), whole.get_weights()))
