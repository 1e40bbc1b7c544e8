"""scikit-learn conformance: its own estimator checks, clone, Pipeline, GridSearchCV, DataFrames."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils.estimator_checks import estimator_checks_generator

from fastae import Adam, AnomalyDetector, Autoencoder, CosineAnnealing, VariationalAutoencoder

from conftest import make_data

# Checks that cannot apply to fastae, and why.
NOT_APPLICABLE = {
    # The check runs only when the SCIPY_ARRAY_API environment variable is set, and asks that
    # array-API namespaces (CuPy, torch tensors, ...) pass through unconverted. fastae computes
    # on NumPy memory in C++; other array types are converted with np.asarray.
    "check_array_api_input": "array-API namespaces are converted to NumPy, not computed on",
}

# scikit-learn warns once per check that Autoencoder (or VariationalAutoencoder) does not inherit from its BaseEstimator:
# scikit-learn is a test-only dependency, so fastae implements the protocol itself.
NOT_INHERITING = "ignore:Estimator .* does not inherit"

ESTIMATORS = [
    Autoencoder(latent_dim=2, epochs=3, random_state=0),
    Autoencoder(latent_dim=2, hidden=(4,), epochs=3, dtype="float64", optimizer=Adam(lr=3e-3), random_state=0,
                validation_fraction=0.25, early_stopping=True, patience=1, lr_schedule=CosineAnnealing(3)),
    # the variants (tests/test_variants.py)
    Autoencoder(latent_dim=2, epochs=3, random_state=0, noise="masking", noise_level=0.2),
    Autoencoder(latent_dim=2, hidden=(4,), epochs=3, random_state=0, dropout=0.2),
    Autoencoder(latent_dim=2, epochs=3, random_state=0, latent_activation="sigmoid", sparsity_weight=0.1,
                activity_l1=0.01),
    Autoencoder(latent_dim=2, hidden=(4,), epochs=3, random_state=0, tied_weights=True),
    Autoencoder(latent_dim=2, epochs=3, random_state=0, latent_activation="tanh", contractive=0.1),
    # scaling inside the model (tests/test_scaling.py)
    Autoencoder(latent_dim=2, epochs=3, random_state=0, scale="standard", output_activation="linear"),
    # missing values (tests/test_missing.py): NaN allowed, infinity still refused
    Autoencoder(latent_dim=2, epochs=3, random_state=0, scale="standard", output_activation="linear", missing="mask"),
    # the variational autoencoder (tests/test_vae.py); the checks' data are not in [0, 1]: mse
    VariationalAutoencoder(latent_dim=2, hidden=(4,), epochs=3, random_state=0, loss="mse", kl_warmup_epochs=2),
    # the outlier detector (tests/test_anomaly.py): scikit-learn's outlier-detector checks too
    AnomalyDetector(),
    AnomalyDetector(VariationalAutoencoder(latent_dim=2, hidden=(4,), loss="mse", scale="standard", epochs=3,
                                           random_state=0), contamination="auto"),
]


def _checks():
    params = []
    with warnings.catch_warnings():
        warnings.filterwarnings(NOT_INHERITING.split(":", 1)[0], NOT_INHERITING.split(":", 1)[1])
        for i, estimator in enumerate(ESTIMATORS):
            for est, check in estimator_checks_generator(estimator, legacy=True):
                name = getattr(check, "func", check).__name__
                if name not in NOT_APPLICABLE:
                    params.append(pytest.param(est, check, id=f"{i}-{name}"))
    return params


CHECKS = _checks()


@pytest.mark.filterwarnings(NOT_INHERITING)
@pytest.mark.parametrize("estimator, check", CHECKS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_the_estimator_checks_ran():
    names = {p.id.split("-", 1)[1] for p in CHECKS}
    assert len(names) > 40 and {"check_fit_idempotent", "check_transformer_general", "check_estimators_pickle",
                                "check_n_features_in_after_fitting", "check_dont_overwrite_parameters"} <= names


def test_clone_keeps_hyperparameters_and_drops_learned_state():
    model = Autoencoder(latent_dim=3, hidden=(6,), optimizer=Adam(lr=0.01), lr_schedule=CosineAnnealing(4),
                        epochs=2, random_state=1).fit(make_data(40, 8))
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "history_") and not hasattr(copy, "n_features_in_")


def test_not_fitted_error_is_scikit_learns_too():
    with pytest.raises(SklearnNotFittedError, match="encode"):
        Autoencoder().encode(make_data(3, 4))


def test_pipeline_scaler_autoencoder_classifier():
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 3, (2, 12))
    y = rng.integers(0, 2, 300)
    X = centers[y] + rng.normal(0, 1, (300, 12))
    pipe = Pipeline([("scale", StandardScaler()),
                     ("ae", Autoencoder(latent_dim=3, output_activation="linear", epochs=30, batch_size=32,
                                        random_state=0)),
                     ("clf", LogisticRegression())])
    pipe.fit(X[:200], y[:200])
    assert pipe.named_steps["ae"].transform(X[:5]).shape == (5, 3)
    assert pipe.score(X[200:], y[200:]) > 0.9  # the two clusters stay separable in the 3-D codes


def test_fit_transform_is_fit_then_encode():
    X = make_data(50, 6)
    codes = Autoencoder(latent_dim=2, epochs=2, random_state=0).fit_transform(X)
    again = Autoencoder(latent_dim=2, epochs=2, random_state=0).fit(X)
    np.testing.assert_array_equal(codes, again.encode(X))


def test_grid_search_picks_by_score():
    X = MinMaxScaler().fit_transform(make_data(120, 10))
    search = GridSearchCV(Autoencoder(epochs=5, batch_size=16, random_state=0),
                          {"latent_dim": [1, 8], "learning_rate": [1e-3, 1e-2]}, cv=3)
    search.fit(X)
    assert search.best_params_["latent_dim"] == 8  # a wider code reconstructs better (score = -loss)
    assert search.best_score_ == pytest.approx(max(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.n_features_in_ == 10


def test_dataframe_feature_names():
    pd = pytest.importorskip("pandas", reason="pandas is optional: `pip install pandas`")
    X = make_data(30, 4)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    model = Autoencoder(latent_dim=2, epochs=1, random_state=0).fit(frame)
    assert list(model.feature_names_in_) == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="feature names should match"):
        model.encode(frame[["b", "a", "c", "d"]])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        codes = model.encode(X)
    np.testing.assert_array_equal(model.encode(frame), codes)
    assert not hasattr(Autoencoder(latent_dim=2, epochs=1).fit(X), "feature_names_in_")
