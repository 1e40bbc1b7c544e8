"""The variational autoencoder: the reference's gradients against finite differences (eps fixed),
C++ against the reference over activation x loss x dtype x threads x beta x warm-up, the counter
RNG's eps, the methods, persistence and bad input."""

import copy
import pickle

import numpy as np
import pytest

import fastae
from fastae import Autoencoder, VariationalAutoencoder
from fastae.reference import ReferenceVariationalAutoencoder, VaeNetwork, kl_rows, sampling_eps

from test_reference_gradients import numerical_gradients as reference_numerical_gradients

from conftest import ACTIVATIONS, DTYPES, PARITY_TOL, THREADS, make_data, relative_error, trained_pair


def random_vae(activation: str, loss: str, dropout=None, seed: int = 0, beta: float = 0.7) -> VaeNetwork:
    rng = np.random.default_rng(seed)
    shapes = [(5, 4), (4, 6), (3, 4), (4, 5)]  # heads: 4 -> [mu | logvar] of 3 each; decoder from 3
    weights = []
    for fan_in, fan_out in shapes:
        weights += [rng.normal(0, 0.6, (fan_in, fan_out)), rng.normal(0, 0.3, fan_out)]
    return VaeNetwork(weights, [activation, "linear", activation, "sigmoid"], loss, heads=1, beta=beta, dropout=dropout)


def numerical_gradients(net: VaeNetwork, X: np.ndarray, eps: np.ndarray, keys):
    """With eps fixed (test_reference_gradients.numerical_gradients, eps passed through)."""
    return reference_numerical_gradients(net, X, 1e-6, None, keys, eps)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["bce", "mse"])
def test_the_objective_s_gradients_match_finite_differences(activation, loss):
    X = make_data(6, 5, seed=1)
    eps = np.random.default_rng(2).standard_normal((6, 3))
    keys = (3, 1, np.arange(6))
    net = random_vae(activation, loss)
    _, analytic = net.loss_and_gradients(X, None, keys, eps)
    for i, (a, n) in enumerate(zip(analytic, numerical_gradients(net, X, eps, keys))):
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-8, err_msg=f"gradient {i}")


def test_finite_differences_with_dropout_and_a_clamped_logvar():
    """Dropout masks fixed by the keys; a logvar beyond the clamp has no gradient."""
    X = make_data(6, 5, seed=3)
    eps = np.random.default_rng(4).standard_normal((6, 3))
    net = random_vae("tanh", "bce", dropout=[0.3, 0.0, 0.3, 0.0])
    net.weights[3][4] = -45.0  # the second logvar's bias: below -30 for every row
    keys = (5, 0, np.arange(6))
    _, analytic = net.loss_and_gradients(X, None, keys, eps)
    assert np.all(analytic[3][4] == 0) and np.all(analytic[2][:, 4] == 0)
    for a, n in zip(analytic, numerical_gradients(net, X, eps, keys)):
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-8)


def test_the_objective_is_the_reconstruction_sum_plus_beta_kl():
    X = make_data(8, 5)
    net = random_vae("relu", "mse", beta=0.5)
    eps = np.zeros((8, 3))  # z = mu
    objective, _ = net.loss_and_gradients(X, None, None, eps)
    mu, logvar = net.encode_distribution(X)
    want = np.mean(((net.decode(mu) - X) ** 2).sum(axis=1) + 0.5 * kl_rows(mu, logvar))
    assert objective == pytest.approx(want, rel=1e-12)
    closed = -0.5 * (1 + logvar - mu**2 - np.exp(logvar)).sum(axis=1)
    np.testing.assert_allclose(kl_rows(mu, logvar), closed, rtol=1e-12)


def vae_pair(X, epochs=3, **params):
    return trained_pair(X, epochs, VariationalAutoencoder, ReferenceVariationalAutoencoder, **params)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["bce", "mse"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
def test_cpp_matches_the_reference(activation, loss, dtype, n_threads):
    X = make_data(70, 9)
    model, reference = vae_pair(X, latent_dim=3, hidden=(7,), activation=activation, loss=loss, dtype=dtype,
                                n_threads=n_threads, batch_size=16, beta=0.8)
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL[dtype]
    np.testing.assert_allclose(model.history_["loss"], reference.history["loss"], rtol=PARITY_TOL[dtype] * 10)
    np.testing.assert_allclose(model.history_["kl"], reference.history["kl"], rtol=PARITY_TOL[dtype] * 10)


@pytest.mark.parametrize("beta, warmup", [(0.0, 0), (1.0, 0), (2.5, 0), (1.0, 2), (0.5, 5)])
@pytest.mark.parametrize("n_threads", THREADS)
def test_cpp_matches_the_reference_over_beta_and_warm_up(beta, warmup, n_threads):
    X = make_data(60, 8)
    model, reference = vae_pair(X, epochs=4, latent_dim=2, hidden=(6, 5), dtype="float64", n_threads=n_threads,
                                batch_size=13, beta=beta, kl_warmup_epochs=warmup)
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL["float64"]
    np.testing.assert_allclose(model.history_["loss"], reference.history["loss"], rtol=1e-10)
    recon = np.array(model.history_["reconstruction"])
    betas = [model.beta_at(e) for e in range(4)]
    np.testing.assert_allclose(recon + np.array(betas) * model.history_["kl"], model.history_["loss"], rtol=1e-12)


def test_cpp_matches_the_reference_with_noise_dropout_and_clipping():
    X = make_data(60, 8)
    model, reference = vae_pair(X, latent_dim=2, hidden=(6,), dtype="float64", n_threads=2, batch_size=16,
                                noise="gaussian", noise_level=0.2, dropout=0.3, clip_norm=0.5, optimizer="sgd",
                                learning_rate=0.05)
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL["float64"]


def test_the_warm_up_rises_linearly_from_zero():
    vae = VariationalAutoencoder(beta=2.0, kl_warmup_epochs=4)
    assert [vae.beta_at(e) for e in range(6)] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]
    assert VariationalAutoencoder(beta=2.0).beta_at(0) == 2.0


