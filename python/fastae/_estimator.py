"""The scikit-learn plumbing every fastae model shares: hyperparameters read from ``__init__``'s
signature (get_params, set_params, repr), whether the model is fitted, the stop flag callbacks
set, and the column names of a DataFrame checked from fit to inference (scikit-learn's rules and
wording). A model class subclasses Estimator and keeps its network in ``self._model``.
"""

from __future__ import annotations

import copy
import inspect
import warnings
from typing import Any, Dict, List, Optional

import numpy as np

from ._validation import not_fitted
from .optim import Optimizer

__all__ = ["Estimator", "feature_names", "same_value"]


class Estimator:
    """The base of fastae's model classes: their hyperparameters are __init__'s arguments."""

    @classmethod
    def _param_names(cls) -> List[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The constructor's hyperparameters (scikit-learn convention); with deep=True also an
        optimizer instance's own, as ``optimizer__lr`` etc."""
        params = {name: getattr(self, name) for name in self._param_names()}
        if deep and isinstance(getattr(self, "optimizer", None), Optimizer):
            params.update({f"optimizer__{k}": v for k, v in self.optimizer.get_params().items()})
        return params

    def set_params(self, **params: Any) -> "Estimator":
        """Set hyperparameters; they take effect at the next ``fit``/``build``. ``optimizer__<name>``
        changes one hyperparameter of an optimizer instance (on a copy: the old instance is untouched)."""
        valid = set(self._param_names())
        nested = {k.split("__", 1)[1]: v for k, v in params.items() if k.startswith("optimizer__")}
        for name, value in params.items():
            if name.startswith("optimizer__"):
                continue
            if name not in valid:
                raise ValueError(f"set_params: unknown parameter {name!r} (known: {', '.join(sorted(valid))})")
            setattr(self, name, value)
        if nested:
            if not isinstance(self.optimizer, Optimizer):
                raise ValueError(f"set_params: optimizer__{next(iter(nested))} needs an optimizer instance such as "
                                 f"Adam(), but optimizer is {self.optimizer!r}")
            self.optimizer = copy.copy(self.optimizer).set_params(**nested)
        return self

    def __repr__(self) -> str:
        defaults = inspect.signature(type(self).__init__).parameters
        changed = [f"{k}={v!r}" for k, v in self.get_params(deep=False).items() if not same_value(v, defaults[k].default)]
        return f"{type(self).__name__}({', '.join(changed)})"

    @property
    def stop_training(self) -> bool:
        """Set to True (e.g. from a callback) to end fit after the current epoch."""
        return getattr(self, "_stop_training", False)

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        self._stop_training = bool(value)

    def __sklearn_is_fitted__(self) -> bool:
        """Whether the network exists (after fit, partial_fit, build or load)."""
        return getattr(self, "_model", None) is not None

    def _require_built(self, what: str) -> None:
        if not self.__sklearn_is_fitted__():
            raise not_fitted(f"{what}: this {type(self).__name__} is not fitted yet; call fit(X) or build(n_features) first")

    def _set_feature_names(self, names: Optional[np.ndarray]) -> None:
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _check_feature_names(self, names: Optional[np.ndarray], what: str) -> None:
        """Column names of a DataFrame must match those seen by fit (scikit-learn's rule and wording)."""
        fitted = getattr(self, "feature_names_in_", None)
        if fitted is None and names is not None:
            warnings.warn(f"X has feature names, but {type(self).__name__} was fitted without feature names",
                          UserWarning, stacklevel=3)
        elif fitted is not None and names is None:
            warnings.warn(f"X does not have valid feature names, but {type(self).__name__} was fitted with "
                          "feature names", UserWarning, stacklevel=3)
        elif fitted is not None and names is not None and not np.array_equal(fitted, names):
            raise ValueError(f"{what}: The feature names should match those that were passed during fit. "
                             f"Fitted with {list(fitted)[:5]}..., got {list(names)[:5]}...")


def feature_names(X: Any) -> Optional[np.ndarray]:
    """The column names of a DataFrame-like X when they are all strings, else None."""
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    names = np.asarray(list(columns), dtype=object)
    are_str = [isinstance(n, str) for n in names]
    if any(are_str) and not all(are_str):
        raise TypeError("X: column names must all be strings or none of them; got a mix "
                        f"({sorted({type(n).__name__ for n in names})}). Convert them with X.columns = X.columns.astype(str)")
    return names if names.size and all(are_str) else None


def same_value(a: Any, b: Any) -> bool:
    """Whether a hyperparameter still has value b (== where it means that; arrays never do)."""
    if isinstance(a, Optimizer) or isinstance(b, Optimizer):
        return a == b
    try:
        return bool(a == b) if not isinstance(a, np.ndarray) else False
    except (TypeError, ValueError):
        return a is b
