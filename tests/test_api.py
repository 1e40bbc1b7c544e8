"""The Python API of DESIGN.md section 3: shapes, return values, warm starts, no copies."""

import copy
import pickle
import tracemalloc

import numpy as np
import pytest

import fastae
from fastae import SGD, Adam, Autoencoder
from fastae.reference import ReferenceAutoencoder

from conftest import make_data, relative_error


@pytest.fixture
def X():
    return make_data(200, 12, seed=1)


def test_public_names():
    for name in ["Autoencoder", "load", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW"]:
        assert hasattr(fastae, name)


def test_fit_returns_self_and_records_history(X):
    model = Autoencoder(latent_dim=4, hidden=(8,), epochs=5, random_state=0)
    assert model.fit(X) is model
    assert len(model.history_["loss"]) == 5
    assert model.history_["loss"][-1] < model.history_["loss"][0]
    assert model.n_features_in_ == 12
    model.fit(X, epochs=2)
    assert len(model.history_["loss"]) == 2  # a new fit starts afresh, epochs overrides


def test_output_shapes_and_aliases(X):
    model = Autoencoder(latent_dim=4, hidden=(8, 6), epochs=2, random_state=0).fit(X)
    Z = model.encode(X)
    assert Z.shape == (200, 4) and Z.dtype == np.float32
    assert np.array_equal(model.transform(X), Z)
    R = model.decode(Z)
    assert R.shape == (200, 12)
    assert np.array_equal(model.inverse_transform(Z), R)
    assert np.array_equal(model.reconstruct(X), R)
    assert np.array_equal(model.predict(X), R)
    assert ((R > 0) & (R < 1)).all()  # the sigmoid output
    errors = model.reconstruction_error(X)
    assert errors.shape == (200,)
    assert model.evaluate(X) == pytest.approx(errors.mean(), rel=1e-12)
    assert model.score(X) == -model.evaluate(X)
    assert model.evaluate(X) == pytest.approx(float(np.mean((R.astype(np.float64) - X) ** 2)), rel=1e-5)


def test_weights_layout_and_roundtrip(X):
    model = Autoencoder(latent_dim=4, hidden=(8,), epochs=1, random_state=0).fit(X)
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(12, 8), (8,), (8, 4), (4,), (4, 8), (8,), (8, 12), (12,)]
    Z = np.maximum(X @ weights[0] + weights[1], 0) @ weights[2] + weights[3]  # relu hidden, linear code
    np.testing.assert_allclose(model.encode(X), Z, rtol=1e-5, atol=1e-6)
    changed = [w * 0.5 for w in weights]
    model.set_weights(changed)
    assert all(np.allclose(a, b) for a, b in zip(model.get_weights(), changed))


def test_build_initialises_glorot_uniform_and_zero_biases():
    model = Autoencoder(latent_dim=50, hidden=(300,), random_state=0)
    assert model.build(400) is model
    W1, b1, W2, b2 = model.get_weights()[:4]
    limit = np.sqrt(6 / (400 + 300))
    assert np.abs(W1).max() <= limit and np.abs(W1).max() > 0.99 * limit
    assert abs(W1.std() - limit / np.sqrt(3)) < 0.01 * limit  # the std of U(-l, l) is l / sqrt(3)
    assert not b1.any() and not b2.any()
    assert model.history_ == {"loss": [], "lr": []}


def test_fit_starts_afresh_unless_warm_start(X):
    model = Autoencoder(latent_dim=4, epochs=2, random_state=0)
    first = model.fit(X).get_weights()
    again = model.fit(X).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    model.set_params(warm_start=True).fit(X)
    assert not np.array_equal(model.get_weights()[0], first[0])


def test_warm_start_continues_from_set_weights_with_a_fresh_optimizer(X):
    model = Autoencoder(latent_dim=4, epochs=2, random_state=0, warm_start=True, dtype="float64").build(12)
    start = [w * 0.9 for w in model.get_weights()]
    model.set_weights(start)
    reference = ReferenceAutoencoder(model)  # fresh optimizer state, the set weights
    model.fit(X)
    reference.fit(X, 2)
    assert relative_error(model.get_weights(), reference.get_weights()) < 1e-10


def test_partial_fit_keeps_optimizer_state(X):
    """Three partial_fit calls are bitwise the same as fit(epochs=3)."""
    whole = Autoencoder(latent_dim=4, epochs=3, random_state=5).fit(X)
    steps = Autoencoder(latent_dim=4, random_state=5)
    for _ in range(3):
        steps.partial_fit(X)
    assert all(np.array_equal(a, b) for a, b in zip(whole.get_weights(), steps.get_weights()))
    assert steps.history_["loss"] == whole.history_["loss"]


def test_partial_fit_refuses_a_changed_architecture(X):
    model = Autoencoder(latent_dim=4, random_state=0).fit(X)
    model.set_params(latent_dim=5)
    with pytest.raises(ValueError, match="latent_dim changed"):
        model.partial_fit(X)


def test_last_partial_batch_is_used():
    """201 rows in batches of 100: the last row still trains (its removal changes the result)."""
    X = make_data(201, 12, seed=2)
    full = Autoencoder(latent_dim=4, batch_size=100, epochs=1, shuffle=False, random_state=0).fit(X)
    cut = Autoencoder(latent_dim=4, batch_size=100, epochs=1, shuffle=False, random_state=0).fit(X[:200])
    assert not np.array_equal(full.get_weights()[0], cut.get_weights()[0])


