"""Bad input gives a ValueError/TypeError that names the argument, and changes nothing."""

import numpy as np
import pytest

from fastae import SGD, Adam, Autoencoder, NotFittedError, RMSprop

from conftest import make_data


@pytest.fixture
def fitted():
    return Autoencoder(latent_dim=3, hidden=(5,), epochs=1, random_state=0).fit(make_data(30, 8))


@pytest.mark.parametrize("X, error, words", [
    (np.zeros(10), ValueError, ["X", "2-D", "reshape"]),
    (np.zeros((0, 8)), ValueError, ["X", "0 sample(s)"]),
    (np.zeros((5, 0)), ValueError, ["X", "0 feature(s)"]),
    (np.array([["a", "b"], ["c", "d"]]), TypeError, ["X", "numbers"]),
    (np.ones((3, 2), dtype=complex), ValueError, ["X", "Complex"]),
    (None, TypeError, ["X"]),
    ("data.csv", TypeError, ["X"]),
])
def test_bad_arrays(X, error, words):
    with pytest.raises(error) as info:
        Autoencoder(epochs=1).fit(X)
    assert all(w in str(info.value) for w in words), str(info.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_rejected_with_their_position(bad):
    X = make_data(10, 4)
    X[7, 2] = bad
    with pytest.raises(ValueError, match=r"X: contains NaN or infinity \(first at row 7, column 2"):
        Autoencoder(epochs=1).fit(X)


def test_non_finite_after_conversion_is_rejected():
    X = make_data(10, 4)
    X[3, 1] = 1e300  # finite in float64, inf in float32
    with pytest.raises(ValueError, match="X: contains NaN or infinity"):
        Autoencoder(epochs=1, loss="mse").fit(X)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("method", ["encode", "reconstruct", "decode"])
def test_inference_rejects_non_finite_values_with_their_position(method, bad, dtype):
    """Inference finds a NaN or infinity from the first product instead of scanning X first; the
    error is the same, at 1 and 2 threads and in any row of a 2,400-row (3-chunk) input."""
    for n_threads in (1, 2):
        model = Autoencoder(latent_dim=3, hidden=(5,), epochs=1, dtype=dtype, n_threads=n_threads,
                            random_state=0).fit(make_data(30, 8))
        X = make_data(2400, 3 if method == "decode" else 8)
        X[2117, 1] = bad
        name = "Z" if method == "decode" else "X"
        with pytest.raises(ValueError, match=rf"{name}: contains NaN or infinity \(first at row 2117, column 1"):
            getattr(model, method)(X)


def test_inference_rejects_an_infinity_that_relu_would_hide():
    """-inf times weights that are all negative is +inf in x W, but relu(-inf) = 0 after the other
    sign: the check looks at x W before the activation, so either sign is caught."""
    model = Autoencoder(latent_dim=3, hidden=(5,), epochs=1, random_state=0).fit(make_data(30, 8))
    weights = model.get_weights()
    for sign in (1.0, -1.0):
        weights[0][2] = sign * np.abs(weights[0][2])  # every weight out of feature 2 has this sign
        model.set_weights(weights)
        for bad in (np.inf, -np.inf):
            X = make_data(4, 8)
            X[1, 2] = bad
            with pytest.raises(ValueError, match=r"row 1, column 2"):
                model.encode(X)


def test_inference_overflow_inside_the_network_is_not_an_input_error():
    """Finite input that overflows in the first product is returned as computed, as before the
    check moved into the product."""
    model = Autoencoder(latent_dim=3, hidden=(5,), epochs=1, random_state=0).fit(make_data(30, 8))
    X = np.full((2, 8), 3e38, dtype=np.float32)  # finite, but x W overflows float32
    Z = model.encode(X)
    assert Z.shape == (2, 3) and not np.all(np.isfinite(Z))


def test_wrong_number_of_features_after_fit(fitted):
    for method in (fitted.encode, fitted.reconstruct, fitted.reconstruction_error, fitted.evaluate, fitted.partial_fit):
        with pytest.raises(ValueError, match="X has 7 features, but Autoencoder is expecting 8 features"):
            method(make_data(4, 7))
    with pytest.raises(ValueError, match="Z has 2 features, but Autoencoder is expecting 3 features"):
        fitted.decode(np.zeros((4, 2)))


def test_non_finite_validation_data():
    X_val = make_data(10, 8)
    X_val[0, 0] = np.nan
    with pytest.raises(ValueError, match="validation_data: contains NaN"):
        Autoencoder(epochs=1).fit(make_data(10, 8), validation_data=X_val)


def test_bce_needs_sigmoid_output():
    with pytest.raises(ValueError, match="loss: 'bce' needs output_activation='sigmoid'"):
        Autoencoder(loss="bce", output_activation="linear").fit(make_data(10, 4))


def test_bce_needs_targets_in_unit_interval():
    with pytest.raises(ValueError, match=r"X: loss='bce' needs values in \[0, 1\]"):
        Autoencoder(loss="bce").fit(make_data(10, 4) * 3)


@pytest.mark.parametrize("param, value, error", [
    ("activation", "swish", ValueError), ("activation", 3, TypeError),
    ("latent_activation", "gelu", ValueError), ("output_activation", "softmax", ValueError),
    ("loss", "kl", ValueError), ("loss", None, TypeError),
    ("optimizer", "lbfgs", ValueError), ("optimizer", 1.0, TypeError),
    ("latent_dim", 0, ValueError), ("latent_dim", -3, ValueError), ("latent_dim", 2.5, TypeError),
    ("hidden", (8, -1), ValueError), ("hidden", (8, 0), ValueError), ("hidden", "8", TypeError),
    ("batch_size", 0, ValueError), ("batch_size", -5, ValueError), ("epochs", -1, ValueError),
    ("n_threads", 0, ValueError), ("n_threads", -2, ValueError), ("learning_rate", -0.1, ValueError),
    ("learning_rate", 0.0, ValueError), ("clip_norm", 0.0, ValueError), ("clip_value", -1.0, ValueError),
    ("dtype", "int8", ValueError), ("dtype", "float16", ValueError), ("random_state", -1, ValueError),
    ("verbose", -1, ValueError), ("shuffle", "yes", TypeError),
])
def test_bad_hyperparameters_name_the_argument(param, value, error):
    with pytest.raises(error, match=param.split("[")[0]):
        Autoencoder(**{param: value}).fit(make_data(10, 4))


def test_bad_n_features_in_build():
    with pytest.raises(ValueError, match="n_features"):
        Autoencoder().build(0)


@pytest.mark.parametrize("make, words", [
    (lambda: Adam(lr=-1), "lr"), (lambda: Adam(betas=(0.9, 1.0)), "betas"), (lambda: Adam(eps=-1e-8), "eps"),
    (lambda: SGD(nesterov=True), "nesterov"), (lambda: SGD(momentum=-0.1), "momentum"),
    (lambda: RMSprop(alpha=1.5), "alpha"), (lambda: Adam(amsgrad="yes"), "amsgrad"),
    (lambda: Adam(weight_decay=float("nan")), "weight_decay"),
])
def test_bad_optimizer_arguments(make, words):
    with pytest.raises((ValueError, TypeError), match=words):
        make()


def test_learning_rate_with_an_optimizer_instance_is_ambiguous():
    with pytest.raises(ValueError, match="learning_rate"):
        Autoencoder(optimizer=Adam(lr=0.1), learning_rate=0.01).fit(make_data(10, 4))


def test_unfitted_model_raises_not_fitted():
    model = Autoencoder()
    for call in (lambda: model.encode(np.zeros((2, 3))), model.get_weights, lambda: model.evaluate(np.zeros((2, 3)))):
        with pytest.raises(NotFittedError, match="not fitted"):
            call()


def test_set_weights_checks_and_keeps_weights_on_error(fitted):
    before = fitted.get_weights()
    with pytest.raises(ValueError, match="weights: expected a list of 8"):
        fitted.set_weights(before[:-1])
    bad_shape = [w.copy() for w in before]
    bad_shape[2] = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"weights\[2\]: expected shape \(5, 3\)"):
        fitted.set_weights(bad_shape)
    bad_value = [w.copy() for w in before]
    bad_value[0][0, 0] = 1.0  # a valid change that must not land, because a later array is bad
    bad_value[7][0] = np.nan
    with pytest.raises(ValueError, match=r"weights\[7\]: contains NaN"):
        fitted.set_weights(bad_value)
    assert all(np.array_equal(a, b) for a, b in zip(before, fitted.get_weights()))


