"""Anomaly detection by reconstruction error, with PyOD's and scikit-learn's conventions side by
side: decision_scores_, threshold_ and labels_ as PyOD's detectors have them (higher = more
abnormal), score_samples, offset_, decision_function and predict (+1 / -1) as scikit-learn's
outlier detectors (IsolationForest, LocalOutlierFactor) have them."""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Optional

import numpy as np

from ._estimator import Estimator
from ._validation import LatentWarning
from .autoencoder import Autoencoder

__all__ = ["AnomalyDetector", "default_model", "threshold_of"]


def default_model() -> Autoencoder:
    """The model of AnomalyDetector(model=None), for tabular data, after PyOD's AutoEncoder
    defaults: encoder 64 -> 32 (decoder mirrored), dropout 0.2, batch 32, 10 epochs, Adam 1e-3;
    columns standardised inside the model, a linear output and MSE; random_state 0, so that two
    fits of the same data give the same detector."""
    return Autoencoder(latent_dim=32, hidden=(64,), dropout=0.2, batch_size=32, epochs=10, scale="standard",
                       output_activation="linear", loss="mse", random_state=0)


def threshold_of(scores: np.ndarray, contamination: Any) -> float:
    """The training scores' percentile at 100 (1 - contamination) (PyOD's rule, NumPy's linear
    interpolation), or for "auto" Q3 + 1.5 (Q3 - Q1)."""
    if contamination == "auto":
        q1, q3 = np.percentile(scores, [25, 75])
        return float(q3 + 1.5 * (q3 - q1))
    return float(np.percentile(scores, 100 * (1 - contamination)))


class AnomalyDetector(Estimator):
    """A scikit-learn outlier detector around an Autoencoder or VariationalAutoencoder.

    ``fit(X)`` trains a fresh copy of ``model`` (``model_``) on X; a row's anomaly score is its
    reconstruction error measured with squared error (``metric="mse"``) whatever the training
    loss, averaged over the features (for a VAE: at z = mu). ``threshold_`` is the training
    scores' percentile at 100 (1 - contamination) (PyOD's rule), or with
    ``contamination="auto"`` Q3 + 1.5 IQR of them (Tukey's fence).
    """

    _estimator_type = "outlier_detector"

    def __init__(self, model: Any = None, contamination: Any = 0.1):
        self.model = model
        self.contamination = contamination

    def _checked_contamination(self) -> Any:
        c = self.contamination
        if isinstance(c, str) and c == "auto":
            return c
        if isinstance(c, bool) or not isinstance(c, numbers.Real) or not (0.0 < float(c) <= 0.5):
            raise ValueError(f"contamination: expected a fraction in (0, 0.5] or 'auto', got {c!r}")
        return float(c)

    def _fresh_model(self) -> Autoencoder:
        if self.model is None:
            return default_model()
        if not isinstance(self.model, Autoencoder):
            raise TypeError(f"model: expected an Autoencoder or a VariationalAutoencoder, got {type(self.model).__name__}")
        return type(self.model)(**self.model.get_params(deep=False))

    def fit(self, X: Any, y: Any = None, *, comm: Any = None) -> "AnomalyDetector":
        """Train the model on X and set decision_scores_, threshold_, labels_, offset_. y is ignored.
        With ``comm`` (mpi4py), every rank passes its rows: the model is trained data-parallel
        (Autoencoder.fit), decision_scores_ are this rank's rows' scores, and the threshold is the
        percentile of every rank's scores."""
        contamination = self._checked_contamination()
        model = self._fresh_model()
        with warnings.catch_warnings():
            if self.model is None:  # the documented default (PyOD's 64 -> 32) on data narrower than its code
                warnings.simplefilter("ignore", LatentWarning)
            model.fit(X, comm=comm)
        scores = model.reconstruction_error(X, metric="mse")
        every = scores if comm is None else np.concatenate(comm.allgather(scores))  # in rank order
        return self._set_fitted(model, scores, threshold_of(every, contamination))

    def _set_fitted(self, model: Autoencoder, scores: np.ndarray, threshold: float) -> "AnomalyDetector":
        """The fitted state, all at once (a failed fit leaves the previous one whole)."""
        self.model_, self.decision_scores_, self.threshold_ = model, scores, float(threshold)
        self.labels_ = (scores > self.threshold_).astype(int)  # PyOD: 1 outlier, 0 inlier
        self.offset_ = -self.threshold_
        self.n_features_in_ = model.n_features_in_
        if hasattr(model, "feature_names_in_"):
            self.feature_names_in_ = model.feature_names_in_
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def save(self, path: Any, include_optimizer: bool = True) -> None:
        """Write the fitted detector (its model, threshold and training scores) to one file; fastae.load
        reads it. ``include_optimizer=False`` leaves the model's optimizer state out (for scoring)."""
        from ._persistence import save
        self._require_fitted("save")
        save(self, path, include_optimizer)  # after fit(comm=...): rank 0 alone writes

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def anomaly_score(self, X: Any, y: Any = None) -> np.ndarray:
        """Each row's anomaly score: its mean squared reconstruction error (higher = more abnormal).
        y is ignored (scikit-learn's and Keras' second argument), here and in the other scoring methods."""
        self._require_fitted("anomaly_score")
        return self.model_.reconstruction_error(X, metric="mse")

    def score_samples(self, X: Any, y: Any = None) -> np.ndarray:
        """-anomaly_score(X): higher = more normal (scikit-learn's convention)."""
        return -self.anomaly_score(X)

    def decision_function(self, X: Any, y: Any = None) -> np.ndarray:
        """score_samples(X) - offset_ = threshold_ - anomaly_score(X): negative for outliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any, y: Any = None) -> np.ndarray:
        """+1 for inliers, -1 for outliers (score above threshold_)."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        return self.fit(X).predict(X)

    def feature_scores(self, X: Any, y: Any = None) -> np.ndarray:
        """(n, n_features): each feature's squared reconstruction error; a row's mean is its anomaly score."""
        self._require_fitted("feature_scores")
        return self.model_.reconstruction_error(X, per_feature=True, metric="mse")

    def _require_fitted(self, what: str) -> None:
        from ._validation import not_fitted
        if not self.__sklearn_is_fitted__():
            raise not_fitted(f"{what}: this AnomalyDetector is not fitted yet; call fit(X) first")

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import Tags, TargetTags  # only asked for by scikit-learn itself
        tags = Tags(estimator_type="outlier_detector", target_tags=TargetTags(required=False))
        tags.non_deterministic = self.model is not None and getattr(self.model, "random_state", None) is None
        tags.input_tags.allow_nan = self.model is not None and getattr(self.model, "missing", None) == "mask"
        return tags
