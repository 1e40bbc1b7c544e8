"""One-file model storage: a NumPy .npz archive, read without pickle and with bounded memory.

Layout: ``__fastae__`` holds a JSON header (format name and version, hyperparameters, history,
optimizer step count, shuffle state, validation split seed, feature names, the input's sample
shape, the last fit call's settings; ``optimizer_state`` false when the file was saved without
it, ``part`` "encoder" or "decoder" for an exported half); ``params`` the flat parameter vector
(an exported half's run of it alone); ``slot:<name>`` each optimizer state buffer (absent without
the optimizer state). An older fastae refuses the files without optimizer state or of one half
(a member missing, or ``params`` of another length) rather than misread them. Saves replace the file atomically
(_atomic.py). Loads read only the members the header implies, each checked for size, dtype and
shape before it is read (_archive.py), then every header field for its type and range and every
array for finite values (second moments >= 0): any failure is a ValueError naming the file and
the field or member. A plain-callable ``lr_schedule`` cannot be stored without pickle: it is
saved as None and listed under ``dropped``.

The header names the model's class (``class``); classes register themselves with
``model_class`` (this module imports none of them). Versions: 1 (fastae 0.1: no schedule,
early-stopping or validation settings), 2 (adds them), 3 (adds the class; a file without one
holds an Autoencoder).
"""

from __future__ import annotations

import json
import numbers
import os
import warnings
from typing import Any, Dict, Optional, Tuple

import numpy as np

from . import _core
from ._archive import Archive, ArchiveError
from ._atomic import replace_file
from ._scaling import ColumnScaling
from ._validation import MAX_COUNT, MAX_UNITS, LatentWarning, shown
from .optim import Optimizer, optimizer_from_dict, optimizer_to_dict
from .schedules import schedule_from_dict, schedule_to_dict

FORMAT = "fastae-model"
FORMAT_VERSION = 3
MODEL_CLASSES: Dict[str, type] = {}  # class name -> model class, filled by @model_class


def model_class(cls: type) -> type:
    """Class decorator: files may hold models of this class (stored under its name)."""
    MODEL_CLASSES[cls.__name__] = cls
    return cls
HEADER = "__fastae__"
HEADER_LIMIT = 64 << 20  # bytes of JSON: hyperparameters, history and feature names
DETECTOR_SCORES = "detector:scores"  # an AnomalyDetector's training scores
SCALING_ARRAYS = ("scaling:in_shift", "scaling:in_scale", "scaling:out_shift", "scaling:out_scale")
FILL_ARRAY = "missing:fill"  # missing="mask": each input column's training mean
NON_NEGATIVE_SLOTS = ("sum", "square_avg", "exp_avg_sq", "max_exp_avg_sq")  # running sums of squares


def _plain(value: Any) -> Any:
    """value with NumPy scalars as Python numbers and tuples as lists, for JSON."""
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def model_state(model: Any, include_optimizer: bool = True,
                part: Optional[str] = None) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    """(JSON-friendly header, arrays) describing a model completely, or without its optimizer
    state (include_optimizer=False: a file for inference and fresh fits, about a third the size
    with Adam's two moments left out), or only one half of it (part "encoder" or "decoder": its
    parameters alone, no optimizer state; a model loaded from such a file runs only that half)."""
    params = model.get_params(deep=False)
    if isinstance(params["optimizer"], Optimizer):
        params["optimizer"] = optimizer_to_dict(params["optimizer"])
    params["hidden"] = list(params["hidden"]) if not isinstance(params["hidden"], int) else params["hidden"]
    params["dtype"] = np.dtype(params["dtype"]).name
    schedule = params["lr_schedule"]
    params["lr_schedule"] = schedule_to_dict(schedule)
    header: Dict[str, Any] = {"format": FORMAT, "version": FORMAT_VERSION, "class": type(model).__name__,
                              "params": _plain(params), "fitted": False,
                              "dropped": ["lr_schedule"] if schedule is not None and params["lr_schedule"] is None else []}
    arrays: Dict[str, np.ndarray] = {}
    core = getattr(model, "_model", None)
    if core is not None:
        part = part or model.part_
        with_optimizer = include_optimizer and model._optimizer_saved and part is None
        header.update(fitted=True, n_features=model.n_features_in_, n_outputs=model.n_outputs_, history=model.history_,
                      optimizer_state=with_optimizer, optimizer_steps=core.optimizer_steps if with_optimizer else 0,
                      input_shape=list(model.input_shape_), history_params=getattr(model, "history_params_", None),
                      rng_state=str(model._rng_state),
                      split_seed=str(model._split_seed), noise_seed=str(model._noise_seed),
                      best_epoch=model.best_epoch_, n_epochs=model.n_epochs_,
                      feature_names=(None if getattr(model, "feature_names_in_", None) is None
                                     else [str(n) for n in model.feature_names_in_]))
        arrays["params"] = core.params[model.spec_.part_params(part) if part else slice(None)].copy()
        if part:
            header["part"] = part
        if model.scaling_ is not None:
            arrays.update(zip(SCALING_ARRAYS, model.scaling_.arrays()))
        if model.fill_values_ is not None:
            arrays[FILL_ARRAY] = model.fill_values_.copy()
        for name, slot in core.optimizer_slots() if with_optimizer else ():
            arrays[f"slot:{name}"] = slot.copy()
    return header, arrays


