"""The variational autoencoder: Autoencoder's training, validation and persistence over a network
whose encoder ends in two linear heads, mu and logvar, followed by the sampling stage
z = mu + exp(logvar / 2) eps (cpp/include/fastae/sampling.hpp)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ._model_lock import reads_model, writes_model
from ._persistence import model_class
from ._spec import ModelSpec, vae_spec
from ._validation import LOSSES, MAX_UNITS, as_samples, check_int, check_name, check_non_negative_float
from .autoencoder import Autoencoder, _check_network_fits

__all__ = ["VariationalAutoencoder"]

LOGVAR_LOW, LOGVAR_HIGH = -30.0, 20.0  # logvar is clamped here where it is exponentiated (as PyOD does)
VAE_LOSSES = ("bce", "mse")


@model_class
class VariationalAutoencoder(Autoencoder):
    """A variational autoencoder trained in C++ (Kingma and Welling, 2014).

    The encoder maps ``n_features -> *hidden`` and then to two linear heads, mu and logvar, of
    ``latent_dim`` each; training decodes z = mu + exp(logvar / 2) eps, eps ~ N(0, I), and
    minimises, per row and then averaged over the batch, the sum over the features of the loss
    (BCE from the logits, or squared error) plus beta_t * KL(N(mu, exp(logvar)) || N(0, I)),
    beta_t rising linearly from 0 to ``beta`` over ``kl_warmup_epochs`` epochs.
    """

    # Autoencoder's variants that a VAE does not have (not hyperparameters: not in __init__).
    latent_activation = "linear"
    activity_l1 = 0.0
    sparsity_weight = 0.0
    sparsity_target = 0.05
    tied_weights = False
    contractive = 0.0

    def __init__(self, latent_dim: int = 2, hidden: Sequence[int] = (256,), activation: str = "relu",
                 output_activation: str = "sigmoid", loss: str = "bce", beta: float = 1.0, kl_warmup_epochs: int = 0,
                 optimizer: Any = "adam", learning_rate: Optional[float] = None, batch_size: int = 256,
                 epochs: int = 10, shuffle: bool = True, clip_norm: Optional[float] = None,
                 clip_value: Optional[float] = None, dtype: Any = "float32", warm_start: bool = False,
                 random_state: Optional[int] = None, n_threads: Optional[int] = None, verbose: int = 0,
                 validation_fraction: Optional[float] = None, early_stopping: bool = False, patience: int = 5,
                 min_delta: float = 0.0, restore_best_weights: bool = True, lr_schedule: Any = None,
                 noise: str = "none", noise_level: float = 0.1, dropout: float = 0.0, scale: str = "none",
                 missing: str = "error"):
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.activation = activation
        self.output_activation = output_activation
        self.loss = loss
        self.beta = beta
        self.kl_warmup_epochs = kl_warmup_epochs
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.shuffle = shuffle
        self.clip_norm = clip_norm
        self.clip_value = clip_value
        self.dtype = dtype
        self.warm_start = warm_start
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights
        self.lr_schedule = lr_schedule
        self.noise = noise
        self.noise_level = noise_level
        self.dropout = dropout
        self.scale = scale
        self.missing = missing

    def _checked(self) -> Dict[str, Any]:
        if isinstance(self.loss, str) and check_name("loss", self.loss, LOSSES) not in VAE_LOSSES:
            raise ValueError(f"loss: a VariationalAutoencoder's reconstruction term is 'bce' or 'mse', not {self.loss!r}")
        cfg = super()._checked()
        cfg["beta"] = check_non_negative_float("beta", self.beta)
        cfg["kl_warmup_epochs"] = check_int("kl_warmup_epochs", self.kl_warmup_epochs, low=0)
        return cfg

    def _spec(self, n_features: int, cfg: Dict[str, Any], n_outputs: Optional[int] = None) -> ModelSpec:
        if n_outputs is not None and n_outputs != n_features:
            raise ValueError(f"target: a VariationalAutoencoder reconstructs its input ({n_features} columns), "
                             f"not {n_outputs}")
        spec = vae_spec(n_features, cfg["hidden"], cfg["latent_dim"], cfg["activation"], cfg["output_activation"],
                        cfg["loss"], cfg["dropout"])
        _check_network_fits(spec, cfg["dtype"])
        return spec

    def _target(self, target: Any, X: np.ndarray, cfg: Dict[str, Any], n_outputs: Optional[int],
                scan: bool = True, name: str = "target") -> Optional[np.ndarray]:
        if target is not None and not _is_input(target, X):  # evaluate(X, X), validation_data=(X_val, X_val)
            raise ValueError(f"{name}: a VariationalAutoencoder learns to reconstruct X; it takes no target "
                             "other than X itself")
        return None

    def _empty_history(self) -> Dict[str, List[float]]:
        return {"loss": [], "reconstruction": [], "kl": [], "lr": []}

    # ----------------------------------------------------------------- the epochs' KL weight
    def beta_at(self, epoch: int) -> float:
        """beta_t of epoch `epoch` (0-based): beta * min(1, epoch / kl_warmup_epochs), or beta without warm-up."""
        return _beta_of(epoch, self._checked())

    def _begin_epoch(self, epoch: int, cfg: Dict[str, Any]) -> None:
        self._model.set_beta(_beta_of(epoch, cfg))

    def _epoch_parts(self, loss: float, penalty: float, kl: float) -> Dict[str, float]:
        return {"reconstruction": loss - penalty, "kl": kl}

    def _loss_sums(self, X: np.ndarray, n_threads: int, target: Optional[np.ndarray] = None) -> Tuple[float, float]:
        return float(self._negative_elbo(X, n_threads).sum()), float(X.shape[0])  # val_loss: evaluate's measure

    # ----------------------------------------------------------------- inference
    def _heads(self, X: Any, what: str) -> Tuple[np.ndarray, np.ndarray]:
        heads = self._apply(X, "X", what, "encoder")
        L = heads.shape[1] // 2
        return heads[:, :L].copy(), heads[:, L:].copy()

    @reads_model
    def encode(self, X: Any) -> np.ndarray:
        """mu, the mean of each row's latent distribution: shape (n_samples, latent_dim)."""
        return self._heads(X, "encode")[0]

    @reads_model
    def encode_distribution(self, X: Any) -> Tuple[np.ndarray, np.ndarray]:
        """(mu, logvar) of each row's latent distribution N(mu, exp(logvar)), each (n_samples, latent_dim)."""
        return self._heads(X, "encode_distribution")

    transform = encode

    @reads_model
    def sample(self, n: int, random_state: Optional[int] = None) -> np.ndarray:
        """n new rows: z ~ N(0, I) (NumPy's generator seeded by random_state) decoded, after the
        output activation. Shape (n, n_features), or (n, *input_shape_) for a model trained on images."""
        self._require_built("sample")
        n = check_int("n", n, low=0, high=2**40)
        if random_state is not None:
            check_int("random_state", random_state, low=0)
        z = np.random.default_rng(random_state).standard_normal((n, self.latent_dim_)).astype(self._dtype())
        if n == 0:
            return as_samples(np.empty((0, self.n_outputs_), dtype=self._dtype()), self.input_shape_)
        return self.decode(z)

    @property
    def latent_dim_(self) -> int:
        return self.spec_.layers[self.spec_.sampling_layer + 1].fan_in

    def _negative_elbo(self, X: np.ndarray, n_threads: int, n_samples: int = 0,
                       random_state: Optional[int] = None) -> np.ndarray:
        """Per row: the reconstruction term (summed over the features) + beta KL, at mu or averaged
        over n_samples draws of z (X checked)."""
        heads = np.empty((X.shape[0], 2 * self.latent_dim_), dtype=self._dtype())
        self._model.apply(X, 0, self.spec_.n_encoder, heads, n_threads)
        L = self.latent_dim_
        mu, logvar = heads[:, :L], heads[:, L:]

        def decoded(z: np.ndarray) -> np.ndarray:  # the reconstruction term of decoding z, the decoder alone
            out = np.empty(X.shape[0], dtype=np.float64)
            self._model.row_losses(np.ascontiguousarray(z), X, out, n_threads, self.spec_.n_encoder)
            return out

        if n_samples == 0:
            reconstruction = decoded(mu)  # the encoder ran once, above
        else:
            rng = np.random.default_rng(random_state)
            sigma = np.exp(0.5 * np.clip(logvar, LOGVAR_LOW, LOGVAR_HIGH))
            reconstruction = np.zeros(X.shape[0])
            for _ in range(n_samples):
                reconstruction += decoded(mu + sigma * rng.standard_normal(mu.shape).astype(mu.dtype))
            reconstruction /= n_samples
        return reconstruction + self._checked()["beta"] * kl_rows(mu, logvar)

    @reads_model
    def elbo(self, X: Any, n_samples: int = 0, random_state: Optional[int] = None) -> np.ndarray:
        """Per-row negative ELBO with the model's beta: the sum over the features of the
        reconstruction loss + beta KL (the training objective; the true negative ELBO when beta = 1),
        at z = mu when n_samples=0, else the mean over n_samples draws z = mu + sigma eps."""
        n_samples = check_int("n_samples", n_samples, low=0, high=MAX_UNITS)
        if random_state is not None:
            check_int("random_state", random_state, low=0)
        arr = self._input(X, "X", "elbo")
        return self._negative_elbo(arr, self._threads(), n_samples, random_state)

    @reads_model
    def evaluate(self, X: Any, target: Any = None) -> float:
        """The mean of elbo(X): deterministic (at mu), with the model's beta."""
        arr = self._input(X, "X", "evaluate")
        self._target(target, arr, {}, None)
        return float(self._negative_elbo(arr, self._threads()).mean())

    # ----------------------------------------------------------------- weights
    @reads_model
    def get_weights(self) -> List[np.ndarray]:
        """[W, b] of each encoder hidden layer, then W_mu, b_mu, W_logvar, b_logvar, then the
        decoder's pairs; each W of shape (in, out). Copies."""
        merged = super().get_weights()
        k, L = self.spec_.sampling_layer, self.latent_dim_
        W, b = merged[2 * k], merged[2 * k + 1]
        return [*merged[:2 * k], W[:, :L].copy(), b[:L].copy(), W[:, L:].copy(), b[L:].copy(), *merged[2 * k + 2:]]

    @writes_model
    def set_weights(self, weights: Sequence[Any]) -> "VariationalAutoencoder":
        """Replace the weights (the layout of get_weights). The optimizer state is kept."""
        self._require_built("set_weights")
        k, n = self.spec_.sampling_layer, len(self.spec_.layers)
        if not isinstance(weights, (list, tuple)) or len(weights) != 2 * n + 2:
            raise ValueError(f"weights: expected a list of {2 * n + 2} arrays [..., W_mu, b_mu, W_logvar, b_logvar, "
                             f"...], got {type(weights).__name__} of length "
                             f"{len(weights) if hasattr(weights, '__len__') else '?'}")
        heads = self.spec_.layers[k]
        for i, shape in ((2 * k, (heads.fan_in, heads.fan_out // 2)), (2 * k + 1, (heads.fan_out // 2,)),
                         (2 * k + 2, (heads.fan_in, heads.fan_out // 2)), (2 * k + 3, (heads.fan_out // 2,))):
            if np.shape(weights[i]) != shape:
                raise ValueError(f"weights[{i}]: expected shape {shape}, got {np.shape(weights[i])}")
        for i, w in enumerate(weights):
            arr = np.asarray(w)
            if arr.dtype.kind in "biuf" and not np.all(np.isfinite(arr)):
                raise ValueError(f"weights[{i}]: contains NaN or infinity")
        W = np.concatenate([np.asarray(weights[2 * k]), np.asarray(weights[2 * k + 2])], axis=1)
        b = np.concatenate([np.asarray(weights[2 * k + 1]), np.asarray(weights[2 * k + 3])])
        super().set_weights([*weights[:2 * k], W, b, *weights[2 * k + 4:]])
        return self


def _beta_of(epoch: int, cfg: Dict[str, Any]) -> float:
    """beta_t of a checked configuration in epoch `epoch` (VariationalAutoencoder.beta_at)."""
    warmup = cfg["kl_warmup_epochs"]
    return cfg["beta"] if warmup == 0 else cfg["beta"] * min(1.0, epoch / warmup)


def kl_rows(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """Each row's KL(N(mu, exp(lv)) || N(0, I)) = sum_j -1/2 (1 + lv - mu^2 - exp(lv)), lv = logvar
    clamped to [-30, 20], in float64."""
    lv = np.clip(logvar.astype(np.float64), LOGVAR_LOW, LOGVAR_HIGH)
    m = mu.astype(np.float64)
    return (-0.5 * (1.0 + lv - m * m - np.exp(lv))).sum(axis=1)


def _is_input(target: Any, X: np.ndarray) -> bool:
    """Whether `target` is X itself, or an array equal to it in X's dtype (Keras' fit(x, x), evaluate(x, x))."""
    if target is X:
        return True
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            arr = np.asarray(target, dtype=X.dtype)
    except (TypeError, ValueError, OverflowError):
        return False
    return arr.shape == X.shape and bool(np.array_equal(arr, X, equal_nan=True))
