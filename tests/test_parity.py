"""C++ against the NumPy reference after several shuffled epochs (the last batch partial), over
activation x loss x optimizer (with its options) x dtype x n_threads."""

import numpy as np
import pytest

from fastae import SGD, Adagrad, Adam, AdamW, RMSprop

from conftest import ACTIVATIONS, DTYPES, LOSSES, PARITY_TOL, THREADS, make_data, relative_error, trained_pair

OPTIMIZERS = {
    "sgd": dict(optimizer=SGD(lr=0.2)),
    "sgd-momentum": dict(optimizer=SGD(lr=0.1, momentum=0.9)),
    "sgd-dampening": dict(optimizer=SGD(lr=0.1, momentum=0.9, dampening=0.3)),
    "sgd-nesterov": dict(optimizer=SGD(lr=0.1, momentum=0.9, nesterov=True)),
    "sgd-weight-decay": dict(optimizer=SGD(lr=0.2, momentum=0.5, weight_decay=0.05)),
    "adagrad": dict(optimizer=Adagrad(lr=0.05)),
    "adagrad-weight-decay": dict(optimizer=Adagrad(lr=0.05, weight_decay=0.05)),
    "rmsprop": dict(optimizer=RMSprop(lr=0.005)),
    "rmsprop-momentum": dict(optimizer=RMSprop(lr=0.005, momentum=0.5)),
    "rmsprop-centered": dict(optimizer=RMSprop(lr=0.005, centered=True)),
    "rmsprop-all": dict(optimizer=RMSprop(lr=0.005, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.05)),
    "adam": dict(optimizer=Adam(lr=0.01)),
    "adam-amsgrad": dict(optimizer=Adam(lr=0.01, amsgrad=True)),
    "adam-weight-decay": dict(optimizer=Adam(lr=0.01, betas=(0.8, 0.99), weight_decay=0.05)),
    "adamw": dict(optimizer=AdamW(lr=0.01)),
    "adamw-amsgrad": dict(optimizer=AdamW(lr=0.01, weight_decay=0.1, amsgrad=True)),
    "adam-clip-value": dict(optimizer=Adam(lr=0.01), clip_value=0.002),
    "sgd-clip-norm": dict(optimizer=SGD(lr=0.5, momentum=0.5), clip_norm=0.01),
    "adam-clip-both": dict(optimizer=Adam(lr=0.01), clip_value=0.002, clip_norm=0.004),
}


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_training_matches_reference(activation, loss, optimizer, dtype, n_threads):
    X = make_data(40, 10, seed=7)
    model, reference = trained_pair(X, epochs=3, latent_dim=3, hidden=(6,), activation=activation,
                                    latent_activation=activation, loss=loss, batch_size=16, dtype=dtype,
                                    n_threads=n_threads, **OPTIMIZERS[optimizer])
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL[dtype]
    np.testing.assert_allclose(model.history_["loss"], reference.history, rtol=PARITY_TOL[dtype] * 10)


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
@pytest.mark.parametrize("output_activation", ACTIVATIONS)
def test_output_activations_match_reference(output_activation, loss, dtype, n_threads):
    # With a linear output, MAE's dL/dz is exactly +-1/N, so an even batch can give a bias gradient
    # that is exactly 0 in exact arithmetic and rounding noise in any real sum, which Adam then scales
    # up to a full step. Odd batches (15, 15, 11 rows) make such ties impossible.
    X = make_data(41, 10, seed=8) * 2 - 0.5
    model, reference = trained_pair(X, epochs=3, latent_dim=3, hidden=(6,), activation="tanh",
                                    output_activation=output_activation, loss=loss, batch_size=15, dtype=dtype,
                                    n_threads=n_threads, optimizer=Adam(lr=0.01))
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL[dtype]


@pytest.mark.parametrize("n_threads", [2, 3])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer", ["adam", "rmsprop-all", "sgd-clip-norm", "adam-clip-both"])
def test_layer_shared_by_columns_matches_reference(optimizer, dtype, n_threads):
    # The decoder 8 -> 520 with batches of 64: W has few rows per thread and dL/dz (64 x 520) is above
    # sgemm's in-place limit, so the threads share its gradient, clipping and update by columns
    # (520 is not a multiple of the 16- or 8-value blocks the columns are split in).
    X = make_data(150, 520, seed=10)
    model, reference = trained_pair(X, epochs=2, latent_dim=8, hidden=(), loss="bce", batch_size=64, dtype=dtype,
                                    n_threads=n_threads, **OPTIMIZERS[optimizer])
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL[dtype]
    np.testing.assert_allclose(model.history_["loss"], reference.history, rtol=PARITY_TOL[dtype] * 10)


@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("optimizer", ["adam", "sgd-clip-norm"])
def test_weights_packed_ahead_match_reference(optimizer, n_threads):
    # W of 300 x 130 (156 KB) is above sgemm's in-place limit: in float32 training the threads keep
    # it, and every W^T, packed for the next step, each repacking the rows it updated (300 and 130
    # rows split in 2 or 3 do not fall on the 16- or 32-column panels, so threads share panels).
    X = make_data(150, 300, seed=11)
    model, reference = trained_pair(X, epochs=2, latent_dim=20, hidden=(130,), loss="mse", batch_size=64,
                                    dtype="float32", n_threads=n_threads, **OPTIMIZERS[optimizer])
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL["float32"]
    np.testing.assert_allclose(model.history_["loss"], reference.history, rtol=PARITY_TOL["float32"] * 10)
    # inference packs each such W once per call, for all its chunks
    assert relative_error([model.encode(X)], [reference.encode(X)]) < PARITY_TOL["float32"]
    assert relative_error([model.reconstruct(X)], [reference.reconstruct(X)]) < PARITY_TOL["float32"]
    assert relative_error([model.reconstruction_error(X)], [reference.reconstruction_error(X)]) < PARITY_TOL["float32"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", LOSSES)
def test_inference_matches_reference(dtype, loss):
    X = make_data(2500, 10, seed=9)  # more rows than two inference chunks (1,024 rows each)
    model, reference = trained_pair(X, epochs=2, latent_dim=3, hidden=(6, 5), loss=loss, dtype=dtype, batch_size=32,
                                    n_threads=2)
    tol = PARITY_TOL[dtype]
    Z = model.encode(X)
    assert relative_error([Z], [reference.encode(X)]) < tol
    assert relative_error([model.decode(Z)], [reference.decode(Z)]) < tol
    assert relative_error([model.reconstruct(X)], [reference.reconstruct(X)]) < tol
    assert relative_error([model.reconstruction_error(X)], [reference.reconstruction_error(X)]) < tol
    assert abs(model.evaluate(X) - reference.evaluate(X)) < tol * abs(reference.evaluate(X))


def test_parity_check_can_fail():
    """A different optimizer setting gives weights far outside the parity tolerance."""
    X = make_data(40, 10, seed=7)
    model, _ = trained_pair(X, latent_dim=3, hidden=(6,), dtype="float64", optimizer=Adam(lr=0.01))
    _, other = trained_pair(X, latent_dim=3, hidden=(6,), dtype="float64", optimizer=Adam(lr=0.011))
    assert relative_error(model.get_weights(), other.get_weights()) > 1e-4
