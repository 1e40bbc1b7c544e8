"""Tied weights (tied_weights=True): decoder layer k uses the transpose of the W of the encoder
layer it mirrors, with its own bias. get_weights keeps its shape (the decoder matrices are the
transposes); set_weights and load refuse a list whose pair differs."""

import pickle

import numpy as np
import pytest

import fastae
from fastae import SGD, Adam, Autoencoder
from fastae.reference import Network

from conftest import DTYPES, PARITY_TOL, THREADS, make_data, relative_error, trained_pair


def assert_tied(model):
    w = model.get_weights()
    layers = model.spec_.layers
    for d, s in enumerate(layers):
        if s.tied_to is not None:
            assert np.array_equal(w[2 * d], w[2 * s.tied_to].T), s.name
    return w


def test_the_gradient_with_tied_weights_matches_finite_differences():
    """The objective as a function of the encoder W alone (the decoder W follow them)."""
    rng = np.random.default_rng(4)
    sizes = [5, 4, 3, 4, 5]
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        weights += [rng.normal(0, 0.7, (fan_in, fan_out)), rng.normal(0, 0.3, fan_out)]
    net = Network(weights, ["tanh", "sigmoid", "tanh", "sigmoid"], "mse", mirror=[-1, -1, 1, 0])
    net.tie()
    X = make_data(7, 5)
    _, analytic = net.loss_and_gradients(X)
    h = 1e-6
    for i in (0, 1, 2, 3, 5, 7):  # W1, b1, W2, b2 and the decoder's own biases
        w = net.weights[i]
        numeric = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            saved = w[idx]
            values = []
            for step in (h, -h):
                w[idx] = saved + step
                net.tie()
                values.append(net.loss_and_gradients(X)[0])
            w[idx] = saved
            net.tie()
            numeric[idx] = (values[0] - values[1]) / (2 * h)
        np.testing.assert_allclose(analytic[i], numeric, rtol=1e-5, atol=1e-8, err_msg=f"gradient {i}")
    assert not analytic[4].any() and not analytic[6].any()  # the decoder W have no gradient of their own


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss, hidden", [("mse", ()), ("bce", (7,)), ("huber", (8, 5))])
@pytest.mark.parametrize("optimizer", [Adam(lr=0.01, weight_decay=0.01), SGD(lr=0.2, momentum=0.9)])
def test_training_with_tied_weights_matches_the_reference(loss, hidden, dtype, n_threads, optimizer):
    X = make_data(45, 10, seed=9)
    model, reference = trained_pair(X, epochs=3, latent_dim=3, hidden=hidden, activation="tanh", loss=loss,
                                    optimizer=optimizer, batch_size=8, dtype=dtype, n_threads=n_threads,
                                    tied_weights=True, clip_norm=0.5)
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL[dtype]
    assert_tied(model)


def test_wide_layers_stay_tied_through_the_packed_panels():
    """784-128-32 float32 at 2 threads: the sizes whose W and W^T C++ keeps packed for sgemm."""
    X = np.random.default_rng(0).random((300, 784), dtype=np.float32)
    model, reference = trained_pair(X, epochs=2, latent_dim=32, hidden=(128,), batch_size=64, n_threads=2,
                                    tied_weights=True, optimizer=Adam(lr=1e-3))
    assert relative_error(model.get_weights(), reference.get_weights()) < 1e-4
    assert_tied(model)


def test_a_tied_model_starts_tied_and_has_todays_weight_list():
    model = Autoencoder(latent_dim=3, hidden=(6,), tied_weights=True, random_state=0).build(10)
    w = assert_tied(model)
    assert [a.shape for a in w] == [(10, 6), (6,), (6, 3), (3,), (3, 6), (6,), (6, 10), (10,)]
    assert model.spec_.mirror == [-1, -1, 1, 0]
    lines = []
    model.summary(print_fn=lines.append)
    assert "W tied" in lines[0] and "trained" in lines[0]


def test_set_weights_and_load_refuse_an_untied_pair(tmp_path):
    X = make_data(40, 10)
    model = Autoencoder(latent_dim=3, hidden=(6,), tied_weights=True, epochs=1, random_state=0).fit(X)
    w = model.get_weights()
    bad = [a.copy() for a in w]
    bad[6][2, 3] += 0.1  # decoder_2's W no longer encoder_1's transpose
    with pytest.raises(ValueError, match=r"weights\[6\]: .* the W of output must be the transpose of weights\[0\]"):
        model.set_weights(bad)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), w))  # nothing changed
    consistent = [a.copy() for a in w]
    consistent[0] += 0.1
    consistent[6] = consistent[0].T.copy()
    model.set_weights(consistent)
    untied = Autoencoder(latent_dim=3, hidden=(6,), epochs=1, random_state=0).fit(X)
    untied.set_weights(bad)  # an untied model takes any list
    path = tmp_path / "m.fae"
    model.save(path)
    with np.load(path) as f:
        arrays = dict(f)
    arrays["params"][model.spec_.layers[3].weight_at] += 1.0
    with open(tmp_path / "bad.fae", "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(ValueError, match="the W of output must be the transpose"):
        fastae.load(tmp_path / "bad.fae")


def test_save_load_pickle_and_resume_stay_tied_and_bitwise(tmp_path):
    X = make_data(60, 9)
    params = dict(latent_dim=3, hidden=(5,), epochs=4, random_state=0, n_threads=1, tied_weights=True)
    whole = Autoencoder(**params).fit(X)
    half = Autoencoder(**params).fit(X, epochs=2)
    half.save(tmp_path / "half.fae")
    resumed = fastae.load(tmp_path / "half.fae").fit(X, epochs=2, resume=True)
    assert all(np.array_equal(a, b) for a, b in zip(resumed.get_weights(), whole.get_weights()))
    again = pickle.loads(pickle.dumps(whole))
    assert again.tied_weights and np.array_equal(again.reconstruct(X), whole.reconstruct(X))
    assert_tied(again.fit(X, epochs=1, resume=True))


def test_tying_differs_from_the_plain_model_and_is_an_architecture_change():
    X = make_data(60, 9)
    tied = Autoencoder(latent_dim=3, epochs=2, random_state=0, tied_weights=True).fit(X)
    plain = Autoencoder(latent_dim=3, epochs=2, random_state=0).fit(X)
    assert not np.array_equal(tied.get_weights()[2], plain.get_weights()[2])
    with pytest.raises(ValueError, match="tied_weights changed"):
        tied.set_params(tied_weights=False, warm_start=True).fit(X)


@pytest.mark.parametrize("params, fit, words", [
    (dict(tied_weights="yes"), {}, "tied_weights: expected True or False"),
    (dict(tied_weights=True), dict(target=make_data(30, 4)), "tied_weights: .* as many outputs as inputs"),
])
def test_bad_tied_settings_are_refused_by_name(params, fit, words):
    with pytest.raises((ValueError, TypeError), match=words):
        Autoencoder(latent_dim=2, **params).fit(make_data(30, 6), **fit)
