"""Callbacks for ``Autoencoder.fit(callbacks=[...])``.

``fit`` calls ``on_train_begin(model)``, then ``on_epoch_end(epoch, logs)`` after every epoch and
``on_train_end(model)`` when training ends for any reason (also on Ctrl-C or an error). ``epoch``
is the 0-based index of the epoch in ``model.history_``; ``logs`` holds ``loss``, ``val_loss``
(with validation), ``lr`` and ``seconds``. Setting ``model.stop_training = True`` ends training
after the current epoch. Any object with some of these methods works; ``Callback`` is a no-op base.
"""

from __future__ import annotations

import csv
import math
import os
from typing import Any, Dict, Optional

from ._validation import check_int, check_non_negative_float
from .schedules import check_monitor, monitored

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "CSVLogger"]


class Callback:
    """Base class with every hook as a no-op."""

    def on_train_begin(self, model: Any) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        pass

    def on_train_end(self, model: Any) -> None:
        pass


def _monitored_value(logs: Dict[str, float], monitor: str) -> float:
    """logs[monitor], falling back from val_loss to loss when there is no validation."""
    return float(logs[monitor] if monitor in logs else logs["loss"])


class EarlyStopping(Callback):
    """Stop when the monitored loss has not improved by more than ``min_delta`` for ``patience``
    epochs in a row. With ``restore_best_weights`` the model ends with the weights (and optimizer
    state) of its best epoch. ``monitor="val_loss"`` falls back to the training loss when fit has
    no validation data. After training, ``best_epoch`` is the index of the best epoch in history_
    and ``stopped_epoch`` the epoch that triggered the stop (None if it never did).
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 restore_best_weights: bool = True):
        self.monitor = check_monitor(monitor)
        self.patience = check_int("patience", patience, low=0)
        self.min_delta = check_non_negative_float("min_delta", min_delta)
        if not isinstance(restore_best_weights, bool):
            raise TypeError(f"restore_best_weights: expected True or False, got {restore_best_weights!r}")
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, model: Any) -> None:
        self.model = model
        self.best = math.inf
        self.best_epoch: Optional[int] = None
        self.stopped_epoch: Optional[int] = None
        self.wait = 0
        self._best_state: Optional[Dict[str, Any]] = None

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        value = _monitored_value(logs, self.monitor)
        if value < self.best - self.min_delta:  # an improvement by more than min_delta
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_state = self.model._snapshot()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, model: Any) -> None:
        if self._best_state is not None and self.best_epoch != len(model.history_["loss"]) - 1:
            model._restore(self._best_state)
        self._best_state = None  # do not keep a copy of the weights alive


class ModelCheckpoint(Callback):
    """Save the model to ``path`` after an epoch: only when the monitored loss improved
    (``save_best_only=True``, the default) or after every epoch. ``path`` may contain
    ``{epoch}`` (1-based) and ``{loss}``/``{val_loss}`` fields, e.g. ``"model-{epoch:03d}.fae"``.
    Each write is atomic: a temporary file, then a rename.
    """

    FIELDS = {"epoch": 1, "loss": math.nan, "val_loss": math.nan, "lr": math.nan, "seconds": math.nan}  # NaN: not logged

    def __init__(self, path: Any, monitor: str = "val_loss", save_best_only: bool = True):
        self.path = os.fspath(path)
        try:  # a bad pattern fails now, not at the end of the first epoch
            self.path.format(**self.FIELDS)
        except (KeyError, IndexError, ValueError, AttributeError, TypeError) as err:
            raise ValueError(f"path: {self.path!r} is not a usable pattern ({type(err).__name__}: {err}); it may use "
                             f"the fields {', '.join('{' + k + '}' for k in self.FIELDS)}") from None
        self.monitor = check_monitor(monitor)
        self.save_best_only = bool(save_best_only)

    def on_train_begin(self, model: Any) -> None:
        self.model = model
        self.best = min(monitored(model.history_, self.monitor), default=math.inf)
        self.last_saved: Optional[str] = None

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        value = _monitored_value(logs, self.monitor)
        if self.save_best_only and not value < self.best:
            return
        self.best = min(self.best, value)
        path = self.path.format(**{**self.FIELDS, **logs, "epoch": epoch + 1})
        self.model.save(path)
        self.last_saved = path


class CSVLogger(Callback):
    """Write one CSV row per epoch (epoch, loss, val_loss, lr, seconds) to ``path``, flushed as it
    goes. ``append=True`` adds to an existing file instead of starting a new one."""

    def __init__(self, path: Any, append: bool = False, separator: str = ","):
        self.path = os.fspath(path)
        self.append = bool(append)
        self.separator = separator
        self._file: Any = None
        self._writer: Any = None

    def on_train_begin(self, model: Any) -> None:
        has_rows = self.append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
        self._file = open(self.path, "a" if self.append else "w", newline="")
        self._writer = None
        self._has_header = has_rows

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        row = {"epoch": epoch + 1, **logs}
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, fieldnames=list(row), delimiter=self.separator,
                                          extrasaction="ignore", lineterminator="\n")
            if not self._has_header:
                self._writer.writeheader()
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, model: Any) -> None:
        if self._file is not None:
            self._file.close()
        self._file = self._writer = None
