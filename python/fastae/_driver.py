"""The epoch driver every fastae model shares: epochs on the C++ core with the learning-rate
schedule, the default thread team, progress, callbacks and early stopping, and a rollback to the
last good epoch when anything fails (divergence, Ctrl-C, a callback's error). A model class
subclasses EpochDriver and provides ``_model`` (the C++ model), ``history_``, ``_rng_state``,
``_noise_seed``, ``layer_sizes_``, ``n_threads``, ``_loss_sums`` and ``_set_objective``
(which gives C++ the penalties and says whether there are any); the epoch number
(its index in history_) keys the input noise, so a resumed fit draws what an unbroken one would.
With ``_parallel`` (a _distributed.DataParallel, set by fit(comm=...)) the epochs are data-parallel:
the steps come from the global shuffle, the losses are summed over the ranks, progress and the
callbacks other than EarlyStopping run on rank 0, and rank 0's stop decision holds for all.
"""

from __future__ import annotations

import math
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _core
from ._progress import ProgressLine
from ._threads import training_team
from .callbacks import EarlyStopping
from .schedules import learning_rate, monitored

__all__ = ["EpochDriver"]


class EpochDriver:
    """The epochs of fit and partial_fit, for a model class to subclass."""

    def _train(self, X: np.ndarray, rows: Optional[np.ndarray], X_val: Optional[np.ndarray], n_epochs: int,
               cfg: Dict[str, Any], callbacks: Sequence[Any], value_range: Optional[Tuple[float, float]] = None,
               target: Optional[np.ndarray] = None, val_target: Optional[np.ndarray] = None) -> None:
        """n_epochs epochs on X's rows `rows` (default: all), learning to produce target's rows
        (default: X's), appending to history_. Ctrl-C or an error leaves the model as it was at the
        end of the last complete epoch. With value_range, C++ checks the rows as it trains (for an X
        not scanned before)."""
        history = self.history_
        parallel = getattr(self, "_parallel", None)
        here = parallel is None or parallel.rank == 0  # where progress and the user's callbacks run
        callbacks = [cb for cb in callbacks if here or isinstance(cb, EarlyStopping)]  # EarlyStopping: everywhere alike
        first = len(history["loss"])
        # What this call trains with (Keras' History.params): the constructor's, or the call's overrides.
        self.history_params_ = {"epochs": n_epochs, "batch_size": cfg["batch_size"], "shuffle": cfg["shuffle"],
                                "verbose": cfg["verbose"]}
        if self._set_objective(cfg) and "penalty" not in history:
            history["penalty"] = [math.nan] * first  # earlier epochs trained without penalties
        n_rows = len(parallel.train_rows) if parallel else X.shape[0] if rows is None else len(rows)
        progress = ProgressLine(cfg["verbose"], first, first + n_epochs, n_rows) if cfg["verbose"] and here else None
        self.stop_training = False
        self._optimizer_saved = True  # from here on the optimizer state is this training's, whole
        try:
            for cb in callbacks:
                if hasattr(cb, "on_train_begin"):
                    cb.on_train_begin(self)
            for epoch in range(first, first + n_epochs):
                logs = self._train_epoch(epoch, X, rows, X_val, cfg, progress, value_range, target, val_target)
                error = None
                try:
                    for cb in callbacks:
                        if hasattr(cb, "on_epoch_end"):
                            cb.on_epoch_end(epoch, logs)
                except Exception as err:  # on one rank: every rank must learn of it before the next step
                    if parallel is None:
                        raise
                    error = err
                if parallel is not None:
                    parallel.agree(error, "a callback")
                    self.stop_training = parallel.broadcast(self.stop_training)
                if self.stop_training:
                    break
        except KeyboardInterrupt:
            if progress is not None:
                progress.interrupted()
            raise
        finally:
            self.n_epochs_ = len(history["loss"])
            for cb in callbacks:
                if hasattr(cb, "on_train_end"):
                    cb.on_train_end(self)
            stopper = next((cb for cb in callbacks if isinstance(cb, EarlyStopping)), None)
            self.best_epoch_ = stopper.best_epoch if stopper is not None else _best_epoch(history)

    def _train_epoch(self, epoch: int, X: np.ndarray, rows: Optional[np.ndarray], X_val: Optional[np.ndarray],
                     cfg: Dict[str, Any], progress: Optional[ProgressLine],
                     value_range: Optional[Tuple[float, float]] = None, target: Optional[np.ndarray] = None,
                     val_target: Optional[np.ndarray] = None) -> Dict[str, float]:
        """Epoch `epoch` (its index in history_), recorded in history_; returns its logs. Anything
        raised before the epoch is recorded restores the model to its state before the epoch."""
        model, history = self._model, self.history_
        lr = learning_rate(cfg["lr_schedule"], epoch, cfg["optimizer"].lr, history)
        last_good = self._snapshot()
        started = time.perf_counter()
        try:
            model.set_learning_rate(lr)
            if progress is not None:
                progress.begin_epoch(epoch)
            n_rows = X.shape[0] if rows is None else len(rows)
            team = (cfg["n_threads"] if self.n_threads is not None
                    else training_team(self.layer_sizes_, min(cfg["batch_size"], n_rows)))
            self._begin_epoch(epoch, cfg)
            noise, noise_level = cfg["noise"]
            hook = progress.update if progress is not None and progress.live else None
            parallel = getattr(self, "_parallel", None)
            if parallel is None:
                loss, self._rng_state = model.train_epoch(X, target, cfg["batch_size"], cfg["shuffle"], self._rng_state,
                                                          team, rows, hook, ProgressLine.hook_seconds, value_range,
                                                          noise, noise_level, self._noise_seed, epoch)
                penalty, kl = model.last_penalty, model.last_kl
            else:  # this rank's rows of the global steps; the sums over every rank's
                steps, next_state = parallel.steps(cfg["batch_size"], cfg["shuffle"], self._rng_state)
                model.train_epoch(X, target, cfg["batch_size"], False, self._rng_state, team, None, hook,
                                  ProgressLine.hook_seconds, value_range, noise, noise_level, self._noise_seed, epoch,
                                  steps, parallel.reduce, parallel.add)
                self._rng_state = next_state
                loss_sum, count, penalty_sum, kl_sum, n_rows = parallel.total(model.last_sums).tolist()
                penalty, kl = penalty_sum / n_rows, kl_sum / n_rows
                loss = loss_sum / count + penalty
            if not np.isfinite(loss) or _core.scan(model.params.reshape(1, -1))[0] >= 0:
                raise FloatingPointError(
                    f"fit: training diverged in epoch {epoch + 1} (loss={loss}); the weights are restored to the "
                    "end of the previous epoch. Lower the learning rate or set clip_norm.")
            logs = {"loss": loss}
            if X_val is not None:
                logs["val_loss"] = self._val_loss(X_val, cfg["n_threads"], val_target)
            elif "val_loss" in history:
                logs["val_loss"] = math.nan  # partial_fit after a validated fit keeps the columns aligned
            if "penalty" in history:
                logs["penalty"] = penalty  # the penalties' part of loss
            logs.update(self._epoch_parts(loss, penalty, kl))
            logs["lr"] = lr
            logs["seconds"] = time.perf_counter() - started
        except BaseException:
            self._restore(last_good)
            raise
        for key in history:
            history[key].append(logs[key])
        if progress is not None:
            progress.end_epoch(logs)
        return logs

    def _begin_epoch(self, epoch: int, cfg: Dict[str, Any]) -> None:
        """What a model class sets in C++ before epoch `epoch` (a VAE: its KL weight); nothing here."""

    def _epoch_parts(self, loss: float, penalty: float, kl: float) -> Dict[str, float]:
        """The parts of an epoch's objective a model class records beside it (a VAE: reconstruction, kl)."""
        return {}

    def _val_loss(self, X_val: np.ndarray, n_threads: int, val_target: Optional[np.ndarray]) -> float:
        """The mean loss on the validation rows (over every rank's, when data-parallel)."""
        total, count = self._loss_sums(X_val, n_threads, val_target)
        parallel = getattr(self, "_parallel", None)
        if parallel is not None:
            total, count = parallel.total([total, count])
        return float(total / count)

    def _snapshot(self) -> Dict[str, Any]:
        model = self._model
        return {"params": model.params.copy(), "steps": model.optimizer_steps, "rng": self._rng_state,
                "slots": [slot.copy() for _, slot in model.optimizer_slots()]}

    def _restore(self, snap: Dict[str, Any]) -> None:
        model = self._model
        model.params[:] = snap["params"]
        model.optimizer_steps = snap["steps"]
        self._rng_state = snap["rng"]
        for (_, slot), saved in zip(model.optimizer_slots(), snap["slots"]):
            slot[:] = saved


def _best_epoch(history: Dict[str, List[float]]) -> Optional[int]:
    """The index of the epoch with the lowest val_loss (loss without validation), or None."""
    values = np.array(monitored(history, "val_loss"), dtype=np.float64)
    return None if values.size == 0 or np.all(np.isnan(values)) else int(np.nanargmin(values))