def restore_state(header: Dict[str, Any], arrays: Dict[str, np.ndarray], where: str = "state") -> Any:
    """The model a (header, arrays) pair describes; every field and array is checked first."""
    model = _model_from_params(header, where)
    fitted = _field(header, "fitted", where, bool, default=False)
    if not fitted:
        return model
    fields = _fitted_fields(header, where)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LatentWarning)  # said when it was fitted
        model.build(fields["n_features"], fields["n_outputs"])
    core = model._model
    part = fields["part"]
    if part is None:
        _copy_into(core.params, arrays.get("params"), "params", where)
        model._check_tied(core.params, f"{where}: array 'params', as weights")
    else:  # one half: the other stays zero and is never run
        core.params[:] = 0.0
        _copy_into(core.params[model.spec_.part_params(part)], arrays.get("params"), "params", where)
        model.part_ = part
    model._optimizer_saved = fields["optimizer_state"]  # without it, the optimizer starts afresh
    for name, slot in core.optimizer_slots() if model._optimizer_saved else ():
        _copy_into(slot, arrays.get(f"slot:{name}"), f"slot:{name}", where, non_negative=name in NON_NEGATIVE_SLOTS)
    if model._checked()["scale"] != "none":
        scaling = [np.empty(fields["n_features"] if k.startswith("scaling:in") else fields["n_outputs"])
                   for k in SCALING_ARRAYS]
        for name, target in zip(SCALING_ARRAYS, scaling):
            _copy_into(target, arrays.get(name), name, where)
            if name.endswith("scale") and not np.all(target > 0):
                raise ValueError(f"{where}: array {name!r} holds a scale <= 0")
        model._set_scaling(ColumnScaling(*scaling))
    if model._checked()["missing"] == "mask":
        fill = np.empty(fields["n_features"])
        _copy_into(fill, arrays.get(FILL_ARRAY), FILL_ARRAY, where)
        model._set_missing(fill)
    model._transforms_fitted = True
    core.optimizer_steps = fields["optimizer_steps"]
    model._rng_state = fields["rng_state"]
    model.history_ = fields["history"]
    model._split_seed = fields["split_seed"]
    model._noise_seed = fields["noise_seed"]
    model.n_epochs_ = fields["n_epochs"]
    model.best_epoch_ = fields["best_epoch"]
    model.input_shape_ = fields["input_shape"]
    if fields["history_params"] is not None:
        model.history_params_ = fields["history_params"]
    if fields["feature_names"] is not None:
        model.feature_names_in_ = np.asarray(fields["feature_names"], dtype=object)
    return model


