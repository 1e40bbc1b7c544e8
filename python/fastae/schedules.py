"""Learning-rate schedules, applied once per epoch.

A schedule is asked for the learning rate of epoch ``epoch`` (0-based) before that epoch runs:
``schedule(epoch, base_lr, history)`` where ``base_lr`` is the optimizer's learning rate and
``history`` holds the losses of the epochs done so far (``Autoencoder.history_``). Every schedule
here is a pure function of those three, so a resumed or reloaded model gets exactly the learning
rates it would have had. ``Autoencoder(lr_schedule=f)`` also takes a plain callable ``epoch -> lr``.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

from ._validation import check_fraction, check_int, check_non_negative_float, check_positive_float

__all__ = ["Schedule", "StepDecay", "ExponentialDecay", "CosineAnnealing", "ReduceLROnPlateau"]

History = Mapping[str, List[float]]


class Schedule:
    """Base class: subclasses define ``__call__(epoch, base_lr, history) -> lr``."""

    def __call__(self, epoch: int, base_lr: float, history: History) -> float:
        raise NotImplementedError

    def get_config(self) -> Dict[str, Any]:
        """The constructor's arguments (what save() stores)."""
        return dict(vars(self))

    def __eq__(self, other: Any) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class StepDecay(Schedule):
    """lr = base_lr * gamma ** (epoch // step_size)  (torch.optim.lr_scheduler.StepLR)."""

    def __init__(self, step_size: int, gamma: float = 0.1):
        self.step_size = check_int("step_size", step_size)
        self.gamma = check_positive_float("gamma", gamma, optional=False)

    def __call__(self, epoch: int, base_lr: float, history: History) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialDecay(Schedule):
    """lr = base_lr * gamma ** epoch  (torch.optim.lr_scheduler.ExponentialLR)."""

    def __init__(self, gamma: float):
        self.gamma = check_positive_float("gamma", gamma, optional=False)

    def __call__(self, epoch: int, base_lr: float, history: History) -> float:
        return base_lr * self.gamma ** epoch


class CosineAnnealing(Schedule):
    """Optional linear warm-up, then a half cosine from base_lr down to min_lr.

    Warm-up epochs e < w: lr = base_lr * (e + 1) / w. Then, with T = t_max - w and
    t = min(e - w, T): lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * t / T)) / 2, i.e.
    torch's CosineAnnealingLR over the epochs after the warm-up, held at min_lr after t_max.
    """

    def __init__(self, t_max: int, min_lr: float = 0.0, warmup_epochs: int = 0):
        self.t_max = check_int("t_max", t_max)
        self.min_lr = check_non_negative_float("min_lr", min_lr)
        self.warmup_epochs = check_int("warmup_epochs", warmup_epochs, low=0)
        if self.warmup_epochs >= self.t_max:
            raise ValueError(f"warmup_epochs: must be less than t_max ({self.t_max}), got {warmup_epochs!r}")

    def __call__(self, epoch: int, base_lr: float, history: History) -> float:
        if epoch < self.warmup_epochs:
            return base_lr * (epoch + 1) / self.warmup_epochs
        span = self.t_max - self.warmup_epochs
        t = min(epoch - self.warmup_epochs, span)
        return self.min_lr + (base_lr - self.min_lr) * (1.0 + math.cos(math.pi * t / span)) / 2.0


