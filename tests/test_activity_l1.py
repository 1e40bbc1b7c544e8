"""The L1 activity penalty (activity_l1=lambda): training minimises the reconstruction loss plus
lambda * (mean over rows of sum_j |code_j|), Keras' activity_regularizer=l1(lambda) on the code.
C++ against the reference, the reference's gradient against finite differences; history_["loss"]
is the objective and history_["penalty"] its penalty part; evaluation sees no penalty."""

import numpy as np
import pytest

from fastae import Adam, Autoencoder
from fastae.reference import Network

from conftest import DTYPES, PARITY_TOL, THREADS, make_data, relative_error, trained_pair
from test_reference_gradients import check_gradients


@pytest.mark.parametrize("latent_activation", ["linear", "relu", "tanh"])
@pytest.mark.parametrize("hidden", [(), (6,)])
def test_the_penalty_gradient_matches_finite_differences(latent_activation, hidden):
    rng = np.random.default_rng(1)
    sizes = [5, *hidden, 3, *reversed(hidden), 5]
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        weights += [rng.normal(0, 0.7, (fan_in, fan_out)), rng.normal(0, 0.3, fan_out)]
    acts = ["tanh"] * len(hidden) + [latent_activation] + ["tanh"] * len(hidden) + ["sigmoid"]
    net = Network(weights, acts, "mse", code_layer=len(hidden), activity_l1=0.3)
    check_gradients(net, make_data(7, 5))


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss, latent_activation", [("mse", "linear"), ("bce", "relu"), ("huber", "sigmoid")])
def test_training_with_the_penalty_matches_the_reference(loss, latent_activation, dtype, n_threads):
    X = make_data(45, 10, seed=5)
    model, reference = trained_pair(X, epochs=3, latent_dim=3, hidden=(6,), activation="tanh",
                                    latent_activation=latent_activation, loss=loss, optimizer=Adam(lr=0.01),
                                    batch_size=8, dtype=dtype, n_threads=n_threads, activity_l1=0.05)
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL[dtype]
    np.testing.assert_allclose(model.history_["loss"], reference.history, rtol=1e-5 if dtype == "float32" else 1e-10)


def test_history_holds_the_objective_and_its_penalty_part():
    X = make_data(60, 10)
    model = Autoencoder(latent_dim=3, epochs=3, random_state=0, activity_l1=0.1).fit(X)
    assert len(model.history_["penalty"]) == 3 and all(p > 0 for p in model.history_["penalty"])
    assert all(loss > penalty for loss, penalty in zip(model.history_["loss"], model.history_["penalty"]))
    assert "penalty" not in Autoencoder(latent_dim=3, epochs=1, random_state=0).fit(X).history_


def test_the_penalty_of_a_frozen_model_is_lambda_times_the_mean_code_norm():
    """With a learning rate too small to change a float64 weight, the weights stay put: the epoch's
    penalty is lambda * mean over rows of sum |code| of the rows as they are, and the objective
    adds it to the loss."""
    X = make_data(64, 10)
    model = Autoencoder(latent_dim=3, epochs=1, random_state=0, activity_l1=0.2, optimizer="sgd", learning_rate=1e-300,
                        dtype="float64").fit(X)
    want = 0.2 * np.abs(model.encode(X)).sum(axis=1).mean()
    assert model.history_["penalty"][0] == pytest.approx(want, rel=1e-12)
    assert model.history_["loss"][0] == pytest.approx(model.evaluate(X) + want, rel=1e-12)


def test_evaluation_sees_no_penalty_and_zero_is_the_plain_model():
    X = make_data(60, 10)
    penalised = Autoencoder(latent_dim=3, epochs=2, random_state=0, activity_l1=0.1).fit(X)
    twin = Autoencoder(latent_dim=3, random_state=0).build(10).set_weights(penalised.get_weights())
    assert penalised.evaluate(X) == twin.evaluate(X)
    plain = Autoencoder(latent_dim=3, epochs=2, random_state=0, n_threads=1).fit(X).get_weights()
    zero = Autoencoder(latent_dim=3, epochs=2, random_state=0, n_threads=1, activity_l1=0.0).fit(X).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(plain, zero))


def test_the_penalty_makes_the_codes_smaller():
    X = make_data(500, 20)
    common = dict(latent_dim=8, hidden=(16,), epochs=20, random_state=0, latent_activation="relu")
    plain = Autoencoder(**common).fit(X)
    sparse = Autoencoder(activity_l1=0.05, **common).fit(X)
    assert np.abs(sparse.encode(X)).sum(axis=1).mean() < 0.5 * np.abs(plain.encode(X)).sum(axis=1).mean()


def test_a_penalty_added_later_starts_its_column_with_nan():
    X = make_data(40, 6)
    model = Autoencoder(latent_dim=2, epochs=2, random_state=0).fit(X)
    model.set_params(activity_l1=0.1).partial_fit(X)
    assert np.isnan(model.history_["penalty"][:2]).all() and model.history_["penalty"][2] > 0


@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf"), "0.1"])
def test_bad_values_are_refused_by_name(value):
    with pytest.raises((ValueError, TypeError), match="activity_l1"):
        Autoencoder(activity_l1=value).fit(make_data(10, 4))
