"""Scoring on Dask: a fitted model's inference over a dask.array (rows in chunks, all features in
one chunk; a feature-chunked array is rechunked to that) or a dask.dataframe, as lazy Dask
collections, chunk by chunk on the workers.

    import fastae.dask
    codes = fastae.dask.encode(model, X)                 # X: dask.array (n, d) -> dask.array (n, latent)
    errors = fastae.dask.reconstruction_error(model, X)  # -> dask.array (n,)
    labels = fastae.dask.predict(detector, df)           # df: dask.dataframe -> dask Series

The model is one node of the graph that every chunk's task depends on, so it is sent to each
worker once, not once per chunk. A task uses at most the worker's cores divided by its threads
(a worker with 2 threads on 2 cores runs each chunk on 1 thread), whatever the model's n_threads.
Each chunk is the in-memory method on that chunk's rows, so the results are the in-memory
method's, bit for bit (inference does not depend on the thread count). Needs ``dask`` (the extra
``fastae[dask]``); on a cluster, ``distributed``.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from ._threads import thread_budget, usable_cores

__all__ = ["encode", "reconstruct", "reconstruction_error", "anomaly_score", "predict"]


def encode(model: Any, X: Any) -> Any:
    """model.encode over X's chunks: (n, latent_dim) codes."""
    return _map(model, X, "encode", {}, width=_code_width(_fitted_model(model)))


def reconstruct(model: Any, X: Any) -> Any:
    """model.reconstruct over X's chunks: (n, n_outputs)."""
    return _map(model, X, "reconstruct", {}, width=_fitted_model(model).n_outputs_)


def reconstruction_error(model: Any, X: Any, metric: Optional[str] = None) -> Any:
    """model.reconstruction_error(X, metric=metric) over X's chunks: (n,)."""
    return _map(model, X, "reconstruction_error", {"metric": metric}, width=None, dtype=np.float64)


def anomaly_score(detector: Any, X: Any) -> Any:
    """detector.anomaly_score over X's chunks: (n,), higher = more abnormal."""
    return _map(detector, X, "anomaly_score", {}, width=None, dtype=np.float64)


def predict(detector: Any, X: Any) -> Any:
    """detector.predict over X's chunks: (n,) of +1 (inlier) and -1 (outlier)."""
    return _map(detector, X, "predict", {}, width=None, dtype=np.int64)


def _code_width(model: Any) -> int:
    return model.latent_dim_ if hasattr(model, "latent_dim_") else model.spec_.layers[model.spec_.n_encoder - 1].fan_out


def _fitted_model(estimator: Any) -> Any:
    """The fastae model behind an estimator (a detector's model_), refused if it is not fitted."""
    from .anomaly import AnomalyDetector
    from .autoencoder import Autoencoder

    if isinstance(estimator, AnomalyDetector):
        estimator._require_fitted("fastae.dask")
        return estimator.model_
    if not isinstance(estimator, Autoencoder):
        raise TypeError(f"model: expected a fitted fastae model or AnomalyDetector, got {type(estimator).__name__}")
    estimator._require_built("fastae.dask")
    return estimator


def _map(estimator: Any, X: Any, method: str, kwargs: Dict[str, Any], width: Optional[int],
         dtype: Any = None) -> Any:
    """The lazy collection of estimator.method(chunk, **kwargs) over X's row chunks."""
    import dask

    model = _fitted_model(estimator)
    dtype = np.dtype(model._dtype() if dtype is None else dtype)
    shared = dask.delayed(estimator, pure=True, traverse=False)  # one graph node: each worker fetches it once
    if hasattr(X, "map_partitions") and hasattr(X, "columns"):  # a dask DataFrame
        return _map_frame(X, shared, method, kwargs, width, dtype, model)
    import dask.array as da

    if not isinstance(X, da.Array):
        raise TypeError(f"X: expected a dask.array or a dask.dataframe, got {type(X).__name__} (for an in-memory "
                        f"array, call model.{method}(X))")
    if X.ndim != 2:
        raise ValueError(f"X: expected a 2-D dask array (n_samples, n_features), got {X.ndim} dimensions")
    if X.shape[1] != model.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but the model expects {model.n_features_in_}")
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})  # each task needs whole rows
    if width is None:
        return X.map_blocks(_run_chunk, shared, method, kwargs, drop_axis=1, dtype=dtype, meta=np.empty((0,), dtype))
    return X.map_blocks(_run_chunk, shared, method, kwargs, chunks=(X.chunks[0], (width,)), dtype=dtype,
                        meta=np.empty((0, 0), dtype))


def _map_frame(X: Any, shared: Any, method: str, kwargs: Dict[str, Any], width: Optional[int], dtype: np.dtype,
               model: Any) -> Any:
    """The same over a dask DataFrame's partitions, as pandas objects on the partitions' index."""
    import pandas as pd

    if len(X.columns) != model.n_features_in_:
        raise ValueError(f"X has {len(X.columns)} features, but the model expects {model.n_features_in_}")
    if width is None:
        meta: Any = pd.Series(np.empty(0, dtype), name=method)
    else:
        meta = pd.DataFrame(np.empty((0, width), dtype), columns=_columns(method, width, X.columns))
    return X.map_partitions(_run_partition, shared, method, kwargs, width, meta=meta)


def _columns(method: str, width: int, inputs: Any) -> list:
    """A result frame's columns: the input's for a reconstruction of the same width, else z0, z1, ..."""
    if method == "reconstruct" and width == len(inputs):
        return list(inputs)
    return [f"z{i}" for i in range(width)]


def _task_threads() -> int:
    """A chunk task's share of its worker's cores: the cores over the worker's (or the local
    scheduler's) threads, at least 1, and no more than OMP_NUM_THREADS where it is set (Dask's
    nannies set it to 1 in their workers, so that tasks on workers sharing a machine do not
    oversubscribe it)."""
    import os

    try:
        from distributed import get_worker

        worker = get_worker()
        threads = getattr(getattr(worker, "state", worker), "nthreads", None) or worker.nthreads
    except (ImportError, ValueError, AttributeError):  # not in a distributed worker: dask's local thread pool
        import dask

        threads = dask.config.get("num_workers", None) or usable_cores()
    share = max(1, usable_cores() // max(int(threads), 1))
    limit = os.environ.get("OMP_NUM_THREADS", "")
    return min(share, int(limit)) if limit.isdigit() and int(limit) > 0 else share


def _run_chunk(block: np.ndarray, estimator: Any, method: str, kwargs: Dict[str, Any]) -> np.ndarray:
    with thread_budget(_task_threads()):
        return getattr(estimator, method)(block, **kwargs)


def _run_partition(frame: Any, estimator: Any, method: str, kwargs: Dict[str, Any], width: Optional[int]) -> Any:
    import pandas as pd

    with thread_budget(_task_threads()):
        out = getattr(estimator, method)(frame, **kwargs)
    if width is None:
        return pd.Series(out, index=frame.index, name=method)
    return pd.DataFrame(out, index=frame.index, columns=_columns(method, width, frame.columns))