def test_eps_is_the_counter_rng_s_at_the_heads_stage():
    """Trained with a learning rate too small to move the weights, one batch of the whole data:
    the epoch's KL is the reference's for eps of stage 1 + heads, whatever the thread count."""
    X = make_data(40, 6)
    for threads in THREADS:
        model = VariationalAutoencoder(latent_dim=2, hidden=(5,), dtype="float64", batch_size=40, shuffle=False,
                                       optimizer="sgd", learning_rate=1e-300, epochs=1, random_state=3,
                                       n_threads=threads).build(6)
        ref = ReferenceVariationalAutoencoder(model)
        eps = sampling_eps(model._noise_seed, 0, np.arange(40), 1, 2, np.float64)
        want, _ = ref.net.loss_and_gradients(X, None, None, eps)
        model.fit(X)
        assert model.history_["loss"][0] == pytest.approx(want, rel=1e-12)


def test_the_same_seed_gives_bitwise_the_same_training():
    X = make_data(80, 8)
    params = dict(latent_dim=2, hidden=(6,), epochs=3, random_state=5, n_threads=2, batch_size=16)
    a = VariationalAutoencoder(**params).fit(X)
    b = VariationalAutoencoder(**params).fit(X)
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    assert a.history_ == b.history_


def fitted(**params):
    X = make_data(120, 8)
    params = {"latent_dim": 2, "hidden": (6,), "epochs": 3, "random_state": 0, "n_threads": 1, **params}
    return VariationalAutoencoder(**params).fit(X), X


def test_the_methods_return_what_they_say():
    vae, X = fitted(dtype="float64")
    mu, logvar = vae.encode_distribution(X)
    assert mu.shape == logvar.shape == (120, 2)
    assert np.array_equal(vae.encode(X), mu) and np.array_equal(vae.transform(X), mu)
    ref = ReferenceVariationalAutoencoder(vae)
    np.testing.assert_allclose(vae.reconstruct(X), ref.net.decode(mu), rtol=1e-12)
    np.testing.assert_allclose(vae.decode(mu), vae.reconstruct(X), rtol=1e-12)
    np.testing.assert_allclose(vae.elbo(X), ref.elbo(X), rtol=1e-12)
    np.testing.assert_allclose(vae.reconstruction_error(X) * 8, ref.net.row_reconstruction(X, mu), rtol=1e-12)
    assert vae.evaluate(X) == pytest.approx(vae.elbo(X).mean()) and vae.score(X) == -vae.evaluate(X)
    W = vae.get_weights()
    assert [w.shape for w in W] == [(8, 6), (6,), (6, 2), (2,), (6, 2), (2,), (2, 6), (6,), (6, 8), (8,)]
    assert vae.encoder_layers_ == [8, 6, 2] and vae.decoder_layers_ == [2, 6, 8]


def test_monte_carlo_elbo_averages_draws_around_the_one_at_mu():
    vae, X = fitted(dtype="float64")
    one = vae.elbo(X, n_samples=1, random_state=0)
    many = vae.elbo(X, n_samples=400, random_state=0)
    assert np.array_equal(one, vae.elbo(X, n_samples=1, random_state=0))
    assert not np.array_equal(one, vae.elbo(X, n_samples=1, random_state=1))
    mu, logvar = vae.encode_distribution(X)
    rng = np.random.default_rng(0)
    z = mu + np.exp(0.5 * logvar) * rng.standard_normal(mu.shape)
    ref = ReferenceVariationalAutoencoder(vae)
    np.testing.assert_allclose(one, ref.net.row_reconstruction(X, z) + kl_rows(mu, logvar), rtol=1e-10)
    assert np.all(many >= vae.elbo(X) - 0.5)  # sampling z adds reconstruction loss on average


