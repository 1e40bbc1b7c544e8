"""Shared helpers: seeded data, tolerances per dtype, and a C++/reference pair on one seed."""

from typing import Any, List, Tuple

import numpy as np
import pytest

from fastae import Autoencoder
from fastae.reference import ReferenceAutoencoder

# Weights after several epochs: C++ and NumPy agree to this relative norm error.
PARITY_TOL = {"float64": 1e-10, "float32": 1e-4}
ACTIVATIONS = ["linear", "relu", "leaky_relu", "elu", "tanh", "sigmoid", "softplus"]
LOSSES = ["mse", "bce", "mae", "huber"]
DTYPES = ["float64", "float32"]
THREADS = [1, 2]


def make_data(n: int = 40, n_features: int = 10, seed: int = 0) -> np.ndarray:
    """Values in [0, 1] with some structure, so that training has something to learn."""
    rng = np.random.default_rng(seed)
    codes = rng.random((n, 3))
    mixing = rng.random((3, n_features))
    return np.clip(codes @ mixing / 3 + 0.1 * rng.random((n, n_features)), 0, 1)


def relative_error(got: List[np.ndarray], want: List[np.ndarray]) -> float:
    """The largest ||got - want|| / ||want|| over a list of arrays."""
    return max(float(np.linalg.norm(g.astype(np.float64) - w.astype(np.float64)) / max(np.linalg.norm(w), 1e-30))
               for g, w in zip(got, want))


def trained_pair(X: np.ndarray, epochs: int = 3, model_class: type = Autoencoder,
                 reference_class: type = ReferenceAutoencoder, **params: Any) -> Tuple[Any, Any]:
    """The same model trained by C++ and by the NumPy reference from the same weights and seed
    (an Autoencoder, or the classes given: a VariationalAutoencoder and its reference)."""
    params.setdefault("random_state", 0)
    model = model_class(**params).build(X.shape[1])
    reference = reference_class(model)
    model.set_params(warm_start=True).fit(X, epochs=epochs)
    reference.fit(X, epochs)
    return model, reference


@pytest.fixture(autouse=True)
def idle_machine(monkeypatch):
    """n_threads=None picks its team from the machine's load (fastae/_threads.py); the tests see an
    idle machine so that default-thread results do not change with what else runs. Tests of the
    policy itself patch busy_elsewhere as they need."""
    import fastae._threads
    monkeypatch.setattr(fastae._threads, "busy_elsewhere", lambda: 0)


@pytest.fixture
def data() -> np.ndarray:
    return make_data()
