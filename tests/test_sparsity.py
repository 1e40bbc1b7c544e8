"""The KL sparsity penalty (sparsity_weight=beta, sparsity_target=rho): training adds
beta * sum_j KL(rho || rho_hat_j), rho_hat_j the batch mean of sigmoid code unit j (the sparse
autoencoder of Ng's notes). The batch means are a deterministic reduction between the forward and
the backward pass: C++ matches the reference at 1 and 2 threads and for any batch split."""

import numpy as np
import pytest

from fastae import Adam, Autoencoder
from fastae.reference import Network

from conftest import DTYPES, PARITY_TOL, THREADS, make_data, relative_error, trained_pair
from test_reference_gradients import check_gradients


def kl(rho, rho_hat):
    return rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))  # KL(rho || rho_hat)


@pytest.mark.parametrize("hidden", [(), (6,)])
@pytest.mark.parametrize("rho", [0.05, 0.5])
def test_the_penalty_gradient_matches_finite_differences(rho, hidden):
    rng = np.random.default_rng(3)
    sizes = [5, *hidden, 3, *reversed(hidden), 5]
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        weights += [rng.normal(0, 0.7, (fan_in, fan_out)), rng.normal(0, 0.3, fan_out)]
    acts = ["tanh"] * len(hidden) + ["sigmoid"] + ["tanh"] * len(hidden) + ["sigmoid"]
    net = Network(weights, acts, "mse", code_layer=len(hidden), sparsity_weight=0.4, sparsity_target=rho)
    check_gradients(net, make_data(7, 5))


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss, activation", [("mse", "relu"), ("bce", "tanh"), ("huber", "elu")])
@pytest.mark.parametrize("batch_size", [8, 45])
def test_training_with_the_penalty_matches_the_reference(loss, activation, dtype, n_threads, batch_size):
    X = make_data(45, 10, seed=8)
    model, reference = trained_pair(X, epochs=3, latent_dim=4, hidden=(6,), activation=activation,
                                    latent_activation="sigmoid", loss=loss, optimizer=Adam(lr=0.01),
                                    batch_size=batch_size, dtype=dtype, n_threads=n_threads, sparsity_weight=0.2,
                                    sparsity_target=0.1, activity_l1=0.01 if loss == "huber" else 0.0)
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL[dtype]
    np.testing.assert_allclose(model.history_["loss"], reference.history, rtol=1e-5 if dtype == "float32" else 1e-10)


def test_the_penalty_of_a_frozen_model_is_beta_times_the_kl_of_the_mean_code():
    """One batch of every row, weights too stable to move: the epoch's penalty is
    beta * sum_j KL(rho || mean over rows of code_j), and the objective adds it to the loss."""
    X = make_data(64, 10)
    model = Autoencoder(latent_dim=3, latent_activation="sigmoid", epochs=1, random_state=0, batch_size=64,
                        sparsity_weight=0.5, sparsity_target=0.2, optimizer="sgd", learning_rate=1e-300,
                        dtype="float64").fit(X)
    want = 0.5 * kl(0.2, model.encode(X).mean(axis=0)).sum()
    assert model.history_["penalty"][0] == pytest.approx(want, rel=1e-12)
    assert model.history_["loss"][0] == pytest.approx(model.evaluate(X) + want, rel=1e-12)


def test_the_penalty_pulls_the_mean_activations_to_the_target():
    X = make_data(800, 20)
    common = dict(latent_dim=10, hidden=(32,), epochs=30, random_state=0, latent_activation="sigmoid",
                  optimizer=Adam(lr=3e-3), batch_size=64)
    plain = Autoencoder(**common).fit(X)
    sparse = Autoencoder(sparsity_weight=1.0, sparsity_target=0.05, **common).fit(X)
    far = lambda m: np.abs(m.encode(X).mean(axis=0) - 0.05).mean()
    assert far(sparse) < 0.02 < far(plain)


def test_evaluation_sees_no_penalty():
    X = make_data(60, 10)
    sparse = Autoencoder(latent_dim=3, latent_activation="sigmoid", epochs=2, random_state=0,
                         sparsity_weight=0.5).fit(X)
    twin = Autoencoder(latent_dim=3, latent_activation="sigmoid", random_state=0).build(10)
    assert sparse.evaluate(X) == twin.set_weights(sparse.get_weights()).evaluate(X)
    assert all(p > 0 for p in sparse.history_["penalty"])


@pytest.mark.parametrize("params, words", [
    (dict(sparsity_weight=0.1), r"sparsity_weight: .* needs latent_activation='sigmoid' \(got 'linear'\)"),
    (dict(sparsity_weight=-1.0, latent_activation="sigmoid"), "sparsity_weight: must be a finite number >= 0"),
    (dict(sparsity_weight=0.1, latent_activation="sigmoid", sparsity_target=0.0), "sparsity_target: must be"),
    (dict(sparsity_weight=0.1, latent_activation="sigmoid", sparsity_target=1.0), "sparsity_target: must be"),
    (dict(sparsity_target=float("nan")), "sparsity_target"),
])
def test_bad_sparsity_settings_are_refused_by_name(params, words):
    with pytest.raises((ValueError, TypeError), match=words):
        Autoencoder(latent_dim=2, **params).fit(make_data(10, 6))