class ReduceLROnPlateau(Schedule):
    """Multiply the lr by ``factor`` once the monitored loss has not improved for more than
    ``patience`` epochs (torch.optim.lr_scheduler.ReduceLROnPlateau, mode 'min', relative
    threshold): an epoch improves when loss < best * (1 - threshold). After a cut, ``cooldown``
    epochs pass before counting again; the lr never drops below ``min_lr``, and a cut smaller
    than ``eps`` is skipped (torch's eps, 1e-8).

    ``monitor`` is "val_loss" (the default; falls back to "loss" when there is no validation)
    or "loss". The lr is replayed from the history, so the schedule keeps no hidden state.
    """

    def __init__(self, factor: float = 0.1, patience: int = 10, threshold: float = 1e-4, cooldown: int = 0,
                 min_lr: float = 0.0, monitor: str = "val_loss", eps: float = 1e-8):
        self.factor = check_fraction("factor", factor)
        self.patience = check_int("patience", patience, low=0)
        self.threshold = check_non_negative_float("threshold", threshold)
        if self.threshold >= 1.0:
            raise ValueError(f"threshold: must be below 1, got {threshold!r}")
        self.cooldown = check_int("cooldown", cooldown, low=0)
        self.min_lr = check_non_negative_float("min_lr", min_lr)
        self.monitor = check_monitor(monitor)
        self.eps = check_non_negative_float("eps", eps)

    def __call__(self, epoch: int, base_lr: float, history: History) -> float:
        values = monitored(history, self.monitor)[:epoch]
        lr, best, bad, cooling = base_lr, math.inf, 0, 0
        for value in values:
            if value < best * (1.0 - self.threshold):
                best, bad = value, 0
            else:
                bad += 1
            if cooling > 0:
                cooling -= 1
                bad = 0
            if bad > self.patience:
                reduced = max(lr * self.factor, self.min_lr)
                if lr - reduced > self.eps:
                    lr = reduced
                cooling, bad = self.cooldown, 0
        return lr


def check_monitor(monitor: Any) -> str:
    if monitor not in ("val_loss", "loss"):
        raise ValueError(f"monitor: expected 'val_loss' or 'loss', got {monitor!r}")
    return monitor


def monitored(history: History, monitor: str) -> List[float]:
    """The per-epoch values of `monitor`, falling back from val_loss to loss without validation."""
    if monitor == "val_loss" and not history.get("val_loss"):
        monitor = "loss"
    return list(history.get(monitor, []))


LRSchedule = Union[Schedule, Callable[[int], float]]
SCHEDULES = {cls.__name__: cls for cls in (StepDecay, ExponentialDecay, CosineAnnealing, ReduceLROnPlateau)}


def check_schedule(schedule: Any) -> Optional[LRSchedule]:
    if schedule is None or isinstance(schedule, Schedule) or callable(schedule):
        return schedule
    raise TypeError(f"lr_schedule: expected None, a fastae.schedules.Schedule or a callable epoch -> lr, "
                    f"got {type(schedule).__name__}")


def learning_rate(schedule: Optional[LRSchedule], epoch: int, base_lr: float, history: History) -> float:
    """The learning rate of epoch `epoch` (0-based), checked."""
    if schedule is None:
        return base_lr
    lr = schedule(epoch, base_lr, history) if isinstance(schedule, Schedule) else schedule(epoch)
    try:
        lr = float(lr)
    except OverflowError:
        raise ValueError(f"lr_schedule: returned {lr!r} for epoch {epoch}, too large for a floating-point number") from None
    except (TypeError, ValueError):
        raise TypeError(f"lr_schedule: returned {lr!r} for epoch {epoch}; expected a number") from None
    if not (math.isfinite(lr) and lr >= 0.0):
        raise ValueError(f"lr_schedule: returned {lr!r} for epoch {epoch}; expected a finite number >= 0")
    return lr


def schedule_to_dict(schedule: Optional[LRSchedule]) -> Optional[Dict[str, Any]]:
    """A JSON-friendly description, or None for no schedule or a plain callable (not storable)."""
    if isinstance(schedule, Schedule) and type(schedule).__name__ in SCHEDULES:
        return {"kind": type(schedule).__name__, **schedule.get_config()}
    return None


def schedule_from_dict(data: Optional[Dict[str, Any]]) -> Optional[Schedule]:
    if data is None:
        return None
    args = dict(data)
    kind = args.pop("kind")
    if kind not in SCHEDULES:
        raise ValueError(f"lr_schedule: unknown schedule {kind!r}")
    return SCHEDULES[kind](**args)
