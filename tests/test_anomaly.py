"""AnomalyDetector: PyOD's threshold rule and attributes, scikit-learn's sign conventions, against
numpy.percentile and hand-computed cases."""

import copy
import pickle

import numpy as np
import pytest

from fastae import AnomalyDetector, Autoencoder, VariationalAutoencoder
from fastae.anomaly import threshold_of

from conftest import make_data


def data_with_outliers(seed=0):
    rng = np.random.default_rng(seed)
    inliers = make_data(300, 8, seed) * 4
    outliers = rng.uniform(-6, 10, (15, 8))
    return np.vstack([inliers, outliers]), np.r_[np.zeros(300), np.ones(15)]


def small_model(**params):
    return Autoencoder(**{"latent_dim": 3, "hidden": (8,), "scale": "standard", "output_activation": "linear",
                          "epochs": 30, "random_state": 0, "batch_size": 32, **params})


def test_threshold_labels_and_signs_follow_pyod_and_scikit_learn():
    X, _ = data_with_outliers()
    det = AnomalyDetector(small_model(), contamination=0.1).fit(X)
    scores = det.decision_scores_
    np.testing.assert_array_equal(scores, det.model_.reconstruction_error(X, metric="mse"))
    assert det.threshold_ == np.percentile(scores, 90)
    np.testing.assert_array_equal(det.labels_, (scores > det.threshold_).astype(int))
    assert det.offset_ == -det.threshold_
    np.testing.assert_array_equal(det.anomaly_score(X), scores)
    np.testing.assert_array_equal(det.score_samples(X), -scores)
    np.testing.assert_allclose(det.decision_function(X), det.threshold_ - scores)
    np.testing.assert_array_equal(det.predict(X), np.where(scores > det.threshold_, -1, 1))
    assert det.labels_.sum() in (31, 32)  # 10% of 315 rows
    np.testing.assert_array_equal(det.fit_predict(X), det.predict(X))


def test_the_detector_finds_the_planted_outliers():
    X, y = data_with_outliers()
    det = AnomalyDetector(small_model(), contamination=15 / 315).fit(X)
    from sklearn.metrics import roc_auc_score
    assert roc_auc_score(y, det.decision_scores_) > 0.95
    assert np.mean(det.labels_[y == 1]) > 0.8


def test_auto_contamination_is_tukeys_fence():
    X, _ = data_with_outliers()
    det = AnomalyDetector(small_model(), contamination="auto").fit(X)
    q1, q3 = np.percentile(det.decision_scores_, [25, 75])
    assert det.threshold_ == pytest.approx(q3 + 1.5 * (q3 - q1), rel=1e-15)


def test_hand_computed_thresholds():
    """Scores 1..10 at contamination 0.2: the 80th percentile, interpolated at position 7.2 of the
    sorted scores, is 8.2 (two rows above it); scores 1..8 with "auto": Q1 = 2.75, Q3 = 6.25, so
    6.25 + 1.5 * 3.5 = 11.5 (no row above it)."""
    assert threshold_of(np.arange(1.0, 11.0), 0.2) == pytest.approx(8.2)
    assert threshold_of(np.arange(8.0, 0.0, -1.0), "auto") == pytest.approx(11.5)
    assert threshold_of(np.array([5.0, 1.0, 3.0]), 0.5) == 3.0


def test_feature_scores_explain_the_score():
    X, _ = data_with_outliers()
    det = AnomalyDetector(small_model()).fit(X)
    f = det.feature_scores(X)
    assert f.shape == X.shape
    np.testing.assert_allclose(f.astype(np.float64).mean(axis=1), det.anomaly_score(X), rtol=1e-5)


def test_the_model_is_copied_not_fitted_in_place():
    X, _ = data_with_outliers()
    model = small_model()
    det = AnomalyDetector(model).fit(X)
    assert not model.__sklearn_is_fitted__() and det.model_ is not model
    assert det.model_.get_params() == model.get_params()