def test_validation_history(X):
    X_val = make_data(50, 12, seed=3)
    model = Autoencoder(latent_dim=4, epochs=3, random_state=0).fit(X, validation_data=X_val)
    assert len(model.history_["val_loss"]) == 3
    assert model.history_["val_loss"][-1] == pytest.approx(model.evaluate(X_val), rel=1e-12)


def test_callbacks_see_each_epoch_and_can_stop(X):
    seen = []

    class Stopper:
        def on_train_begin(self, model):
            self.model = model

        def on_epoch_end(self, epoch, logs):
            seen.append((epoch, sorted(logs)))
            if epoch == 1:
                self.model.stop_training = True

    model = Autoencoder(latent_dim=4, epochs=10, random_state=0).fit(X, callbacks=[Stopper()])
    assert seen == [(0, ["loss", "lr", "seconds"]), (1, ["loss", "lr", "seconds"])]
    assert len(model.history_["loss"]) == 2


def test_verbose_prints_only_when_asked(X, capsys):
    Autoencoder(latent_dim=4, epochs=2, random_state=0).fit(X)
    assert capsys.readouterr().out == ""
    Autoencoder(latent_dim=4, epochs=2, random_state=0, verbose=1).fit(X)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[0].startswith("epoch 1/2  loss ")


def test_accepts_array_likes(X):
    rows = X[:20].tolist()
    model = Autoencoder(latent_dim=2, epochs=1, random_state=0).fit(rows)
    assert model.encode(rows).shape == (20, 2)
    assert model.encode((X[:5] > 0.5)).shape == (5, 2)  # booleans convert
    assert model.encode(np.asfortranarray(X[:5])).shape == (5, 2)


def test_c_contiguous_input_of_the_model_dtype_is_not_copied():
    """Peak traced memory during fit stays far below the size of X; a float64 X (which must be
    converted once) shows the copy, so the measurement can see one."""
    X = make_data(40000, 100, seed=4).astype(np.float32)  # 16 MB
    model = Autoencoder(latent_dim=8, epochs=1, random_state=0, warm_start=True).build(100)
    assert fastae._core.data_address(X) == X.ctypes.data  # C++ sees X's own memory

    def peak_during_fit(data):
        tracemalloc.start()
        try:
            model.fit(data)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert peak_during_fit(X) < 0.05 * X.nbytes
    assert peak_during_fit(X.astype(np.float64)) > 0.9 * X.nbytes  # the one deliberate conversion


def test_divergence_restores_the_last_good_weights():
    X = make_data(64, 12, seed=5) * 1e3
    model = Autoencoder(latent_dim=4, output_activation="linear", optimizer=SGD(lr=1e6), epochs=5, random_state=0,
                        warm_start=True).build(12)
    good = [model.get_weights()]

    class Keep:
        def on_epoch_end(self, epoch, logs):
            good.append(model.get_weights())

    with pytest.raises(FloatingPointError) as info:
        model.fit(X, callbacks=[Keep()])
    assert f"diverged in epoch {len(good)}" in str(info.value)  # the epoch after the last good one
    assert all(np.array_equal(a, b) for a, b in zip(good[-1], model.get_weights()))
    assert len(model.history_["loss"]) == len(good) - 1
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_get_and_set_params():
    model = Autoencoder(latent_dim=7, optimizer=Adam(lr=0.01))
    params = model.get_params()
    assert params["latent_dim"] == 7 and params["optimizer"] == Adam(lr=0.01)
    assert set(params) >= {"latent_dim", "hidden", "activation", "loss", "optimizer", "batch_size", "n_threads"}
    assert model.set_params(latent_dim=3, epochs=2) is model
    assert model.latent_dim == 3
    assert "latent_dim=3" in repr(model)
    assert Autoencoder(**model.get_params(deep=False)).get_params() == model.get_params()
    assert params["optimizer__lr"] == 0.01  # deep: the optimizer's own hyperparameters
    original = model.optimizer
    model.set_params(optimizer__lr=0.5, optimizer__amsgrad=True)
    assert model.optimizer == Adam(lr=0.5, amsgrad=True) and original == Adam(lr=0.01)  # a changed copy
    with pytest.raises(ValueError, match="optimizer__lr needs an optimizer instance"):
        Autoencoder(optimizer="adam").set_params(optimizer__lr=0.1)
    with pytest.raises(ValueError, match="unknown parameter 'momentum'"):
        model.set_params(optimizer__momentum=0.9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pickle_and_deepcopy_predict_identically(X, dtype):
    model = Autoencoder(latent_dim=4, epochs=2, random_state=0, dtype=dtype).fit(X)
    for other in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert np.array_equal(other.reconstruct(X), model.reconstruct(X))
        assert other.history_ == model.history_
    unfitted = pickle.loads(pickle.dumps(Autoencoder(latent_dim=3)))
    assert unfitted.latent_dim == 3


def test_float64_models(X):
    model = Autoencoder(latent_dim=4, epochs=2, dtype="float64", random_state=0).fit(X)
    assert model.encode(X).dtype == np.float64
    assert model.get_weights()[0].dtype == np.float64


def test_bce_reconstruction_error_is_from_the_logits(X):
    model = Autoencoder(latent_dim=4, epochs=2, loss="bce", dtype="float64", random_state=0).fit(X)
    R = model.reconstruct(X)
    naive = -(X * np.log(R) + (1 - X) * np.log(1 - R))  # fine here: R is far from 0 and 1
    np.testing.assert_allclose(model.reconstruction_error(X), naive.mean(axis=1), rtol=1e-9)
