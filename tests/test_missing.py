"""Missing values, the core's inference part (missing.hpp through Network.row_losses): a NaN input
is filled with its column's value before scaling, a NaN target counts for nothing and its
per-feature loss is NaN; against the NumPy reference over dtype x threads x loss x scaling.
(The Python option missing="mask" and training on NaN are not built yet.)"""

import numpy as np
import pytest

from fastae import Autoencoder
from fastae.reference import ReferenceAutoencoder, fill_inputs, mask_targets
from fastae.reference.scaling import scale_columns

from conftest import DTYPES, PARITY_TOL, THREADS, make_data


def with_holes(X, fraction=0.2, seed=1):
    X = X.copy()
    X[np.random.default_rng(seed).random(X.shape) < fraction] = np.nan
    X[0, :-1] = np.nan  # one row with a single observed entry
    return X


def core_losses(model, X, n_threads):
    """(row sums, per-feature losses, observed counts) from the core's row_losses."""
    n = X.shape[0]
    sums, counts = np.empty(n), np.empty(n)
    per_feature = np.empty((n, model.n_outputs_), dtype=X.dtype)
    model._model.row_losses(X, None, sums, n_threads, 0, None, per_feature, counts)
    return sums, per_feature, counts


def reference_losses(model, X, fill):
    """The same from the reference: filled and scaled inputs, masked and scaled targets."""
    ref = ReferenceAutoencoder(model)
    T, mask = mask_targets(X)
    x, t = ref.scaled(fill_inputs(X, fill), T)
    return ref.net.row_losses(x, t, mask), mask.sum(axis=1)


@pytest.mark.parametrize("loss,scale", [("mse", "none"), ("mse", "standard"), ("mae", "minmax"), ("huber", "standard"),
                                        ("bce", "minmax"), ("bce", "none")])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
def test_masked_row_losses_match_the_reference(loss, scale, dtype, n_threads):
    X = make_data(60, 9, 0).astype(dtype)
    out = "sigmoid" if loss == "bce" else "linear"
    model = Autoencoder(latent_dim=3, hidden=(5,), loss=loss, output_activation=out, scale=scale, dtype=dtype,
                        epochs=2, random_state=0).fit(X)
    H = with_holes(X)
    fill = np.nanmean(H.astype(np.float64), axis=0)
    model._model.set_missing(fill.tolist())
    sums, per_feature, counts = core_losses(model, H, n_threads)
    want, want_counts = reference_losses(model, H, fill)
    np.testing.assert_array_equal(counts, want_counts)
    assert counts[0] == 1
    np.testing.assert_allclose(sums, want, rtol=PARITY_TOL[dtype] * 100, atol=PARITY_TOL[dtype])
    np.testing.assert_array_equal(np.isnan(per_feature), np.isnan(H))  # a missing entry's loss is NaN
    np.testing.assert_allclose(np.nansum(per_feature, axis=1), sums, rtol=PARITY_TOL[dtype] * 100)


def test_without_nan_the_masked_losses_are_the_plain_ones():
    X = make_data(50, 8, 2)
    model = Autoencoder(latent_dim=3, scale="standard", dtype="float64", epochs=2, random_state=0).fit(X)
    plain, plain_features, counts = core_losses(model, X, 2)
    np.testing.assert_array_equal(counts, 8)
    model._model.set_missing(X.mean(axis=0).tolist())
    masked, masked_features, counts = core_losses(model, X, 2)
    np.testing.assert_array_equal(masked, plain)
    np.testing.assert_array_equal(masked_features, plain_features)
    np.testing.assert_array_equal(counts, 8)


def test_the_core_fills_and_masks_as_done_by_hand_before_it():
    X = make_data(30, 6, 3)
    model = Autoencoder(latent_dim=2, dtype="float64", epochs=1, random_state=0).fit(X)
    fill = X.mean(axis=0)
    H = with_holes(X)
    model._model.set_missing(fill.tolist())
    inside, _, _ = core_losses(model, H, 1)
    model._model.set_missing([])  # no fill: the holes filled, the targets zeroed and masked before the core
    T, mask = mask_targets(H)
    n = H.shape[0]
    sums, per_feature = np.empty(n), np.empty((n, 6))
    model._model.row_losses(fill_inputs(H, fill), T, sums, 1, 0, None, per_feature)
    np.testing.assert_allclose(inside, (per_feature * mask).sum(axis=1), rtol=1e-10)


@pytest.mark.parametrize("fill,message", [([0.0] * 5, "one value per input column"),
                                          ([0.0] * 5 + [np.nan], "finite"), ([np.inf] + [0.0] * 5, "finite")])
def test_a_bad_fill_names_the_argument(fill, message):
    model = Autoencoder(latent_dim=2, epochs=1, random_state=0).fit(make_data(20, 6, 0))
    with pytest.raises(ValueError, match=f"fill: .*{message}"):
        model._model.set_missing(fill)
