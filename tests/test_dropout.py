"""Dropout (dropout=p): inverted dropout on the output of every hidden layer, encoder and decoder
(not the code, not the output), in training only. The masks come from the counter-based RNG at
stage 1 + layer; C++ and the reference draw the same ones, whatever the threads or the batch size."""

import numpy as np
import pytest

from fastae import SGD, Adam, Autoencoder
from fastae._spec import Dropout
from fastae.reference import Network, dropout_mask

from conftest import DTYPES, PARITY_TOL, THREADS, make_data, relative_error, trained_pair
from test_reference_gradients import check_gradients


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "elu"])
def test_the_gradient_through_dropout_matches_finite_differences(activation):
    rng = np.random.default_rng(2)
    sizes = [5, 6, 3, 6, 5]
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        weights += [rng.normal(0, 0.7, (fan_in, fan_out)), rng.normal(0, 0.3, fan_out)]
    net = Network(weights, [activation, "linear", activation, "sigmoid"], "mse", dropout=[0.4, 0.0, 0.3, 0.0])
    X = make_data(9, 5)
    keys = (7, 2, np.arange(100, 109))
    check_gradients(net, X, keys=keys)
    dropped, _ = net.loss_and_gradients(X, keys=keys)
    assert dropped != Network(weights, net.activations, "mse").loss_and_gradients(X)[0]  # the masks act


def test_masks_have_the_asked_rate_and_keep_the_mean():
    """512 x 512 draws; tolerances of about five standard errors."""
    mask = dropout_mask(0.3, 1, 0, np.arange(512), 0, 512, np.float64)
    n = mask.size
    assert set(np.unique(mask)) == {0.0, 1 / 0.7}
    assert abs(np.mean(mask == 0) - 0.3) < 5 * np.sqrt(0.3 * 0.7 / n)
    assert abs(mask.mean() - 1) < 5 * np.sqrt(0.3 / 0.7 / n)  # inverted dropout: E[m] = 1
    assert not np.array_equal(dropout_mask(0.3, 1, 0, np.arange(512), 1, 512, np.float64), mask)  # another layer
    assert not np.array_equal(dropout_mask(0.3, 1, 1, np.arange(512), 0, 512, np.float64), mask)  # another epoch


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss, activation", [("mse", "relu"), ("bce", "tanh"), ("huber", "elu"), ("mae", "sigmoid")])
def test_training_with_dropout_matches_the_reference(loss, activation, dtype, n_threads):
    X = make_data(45, 10, seed=6)
    model, reference = trained_pair(X, epochs=3, latent_dim=3, hidden=(7, 5), activation=activation, loss=loss,
                                    optimizer=Adam(lr=0.01), batch_size=8, dtype=dtype, n_threads=n_threads,
                                    dropout=0.3)
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL[dtype]
    np.testing.assert_allclose(model.history_["loss"], reference.history, rtol=1e-5 if dtype == "float32" else 1e-10)


@pytest.mark.parametrize("batch_size", [1, 7, 45])
@pytest.mark.parametrize("shuffle", [False, True])
def test_the_masks_do_not_depend_on_batch_size_or_shuffle(batch_size, shuffle):
    """The reference draws a row's mask by its index in X: C++ matches it for every split."""
    X = make_data(45, 8, seed=7)
    model, reference = trained_pair(X, epochs=2, latent_dim=3, hidden=(6,), optimizer=SGD(lr=0.2), dtype="float64",
                                    batch_size=batch_size, shuffle=shuffle, n_threads=2, dropout=0.5,
                                    noise="masking", noise_level=0.2)
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL["float64"]


def test_dropout_sits_after_each_hidden_layer_and_not_the_code_or_output():
    model = Autoencoder(latent_dim=3, hidden=(8, 5), dropout=0.2).build(12)
    names = [s.name for s in model.spec_.stages]
    assert names == ["encoder_1", "dropout_1", "encoder_2", "dropout_2", "latent", "decoder_1", "dropout_3",
                     "decoder_2", "dropout_4", "output"]
    assert model.spec_.dropout_rates == [0.2, 0.2, 0.0, 0.2, 0.2, 0.0] == list(model._model.dropout)
    assert all(s.rate == 0.2 for s in model.spec_.stages if isinstance(s, Dropout))
    assert len(model.get_weights()) == 12  # dropout has no parameters
    lines = []
    model.summary(print_fn=lines.append)
    assert "dropout_1" in lines[0] and "rate 0.2" in lines[0]