def test_unknown_set_params():
    with pytest.raises(ValueError, match="unknown parameter 'latent'"):
        Autoencoder().set_params(latent=3)


def test_bad_fit_leaves_the_fitted_model_unchanged(fitted):
    before = fitted.get_weights()
    history = dict(fitted.history_)
    X = make_data(10, 8)
    X[5, 5] = np.nan
    with pytest.raises(ValueError):
        fitted.fit(X)
    assert all(np.array_equal(a, b) for a, b in zip(before, fitted.get_weights()))
    assert fitted.history_ == history


def _state(model):
    return (model.get_weights(), [slot.copy() for _, slot in model._model.optimizer_slots()],
            model._model.optimizer_steps, model._rng_state, {k: list(v) for k, v in model.history_.items()})


def _same_state(a, b):
    weights_a, slots_a, *rest_a = a
    weights_b, slots_b, *rest_b = b
    return (all(np.array_equal(x, y) for x, y in zip(weights_a + slots_a, weights_b + slots_b)) and rest_a == rest_b)


@pytest.mark.parametrize("bad, loss, message", [
    (np.nan, "mse", r"X: contains NaN or infinity \(first at row 290, column 3"),
    (-np.inf, "bce", r"X: contains NaN or infinity \(first at row 290, column 3"),
    (1.5, "bce", r"X: loss='bce' needs values in \[0, 1\]"),
])
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_partial_fit_checks_rows_as_it_trains(bad, loss, message, shuffle, n_threads, dtype):
    """partial_fit on a built model does not scan X first: C++ checks each batch as it reads it.
    A bad value in a late batch stops the epoch before that batch's update; every update of the
    epoch is undone (weights, optimizer state and step count, shuffle state, history) and the
    error names the value as the scan would."""
    model = Autoencoder(latent_dim=3, hidden=(5,), loss=loss, batch_size=16, shuffle=shuffle, n_threads=n_threads,
                        dtype=dtype, random_state=0).fit(make_data(300, 8), epochs=1)
    X = make_data(300, 8, seed=4)
    X[290, 3] = bad
    before = _state(model)
    with pytest.raises(ValueError, match=message):
        model.partial_fit(X)
    assert _same_state(before, _state(model))
    model.partial_fit(make_data(300, 8, seed=4))  # and the model trains on as before
    assert not _same_state(before, _state(model))


