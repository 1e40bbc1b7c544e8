"""Missing values (missing="mask"): a NaN input is filled with its column's training mean before
scaling, a NaN target counts for nothing (the loss is the mean over the observed entries) and its
per-feature loss is NaN. The core against the NumPy reference (inference and training, over dtype
x threads x loss x scaling), the reference's masked gradient against finite differences, training
against PyTorch with the masked loss, and the Python API: fit, partial_fit, the errors, impute,
persistence and the refusals."""

import numpy as np
import pytest

from fastae import Autoencoder, VariationalAutoencoder, load
from fastae.reference import (Network, ReferenceAutoencoder, ReferenceVariationalAutoencoder, fill_inputs,
                              mask_targets)

from conftest import DTYPES, LOSSES, PARITY_TOL, THREADS, make_data, relative_error


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


# ----------------------------------------------------------------- training, against the reference
def masked_pair(X, epochs=3, model_class=Autoencoder, reference_class=ReferenceAutoencoder, **params):
    """A missing="mask" model trained on X (with NaN) by C++ and by the reference, from the same
    weights, fill values and scaling (those of X, set by a fit of no epochs)."""
    params.setdefault("random_state", 0)
    model = model_class(missing="mask", **params).fit(X, epochs=0)
    reference = reference_class(model)
    model.set_params(warm_start=True).fit(X, epochs=epochs)
    reference.fit(X, epochs)
    return model, reference


@pytest.mark.parametrize("loss,scale", [("mse", "none"), ("mse", "standard"), ("mae", "minmax"), ("huber", "none"),
                                        ("bce", "none"), ("bce", "minmax")])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
def test_masked_training_matches_the_reference(loss, scale, dtype, n_threads):
    H = with_holes(make_data(50, 9, 4)).astype(dtype)
    out = "sigmoid" if loss == "bce" else "linear"
    model, reference = masked_pair(H, latent_dim=3, hidden=(6,), loss=loss, output_activation=out, scale=scale,
                                   batch_size=16, dtype=dtype, n_threads=n_threads, optimizer="adam",
                                   learning_rate=0.01)
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL[dtype]
    np.testing.assert_allclose(model.history_["loss"], reference.history, rtol=PARITY_TOL[dtype] * 10)
    np.testing.assert_allclose(model.reconstruction_error(H), reference.reconstruction_error(H),
                               rtol=PARITY_TOL[dtype] * 100)
    np.testing.assert_allclose(model.evaluate(H), reference.evaluate(H), rtol=PARITY_TOL[dtype] * 100)


@pytest.mark.parametrize("variant", [dict(noise="gaussian", noise_level=0.05), dict(dropout=0.2),
                                     dict(activity_l1=1e-3), dict(tied_weights=True)])
def test_masked_training_of_the_variants_matches_the_reference(variant):
    H = with_holes(make_data(40, 8, 5))
    model, reference = masked_pair(H, latent_dim=3, hidden=(5,), batch_size=16, dtype="float64", n_threads=2,
                                   output_activation="linear", **variant)
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL["float64"]


@pytest.mark.parametrize("n_threads", THREADS)
def test_masked_vae_training_matches_the_reference(n_threads):
    H = with_holes(make_data(40, 8, 6))
    model, reference = masked_pair(H, 3, VariationalAutoencoder, ReferenceVariationalAutoencoder, latent_dim=2,
                                   hidden=(6,), batch_size=16, dtype="float64", n_threads=n_threads)
    assert relative_error(model.get_weights(), reference.get_weights()) < PARITY_TOL["float64"]
    np.testing.assert_allclose(model.history_["loss"], reference.history["loss"], rtol=1e-9)


def test_a_masked_loss_counts_the_observed_entries_only():
    """The epoch's loss with a hole is the mean over the observed entries: the same as the plain
    model's on the same rows when the hole's target is what the model would put there anyway."""
    X = make_data(30, 6, 7)
    H = X.copy()
    H[3, 2] = np.nan
    model = Autoencoder(latent_dim=2, dtype="float64", missing="mask", epochs=0, random_state=0).fit(H)
    sums, counts = model._row_losses(H, 1)
    np.testing.assert_array_equal(counts, np.where(np.arange(30) == 3, 5, 6))
    per_feature = model.reconstruction_error(H, per_feature=True)
    np.testing.assert_allclose(model.evaluate(H), np.nansum(per_feature) / (30 * 6 - 1), rtol=1e-12)
    np.testing.assert_allclose(model.reconstruction_error(H)[3], np.nanmean(per_feature[3]), rtol=1e-12)