def _model_from_params(header: Dict[str, Any], where: str) -> Any:
    """An unfitted model of the header's class from its hyperparameters, each checked as fit would."""
    version = header.get("version")
    older = isinstance(version, int) and version < 3  # versions 1 and 2 hold an Autoencoder and do not say so
    name = _field(header, "class", where, str, default="Autoencoder" if older else _MISSING)
    cls = MODEL_CLASSES.get(name)
    if cls is None:
        raise ValueError(f"{where}: header field 'class' is {shown(name)}; this fastae reads "
                         f"{', '.join(sorted(MODEL_CLASSES))}")
    params = header.get("params")
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise ValueError(f"{where}: header field 'params' is not a table of hyperparameters")
    params = dict(params)
    unknown = sorted(set(params) - set(cls._param_names()))
    if unknown:
        raise ValueError(f"{where}: header field 'params' has unknown hyperparameter {unknown[0]!r}")
    try:
        if isinstance(params.get("optimizer"), dict):
            params["optimizer"] = optimizer_from_dict(params["optimizer"])
        if isinstance(params.get("hidden"), list):
            params["hidden"] = tuple(params["hidden"])
        params["lr_schedule"] = schedule_from_dict(params.get("lr_schedule"))
        model = cls(**params)
        model._checked()
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as err:
        raise ValueError(f"{where}: header field 'params': {type(err).__name__}: {err}") from None
    return model


_MISSING = object()


def _field(header: Dict[str, Any], name: str, where: str, kind: Any, default: Any = _MISSING,
           low: Optional[int] = None, high: Optional[int] = None) -> Any:
    """header[name], which must be of `kind` (bool, int, str or list), ints within [low, high]."""
    value = header.get(name, default)
    if value is _MISSING:
        raise ValueError(f"{where}: header field {name!r} is missing")
    if value is default and default is not _MISSING:
        return value
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if ok and kind is int:
        ok = (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        raise ValueError(f"{where}: header field {name!r} is {shown(value)}; expected "
                         + (f"an integer in [{low}, {high}]" if kind is int else kind.__name__))
    return value


def _seed(header: Dict[str, Any], name: str, where: str, bits: int, default: Any = _MISSING) -> int:
    """A seed stored as a decimal string (JSON numbers lose bits past 2**53): an int in [0, 2**bits)."""
    value = header.get(name, default)
    if value is _MISSING:
        raise ValueError(f"{where}: header field {name!r} is missing")
    text = value if isinstance(value, str) else None
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    if text is None or not text.isdigit() or len(text) > 30 or int(text) >= 2**bits:
        raise ValueError(f"{where}: header field {name!r} is {shown(value)}; expected an integer in [0, 2**{bits})")
    return int(text)


def _n_outputs(header: Dict[str, Any], where: str) -> int:
    """The output width a fitted header declares (before it could differ: n_features)."""
    return _field(header, "n_outputs", where, int, low=1, high=MAX_UNITS, default=header.get("n_features"))


def _fitted_fields(header: Dict[str, Any], where: str) -> Dict[str, Any]:
    """The checked fields of a fitted model's header."""
    fields: Dict[str, Any] = {
        "n_features": _field(header, "n_features", where, int, low=1, high=MAX_UNITS),
        "n_outputs": _n_outputs(header, where),
        "optimizer_steps": _field(header, "optimizer_steps", where, int, low=0, high=MAX_COUNT),
        "rng_state": _seed(header, "rng_state", where, 64),
        "split_seed": _seed(header, "split_seed", where, 63, default=0),
        "noise_seed": _seed(header, "noise_seed", where, 63, default=0),  # before version 3: no noise
    }
    history = header.get("history")
    if (not isinstance(history, dict) or "loss" not in history
            or not all(isinstance(v, list) and all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in v)
                       for v in history.values())):
        raise ValueError(f"{where}: header field 'history' is not a table of lists of numbers with a 'loss' column")
    fields["history"] = {str(k): [float(x) for x in v] for k, v in history.items()}
    n_loss = len(fields["history"]["loss"])
    fields["n_epochs"] = _field(header, "n_epochs", where, int, default=n_loss, low=0, high=MAX_COUNT)
    fields["best_epoch"] = _field(header, "best_epoch", where, int, default=None, low=0, high=max(n_loss - 1, 0))
    names = _field(header, "feature_names", where, list, default=None)
    if names is not None and (len(names) != fields["n_features"] or not all(isinstance(n, str) for n in names)):
        raise ValueError(f"{where}: header field 'feature_names' is not a list of {fields['n_features']} strings")
    fields["feature_names"] = names
    fields["optimizer_state"] = _field(header, "optimizer_state", where, bool, default=True)
    fields["part"] = _field(header, "part", where, str, default=None)
    if fields["part"] not in (None, "encoder", "decoder"):
        raise ValueError(f"{where}: header field 'part' is {shown(fields['part'])}; expected 'encoder' or 'decoder'")
    if fields["part"] is not None and fields["optimizer_state"]:
        raise ValueError(f"{where}: header field 'optimizer_state' is true for a file of the {fields['part']} alone")
    shape = _field(header, "input_shape", where, list, default=[fields["n_features"]])
    if not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= MAX_UNITS for d in shape) \
            or int(np.prod(shape, dtype=object)) != fields["n_features"]:
        raise ValueError(f"{where}: header field 'input_shape' is {shown(shape)}; expected sizes whose product is "
                         f"the {fields['n_features']} features")
    fields["input_shape"] = tuple(shape)
    params = _field(header, "history_params", where, dict, default=None)
    if params is not None and not (set(params) == {"epochs", "batch_size", "shuffle", "verbose"}
                                   and all(isinstance(v, (int, bool)) for v in params.values())):
        raise ValueError(f"{where}: header field 'history_params' is not a table of epochs, batch_size, shuffle, verbose")
    fields["history_params"] = params
    return fields


