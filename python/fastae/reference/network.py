"""The dense network with its loss and penalties: forward, and the loss with its gradients (network.hpp, penalty.hpp)."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from .activations import activate, activation_derivative, activation_second_derivative
from .dropout import dropout_mask
from .losses import loss_elements, loss_gradient

MEAN_FLOOR = 1e-6  # the KL penalty's batch means are kept in [MEAN_FLOOR, 1 - MEAN_FLOOR] (penalty.hpp)

# What keys the counter RNG for a batch's dropout: (seed, epoch, each row's index in the training matrix).
BatchKeys = Tuple[int, int, np.ndarray]


class Network:
    """A stack of dense layers a_l = f_l(a_{l-1} W_l + b_l), a loss, and what training adds to it:
    dropout[l] on layer l's output (inverted, training only), and the penalties
    activity_l1 * (mean over rows of sum_j |a_code_j|) and
    sparsity_weight * sum_j KL(sparsity_target || batch mean of a_code_j), a_code the output of code_layer;
    with mirror[d] = e, decoder layer d uses W_e^T (tied weights)."""

    def __init__(self, weights: Sequence[np.ndarray], activations: Sequence[str], loss: str,
                 code_layer: Optional[int] = None, activity_l1: float = 0.0, sparsity_weight: float = 0.0,
                 sparsity_target: float = 0.05, dropout: Optional[Sequence[float]] = None,
                 mirror: Optional[Sequence[int]] = None, contractive: float = 0.0):
        self.weights = [np.array(w) for w in weights]  # [W1, b1, W2, b2, ...]
        self.activations = list(activations)
        self.loss = loss
        self.code_layer, self.activity_l1 = code_layer, activity_l1
        self.sparsity_weight, self.sparsity_target = sparsity_weight, sparsity_target
        self.dropout = [0.0] * len(self.activations) if dropout is None else list(dropout)
        self.mirror = [-1] * len(self.activations) if mirror is None else list(mirror)  # tied: W_d = W_e^T
        self.contractive = contractive
        if contractive and code_layer != 0:
            raise ValueError("contractive: the exact penalty needs a one-layer encoder")
        self.last_reconstruction = 0.0  # the last batch's mean reconstruction loss
        self.last_penalty_sum = 0.0     # and its penalties' sum over rows
        if loss == "bce" and self.activations[-1] != "sigmoid":
            raise ValueError("loss: 'bce' needs a sigmoid output activation")

    def tie(self) -> None:
        """W_d = W_e^T for every tied decoder layer d mirroring encoder layer e (after each step)."""
        for d, e in enumerate(self.mirror):
            if e >= 0:
                self.weights[2 * d] = self.weights[2 * e].T.copy()

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

    def row_losses(self, x: np.ndarray, target: Optional[np.ndarray] = None,
                   mask: Optional[np.ndarray] = None) -> np.ndarray:
        """Per-row sums of the elementwise loss of producing target (default: x) from x (in float64); with a
        `mask` (missing.py), each entry's loss times its mask value (0: a missing entry)."""
        _, z = self.output_logits(x)
        out = z if self.loss == "bce" else activate(self.activations[-1], z)
        loss = loss_elements(self.loss, out, x if target is None else target)
        return (loss if mask is None else loss * mask).astype(np.float64).sum(axis=1)

    def train_forward(self, x: np.ndarray, keys: Optional[BatchKeys]) -> Tuple[List[np.ndarray], List[np.ndarray],
                                                                               np.ndarray]:
        """Training's forward pass: (each hidden layer's output a_l, each layer's input, the last
        layer's pre-activation z), with dropout keyed by `keys` after the layers that have it."""
        outputs, inputs, a = [], [x], x
        for l in range(self.n_layers - 1):
            W, b = self.layer(l)
            a = activate(self.activations[l], a @ W + b)
            outputs.append(a)
            if self.dropout[l] > 0:
                seed, epoch, rows = keys
                a = a * dropout_mask(self.dropout[l], seed, epoch, rows, l, a.shape[1], a.dtype.type)  # a m / (1 - p)
            inputs.append(a)
        W, b = self.layer(self.n_layers - 1)
        return outputs, inputs, a @ W + b

    def loss_and_gradients(self, x: np.ndarray, target: Optional[np.ndarray] = None,
                           keys: Optional[BatchKeys] = None,
                           mask: Optional[np.ndarray] = None) -> Tuple[float, List[np.ndarray]]:
        """The objective of the batch x: the mean loss over all elements of producing `target`
        (default: x itself), plus the penalties' mean over rows; and its gradients [dW1, db1, ...].
        `keys` draw the dropout masks (needed when there is dropout). With a `mask` (missing.py),
        the mean is over the observed elements (mask 1) alone."""
        y = x if target is None else target
        hidden, inputs, z = self.train_forward(x, keys)
        m = np.ones_like(y) if mask is None else mask
        count = float(m.astype(np.float64).sum())  # N: the elements the mean is over
        out = z if self.loss == "bce" else activate(self.activations[-1], z)  # BCE works from the logits
        loss = (loss_elements(self.loss, out, y) * m).astype(np.float64).sum() / count
        dz = loss_gradient(self.loss, out, y) * m / y.dtype.type(count)  # dL/dz for BCE: (sigmoid(z) - y) m / N
        if self.loss != "bce":
            dz = dz * activation_derivative(self.activations[-1], out)  # dL/dz = dL/da f'(z)
        grads: List[np.ndarray] = [np.empty(0)] * (2 * self.n_layers)
        n, dtype = len(x), x.dtype.type
        penalty_sum = 0.0
        for l in range(self.n_layers - 1, -1, -1):
            W, _ = self.layer(l)
            grads[2 * l] = inputs[l].T @ dz       # dL/dW = x^T dL/dz
            grads[2 * l + 1] = dz.sum(axis=0)     # dL/db = sum over rows of dL/dz
            if l > 0:
                da = dz @ W.T  # dL/d(input of l)
                a = hidden[l - 1]
                if self.dropout[l - 1] > 0:
                    da = da * self._mask(a, keys, l - 1)  # dL/da = dL/d(a m) m
                if l - 1 == self.code_layer and self.activity_l1:
                    da = da + dtype(self.activity_l1 / n) * np.sign(a)  # + lambda/n sign(a)
                    penalty_sum += self.activity_l1 * float(np.abs(a.astype(np.float64)).sum())
                if l - 1 == self.code_layer and self.sparsity_weight:
                    rho, beta = self.sparsity_target, self.sparsity_weight
                    means = np.clip(a.astype(np.float64).mean(axis=0), MEAN_FLOOR, 1 - MEAN_FLOOR)  # rho_hat_j
                    kl = np.sum(rho * np.log(rho / means) + (1 - rho) * np.log((1 - rho) / (1 - means)))
                    da = da + (beta / n * (-rho / means + (1 - rho) / (1 - means))).astype(dtype)  # d/da_rj of beta sum KL
                    penalty_sum += n * beta * float(kl)  # every row carries the batch's value
                dz = da * activation_derivative(self.activations[l - 1], a)  # dL/dz below
                if l == 1 and self.contractive:  # the code of a one-layer encoder: ||dh/dx||_F^2 = sum_j f'(z_j)^2 s_j
                    lam, act, W0 = self.contractive, self.activations[0], self.weights[0].astype(np.float64)
                    d1 = activation_derivative(act, a).astype(np.float64)
                    d2 = activation_second_derivative(act, a)
                    s = (W0 * W0).sum(axis=0)  # s_j = sum_i W_ij^2
                    dz = dz + (2 * lam / n * d1 * d2 * s).astype(dtype)  # d/dz_j: lambda/n 2 f' f'' s_j
                    penalty_sum += lam * float((d1 * d1 * s).sum())
                    contractive_w = (2 * lam * W0 * (d1 * d1).mean(axis=0)).astype(dtype)  # d/dW_ij: 2 lambda c_j W_ij
        if self.contractive:
            grads[0] = grads[0] + contractive_w  # the penalty's part through W itself
        for d, e in enumerate(self.mirror):  # tied: W_e appears as itself and as W_d = W_e^T
            if e >= 0:
                grads[2 * e] = grads[2 * e] + grads[2 * d].T  # dL/dW_e += (dL/dW_d)^T
                grads[2 * d] = np.zeros_like(grads[2 * d])     # W_d is not a parameter of its own
        self.last_reconstruction, self.last_penalty_sum, self.last_count = float(loss), penalty_sum, count
        return float(loss) + penalty_sum / n, grads

    def _mask(self, a: np.ndarray, keys: BatchKeys, layer: int) -> np.ndarray:
        seed, epoch, rows = keys
        return dropout_mask(self.dropout[layer], seed, epoch, rows, layer, a.shape[1], a.dtype.type)