@pytest.mark.parametrize("loss", LOSSES)
def test_the_masked_gradient_matches_finite_differences(loss):
    rng = np.random.default_rng(8)
    sizes = [5, 4, 5]
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        weights += [rng.normal(0, 0.7, (fan_in, fan_out)), rng.normal(0, 0.3, fan_out)]
    net = Network(weights, ["tanh", "sigmoid" if loss == "bce" else "tanh"], loss)
    X = rng.random((7, 5))
    mask = (rng.random((7, 5)) > 0.3).astype(np.float64)
    _, analytic = net.loss_and_gradients(X, None, None, mask)
    h = 1e-6
    for w, a in zip(net.weights, analytic):
        numeric = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            saved = w[idx]
            w[idx] = saved + h
            plus, _ = net.loss_and_gradients(X, None, None, mask)
            w[idx] = saved - h
            minus, _ = net.loss_and_gradients(X, None, None, mask)
            w[idx] = saved
            numeric[idx] = (plus - minus) / (2 * h)  # (L(w + h) - L(w - h)) / 2h
        np.testing.assert_allclose(a, numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", ["mse", "bce", "huber"])
def test_masked_training_matches_torch(dtype, loss):
    torch = pytest.importorskip("torch", reason="PyTorch is an optional peer: pip install torch==2.13.0")
    from test_torch import TORCH_TOL, torch_twin, torch_weights
    H = with_holes(make_data(48, 8, 9)).astype(dtype)
    out = "sigmoid" if loss == "bce" else "linear"
    model = Autoencoder(latent_dim=3, hidden=(6,), loss=loss, output_activation=out, missing="mask", batch_size=16,
                        shuffle=False, dtype=dtype, n_threads=1, optimizer="adam", learning_rate=0.01,
                        random_state=0).fit(H, epochs=0)
    tdtype = torch.float64 if dtype == "float64" else torch.float32
    net = torch_twin(model, tdtype)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    model.set_params(warm_start=True).fit(H, epochs=2)
    observed = ~np.isnan(H)
    inputs = torch.from_numpy(np.where(observed, H, model.fill_values_.astype(dtype)))
    goal, m = torch.from_numpy(np.where(observed, H, 0).astype(dtype)), torch.from_numpy(observed.astype(dtype))
    elementwise = {"mse": torch.nn.MSELoss(reduction="none"), "bce": torch.nn.BCEWithLogitsLoss(reduction="none"),
                   "huber": torch.nn.HuberLoss(reduction="none", delta=1.0)}[loss]
    torch.set_num_threads(1)
    for _ in range(2):
        for start in range(0, len(H), 16):
            rows = slice(start, start + 16)
            opt.zero_grad()
            batch_loss = (elementwise(net(inputs[rows]), goal[rows]) * m[rows]).sum() / m[rows].sum()  # observed mean
            batch_loss.backward()
            opt.step()
    assert relative_error(model.get_weights(), torch_weights(net)) < TORCH_TOL[dtype]


# ----------------------------------------------------------------- the Python API
def test_without_nan_mask_mode_trains_as_error_mode_does():
    X = make_data(60, 8, 10)
    params = dict(latent_dim=3, hidden=(6,), dtype="float64", epochs=3, batch_size=16, random_state=0, n_threads=2)
    plain = Autoencoder(**params).fit(X)
    masked = Autoencoder(missing="mask", **params).fit(X)
    assert relative_error(masked.get_weights(), plain.get_weights()) < 1e-13
    np.testing.assert_allclose(masked.history_["loss"], plain.history_["loss"], rtol=1e-13)
    np.testing.assert_allclose(masked.fill_values_, X.mean(axis=0), rtol=1e-13)


def test_error_mode_refuses_nan_and_says_what_to_type():
    H = with_holes(make_data(30, 6, 11))
    with pytest.raises(ValueError, match=r"X: contains NaN .*missing='mask'"):
        Autoencoder(latent_dim=2, epochs=1).fit(H)
    model = Autoencoder(latent_dim=2, epochs=1, random_state=0).fit(make_data(30, 6, 11))
    with pytest.raises(ValueError, match="X: contains NaN"):
        model.encode(H)
    with pytest.raises(ValueError, match="impute: .*missing='mask'"):
        model.impute(H)


def test_a_late_nan_in_error_mode_still_stops_partial_fit_and_restores_the_model():
    X = make_data(300, 6, 12)
    model = Autoencoder(latent_dim=2, epochs=1, batch_size=32, random_state=0).fit(X)
    before = model.get_weights()
    X[290, 3] = np.nan  # in the last batch: the earlier batches' updates must be undone
    with pytest.raises(ValueError, match=r"X: contains NaN .*row 290, column 3"):
        model.partial_fit(X)
    assert relative_error(model.get_weights(), before) == 0


@pytest.mark.parametrize("method", ["fit", "partial_fit", "reconstruction_error", "evaluate"])
def test_a_row_with_nothing_observed_is_refused_by_name(method):
    H = with_holes(make_data(40, 6, 13))
    model = Autoencoder(latent_dim=2, epochs=1, missing="mask", random_state=0).fit(H)
    H[17] = np.nan
    with pytest.raises(ValueError, match="X: row 17 has nothing observed"):
        getattr(model, method)(H)


def test_a_built_model_refuses_an_empty_row_in_a_late_batch_and_keeps_its_weights():
    H = with_holes(make_data(300, 6, 14))
    model = Autoencoder(latent_dim=2, epochs=1, batch_size=32, missing="mask", shuffle=False,
                        random_state=0).fit(H)
    before = model.get_weights()
    H[295] = np.nan
    with pytest.raises(ValueError, match="X: row 295 has nothing observed"):
        model.partial_fit(H)
    assert relative_error(model.get_weights(), before) == 0


def test_encode_reconstruct_and_impute_take_rows_with_nothing_observed():
    H = with_holes(make_data(40, 6, 15))
    model = Autoencoder(latent_dim=2, epochs=2, missing="mask", random_state=0).fit(H)
    H[5] = np.nan
    codes = model.encode(H)
    assert np.all(np.isfinite(codes))
    np.testing.assert_array_equal(codes[5], model.encode(model.fill_values_.reshape(1, -1).astype(np.float32))[0])
    assert np.all(np.isfinite(model.impute(H)))


def test_infinity_is_still_an_error():
    H = with_holes(make_data(40, 6, 16))
    H[9, 4] = np.inf
    with pytest.raises(ValueError, match=r"X: contains infinity .*row 9, column 4"):
        Autoencoder(latent_dim=2, epochs=1, missing="mask").fit(H)
    model = Autoencoder(latent_dim=2, epochs=1, missing="mask", random_state=0).fit(with_holes(make_data(40, 6, 16)))
    with pytest.raises(ValueError, match=r"X: contains infinity .*row 9, column 4"):
        model.encode(H)


def test_a_column_with_nothing_observed_is_refused_and_the_model_is_unchanged():
    H = with_holes(make_data(40, 6, 17))
    model = Autoencoder(latent_dim=2, epochs=1, missing="mask", random_state=0).fit(H)
    before = model.get_weights()
    bad = H.copy()
    bad[:, 4] = np.nan
    with pytest.raises(ValueError, match="X: column 4 has no observed value"):
        model.fit(bad)
    assert relative_error(model.get_weights(), before) == 0
    np.testing.assert_allclose(model.fill_values_, np.nanmean(H.astype(np.float32).astype(np.float64), axis=0),
                               rtol=1e-12)  # the means of the first fit's rows, as the model read them
    fresh = Autoencoder(latent_dim=2, epochs=1, missing="mask")
    with pytest.raises(ValueError, match="column 4"):
        fresh.partial_fit(bad)
    assert not fresh.__sklearn_is_fitted__()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("x_dtype", [np.float32, np.float64])
def test_impute_fills_the_holes_and_keeps_every_observed_entry(dtype, x_dtype):
    X = make_data(200, 8, 18)
    H = with_holes(X).astype(x_dtype)
    model = Autoencoder(latent_dim=3, hidden=(16,), epochs=20, missing="mask", scale="standard",
                        output_activation="linear", dtype=dtype, random_state=0).fit(H)
    before = H.copy()
    filled = model.impute(H, n_iter=3)
    np.testing.assert_array_equal(H, before)  # X itself is untouched (NaN compare equal here)
    assert filled.dtype == x_dtype and filled.shape == H.shape
    observed = ~np.isnan(H)
    assert np.array_equal(filled[observed].view(np.uint8), H[observed].view(np.uint8))  # bit for bit
    assert not np.isnan(filled).any()
    reconstruction = model.reconstruct(np.where(observed, H, model.fill_values_).astype(dtype))
    once = model.impute(H, n_iter=1)
    np.testing.assert_allclose(once[~observed], reconstruction[~observed].astype(x_dtype), rtol=1e-6)
    holes = ~observed
    rmse = lambda F: np.sqrt(np.mean((F[holes] - X[holes]) ** 2))
    assert rmse(filled) < rmse(np.where(observed, H, model.fill_values_))  # better than the column means


def test_impute_refuses_what_it_cannot_do():
    H = with_holes(make_data(40, 6, 19))
    model = Autoencoder(latent_dim=2, epochs=1, missing="mask", random_state=0).fit(H)
    with pytest.raises(ValueError, match="n_iter"):
        model.impute(H, n_iter=0)
    with pytest.raises(TypeError, match="n_iter"):
        model.impute(H, n_iter=1.5)
    wider = Autoencoder(latent_dim=2, epochs=1, missing="mask", random_state=0).fit(H, target=np.ones((40, 3)))
    with pytest.raises(ValueError, match="impute: the model produces 3 columns from 6"):
        wider.impute(H)


def test_the_fill_values_are_saved_and_a_bad_one_is_refused(tmp_path):
    H = with_holes(make_data(40, 6, 20))
    model = Autoencoder(latent_dim=2, epochs=2, missing="mask", scale="standard", random_state=0).fit(H)
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = load(path)
    np.testing.assert_array_equal(loaded.fill_values_, model.fill_values_)
    np.testing.assert_array_equal(loaded.impute(H), model.impute(H))
    np.testing.assert_array_equal(loaded.reconstruction_error(H), model.reconstruction_error(H))
    import pickle
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).impute(H), model.impute(H))
    with np.load(path) as f:
        members = dict(f)
    members["missing:fill"] = members["missing:fill"].copy()
    members["missing:fill"][2] = np.nan
    np.savez(tmp_path / "bad.npz", **members)
    with pytest.raises(ValueError, match="missing:fill"):
        load(tmp_path / "bad.npz")