def test_partial_fit_check_sees_values_that_overflow_the_dtype():
    model = Autoencoder(latent_dim=3, epochs=1, random_state=0).fit(make_data(40, 6))
    X = make_data(40, 6)
    X[33, 1] = 1e300  # finite in float64, inf in float32
    before = _state(model)
    with pytest.raises(ValueError, match=r"after conversion to float32: .*1e\+300.* at row 33, column 1"):
        model.partial_fit(X)
    assert _same_state(before, _state(model))


def test_a_misaligned_array_is_copied_to_an_aligned_one():
    """A float32 array at an odd address (as one unpickled from a network frame by Dask may be):
    C++ reads floats, so it gets an aligned copy; the results are those of the aligned array."""
    raw = np.zeros(4 * 60 + 1, dtype=np.uint8)
    X = np.frombuffer(raw[1:].data, dtype=np.float32).reshape(20, 3)
    assert not X.flags.aligned
    X[...] = np.random.default_rng(0).random((20, 3))
    model = Autoencoder(latent_dim=2, epochs=1, random_state=0).fit(X.copy())
    assert np.array_equal(model.encode(X), model.encode(X.copy()))
    assert np.array_equal(Autoencoder(latent_dim=2, epochs=1, random_state=0).fit(X).get_weights()[0],
                          model.get_weights()[0])