def test_inference_and_evaluation_see_no_dropout():
    X = make_data(80, 10)
    model = Autoencoder(latent_dim=3, hidden=(8,), epochs=3, random_state=0, dropout=0.5,
                        validation_fraction=0.25).fit(X)
    twin = Autoencoder(latent_dim=3, hidden=(8,), random_state=0).build(10).set_weights(model.get_weights())
    assert np.array_equal(model.reconstruct(X), twin.reconstruct(X))
    assert np.array_equal(model.encode(X), twin.encode(X))
    assert model.evaluate(X) == twin.evaluate(X)
    assert np.array_equal(model.reconstruction_error(X), twin.reconstruction_error(X))


def test_zero_dropout_is_the_plain_model_and_dropout_changes_training():
    X = make_data(80, 10)
    common = dict(latent_dim=3, hidden=(6,), epochs=2, random_state=0, n_threads=1)
    plain = Autoencoder(**common).fit(X).get_weights()
    zero = Autoencoder(dropout=0.0, **common).fit(X).get_weights()
    dropped = Autoencoder(dropout=0.2, **common).fit(X).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(zero, plain))
    assert not all(np.array_equal(a, b) for a, b in zip(dropped, plain))


def test_the_same_seed_gives_the_same_training_at_one_and_two_threads():
    X = make_data(90, 10)
    common = dict(latent_dim=3, hidden=(6,), epochs=3, random_state=4, dropout=0.4, dtype="float64", batch_size=16)
    one = Autoencoder(n_threads=1, **common).fit(X).get_weights()
    two = Autoencoder(n_threads=2, **common).fit(X).get_weights()
    assert relative_error(one, two) < 1e-12  # the same masks: only the sums' rounding differs


def test_changing_the_rate_between_fits_is_allowed():
    """(Resuming a dropout model bitwise: tests/test_variants.py.)"""
    X = make_data(70, 9)
    whole = Autoencoder(latent_dim=3, hidden=(5,), epochs=4, random_state=0, n_threads=1, dropout=0.3).fit(X)
    whole.set_params(dropout=0.1, warm_start=True).fit(X, epochs=1)
    assert whole.spec_.dropout_rates[0] == 0.1 == whole._model.dropout[0]


def test_the_history_holds_the_loss_with_dropout_and_evaluate_the_loss_without():
    """The masks raise the training objective well above the clean loss of the same weights; with
    a learning rate too small to move a float64 weight, the plain model's epoch loss is its evaluate."""
    X = make_data(200, 10)
    common = dict(latent_dim=3, hidden=(16,), epochs=1, random_state=0, dtype="float64", optimizer="sgd",
                  learning_rate=1e-300)
    dropped = Autoencoder(dropout=0.5, **common).fit(X)
    plain = Autoencoder(**common).fit(X)
    assert plain.history_["loss"][0] == pytest.approx(plain.evaluate(X), rel=1e-12)
    assert dropped.evaluate(X) == plain.evaluate(X)
    assert dropped.history_["loss"][0] > 1.05 * dropped.evaluate(X)
    assert "penalty" not in dropped.history_


@pytest.mark.parametrize("params, words", [
    (dict(dropout=1.0, hidden=(4,)), r"dropout: must be a finite number in \[0, 1\)"),
    (dict(dropout=-0.1, hidden=(4,)), "dropout: must be"),
    (dict(dropout=float("nan"), hidden=(4,)), "dropout: must be"),
    (dict(dropout="0.2", hidden=(4,)), "dropout"),
    (dict(dropout=0.2), r"dropout: acts on the hidden layers' outputs .* hidden=\(\) has none"),
])
def test_bad_dropout_settings_are_refused_by_name(params, words):
    with pytest.raises((ValueError, TypeError), match=words):
        Autoencoder(latent_dim=2, **params).fit(make_data(10, 6))