def test_missing_is_part_of_the_architecture_and_checked_by_name():
    with pytest.raises(ValueError, match="missing: unknown name 'drop'"):
        Autoencoder(missing="drop").fit(make_data(20, 4, 0))
    model = Autoencoder(latent_dim=2, epochs=1, random_state=0).fit(make_data(20, 4, 0))
    model.set_params(missing="mask", warm_start=True)
    with pytest.raises(ValueError, match="missing changed since the model was built"):
        model.fit(make_data(20, 4, 0))


def test_the_scaling_statistics_leave_the_holes_out():
    X = make_data(500, 6, 21) * 100 + 1e4
    H = with_holes(X, 0.3)
    for scale in ("standard", "minmax"):
        model = Autoencoder(latent_dim=2, epochs=0, missing="mask", scale=scale, output_activation="linear",
                            dtype="float64").fit(H)
        s = model.scaling_
        if scale == "standard":
            np.testing.assert_allclose(s.in_shift, np.nanmean(H, axis=0), rtol=1e-12)
            np.testing.assert_allclose(s.in_scale, np.nanstd(H, axis=0), rtol=1e-9)
        else:
            np.testing.assert_array_equal(s.in_shift, np.nanmin(H, axis=0))
            np.testing.assert_allclose(s.in_scale, np.nanmax(H, axis=0) - np.nanmin(H, axis=0), rtol=1e-12)


