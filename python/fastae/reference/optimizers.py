"""Clipping and torch.optim's single-tensor updates (optimizer.hpp)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np

from ..optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop


def clip_gradients(grads: List[np.ndarray], clip_value: Optional[float], clip_norm: Optional[float]) -> List[np.ndarray]:
    """clip_grad_value_ then clip_grad_norm_ (global L2 norm over all gradients)."""
    if clip_value:
        grads = [np.clip(g, -clip_value, clip_value) for g in grads]
    if clip_norm:
        total = np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads))
        coef = min(1.0, clip_norm / (total + 1e-6))  # max_norm / (||g|| + 1e-6), at most 1
        grads = [g * g.dtype.type(coef) for g in grads]
    return grads


def _lerp(a: np.ndarray, b: np.ndarray, w: Any) -> np.ndarray:
    """torch.lerp: a + w (b - a) for w < 0.5, else b - (b - a)(1 - w)."""
    return a + w * (b - a) if w < 0.5 else b - (b - a) * (1 - w)


class ReferenceOptimizer:
    """torch.optim's single-tensor updates, parameter by parameter."""

    def __init__(self, config: Optimizer):
        self.config = config
        self.steps = 0
        self.state: List[Dict[str, np.ndarray]] = []

    def step(self, params: List[np.ndarray], grads: List[np.ndarray]) -> None:
        c = self.config
        if not self.state:
            self.state = [{} for _ in params]
        self.steps += 1
        t = self.steps
        for p, g, state in zip(params, grads, self.state):
            T = p.dtype.type
            if isinstance(c, SGD):
                if c.weight_decay:
                    g = g + T(c.weight_decay) * p                       # g = g + wd p
                if c.momentum:
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = g.copy()             # b_1 = g
                    else:
                        b = state["momentum_buffer"]
                        state["momentum_buffer"] = T(c.momentum) * b + T(1 - c.dampening) * g  # b = mu b + (1-tau) g
                    b = state["momentum_buffer"]
                    g = g + T(c.momentum) * b if c.nesterov else b
                p -= T(c.lr) * g                                        # p = p - lr g
            elif isinstance(c, Adagrad):
                if c.weight_decay:
                    g = g + T(c.weight_decay) * p
                state["sum"] = state.get("sum", np.zeros_like(p)) + g * g   # G = G + g^2
                p -= T(c.lr) * (g / (np.sqrt(state["sum"]) + T(c.eps)))     # p = p - lr g / (sqrt(G) + eps)
            elif isinstance(c, RMSprop):
                if c.weight_decay:
                    g = g + T(c.weight_decay) * p
                v = T(c.alpha) * state.get("square_avg", np.zeros_like(p)) + T(1 - c.alpha) * g * g
                state["square_avg"] = v                                  # v = alpha v + (1 - alpha) g^2
                if c.centered:
                    gbar = _lerp(state.get("grad_avg", np.zeros_like(p)), g, T(1 - c.alpha))
                    state["grad_avg"] = gbar                             # gbar = lerp(gbar, g, 1 - alpha)
                    avg = np.sqrt(v - gbar * gbar) + T(c.eps)
                else:
                    avg = np.sqrt(v) + T(c.eps)
                if c.momentum > 0:
                    b = T(c.momentum) * state.get("momentum_buffer", np.zeros_like(p)) + g / avg
                    state["momentum_buffer"] = b                         # b = mu b + g / avg
                    p -= T(c.lr) * b
                else:
                    p -= T(c.lr) * (g / avg)
            elif isinstance(c, Adam):  # Adam and AdamW
                if isinstance(c, AdamW):
                    p *= T(1 - c.lr * c.weight_decay)                    # decoupled decay: p = p (1 - lr wd)
                elif c.weight_decay:
                    g = g + T(c.weight_decay) * p                        # L2: g = g + wd p
                beta1, beta2 = c.betas
                m = _lerp(state.get("exp_avg", np.zeros_like(p)), g, T(1 - beta1))
                v = T(beta2) * state.get("exp_avg_sq", np.zeros_like(p)) + T(1 - beta2) * g * g
                state["exp_avg"], state["exp_avg_sq"] = m, v
                step_size = T(c.lr / (1 - beta1 ** t))                   # lr / (1 - beta1^t)
                bias2_sqrt = T(np.sqrt(1 - beta2 ** t))
                if c.amsgrad:
                    v = np.maximum(state.get("max_exp_avg_sq", np.zeros_like(p)), v)
                    state["max_exp_avg_sq"] = v
                p -= step_size * (m / (np.sqrt(v) / bias2_sqrt + T(c.eps)))  # m / (sqrt(v)/sqrt(1-beta2^t) + eps)
            else:
                raise TypeError(f"optimizer: unsupported {c!r}")
