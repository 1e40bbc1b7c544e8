"""Optimizer configurations, with the names, defaults and checks of ``torch.optim``.

These are plain descriptions: the updates run in C++ (``cpp/include/fastae/optimizer.hpp``)
and, for checking, in NumPy (``fastae.reference``). Pass an instance as ``optimizer=`` to
:class:`fastae.Autoencoder`, or a name (``"sgd"``, ``"adagrad"``, ``"rmsprop"``, ``"adam"``,
``"adamw"``) to get the defaults below.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Dict, Tuple

import numpy as np

from ._validation import shown, spelling, unknown_name

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "make_optimizer", "OPTIMIZERS"]


def _number(owner: str, name: str, value: Any, *, low: float = 0.0, high: float = math.inf, high_open: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number, got {value!r}")
    try:
        value = float(value)
    except OverflowError:
        raise ValueError(f"{owner}: {name} is too large for a floating-point number, got {shown(value)}") from None
    if not math.isfinite(value) or value < low or value > high or (high_open and value >= high):
        bound = f"[{low}, {high})" if high_open else f"[{low}, {high}]"
        raise ValueError(f"{owner}: {name} must be in {bound}, got {value!r}")
    return value


def _flag(owner: str, name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")
    return bool(value)


class Optimizer:
    """Base class: holds the hyperparameters; ``get_params()`` returns them as a dict and
    ``set_params(**changes)`` sets some, checked (so scikit-learn's clone and
    ``GridSearchCV(..., {"optimizer__lr": [...]})`` work)."""

    name = ""

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        return dict(self.__dict__)

    def set_params(self, **changes: Any) -> "Optimizer":
        unknown = sorted(set(changes) - set(self.__dict__))
        if unknown:
            raise ValueError(f"{type(self).__name__}.set_params: unknown parameter {unknown[0]!r} "
                             f"(known: {', '.join(self.__dict__)})")
        checked = type(self)(**{**self.get_params(), **changes})  # the constructor checks every value
        self.__dict__.update(checked.__dict__)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_params() == other.get_params()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.get_params().items()))))

    def _fill(self, config: Any) -> None:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


class SGD(Optimizer):
    """p -= lr * g, with optional momentum (b = momentum b + (1 - dampening) g), Nesterov and L2 weight decay."""

    name = "sgd"

    def __init__(self, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        self.lr = _number("SGD", "lr", lr)
        self.momentum = _number("SGD", "momentum", momentum)
        self.dampening = _number("SGD", "dampening", dampening, low=-math.inf)
        self.nesterov = _flag("SGD", "nesterov", nesterov)
        self.weight_decay = _number("SGD", "weight_decay", weight_decay)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0")

    def _fill(self, c: Any) -> None:
        c.kind, c.lr, c.momentum, c.dampening = "sgd", self.lr, self.momentum, self.dampening
        c.nesterov, c.weight_decay = self.nesterov, self.weight_decay


class Adagrad(Optimizer):
    """G += g^2; p -= lr * g / (sqrt(G) + eps)."""

    name = "adagrad"

    def __init__(self, lr: float = 1e-2, eps: float = 1e-10, weight_decay: float = 0.0):
        self.lr = _number("Adagrad", "lr", lr)
        self.eps = _number("Adagrad", "eps", eps)
        self.weight_decay = _number("Adagrad", "weight_decay", weight_decay)

    def _fill(self, c: Any) -> None:
        c.kind, c.lr, c.eps, c.weight_decay = "adagrad", self.lr, self.eps, self.weight_decay


class RMSprop(Optimizer):
    """v = alpha v + (1 - alpha) g^2; p -= lr * g / (sqrt(v) + eps), optionally centered and with momentum."""

    name = "rmsprop"

    def __init__(self, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0,
                 centered: bool = False, weight_decay: float = 0.0):
        self.lr = _number("RMSprop", "lr", lr)
        self.alpha = _number("RMSprop", "alpha", alpha, high=1.0)
        self.eps = _number("RMSprop", "eps", eps)
        self.momentum = _number("RMSprop", "momentum", momentum)
        self.centered = _flag("RMSprop", "centered", centered)
        self.weight_decay = _number("RMSprop", "weight_decay", weight_decay)

    def _fill(self, c: Any) -> None:
        c.kind, c.lr, c.alpha, c.eps = "rmsprop", self.lr, self.alpha, self.eps
        c.momentum, c.centered, c.weight_decay = self.momentum, self.centered, self.weight_decay


class Adam(Optimizer):
    """Adam (Kingma & Ba) as torch.optim.Adam: L2 weight decay added to the gradient; optional AMSGrad."""

    name = "adam"

    def __init__(self, lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False):
        owner = type(self).__name__
        self.lr = _number(owner, "lr", lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}")
        checked = (_number(owner, "betas[0]", betas[0], high=1.0, high_open=True),
                   _number(owner, "betas[1]", betas[1], high=1.0, high_open=True))
        # Keep a tuple of floats as given: scikit-learn's clone checks that parameters are stored as passed.
        self.betas = betas if isinstance(betas, tuple) and all(type(b) is float for b in betas) else checked
        self.eps = _number(owner, "eps", eps)
        self.weight_decay = _number(owner, "weight_decay", weight_decay)
        self.amsgrad = _flag(owner, "amsgrad", amsgrad)

    def _fill(self, c: Any) -> None:
        c.kind, c.lr, c.eps, c.weight_decay, c.amsgrad = self.name, self.lr, self.eps, self.weight_decay, self.amsgrad
        c.beta1, c.beta2 = self.betas


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter) as torch.optim.AdamW: p *= 1 - lr * weight_decay before the Adam step."""

    name = "adamw"

    def __init__(self, lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


OPTIMIZERS = {cls.name: cls for cls in (SGD, Adagrad, RMSprop, Adam, AdamW)}

# Names Keras and PyTorch users type for SGD configurations: plain gradient descent, and SGD with
# momentum 0.9 (with Nesterov's correction for "nesterov").
PRESETS = {"gd": dict(momentum=0.0), "momentum": dict(momentum=0.9), "nesterov": dict(momentum=0.9, nesterov=True)}


def make_optimizer(optimizer: Any, learning_rate: Any = None) -> Optimizer:
    """An optimizer instance from a name (with ``learning_rate``, None for its default) or an instance."""
    if isinstance(optimizer, Optimizer):
        if learning_rate is not None:
            raise ValueError("learning_rate: set the learning rate inside the optimizer instance "
                             f"({type(optimizer).__name__}(lr=...)), or pass the optimizer by name")
        return optimizer
    if not isinstance(optimizer, str):
        raise TypeError(f"optimizer: expected a name or an SGD/Adagrad/RMSprop/Adam/AdamW instance, got {optimizer!r}")
    key = spelling(optimizer)
    if key not in OPTIMIZERS and key not in PRESETS:
        raise unknown_name("optimizer", optimizer, tuple(OPTIMIZERS), tuple(PRESETS))
    make = OPTIMIZERS[key] if key in OPTIMIZERS else (lambda **lr: SGD(**PRESETS[key], **lr))
    if learning_rate is None:
        return make()
    lr = _number("learning_rate", "learning_rate", learning_rate)
    if lr <= 0:
        raise ValueError(f"learning_rate: must be > 0, got {learning_rate!r}")
    return make(lr=lr)


def optimizer_to_dict(opt: Optimizer) -> Dict[str, Any]:
    """A JSON-friendly description: {"name": ..., "params": {...}}."""
    params = {k: list(v) if isinstance(v, tuple) else v for k, v in opt.get_params().items()}
    return {"name": opt.name, "params": params}


def optimizer_from_dict(data: Dict[str, Any]) -> Optimizer:
    params = dict(data["params"])
    if "betas" in params:
        params["betas"] = tuple(params["betas"])
    return OPTIMIZERS[data["name"]](**params)