def test_a_vae_detector_and_the_default_model():
    X, _ = data_with_outliers()
    vae = VariationalAutoencoder(latent_dim=2, hidden=(8,), loss="mse", scale="standard", epochs=5, random_state=0)
    det = AnomalyDetector(vae).fit(X)
    np.testing.assert_array_equal(det.decision_scores_, det.model_.reconstruction_error(X, metric="mse"))
    default = AnomalyDetector().fit(X)
    assert default.model_.get_params()["hidden"] == (64,) and default.model_.scale == "standard"
    assert np.array_equal(AnomalyDetector().fit(X).decision_scores_, default.decision_scores_)  # seeded


def test_pickle_deepcopy_and_clone():
    from sklearn.base import clone
    X, _ = data_with_outliers()
    det = AnomalyDetector(small_model(epochs=3)).fit(X)
    for other in (pickle.loads(pickle.dumps(det)), copy.deepcopy(det)):
        np.testing.assert_array_equal(other.anomaly_score(X), det.anomaly_score(X))
        assert other.threshold_ == det.threshold_
    fresh = clone(det)
    assert not fresh.__sklearn_is_fitted__() and fresh.get_params()["contamination"] == 0.1


@pytest.mark.parametrize("contamination", [0.0, 0.6, -0.1, "high", True, None, float("nan")])
def test_bad_contamination_names_the_argument(contamination):
    with pytest.raises(ValueError, match="contamination"):
        AnomalyDetector(small_model(epochs=1), contamination=contamination).fit(make_data(20, 4))


def test_a_bad_model_and_an_unfitted_detector_are_refused():
    with pytest.raises(TypeError, match="model"):
        AnomalyDetector(model="pca").fit(make_data(20, 4))
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        AnomalyDetector().predict(make_data(5, 4))


def test_nothing_half_fitted_is_left_after_a_failure():
    X, _ = data_with_outliers()
    det = AnomalyDetector(small_model(epochs=1)).fit(X)
    before = det.threshold_
    bad = X.copy()
    bad[5, 2] = np.inf
    with pytest.raises(ValueError, match="X"):
        det.fit(bad)
    assert det.threshold_ == before and det.model_.__sklearn_is_fitted__()


@pytest.mark.parametrize("default", [False, True])
def test_save_and_load(tmp_path, default):
    import fastae
    X, _ = data_with_outliers()
    det = AnomalyDetector(None if default else small_model(epochs=3), contamination="auto" if default else 0.05).fit(X)
    det.save(tmp_path / "det.fae")
    loaded = fastae.load(tmp_path / "det.fae")
    assert type(loaded) is AnomalyDetector and loaded.get_params()["contamination"] == det.contamination
    assert (loaded.model is None) == default
    assert loaded.threshold_ == det.threshold_
    np.testing.assert_array_equal(loaded.decision_scores_, det.decision_scores_)
    np.testing.assert_array_equal(loaded.predict(X), det.predict(X))
    np.testing.assert_array_equal(loaded.anomaly_score(X), det.anomaly_score(X))


def test_a_corrupt_detector_table_is_refused(tmp_path):
    import json
    import fastae
    from fastae._persistence import HEADER, detector_state
    X, _ = data_with_outliers()
    header, arrays = detector_state(AnomalyDetector(small_model(epochs=1)).fit(X))
    header["detector"]["threshold"] = "high"
    with open(tmp_path / "bad.fae", "wb") as f:  # np.savez would add .npz to a path
        np.savez(f, **{HEADER: np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)}, **arrays)
    with pytest.raises(ValueError, match="detector"):
        fastae.load(tmp_path / "bad.fae")


def test_the_roc_area_of_the_plots_is_scikit_learns():
    from sklearn.metrics import roc_auc_score
    from fastae.plotting import roc_points
    rng = np.random.default_rng(0)
    scores = rng.random(400).round(2)  # ties included
    y = rng.random(400) < 0.3
    assert roc_points(scores, y)[2] == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