def _copy_into(target: np.ndarray, source: Any, name: str, where: str, non_negative: bool = False) -> None:
    """target[:] = source, after checking source's type, dtype, shape and values."""
    if not isinstance(source, np.ndarray) or source.shape != target.shape:
        got = "missing" if source is None else f"shape {getattr(source, 'shape', type(source).__name__)}"
        raise ValueError(f"{where}: array {name!r} is {got}, expected shape {target.shape}")
    if source.dtype != target.dtype:
        raise ValueError(f"{where}: array {name!r} has dtype {source.dtype}, expected {target.dtype}")
    bad = ~np.isfinite(source) | ((source < 0) if non_negative else False)
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        why = "negative (a sum of squares)" if np.isfinite(source[at]) else "NaN or infinity"
        raise ValueError(f"{where}: array {name!r} holds {source[at]!r} at index {at}, which is {why}")
    target[:] = source


def detector_state(detector: Any, include_optimizer: bool = True) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    """A fitted AnomalyDetector's file: its model's header and arrays, plus a 'detector' table
    (contamination, threshold, whether the model was the default) and its training scores."""
    header, arrays = model_state(detector.model_, include_optimizer)
    header["detector"] = {"contamination": detector.contamination, "threshold": detector.threshold_,
                          "default_model": detector.model is None, "n_rows": len(detector.decision_scores_)}
    arrays[DETECTOR_SCORES] = np.asarray(detector.decision_scores_, dtype=np.float64)
    return header, arrays


def _detector_from(header: Dict[str, Any], model: Any, arrays: Dict[str, np.ndarray], where: str) -> Any:
    """The AnomalyDetector around a restored model that a file's 'detector' table describes."""
    from .anomaly import AnomalyDetector  # imported here: this module imports no model class at import time

    table = header["detector"]
    if not isinstance(table, dict) or not isinstance(table.get("default_model"), bool) or \
            not isinstance(table.get("threshold"), float) or not np.isfinite(table["threshold"]):
        raise ValueError(f"{where}: header field 'detector' is not a table of contamination, threshold and default_model")
    unfitted = None if table["default_model"] else type(model)(**model.get_params(deep=False))
    detector = AnomalyDetector(unfitted, table.get("contamination"))
    try:
        detector._checked_contamination()
    except ValueError as err:
        raise ValueError(f"{where}: header field 'detector': {err}") from None
    scores = arrays[DETECTOR_SCORES]
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"{where}: array {DETECTOR_SCORES!r} holds NaN or infinity")
    detector._set_fitted(model, scores, table["threshold"])
    return detector


def save(model: Any, path: Any, include_optimizer: bool = True, part: Optional[str] = None) -> None:
    """Write a model or a fitted detector to path. After a data-parallel fit (fit(comm=...)) every
    rank holds the same model and rank 0 alone writes."""
    if not isinstance(include_optimizer, (bool, np.bool_)):
        raise TypeError(f"include_optimizer: expected True or False, got {include_optimizer!r}")
    if getattr(model.model_ if hasattr(model, "threshold_") else model, "_rank", 0) != 0:
        return
    if hasattr(model, "threshold_"):
        header, arrays = detector_state(model, bool(include_optimizer))
    else:
        header, arrays = model_state(model, bool(include_optimizer), part)
    payload = {HEADER: np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8), **arrays}
    replace_file(path, lambda f: np.savez(f, **payload))


