"""One-file model storage: a NumPy .npz archive read with allow_pickle=False.

Layout: ``__fastae__`` holds a JSON header (format name and version, hyperparameters, history,
optimizer step count, shuffle state, validation split seed, feature names); ``params`` the flat
parameter vector; ``slot:<name>`` each optimizer state buffer. Writes go to a temporary file in
the same folder, then os.replace. A plain-callable ``lr_schedule`` cannot be stored without
pickle: it is saved as None and listed under ``dropped``.

Versions: 1 (fastae 0.1: no schedule, early-stopping or validation settings), 2 (adds them).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from typing import Any, Dict, Tuple

import numpy as np

from .optim import Optimizer, optimizer_from_dict, optimizer_to_dict
from .schedules import schedule_from_dict, schedule_to_dict

FORMAT = "fastae-model"
FORMAT_VERSION = 2
HEADER = "__fastae__"


def model_state(model: Any) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    """(JSON-friendly header, arrays) describing a model completely."""
    params = model.get_params(deep=False)
    if isinstance(params["optimizer"], Optimizer):
        params["optimizer"] = optimizer_to_dict(params["optimizer"])
    params["hidden"] = list(params["hidden"]) if not isinstance(params["hidden"], int) else params["hidden"]
    params["dtype"] = np.dtype(params["dtype"]).name
    schedule = params["lr_schedule"]
    params["lr_schedule"] = schedule_to_dict(schedule)
    header: Dict[str, Any] = {"format": FORMAT, "version": FORMAT_VERSION, "params": params, "fitted": False,
                              "dropped": ["lr_schedule"] if schedule is not None and params["lr_schedule"] is None else []}
    arrays: Dict[str, np.ndarray] = {}
    core = getattr(model, "_model", None)
    if core is not None:
        header.update(fitted=True, n_features=model.n_features_in_, history=model.history_,
                      optimizer_steps=core.optimizer_steps, rng_state=str(model._rng_state),
                      split_seed=str(model._split_seed), best_epoch=model.best_epoch_, n_epochs=model.n_epochs_,
                      feature_names=(None if getattr(model, "feature_names_in_", None) is None
                                     else [str(n) for n in model.feature_names_in_]))
        arrays["params"] = core.params.copy()
        for name, slot in core.optimizer_slots():
            arrays[f"slot:{name}"] = slot.copy()
    return header, arrays


def restore_state(header: Dict[str, Any], arrays: Dict[str, np.ndarray], where: str = "state") -> Any:
    """The model a (header, arrays) pair describes."""
    from .autoencoder import Autoencoder

    params = dict(header["params"])
    if isinstance(params.get("optimizer"), dict):
        params["optimizer"] = optimizer_from_dict(params["optimizer"])
    if isinstance(params.get("hidden"), list):
        params["hidden"] = tuple(params["hidden"])
    params["lr_schedule"] = schedule_from_dict(params.get("lr_schedule"))
    model = Autoencoder(**params)
    if not header.get("fitted"):
        return model
    model.build(int(header["n_features"]))
    core = model._model
    _copy_into(core.params, arrays.get("params"), "params", where)
    for name, slot in core.optimizer_slots():
        _copy_into(slot, arrays.get(f"slot:{name}"), f"slot:{name}", where)
    core.optimizer_steps = int(header["optimizer_steps"])
    model._rng_state = int(header["rng_state"])
    model.history_ = {k: [float(v) for v in vals] for k, vals in header["history"].items()}
    model._split_seed = int(header.get("split_seed", 0))
    model.n_epochs_ = int(header.get("n_epochs", len(model.history_.get("loss", []))))
    model.best_epoch_ = header.get("best_epoch")
    if header.get("feature_names") is not None:
        model.feature_names_in_ = np.asarray(header["feature_names"], dtype=object)
    return model


def _copy_into(target: np.ndarray, source: Any, name: str, where: str) -> None:
    if source is None or source.shape != target.shape:
        got = "missing" if source is None else f"shape {source.shape}"
        raise ValueError(f"{where}: array {name!r} is {got}, expected shape {target.shape}")
    target[:] = source


def save(model: Any, path: Any) -> None:
    header, arrays = model_state(model)
    payload = {HEADER: np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8), **arrays}
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".fastae-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path: Any) -> Any:
    """Load a model written by ``Autoencoder.save``. Never unpickles anything."""
    path = os.fspath(path)
    with open(path, "rb") as f:  # a missing file raises FileNotFoundError, as open() does
        data = f.read()
    if not data.startswith(b"PK\x03\x04"):
        raise ValueError(f"{path}: not a fastae model file (it is not an .npz archive)")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            if HEADER not in archive.files:
                raise ValueError("it has no fastae header")
            header = json.loads(bytes(archive[HEADER]).decode("utf-8"))
            arrays = {name: archive[name] for name in archive.files if name != HEADER}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, UnicodeDecodeError, KeyError) as err:
        raise ValueError(f"{path}: not a fastae model file, or the file is truncated or corrupt ({err})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path}: not a fastae model file (format {header.get('format') if isinstance(header, dict) else None!r})")
    version = header.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(f"{path}: written in fastae model format {version}, newer than this fastae reads "
                         f"(up to {FORMAT_VERSION}); upgrade fastae to load it")
    try:
        return restore_state(header, arrays, path)
    except (KeyError, TypeError) as err:
        raise ValueError(f"{path}: fastae model file is incomplete or corrupt ({err!r})") from None