def test_validation_data_with_holes_is_scored_over_its_observed_entries():
    H = with_holes(make_data(80, 6, 22))
    model = Autoencoder(latent_dim=2, epochs=3, missing="mask", random_state=0, validation_fraction=0.25).fit(H)
    assert np.all(np.isfinite(model.history_["val_loss"]))
    V = with_holes(make_data(30, 6, 23), seed=5)
    model.fit(H, validation_data=V)
    np.testing.assert_allclose(model.history_["val_loss"][-1], model.evaluate(V), rtol=1e-6)


def test_scikit_learn_sees_that_mask_mode_takes_nan():
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    assert Autoencoder(missing="mask").__sklearn_tags__().input_tags.allow_nan
    assert not Autoencoder().__sklearn_tags__().input_tags.allow_nan
    H = with_holes(make_data(120, 8, 24))
    y = np.arange(120) % 2
    pipe = make_pipeline(Autoencoder(latent_dim=3, epochs=5, missing="mask", random_state=0), LogisticRegression())
    assert 0.0 <= pipe.fit(H, y).score(H, y) <= 1.0


def test_a_detector_around_a_mask_model_scores_rows_with_holes():
    from fastae import AnomalyDetector
    H = with_holes(make_data(200, 8, 25))
    model = Autoencoder(latent_dim=3, epochs=3, missing="mask", scale="standard", output_activation="linear",
                        random_state=0)
    detector = AnomalyDetector(model).fit(H)
    scores = detector.anomaly_score(H)
    assert np.all(np.isfinite(scores))
    np.testing.assert_array_equal(scores, detector.decision_scores_)
    np.testing.assert_array_equal(np.isnan(detector.feature_scores(H)), np.isnan(H))
    pytest.importorskip("sklearn")
    assert detector.__sklearn_tags__().input_tags.allow_nan
    assert not AnomalyDetector().__sklearn_tags__().input_tags.allow_nan


def test_impute_keeps_a_dataframe_s_feature_names_quiet():
    pd = pytest.importorskip("pandas")
    H = with_holes(make_data(60, 4, 26))
    frame = pd.DataFrame(H, columns=list("abcd"))
    model = Autoencoder(latent_dim=2, epochs=2, missing="mask", random_state=0).fit(frame)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        filled = model.impute(frame)
    assert filled.shape == H.shape and not np.isnan(filled).any()