def _expected_arrays(header: Dict[str, Any], where: str) -> Dict[str, Tuple[np.dtype, Tuple[int, ...]]]:
    """{member: (dtype, shape)} that a file with this header holds, computed without building the
    model (so a header that declares an absurd size is refused before anything is allocated)."""
    model = _model_from_params(header, where)
    if not _field(header, "fitted", where, bool, default=False):
        return {}
    n_features = _field(header, "n_features", where, int, low=1, high=MAX_UNITS)
    cfg = model._checked()
    try:
        n_params = model._spec(n_features, cfg, _n_outputs(header, where)).n_params
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    dtype = np.dtype(cfg["dtype"])
    probe = (_core.Model32 if dtype == np.float32 else _core.Model64)([1, 1], ["linear"], "mse", model._core_optimizer(cfg))
    part = header.get("part")
    if part in ("encoder", "decoder"):
        half = model._spec(n_features, cfg, _n_outputs(header, where)).part_params(part)
        n_params = half.stop - half.start
    expected = {"params": (dtype, (n_params,))}
    if cfg["scale"] != "none":
        n_outputs = _n_outputs(header, where)
        expected.update({k: (np.dtype(np.float64), (n_features if k.startswith("scaling:in") else n_outputs,))
                         for k in SCALING_ARRAYS})
    if cfg["missing"] == "mask":
        expected[FILL_ARRAY] = (np.dtype(np.float64), (n_features,))
    if _field(header, "optimizer_state", where, bool, default=True):
        expected.update({f"slot:{name}": (dtype, (n_params,)) for name, _ in probe.optimizer_slots()})
    return expected


def load(path: Any) -> Any:
    """Load a model written by ``Autoencoder.save``. Never unpickles anything; memory is bounded
    by the sizes the header implies, checked before any array is read."""
    path = os.fspath(path)
    with open(path, "rb") as f:  # a missing file raises FileNotFoundError, as open() does
        magic = f.read(4)
    if magic != b"PK\x03\x04":
        raise ValueError(f"{path}: not a fastae model file (it is not an .npz archive)")
    with Archive(path) as archive:
        if HEADER not in archive.members:
            raise ValueError(f"{path}: not a fastae model file (it has no fastae header)")
        try:
            raw = archive.read(HEADER, None, None, HEADER_LIMIT)
        except ArchiveError as err:
            raise ValueError(f"{path}: not a fastae model file ({str(err)[len(path) + 2:]})") from None
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise ValueError(f"{path}: not a fastae model file (its header is not JSON bytes)")
        try:
            header = json.loads(raw.tobytes().decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as err:
            raise ValueError(f"{path}: not a fastae model file, or its header is corrupt ({type(err).__name__})") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError(f"{path}: not a fastae model file "
                             f"(format {shown(header.get('format')) if isinstance(header, dict) else None})")
        version = header.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError(f"{path}: header field 'version' is {shown(version)}; expected an integer >= 1")
        if version > FORMAT_VERSION:
            raise ValueError(f"{path}: written in fastae model format {version}, newer than this fastae reads "
                             f"(up to {FORMAT_VERSION}); upgrade fastae to load it")
        expected = _expected_arrays(header, path)
        if "detector" in header:
            n_rows = header["detector"].get("n_rows") if isinstance(header["detector"], dict) else None
            if not isinstance(n_rows, int) or isinstance(n_rows, bool) or not 1 <= n_rows <= MAX_COUNT:
                raise ValueError(f"{path}: header field 'detector' has no row count n_rows in [1, {MAX_COUNT}]")
            expected[DETECTOR_SCORES] = (np.dtype(np.float64), (n_rows,))
        unknown = sorted(set(archive.members) - set(expected) - {HEADER})
        if unknown:
            raise ValueError(f"{path}: member {unknown[0]!r} is not part of this model (a {FORMAT} file of this "
                             f"model holds {', '.join([HEADER, *expected])})")
        arrays = {}
        for name, (dtype, shape) in expected.items():
            if name not in archive.members:
                raise ValueError(f"{path}: array {name!r} is missing")
            arrays[name] = archive.read(name, dtype, shape, 0)
    model = restore_state(header, arrays, path)
    return _detector_from(header, model, arrays, path) if "detector" in header else model