def test_sample_decodes_the_prior_reproducibly():
    vae, _ = fitted()
    a = vae.sample(10, random_state=4)
    assert a.shape == (10, 8) and np.array_equal(a, vae.sample(10, random_state=4))
    z = np.random.default_rng(4).standard_normal((10, 2)).astype(np.float32)
    assert np.array_equal(a, vae.decode(z)) and np.all((a > 0) & (a < 1))
    assert vae.sample(0).shape == (0, 8)


def test_history_and_validation():
    X = make_data(100, 8)
    vae = VariationalAutoencoder(latent_dim=2, hidden=(6,), epochs=3, random_state=0, validation_fraction=0.2,
                                 early_stopping=True, patience=1).fit(X)
    assert set(vae.history_) == {"loss", "reconstruction", "kl", "lr", "val_loss"}
    assert all(len(v) == vae.n_epochs_ for v in vae.history_.values())
    val = VariationalAutoencoder(latent_dim=2, hidden=(6,), epochs=1, random_state=0).fit(X, validation_data=X[:20])
    assert val.history_["val_loss"][0] == pytest.approx(val.evaluate(X[:20]))


def test_save_load_pickle_clone_and_resume_bitwise(tmp_path):
    X = make_data(90, 8)
    params = dict(latent_dim=2, hidden=(6,), epochs=4, random_state=1, n_threads=2, batch_size=16,
                  kl_warmup_epochs=3, dropout=0.2, noise="masking", noise_level=0.2)
    whole = VariationalAutoencoder(**params).fit(X)
    half = VariationalAutoencoder(**params).fit(X, epochs=2)
    half.save(tmp_path / "half.fae")
    loaded = fastae.load(tmp_path / "half.fae")
    assert type(loaded) is VariationalAutoencoder
    for resumed in (loaded, pickle.loads(pickle.dumps(half)), copy.deepcopy(half)):
        resumed.fit(X, epochs=2, resume=True)
        assert all(np.array_equal(a, b) for a, b in zip(resumed.get_weights(), whole.get_weights()))
        assert resumed.history_ == whole.history_
    from sklearn.base import clone
    assert clone(whole).get_params() == whole.get_params()


def test_set_weights_round_trips_and_names_bad_entries():
    vae, X = fitted()
    W = vae.get_weights()
    W[2] = W[2] * 0 + 0.1
    vae.set_weights(W)
    assert np.allclose(vae.get_weights()[2], 0.1)
    with pytest.raises(ValueError, match=r"weights\[4\]: expected shape"):
        vae.set_weights([*W[:4], W[4][:3], *W[5:]])
    with pytest.raises(ValueError, match=r"weights\[5\]: contains NaN"):
        vae.set_weights([*W[:5], W[5] * np.nan, *W[6:]])
    with pytest.raises(ValueError, match="expected a list of 10"):
        vae.set_weights(W[:8])


def test_a_file_of_the_other_class_is_refused_by_name(tmp_path):
    vae, X = fitted()
    ae = Autoencoder(latent_dim=2, epochs=1).fit(X)
    vae.save(tmp_path / "vae.fae")
    ae.save(tmp_path / "ae.fae")
    assert type(VariationalAutoencoder.load(tmp_path / "vae.fae")) is VariationalAutoencoder
    with pytest.raises(ValueError, match="holds an Autoencoder, not a VariationalAutoencoder"):
        VariationalAutoencoder.load(tmp_path / "ae.fae")
    with pytest.raises(ValueError, match="holds a VariationalAutoencoder, not an Autoencoder"):
        Autoencoder.load(tmp_path / "vae.fae")


@pytest.mark.parametrize("params, name", [
    (dict(beta=-1.0), "beta"), (dict(kl_warmup_epochs=-1), "kl_warmup_epochs"), (dict(latent_dim=0), "latent_dim"),
    (dict(loss="huber"), "loss"), (dict(loss="bce", output_activation="linear"), "loss"),
    (dict(beta=float("nan")), "beta"), (dict(dropout=1.0), "dropout"),
])
def test_bad_hyperparameters_name_the_argument(params, name):
    with pytest.raises(ValueError, match=name):
        VariationalAutoencoder(**params).fit(make_data(20, 4))


def test_bad_input_is_refused_as_for_the_autoencoder():
    vae, X = fitted()
    with pytest.raises(ValueError, match="n"):
        vae.sample(-1)
    with pytest.raises(ValueError, match="n_samples"):
        vae.elbo(X, n_samples=-1)
    with pytest.raises(ValueError, match="target"):
        vae.fit(X, target=X + 1)
    bad = X.copy()
    bad[3, 2] = np.nan
    for method in (vae.encode, vae.elbo, vae.reconstruct, vae.encode_distribution):
        with pytest.raises(ValueError, match="NaN"):
            method(bad)
    with pytest.raises(ValueError, match="columns|features"):
        vae.decode(X)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        vae.fit(X * 3)
