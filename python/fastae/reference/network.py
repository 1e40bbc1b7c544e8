"""The dense network with its loss and penalties: forward, and the loss with its gradients (network.hpp, penalty.hpp)."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from .activations import activate, activation_derivative
from .losses import loss_elements, loss_gradient


class Network:
    """A stack of dense layers a_l = f_l(a_{l-1} W_l + b_l), a loss, and the penalties training
    adds to it: activity_l1 * (mean over rows of sum |a_code|), a_code the output of code_layer."""

    def __init__(self, weights: Sequence[np.ndarray], activations: Sequence[str], loss: str,
                 code_layer: Optional[int] = None, activity_l1: float = 0.0):
        self.weights = [np.array(w) for w in weights]  # [W1, b1, W2, b2, ...]
        self.activations = list(activations)
        self.loss = loss
        self.code_layer, self.activity_l1 = code_layer, activity_l1
        self.last_reconstruction = 0.0  # the last batch's mean reconstruction loss
        self.last_penalty_sum = 0.0     # and its penalties' sum over rows
        if loss == "bce" and self.activations[-1] != "sigmoid":
            raise ValueError("loss: 'bce' needs a sigmoid output activation")

    @property
    def n_layers(self) -> int:
        return len(self.activations)

    def layer(self, l: int) -> Tuple[np.ndarray, np.ndarray]:
        return self.weights[2 * l], self.weights[2 * l + 1]

    def forward(self, x: np.ndarray, first: int = 0, last: Optional[int] = None) -> List[np.ndarray]:
        """[a_first, ..., a_last] for input x (a_{first-1} = x); the last entry is the output."""
        last = self.n_layers if last is None else last
        outputs = []
        a = x
        for l in range(first, last):
            W, b = self.layer(l)
            a = activate(self.activations[l], a @ W + b)
            outputs.append(a)
        return outputs

    def output_logits(self, x: np.ndarray) -> Tuple[List[np.ndarray], np.ndarray]:
        """Hidden outputs and the last layer's pre-activation z."""
        hidden = self.forward(x, 0, self.n_layers - 1)
        below = hidden[-1] if hidden else x
        W, b = self.layer(self.n_layers - 1)
        return hidden, below @ W + b

    def row_losses(self, x: np.ndarray) -> np.ndarray:
        """Per-row sums of the elementwise loss of reconstructing x (in float64)."""
        _, z = self.output_logits(x)
        out = z if self.loss == "bce" else activate(self.activations[-1], z)
        return loss_elements(self.loss, out, x).astype(np.float64).sum(axis=1)

    def loss_and_gradients(self, x: np.ndarray, target: Optional[np.ndarray] = None) -> Tuple[float, List[np.ndarray]]:
        """The objective of the batch x: the mean loss over all elements of reconstructing `target`
        (default: x itself), plus the penalties' mean over rows; and its gradients [dW1, db1, ...]."""
        y = x if target is None else target
        hidden, z = self.output_logits(x)
        count = y.size
        if self.loss == "bce":
            loss = loss_elements("bce", z, y).astype(np.float64).sum() / count
            dz = loss_gradient("bce", z, y) / y.dtype.type(count)  # dL/dz = (sigmoid(z) - y) / N
        else:
            a = activate(self.activations[-1], z)
            loss = loss_elements(self.loss, a, y).astype(np.float64).sum() / count
            dz = loss_gradient(self.loss, a, y) / y.dtype.type(count) * activation_derivative(self.activations[-1], a)
        grads: List[np.ndarray] = [np.empty(0)] * (2 * self.n_layers)
        inputs = [x] + hidden  # inputs[l] is the input of layer l
        for l in range(self.n_layers - 1, -1, -1):
            W, _ = self.layer(l)
            grads[2 * l] = inputs[l].T @ dz       # dL/dW = x^T dL/dz
            grads[2 * l + 1] = dz.sum(axis=0)     # dL/db = sum over rows of dL/dz
            if l > 0:
                da = dz @ W.T  # dL/da of the layer below
                if l - 1 == self.code_layer and self.activity_l1:
                    da = da + x.dtype.type(self.activity_l1 / len(x)) * np.sign(inputs[l])  # + lambda/n sign(a)
                dz = da * activation_derivative(self.activations[l - 1], inputs[l])  # dL/dz below
        self.last_reconstruction, self.last_penalty_sum = float(loss), 0.0
        if self.activity_l1:
            self.last_penalty_sum = self.activity_l1 * float(np.abs(inputs[self.code_layer + 1].astype(np.float64)).sum())
        return float(loss) + self.last_penalty_sum / len(x), grads
