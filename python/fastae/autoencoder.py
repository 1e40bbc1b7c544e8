"""The user-facing Autoencoder: scikit-learn-style Python over the C++ core (fastae._core)."""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from . import _core
from ._distributed import DataParallel, agree, check_communicator
from ._driver import EpochDriver
from ._estimator import Estimator, feature_names, same_value
from ._model_lock import reads_model, writes_model
from ._persistence import load as load_model, model_class, model_state, restore_state, save as save_model
from ._missing import fill_values
from ._scaling import ColumnScaling, fit_scaling
from ._spec import ModelSpec, autoencoder_spec
from ._threads import budget, usable_cores
from ._validation import (ACTIVATIONS, LOSSES, MAX_THREADS, MAX_UNITS, MISSINGS, SCALES, LatentWarning, as_matrix, as_samples, check_dtype,
                          check_fraction, check_int, check_name, check_noise, check_non_negative_float, check_positive_float,
                          check_probability, physical_memory, sample_shape, shifted_rows)
from .callbacks import EarlyStopping
from .optim import make_optimizer
from .schedules import check_schedule

__all__ = ["Autoencoder"]

# An input that must be converted (another dtype, not C order) is converted in pieces of at most this.
CHUNK_BYTES = 64 << 20

# What a model loaded from one exported half can do.
PARTS = ("encoder", "decoder")
PART_METHODS = {"encoder": {"encode", "encode_distribution", "export"}, "decoder": {"decode", "sample", "export"}}

# Hyperparameters that define the network; changing one after build needs a new fit.
_ARCHITECTURE = ("latent_dim", "hidden", "activation", "latent_activation", "output_activation", "loss", "dtype",
                 "tied_weights", "scale", "missing")


@model_class
class Autoencoder(Estimator, EpochDriver):
    """A dense autoencoder trained in C++.

    The encoder maps ``n_features -> *hidden -> latent_dim``; the decoder mirrors it back to
    ``n_features``. Hidden layers use ``activation``, the code layer ``latent_activation`` and the
    reconstruction ``output_activation``. The loss is the mean over every element of the batch.
    """

    def __init__(self, latent_dim: int = 32, hidden: Sequence[int] = (), activation: str = "relu",
                 latent_activation: str = "linear", output_activation: str = "sigmoid", loss: str = "mse",
                 optimizer: Any = "adam", learning_rate: Optional[float] = None, batch_size: int = 256,
                 epochs: int = 10, shuffle: bool = True, clip_norm: Optional[float] = None,
                 clip_value: Optional[float] = None, dtype: Any = "float32", warm_start: bool = False,
                 random_state: Optional[int] = None, n_threads: Optional[int] = None, verbose: int = 0,
                 validation_fraction: Optional[float] = None, early_stopping: bool = False, patience: int = 5,
                 min_delta: float = 0.0, restore_best_weights: bool = True, lr_schedule: Any = None,
                 noise: str = "none", noise_level: float = 0.1, activity_l1: float = 0.0, dropout: float = 0.0,
                 sparsity_weight: float = 0.0, sparsity_target: float = 0.05, tied_weights: bool = False,
                 contractive: float = 0.0, scale: str = "none", missing: str = "error"):
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.activation = activation
        self.latent_activation = latent_activation
        self.output_activation = output_activation
        self.loss = loss
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
        self.activity_l1 = activity_l1
        self.dropout = dropout
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target
        self.tied_weights = tied_weights
        self.contractive = contractive
        self.scale = scale
        self.missing = missing

    def _checked(self) -> Dict[str, Any]:
        """The hyperparameters, validated and normalised."""
        hidden = self.hidden
        if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
            hidden = (hidden,)
        if not isinstance(hidden, Iterable) or isinstance(hidden, (str, bytes)):
            raise TypeError(f"hidden: expected a sequence of layer sizes, got {self.hidden!r}")
        loss = check_name("loss", self.loss, LOSSES)
        output_activation = check_name("output_activation", self.output_activation, ACTIVATIONS)
        if loss == "bce" and output_activation != "sigmoid":
            raise ValueError(f"loss: 'bce' needs output_activation='sigmoid' (got {output_activation!r}); "
                             "BCE is computed from the sigmoid's logits")
        for flag in ("shuffle", "warm_start", "early_stopping", "restore_best_weights", "tied_weights"):
            _flag(flag, getattr(self, flag))
        if self.random_state is not None:
            check_int("random_state", self.random_state, low=0)
        latent_activation = check_name("latent_activation", self.latent_activation, ACTIVATIONS)
        sparsity_weight = check_non_negative_float("sparsity_weight", self.sparsity_weight)
        if sparsity_weight > 0 and latent_activation != "sigmoid":
            raise ValueError(f"sparsity_weight: the KL sparsity penalty compares the code's mean activations with "
                             f"sparsity_target, a probability; it needs latent_activation='sigmoid' "
                             f"(got {latent_activation!r})")
        dropout = check_probability("dropout", self.dropout)
        if dropout > 0 and len(hidden) == 0:
            raise ValueError(f"dropout: acts on the hidden layers' outputs (not the code, not the output), and "
                             f"hidden=() has none; add hidden layers or set dropout=0")
        contractive = check_non_negative_float("contractive", self.contractive)
        if contractive > 0 and len(hidden) > 0:
            raise ValueError(f"contractive: the exact penalty ||d code / d x||_F^2 is computed for a one-layer "
                             f"encoder (hidden=()), not hidden={tuple(hidden)!r}")
        scale = check_name("scale", self.scale, SCALES)
        if scale == "standard" and loss == "bce":
            raise ValueError("scale: 'standard' gives values outside [0, 1], which loss='bce' cannot reconstruct; "
                             "use scale='minmax' (targets clipped into [0, 1]) or loss='mse'")
        return {
            "scale": scale,
            "missing": check_name("missing", self.missing, MISSINGS),
            "latent_dim": check_int("latent_dim", self.latent_dim, high=MAX_UNITS),
            "hidden": tuple(check_int(f"hidden[{i}]", h, high=MAX_UNITS) for i, h in enumerate(hidden)),
            "activation": check_name("activation", self.activation, ACTIVATIONS),
            "latent_activation": latent_activation,
            "output_activation": output_activation,
            "loss": loss,
            "optimizer": make_optimizer(self.optimizer, self.learning_rate),
            "batch_size": check_int("batch_size", self.batch_size),
            "shuffle": bool(self.shuffle),
            "epochs": check_int("epochs", self.epochs, low=0),
            "clip_norm": check_positive_float("clip_norm", self.clip_norm),
            "clip_value": check_positive_float("clip_value", self.clip_value),
            "dtype": check_dtype(self.dtype),
            "n_threads": self._threads(),
            "verbose": check_int("verbose", self.verbose, low=0),
            "validation_fraction": (None if self.validation_fraction is None
                                    else check_fraction("validation_fraction", self.validation_fraction)),
            "patience": check_int("patience", self.patience, low=0),
            "min_delta": check_non_negative_float("min_delta", self.min_delta),
            "lr_schedule": check_schedule(self.lr_schedule),
            "noise": check_noise(self.noise, self.noise_level),
            "activity_l1": check_non_negative_float("activity_l1", self.activity_l1),
            "dropout": dropout,
            "sparsity_weight": sparsity_weight,
            "sparsity_target": check_fraction("sparsity_target", self.sparsity_target),
            "contractive": contractive,
        }

    def _set_objective(self, cfg: Dict[str, Any]) -> bool:
        """Give C++ what training adds to the plain network (dropout, the penalties on the loss), as
        the hyperparameters say now; whether there are penalties."""
        self.spec_ = self._spec(self.n_features_in_, cfg, self.spec_.n_outputs)  # the same layers; dropout may differ
        self._model.set_dropout(self.spec_.dropout_rates)
        self._model.set_penalties(self.spec_.n_encoder - 1, cfg["activity_l1"], cfg["sparsity_weight"],
                                  cfg["sparsity_target"], cfg["contractive"])
        return cfg["activity_l1"] > 0 or cfg["sparsity_weight"] > 0 or cfg["contractive"] > 0

    def _core_optimizer(self, cfg: Dict[str, Any]) -> Any:
        config = _core.OptimizerConfig()
        cfg["optimizer"]._fill(config)
        config.clip_norm = cfg["clip_norm"] or 0.0
        config.clip_value = cfg["clip_value"] or 0.0
        return config

    # ----------------------------------------------------------------- building
    def _spec(self, n_features: int, cfg: Dict[str, Any], n_outputs: Optional[int] = None) -> ModelSpec:
        """The network these hyperparameters give for n_features inputs and n_outputs outputs (default:
        n_features), refused if it cannot fit in memory."""
        spec = autoencoder_spec(n_features, cfg["hidden"], cfg["latent_dim"], cfg["activation"],
                                cfg["latent_activation"], cfg["output_activation"], cfg["loss"], n_outputs,
                                cfg["dropout"], bool(self.tied_weights))
        if self.tied_weights and spec.n_outputs != n_features:
            raise ValueError(f"tied_weights: the output layer would use the transpose of the first layer's W, "
                             f"which needs as many outputs as inputs ({n_features}), not {spec.n_outputs}")
        _check_network_fits(spec, cfg["dtype"])
        return spec

    @writes_model
    def build(self, n_features: int, n_outputs: Optional[int] = None) -> "Autoencoder":
        """Create the network for ``n_features`` inputs and ``n_outputs`` outputs (default:
        n_features): Glorot-uniform weights, zero biases, fresh optimizer state. Returns self."""
        n_features = check_int("n_features", n_features, high=MAX_UNITS)
        n_outputs = None if n_outputs is None else check_int("n_outputs", n_outputs, high=MAX_UNITS)
        cfg = self._checked()
        spec = self._spec(n_features, cfg, n_outputs)
        if cfg["latent_dim"] > n_features:
            warnings.warn(f"latent_dim={cfg['latent_dim']} is larger than the input's {n_features} features: the code "
                          "cannot compress, and the network can learn to copy its input; choose latent_dim < "
                          f"{n_features}", LatentWarning, stacklevel=3)
        model_class = _core.Model32 if cfg["dtype"] is np.float32 else _core.Model64
        try:
            model = model_class(spec.sizes, spec.activations, spec.loss, self._core_optimizer(cfg), spec.sampling_layer)
        except MemoryError:
            raise ValueError(f"latent_dim, hidden: not enough memory for the network {spec.sizes}") from None
        model.set_dropout(spec.dropout_rates)
        model.set_tied(spec.mirror)
        rng = np.random.default_rng(self.random_state)
        for stage in spec.layers:
            n_weights = stage.fan_in * stage.fan_out
            fan_out = stage.fan_out // 2 if stage.heads else stage.fan_out  # a VAE's mu and logvar heads: each its own layer
            limit = np.sqrt(6.0 / (stage.fan_in + fan_out))  # Glorot uniform: U(-sqrt(6/(in+out)), +sqrt(6/(in+out)))
            model.params[stage.weight_at:stage.weight_at + n_weights] = rng.uniform(-limit, limit, n_weights)
            model.params[stage.bias_at:stage.bias_at + stage.fan_out] = 0.0
        _tie(spec, model.params)
        self._model = model
        self.spec_ = spec
        self.scaling_: Optional[ColumnScaling] = None
        self.fill_values_: Optional[np.ndarray] = None
        self._transforms_fitted = False  # the scaling and fill values come from the first fit's rows
        self._optimizer_saved = True  # False: loaded from a file saved without its optimizer state
        self.part_: Optional[str] = None  # "encoder" or "decoder": loaded from an export of that half alone
        self._rng_state = int(rng.integers(0, 2**64, dtype=np.uint64))
        self._split_seed = int(rng.integers(0, 2**63))  # the validation_fraction split of every fit
        self._noise_seed = int(rng.integers(0, 2**63))  # the counter RNG's seed for the input noise
        self._built_with = {name: getattr(self, name) for name in _ARCHITECTURE}
        self.n_features_in_ = n_features
        self.input_shape_: Tuple[int, ...] = (n_features,)  # one sample's shape; fit on images sets (h, w[, c])
        self.history_: Dict[str, List[float]] = self._empty_history()
        self.n_epochs_ = 0
        self.best_epoch_: Optional[int] = None
        return self

    def _empty_history(self) -> Dict[str, List[float]]:
        """The columns of a fresh history_ (val_loss and penalty join when used)."""
        return {"loss": [], "lr": []}

    # The network's shape, read off spec_ (an AttributeError before build, as for any fitted attribute).
    @property
    def layer_sizes_(self) -> List[int]:
        return self.spec_.sizes

    @property
    def n_outputs_(self) -> int:
        """The width of the output: n_features_in_, or the target's number of columns."""
        return self.spec_.n_outputs

    @property
    def n_encoder_layers_(self) -> int:
        return self.spec_.n_encoder

    @property
    def encoder_layers_(self) -> List[int]:
        return self.spec_.sizes[:self.spec_.n_encoder + 1]

    @property
    def decoder_layers_(self) -> List[int]:
        return self.spec_.sizes[self.spec_.n_encoder:]

    def summary(self, print_fn: Callable[[str], Any] = print) -> None:
        """Print a table of the layers: output size, activation, parameter count, and the total.
        Before fit or build, as Keras does for a model not yet built, the input width is unknown:
        a size that depends on it shows as n, and a parameter count as a n + b."""
        if self.__sklearn_is_fitted__():
            specs, loss, dtype, width = (self.spec_, self.spec_), self._model.loss, self._dtype(), ""
        else:
            cfg = self._checked()
            specs, loss, dtype = (self._spec(1, cfg), self._spec(2, cfg)), cfg["loss"], cfg["dtype"]
            width = "; not built: n = the input width, known after fit or build"
        size = lambda at_1, at_2: str(at_1) if at_1 == at_2 else "n"  # the same with 1 or 2 inputs, or n
        count = lambda at_1, at_2: f"{at_1:,}" if at_1 == at_2 else _linear(at_2 - at_1, 2 * at_1 - at_2)
        rows = [("input", size(specs[0].sizes[0], specs[1].sizes[0]), "", "")]
        rows += [(a.name, size(a.fan_out, b.fan_out), a.activation or f"rate {a.rate:g}",
                  count(a.n_params, b.n_params) if getattr(a, "tied_to", None) is None
                  else f"{count(a.fan_out, b.fan_out)} + W tied")
                 for a, b in zip(specs[0].stages, specs[1].stages)]
        header = ("Layer", "Output", "Activation", "Params")
        widths = [max(len(r[c]) for r in rows + [header]) for c in range(4)]
        line = lambda r: f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]:>{widths[3]}}"
        rule = "-" * len(line(header))
        shared = [sum(s.fan_in * s.fan_out for s in spec.layers if s.tied_to is not None) for spec in specs]
        total = [spec.n_params for spec in specs]
        tied = (f" ({count(total[0] - shared[0], total[1] - shared[1])} trained: the tied decoder W are copies)"
                if shared[0] else "")
        sizes = " -> ".join(size(a, b) for a, b in zip(specs[0].sizes, specs[1].sizes))
        print_fn("\n".join([f"{type(self).__name__}: {sizes}  (loss {loss}, {np.dtype(dtype).name}{width})",
                            rule, line(header), rule, *map(line, rows), rule,
                            f"Total params: {count(*total)}" + tied]))

    def __sklearn_tags__(self) -> Any:
        # scikit-learn (>= 1.6) reads these when the model is checked or used in a Pipeline.
        from sklearn.utils import Tags, TargetTags, TransformerTags  # only asked for by scikit-learn itself
        tags = Tags(estimator_type=None, target_tags=TargetTags(required=False), transformer_tags=TransformerTags())
        tags.transformer_tags.preserves_dtype = [np.dtype(check_dtype(self.dtype)).name]
        tags.non_deterministic = self.random_state is None
        tags.input_tags.allow_nan = self.missing == "mask"
        return tags

    # ----------------------------------------------------------------- training
    @writes_model
    def fit(self, X: Any, y: Any = None, *, target: Any = None, epochs: Optional[int] = None,
            validation_data: Any = None, callbacks: Optional[Sequence[Any]] = None,
            resume: bool = False, batch_size: Optional[int] = None, verbose: Optional[int] = None,
            shuffle: Optional[bool] = None, comm: Any = None) -> "Autoencoder":
        """Train on X (rows are samples; y is ignored, as for any scikit-learn transformer).

        The model learns to reconstruct X, or with ``target`` (an array with X's rows) to produce
        row i of target from row i of X; the output layer has target's width.
        Starts afresh (new weights, new optimizer state, empty history) unless ``warm_start=True``,
        which keeps the current weights with a fresh optimizer, or ``resume=True``, which continues
        exactly where the model stopped: weights, optimizer state, shuffle state, history and the
        schedule's epoch count. ``epochs``, ``batch_size``, ``verbose`` and ``shuffle`` override the
        constructor's for this call alone (Keras' fit arguments); ``history_params_`` records what
        the call trained with.
        ``validation_data`` (an array, or a pair (X_val, target_val) for a model trained with a
        target) takes precedence over ``validation_fraction``. Returns self.

        With ``comm`` (an mpi4py communicator), every rank of it calls fit with its own rows and
        they train one model together, as one process holding all the rows in rank order would
        (fastae/_distributed.py): the same weights and history on every rank; save() then writes
        from rank 0 alone.
        """
        overrides = dict(epochs=epochs, batch_size=batch_size, verbose=verbose, shuffle=shuffle)
        if comm is not None:
            return self._fit_over(comm, X, target, validation_data, callbacks, overrides, resume)
        cfg = _overridden(self._checked(), **overrides)
        self._rank = 0  # trained here alone from now on: save() writes
        n_epochs = cfg["epochs"]
        keep = resume or (self.warm_start and self.__sklearn_is_fitted__())
        if keep:
            self._check_continuing(resume)
        names, shape = feature_names(X), sample_shape(X)
        X, low, high = as_matrix(X, "X", cfg["dtype"], self.n_features_in_ if keep else None, cfg["n_threads"],
                                 missing=cfg["missing"])
        self._check_range(cfg, low, high, "X")
        _warn_if_target_in_y(y, X.shape[0], "fit")
        T = self._target(target, X, cfg, self.n_outputs_ if keep else None)
        X_val = T_val = None
        if validation_data is not None:
            X_val, T_val = self._validation_pair(validation_data, X, T, cfg)
        if keep:
            self._check_architecture("fit")
            self._check_feature_names(names, "fit")
            self._check_output_width(X, T, "fit")
            if not resume:
                self._model.set_optimizer(self._core_optimizer(cfg))
                self.history_ = self._empty_history()
        previous = None if keep else dict(self.__dict__)  # a fresh fit refused below leaves the model as it was
        try:
            if not keep:
                self.build(X.shape[1], None if T is None else T.shape[1])
                self._set_feature_names(names)
                self._set_input_shape(shape)
            rows = None
            if X_val is None and cfg["validation_fraction"] is not None:
                rows, val_rows = self._split(X, cfg["validation_fraction"])
                X_val, T_val = X[val_rows], None if T is None else T[val_rows]
            if not self._transforms_fitted:  # a fresh fit, or the first fit after build()
                self._fit_transforms(cfg, X, T, rows)  # from the training rows alone
        except BaseException:
            if previous is not None:
                self.__dict__.clear()
                self.__dict__.update(previous)
            raise
        if X_val is not None and len(self.history_["loss"]) == 0:
            self.history_["val_loss"] = []
        if X_val is not None and "val_loss" not in self.history_:
            raise ValueError("fit(resume=True): the model was trained without validation; the history cannot "
                             "gain a val_loss column now (resume without validation_data/validation_fraction)")
        self._train(X, rows, X_val, n_epochs, cfg, self._with_early_stopping(callbacks, cfg), target=T,
                    val_target=T_val)
        return self

    def _fit_over(self, comm: Any, X: Any, target: Any, validation_data: Any, callbacks: Optional[Sequence[Any]],
                  overrides: Dict[str, Any], resume: bool) -> "Autoencoder":
        """fit on the ranks of comm, each with its rows X: checked on every rank first, and if any
        rank's arguments are bad, every rank raises (the failing one with its own error and rank).
        A fresh fit builds the same network on every rank; warm_start and resume go on from the
        model each rank holds (loaded from one file, or the last fit over comm), rank 0's state
        copied to every rank first."""
        check_communicator(comm)
        keep = resume or (self.warm_start and self.__sklearn_is_fitted__())
        error: Optional[BaseException] = None
        arrays: Tuple[Any, ...] = ()
        cfg: Dict[str, Any] = {}
        try:
            cfg = _overridden(self._checked(), **overrides)  # here: a rank with other hyperparameters fails alone
            if keep:
                self._check_continuing(resume)
                self._check_architecture("fit")
            names, shape = feature_names(X), sample_shape(X)
            arr, low, high = as_matrix(X, "X", cfg["dtype"], self.n_features_in_ if keep else None, cfg["n_threads"],
                                       missing=cfg["missing"])
            self._check_range(cfg, low, high, "X")
            T = self._target(target, arr, cfg, self.n_outputs_ if keep else None)
            X_val, T_val = (self._validation_pair(validation_data, arr, T, cfg) if validation_data is not None
                            else (None, None))
            if keep:
                self._check_feature_names(names, "fit")
                self._check_output_width(arr, T, "fit")
                if resume and X_val is not None and self.history_["loss"] and "val_loss" not in self.history_:
                    raise ValueError("fit(resume=True): the model was trained without validation; the history "
                                     "cannot gain a val_loss column now")
            arrays = (names, shape, arr, T, X_val, T_val)
        except (ValueError, TypeError) as err:
            error = err
        agree(comm, error, "fit")
        names, shape, arr, T, X_val, T_val = arrays
        layout = (arr.shape[1], None if T is None else T.shape[1], X_val is not None, keep)
        layouts = comm.allgather(layout)
        if any(other != layouts[0] for other in layouts):
            raise ValueError(f"X: the ranks disagree on (features, target columns, validation data, continuing): "
                             f"{layouts}; every rank must pass rows of the same width, all or none validation_data, "
                             "and hold the same model")
        parallel = DataParallel(comm, arr.shape[0])
        previous = dict(self.__dict__)
        rows = None
        try:
            if keep:
                if not resume:  # warm start: these weights, a fresh optimizer and history
                    self._model.set_optimizer(self._core_optimizer(cfg))
                    self.history_ = self._empty_history()
            else:
                self.build(arr.shape[1], None if T is None else T.shape[1])
                self._set_feature_names(names)
                self._set_input_shape(shape)
            if X_val is None and cfg["validation_fraction"] is not None:  # the one-process split of the global rows
                train, val = self._split(parallel.n_global, cfg["validation_fraction"])
                rows, val_rows = parallel.local(train), parallel.local(val)
                parallel.train_on(train)
                X_val, T_val = arr[val_rows], None if T is None else T[val_rows]
            if not keep:
                self._fit_transforms(cfg, arr, T, rows, parallel)  # the scaling of every rank's training rows
            self._share_state(comm)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(previous)
            raise
        if X_val is not None and not self.history_["loss"]:
            self.history_["val_loss"] = []
        self._parallel = parallel
        try:
            self._train(arr, rows, X_val, cfg["epochs"], cfg, self._with_early_stopping(callbacks, cfg), target=T,
                        val_target=T_val)
        finally:
            self._parallel = None
        self._rank = parallel.rank
        return self

    def _check_continuing(self, resume: bool) -> None:
        """Refuse to continue training (resume, or a warm start) a model that cannot: not built, a
        loaded half, or, to resume exactly, saved without its optimizer state."""
        self._require_built("fit(resume=True)" if resume else "fit(warm_start=True)")
        if resume and not self._optimizer_saved:
            raise ValueError("resume: the model was saved with include_optimizer=False, so training cannot "
                             "continue exactly; fit with warm_start=True to go on from its weights with a "
                             "fresh optimizer")

    def _with_early_stopping(self, callbacks: Optional[Sequence[Any]], cfg: Dict[str, Any]) -> List[Any]:
        """The fit's callbacks, with the EarlyStopping that early_stopping=True asks for first."""
        callbacks = list(callbacks or [])
        if self.early_stopping:
            callbacks.insert(0, EarlyStopping("val_loss", cfg["patience"], cfg["min_delta"],
                                              bool(self.restore_best_weights)))
        return callbacks

    def _share_state(self, comm: Any) -> None:
        """Rank 0's weights, optimizer state and shuffle state on every rank (a fresh build gives
        every rank the same ones from one seed; this makes it certain, and carries a resumed model's)."""
        comm.Bcast(self._model.params, root=0)
        for _, slot in self._model.optimizer_slots():
            comm.Bcast(slot, root=0)
        self._model.optimizer_steps, self._rng_state, self.history_ = comm.bcast(
            (self._model.optimizer_steps, self._rng_state, self.history_), root=0)

    @writes_model
    def partial_fit(self, X: Any, y: Any = None, *, target: Any = None, batch_size: Optional[int] = None,
                    verbose: Optional[int] = None, shuffle: Optional[bool] = None) -> "Autoencoder":
        """One epoch on X (learning to produce ``target`` if given, as in fit), keeping the weights
        and the optimizer state (builds the model first if needed). No validation split and no early
        stopping: those belong to ``fit``. ``batch_size``, ``verbose`` and ``shuffle`` override the
        constructor's for this call, as in fit."""
        cfg = _overridden(self._checked(), epochs=1, batch_size=batch_size, verbose=verbose, shuffle=shuffle)
        built = self.__sklearn_is_fitted__()
        names, shape = feature_names(X), sample_shape(X)
        # A built model's X is not scanned first: C++ checks each batch's rows as it reads them (a
        # pass over X fewer per call), and only a failure scans X, for the error naming the value.
        arr, low, high = as_matrix(X, "X", cfg["dtype"], self.n_features_in_ if built else None, cfg["n_threads"],
                                   scan=not built, missing=cfg["missing"])
        _warn_if_target_in_y(y, arr.shape[0], "partial_fit")
        T = self._target(target, arr, cfg, self.n_outputs_ if built else None, scan=not built)
        if not built:
            self._check_range(cfg, low, high, "X")
            previous = dict(self.__dict__)
            try:
                self.build(arr.shape[1], None if T is None else T.shape[1])
                self._set_feature_names(names)
                self._set_input_shape(shape)
                self._fit_transforms(cfg, arr, T, None)
            except BaseException:  # refused: the model stays unbuilt
                self.__dict__.clear()
                self.__dict__.update(previous)
                raise
        else:
            self._require_built("partial_fit")
            self._check_architecture("partial_fit")
            self._check_feature_names(names, "partial_fit")
            self._check_output_width(arr, T, "partial_fit")
            if not self._transforms_fitted:  # the first training after build()
                self._fit_transforms(cfg, arr, T, None)
        value_range = _allowed_range(cfg["loss"], cfg["scale"]) if built else None
        try:
            self._train(arr, None, None, 1, cfg, [], value_range, target=T)
            return self
        except _core.BadRowsError as err:  # the epoch's updates are undone (see _train_epoch)
            failure = err
        _, low, high = as_matrix(X, "X", cfg["dtype"], None, cfg["n_threads"],
                                 missing=cfg["missing"])  # raises for NaN (unless missing), infinity, an empty row
        self._check_range(cfg, low, high, "X")  # raises for values outside [0, 1] with BCE
        if T is not None:
            self._target(target, arr, cfg, None)  # the same for the target
        raise failure

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        """fit(X) then encode(X)."""
        return self.fit(X, y, **fit_params).encode(X)

    def _target(self, target: Any, X: np.ndarray, cfg: Dict[str, Any], n_outputs: Optional[int],
                scan: bool = True, name: str = "target") -> Optional[np.ndarray]:
        """The target array checked against X's rows (None when there is none: X is its own target)."""
        if target is None:
            return None
        T, low, high = as_matrix(target, name, cfg["dtype"], n_outputs, cfg["n_threads"], scan, cfg.get("missing"))
        if T.shape[0] != X.shape[0]:
            raise ValueError(f"{name}: has {T.shape[0]} rows, but X has {X.shape[0]}; row i of {name} is what the "
                             "model learns to produce from row i of X")
        if scan:
            self._check_range(cfg, low, high, name)
        return T

    def _validation_pair(self, data: Any, X: np.ndarray, T: Optional[np.ndarray],
                         cfg: Dict[str, Any]) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """(X_val, target_val) from validation_data: an array like X, or Keras' tuple (X_val,),
        (X_val, X_val) or (X_val, target_val)."""
        pair = isinstance(data, (tuple, list)) and len(data) in (1, 2, 3) and all(hasattr(d, "shape") for d in data)
        if pair and len(data) == 3:
            raise ValueError("validation_data: a third element (Keras' sample weights) is not supported; pass "
                             "(X_val,) or (X_val, target_val)")
        if isinstance(data, tuple) and not pair:
            raise ValueError(f"validation_data: expected an array or a tuple (X_val,) or (X_val, target_val), got a "
                             f"tuple of {len(data)}")
        X_val, low, high = as_matrix(data[0] if pair else data, "validation_data", cfg["dtype"], X.shape[1],
                                     cfg["n_threads"], missing=cfg["missing"])
        self._check_range(cfg, low, high, "validation_data")
        if T is not None and not (pair and len(data) == 2):
            raise ValueError("validation_data: the model is trained with a target; pass (X_val, target_val)")
        if not pair or len(data) == 1:
            return X_val, None
        width = X.shape[1] if T is None else T.shape[1]
        return X_val, self._target(data[1], X_val, cfg, width, name="validation_data[1]")

    def _fit_transforms(self, cfg: Dict[str, Any], X: np.ndarray, T: Optional[np.ndarray],
                        rows: Optional[np.ndarray], across: Any = None) -> None:
        """The input transforms' statistics from X's training rows `rows` (default: all), given to C++:
        the fill values of missing values, then the scaling (with `across`, of every rank's rows)."""
        self._set_missing(fill_values(X, rows, across=across) if cfg["missing"] == "mask" else None)
        self._set_scaling(fit_scaling(cfg["scale"], X, T, rows, across))
        self._transforms_fitted = True

    def _set_input_shape(self, shape: Optional[Tuple[int, ...]]) -> None:
        """input_shape_ from the training data's sample shape (images: (h, w[, c]))."""
        if shape and math.prod(shape) == self.n_features_in_:
            self.input_shape_ = shape

    def _check_output_width(self, X: np.ndarray, T: Optional[np.ndarray], what: str) -> None:
        """A model built to produce another width than X's needs its target every time."""
        if T is None and self.n_outputs_ != X.shape[1]:
            raise ValueError(f"target: the model was built to produce {self.n_outputs_} columns from X's "
                             f"{X.shape[1]}; {what} needs target=")

    def _split(self, X: Any, fraction: float) -> Tuple[np.ndarray, np.ndarray]:
        """(training row indices, validation row indices): a seeded split of ceil(fraction * n)
        rows, the same for every fit of this model. The training rows are not copied. X may be
        the row count itself (a data-parallel fit splits the global rows)."""
        n = X if isinstance(X, int) else X.shape[0]
        n_val = math.ceil(fraction * n)
        if n_val >= n:
            raise ValueError(f"validation_fraction: {fraction} of n_samples={n} leaves no rows to train on")
        order = np.random.default_rng(self._split_seed).permutation(n)
        return np.sort(order[n_val:]).astype(np.int64), np.sort(order[:n_val])

    def _check_range(self, cfg: Dict[str, Any], low: float, high: float, name: str) -> None:
        allowed_low, allowed_high = _allowed_range(cfg["loss"], cfg.get("scale", "none"))
        if low < allowed_low or high > allowed_high:  # only BCE limits the range
            raise ValueError(f"{name}: loss='bce' needs values in [0, 1], but {name} spans [{low:g}, {high:g}]; "
                             "scale it (e.g. MinMaxScaler) or use loss='mse'")

    def _check_architecture(self, what: str) -> None:
        changed = [k for k in _ARCHITECTURE if not same_value(getattr(self, k), self._built_with[k])]
        if changed:
            raise ValueError(f"{what}: {', '.join(changed)} changed since the model was built; "
                             "call fit with warm_start=False to build the new network")

    # ----------------------------------------------------------------- inference
    def _require_built(self, what: str) -> None:
        """Refuse `what` before the network exists, or when a loaded half cannot do it."""
        super()._require_built(what)
        part = getattr(self, "part_", None)
        if part is not None and what not in PART_METHODS[part]:
            can = [m for m in sorted(PART_METHODS[part] - {"export"}) if hasattr(self, m)]
            raise ValueError(f"{what}: this {type(self).__name__} holds only its {part} (loaded from export(path, "
                             f"part={part!r})); it can {' and '.join(can)}")

    def _threads(self) -> int:
        threads = usable_cores() if self.n_threads is None else check_int("n_threads", self.n_threads, high=MAX_THREADS)
        cap = budget()  # fastae.dask: a task's share of its worker's cores
        return threads if cap is None else max(1, min(threads, cap))

    def _input(self, X: Any, name: str, what: str, first_layer: int = 0, scan: bool = True) -> np.ndarray:
        """X checked as the input of layer `first_layer` for the fitted model's method `what`, as an
        array C++ can use in place (its values are checked too unless `scan` is false)."""
        self._require_built(what)
        if first_layer == 0:
            self._check_feature_names(feature_names(X), what)
        return as_matrix(X, name, self._dtype(), self.spec_.layers[first_layer].fan_in, self._threads(), scan,
                         self._missing_mode())[0]

    def _apply(self, X: Any, name: str, what: str, part: str) -> np.ndarray:
        """The encoder, the decoder or both ("all") applied to X. X is not scanned for NaN or
        infinity beforehand (a pass over memory as long as the product): C++ reports any in the
        first product, and only then is X scanned, to raise the error that names the first one (if
        it finds none, the network itself overflowed, and the result is returned as it is)."""
        self._require_built(what)  # before reading the layers
        if self._pieces(X):
            return self._stacked(X, lambda piece: self._apply(piece, name, what, part))
        first = self.spec_.n_encoder if part == "decoder" else 0
        out = self._run(self._input(X, name, what, first, scan=False), X, name, part)
        if part == "encoder":
            return out
        return as_samples(out, self.input_shape_ if part == "decoder" else sample_shape(X))  # images stay images

    def _pieces(self, X: Any) -> Optional[int]:
        """Rows per piece when X is an array (a memory-mapped .npy, say) whose conversion to the
        model's dtype or to C order would copy more than CHUNK_BYTES: it is then converted and run
        piece by piece, so that memory holds one piece and the result. None: used or converted whole."""
        if not self.__sklearn_is_fitted__() or not isinstance(X, np.ndarray) or X.ndim < 2 or \
                (X.dtype == self._dtype() and X.flags.c_contiguous and X.flags.aligned):
            return None  # (an unfitted model is refused by the whole-array path)
        row_bytes = np.dtype(self._dtype()).itemsize * math.prod(X.shape[1:])
        return max(1, CHUNK_BYTES // row_bytes) if X.shape[0] * row_bytes > CHUNK_BYTES else None

    def _each_piece(self, X: np.ndarray, call: Callable[[np.ndarray], np.ndarray]) -> Iterator[np.ndarray]:
        """call(piece) for X's pieces of _pieces(X) rows in order; an error's row numbers are X's own."""
        rows = self._pieces(X) or X.shape[0]
        for start in range(0, X.shape[0], rows):
            try:
                yield call(X[start:start + rows])
            except ValueError as err:
                raise shifted_rows(err, start) from None

    def _stacked(self, X: np.ndarray, call: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """call(piece) over X's pieces, its rows written into one result."""
        out: Optional[np.ndarray] = None
        start = 0
        for piece in self._each_piece(X, call):
            if out is None:
                out = np.empty((X.shape[0], *piece.shape[1:]), dtype=piece.dtype)
            out[start:start + len(piece)] = piece
            start += len(piece)
        return out

    def _run(self, arr: np.ndarray, X: Any, name: str, part: str) -> np.ndarray:
        """_apply on `arr`, X already checked for shape and converted to the model's dtype (X
        itself is scanned, as `name`, for the error that names a bad value)."""
        stages, n_encoder = self.spec_.layers, self.spec_.n_encoder
        first, last = {"encoder": (0, n_encoder), "decoder": (n_encoder, len(stages)), "all": (0, len(stages))}[part]
        out = np.empty((arr.shape[0], stages[last - 1].fan_out), dtype=self._dtype())
        if self._model.apply(arr, first, last, out, self._threads()):
            as_matrix(X, name, self._dtype(), n_threads=self._threads(),
                      missing=self._missing_mode() if first == 0 else None, empty_rows=True)
        if self.scaling_ is not None and part != "encoder":
            self.scaling_.unscale_outputs(out)  # in the data's units
        return out

    def _set_scaling(self, scaling: Optional[ColumnScaling]) -> None:
        """The scaling C++ applies to inputs and targets (scaling_; None: none)."""
        self.scaling_ = scaling
        empty: List[float] = []
        if scaling is None:
            self._model.set_scaling(empty, empty, empty, empty, False)
        else:
            self._model.set_scaling(*(a.tolist() for a in scaling.arrays()), self.spec_.loss == "bce")

    def _set_missing(self, fill: Optional[np.ndarray]) -> None:
        """The value C++ puts at each NaN input (fill_values_; None: NaN is an error)."""
        self.fill_values_ = fill
        self._model.set_missing([] if fill is None else fill.tolist())

    def _missing_mode(self) -> str:
        """How the fitted model takes NaN: "mask" (a missing value) or "error"."""
        return "error" if self.fill_values_ is None else "mask"

    def _dtype(self) -> type:
        return np.float32 if isinstance(self._model, _core.Model32) else np.float64

    @reads_model
    def encode(self, X: Any) -> np.ndarray:
        """The codes, shape (n_samples, latent_dim)."""
        return self._apply(X, "X", "encode", "encoder")

    @reads_model
    def decode(self, Z: Any) -> np.ndarray:
        """Reconstructions from codes, shape (n_samples, n_features), after the output activation."""
        return self._apply(Z, "Z", "decode", "decoder")

    @reads_model
    def reconstruct(self, X: Any) -> np.ndarray:
        """decode(encode(X)) in one pass, shape (n_samples, n_features)."""
        return self._apply(X, "X", "reconstruct", "all")

    @reads_model
    def impute(self, X: Any, n_iter: int = 1) -> np.ndarray:
        """A copy of X in X's dtype with each NaN replaced by the model's reconstruction, in X's
        units; every observed entry is kept bit for bit. The reconstruction is fed back ``n_iter``
        times: the first pass sees the training means at the missing entries, each later pass the
        previous pass's values. Needs a model fitted with ``missing="mask"`` that reconstructs its input."""
        self._require_built("impute")
        n_iter = check_int("n_iter", n_iter, high=10**6)
        if self.fill_values_ is None:
            raise ValueError("impute: the model was fitted with missing='error' and never saw a missing value; "
                             "fit it with missing='mask'")
        if self.n_outputs_ != self.n_features_in_:
            raise ValueError(f"impute: the model produces {self.n_outputs_} columns from {self.n_features_in_}; "
                             "imputing needs a model that reconstructs its input")
        self._check_feature_names(feature_names(X), "impute")
        arr = as_matrix(X, "X", self._dtype(), self.n_features_in_, self._threads(), missing="mask", empty_rows=True)[0]
        missing = np.isnan(arr)  # where X is NaN: conversion keeps NaN, and infinity was refused
        current = arr.copy()  # X itself is never written
        for _ in range(n_iter):
            current[missing] = self._run(current, X, "X", "all")[missing]  # NaN <- reconstruction
        out = np.array(np.asarray(X), copy=True, order="C")  # X's shape and dtype
        out.reshape(arr.shape)[missing] = current[missing]  # a view: one row per sample
        return out

    transform = encode
    inverse_transform = decode
    predict = reconstruct

    def _row_losses(self, X: np.ndarray, n_threads: int, target: Optional[np.ndarray] = None,
                    metric: Optional[str] = None,
                    per_feature: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        """(per-row sums of the loss, or `metric`, of producing target (default: X) from X, the
        number of outputs each sum is over): checked arrays; with missing values only the observed
        outputs count. Each entry's loss also goes into `per_feature` when given (NaN where missing)."""
        out = np.empty(X.shape[0], dtype=np.float64)
        observed = np.empty(X.shape[0], dtype=np.float64)
        self._model.row_losses(X, target, out, n_threads, 0, metric, per_feature, observed)
        return out, observed

    def _loss_sums(self, X: np.ndarray, n_threads: int, target: Optional[np.ndarray] = None) -> Tuple[float, float]:
        """(the loss summed over every (observed) element, how many there are): val_loss's parts."""
        sums, counts = self._row_losses(X, n_threads, target)
        return float(sums.sum()), float(counts.sum())

    def _scored(self, X: Any, target: Any, what: str) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """(X, target) checked for evaluate or reconstruction_error."""
        X = self._input(X, "X", what)
        cfg = {"dtype": self._dtype(), "n_threads": self._threads(), "loss": self.spec_.loss,
               "scale": "none" if self.scaling_ is None else "minmax",  # only min-max scaling lifts BCE's range
               "missing": self._missing_mode()}
        T = self._target(target, X, cfg, self.n_outputs_)
        self._check_output_width(X, T, what)
        return X, T

    @reads_model
    def reconstruction_error(self, X: Any, target: Any = None, *, per_feature: bool = False,
                             metric: Optional[str] = None) -> np.ndarray:
        """Per-sample loss, averaged over the outputs, of reconstructing X (or producing `target`
        from X): shape (n_samples,). No noise, no dropout, no penalty. ``metric`` ("mse", "mae",
        "bce", "huber"; None: the training loss) measures with another elementwise loss; with
        ``per_feature=True`` the result is (n_samples, n_outputs), each entry that output's loss
        (its row mean is the per-sample error), in the model's dtype. With ``missing="mask"``, the
        mean is over each row's observed outputs, and a missing entry's per-feature loss is NaN."""
        if not isinstance(per_feature, (bool, np.bool_)):
            raise TypeError(f"per_feature: expected True or False, got {per_feature!r}")
        if metric is not None:
            metric = check_name("metric", metric, LOSSES)
            if metric == "bce" and self.spec_.activations[-1] != "sigmoid":
                raise ValueError("metric: 'bce' needs a sigmoid output (it is computed from the logits)")
        if target is None and self._pieces(X):
            return self._stacked(X, lambda piece: self.reconstruction_error(piece, per_feature=per_feature, metric=metric))
        shape = sample_shape(X)
        X, T = self._scored(X, target, "reconstruction_error")
        if not per_feature:
            sums, counts = self._row_losses(X, self._threads(), T, metric)
            return sums / counts
        features = np.empty((X.shape[0], self.n_outputs_), dtype=self._dtype())
        self._row_losses(X, self._threads(), T, metric, features)
        return as_samples(features, shape)  # images: an error map per image

    @reads_model
    def evaluate(self, X: Any, target: Any = None) -> float:
        """The mean loss over every element (with ``missing="mask"``, every observed one) of
        reconstructing X (or producing `target` from X), the reconstruction part of training's
        objective: no noise, no dropout, no penalty."""
        if target is None and self._pieces(X):  # every piece's loss sum and element count, then one mean
            def totals(piece: np.ndarray) -> np.ndarray:
                return np.array(self._loss_sums(self._scored(piece, None, "evaluate")[0], self._threads()))
            return float(np.divide(*sum(self._each_piece(X, totals))))
        X, T = self._scored(X, target, "evaluate")
        total, count = self._loss_sums(X, self._threads(), T)
        return total / count

    def score(self, X: Any, y: Any = None) -> float:
        """-evaluate(X): higher is better, for scikit-learn's model selection."""
        return -self.evaluate(X)

    # ----------------------------------------------------------------- weights
    @reads_model
    def get_weights(self) -> List[np.ndarray]:
        """[W1, b1, W2, b2, ...], encoder first; each W has shape (in, out). Copies."""
        self._require_built("get_weights")
        params = self._model.params
        out: List[np.ndarray] = []
        for s in self.spec_.layers:
            out.append(params[s.weight_at:s.weight_at + s.fan_in * s.fan_out].reshape(s.fan_in, s.fan_out).copy())
            out.append(params[s.bias_at:s.bias_at + s.fan_out].copy())
        return out

    @writes_model
    def set_weights(self, weights: Sequence[Any]) -> "Autoencoder":
        """Replace the weights (same layout as get_weights). The optimizer state is kept."""
        self._require_built("set_weights")
        stages = self.spec_.layers
        if not isinstance(weights, (list, tuple)) or len(weights) != 2 * len(stages):
            raise ValueError(f"weights: expected a list of {2 * len(stages)} arrays [W1, b1, ...], "
                             f"got {type(weights).__name__} of length {len(weights) if hasattr(weights, '__len__') else '?'}")
        staged = self._model.params.copy()
        for i, s in enumerate(stages):
            for k, (shape, at) in enumerate((((s.fan_in, s.fan_out), s.weight_at), ((s.fan_out,), s.bias_at))):
                name = f"weights[{2 * i + k}]"
                arr = np.asarray(weights[2 * i + k])
                if arr.dtype.kind not in "biuf":
                    raise TypeError(f"{name}: expected numbers, got dtype {arr.dtype}")
                if arr.shape != shape:
                    raise ValueError(f"{name}: expected shape {shape}, got {arr.shape}")
                with np.errstate(over="ignore"):  # a value beyond the dtype's range becomes inf, refused below
                    cast = arr.astype(staged.dtype).ravel()
                if not np.all(np.isfinite(cast)):
                    at_bad = int(np.flatnonzero(~np.isfinite(cast))[0])
                    value = arr.ravel()[at_bad]
                    if np.isfinite(value):
                        raise ValueError(f"{name}: value {value!r} at flat index {at_bad} is beyond "
                                         f"{staged.dtype.name}'s range")
                    raise ValueError(f"{name}: contains NaN or infinity (first at flat index {at_bad})")
                staged[at:at + arr.size] = cast
        self._check_tied(staged, "weights")
        self._model.params[:] = staged
        return self

    def _check_tied(self, params: np.ndarray, name: str) -> None:
        """Refuse flat parameters whose tied decoder W is not exactly its encoder W's transpose."""
        layers = self.spec_.layers
        for d, s in enumerate(layers):
            if s.tied_to is not None and not np.array_equal(_weight(params, s), _weight(params, layers[s.tied_to]).T):
                e = s.tied_to
                raise ValueError(f"{name}[{2 * d}]: with tied_weights=True the W of {s.name} must be the transpose of "
                                 f"{name}[{2 * e}], the W of {layers[e].name}; this pair differs")

    # ----------------------------------------------------------------- persistence
    @reads_model
    def export(self, path: Any, part: str = "encoder") -> None:
        """Write one half of the model to a file: ``part="encoder"`` (to compute codes elsewhere) or
        ``"decoder"`` (to decode stored codes, or a VAE's samples), with the scaling, the fill values,
        the feature names and the input shape, but not the other half's weights nor the optimizer
        state. ``fastae.load`` reads it as a model that runs only that half."""
        self._require_built("export")
        part = check_name("part", part, PARTS)
        if self.part_ not in (None, part):
            raise ValueError(f"part: this model holds only its {self.part_}; it cannot export its {part}")
        save_model(self, path, False, part)

    @reads_model
    def save(self, path: Any, include_optimizer: bool = True) -> None:
        """Write the model (hyperparameters, weights, optimizer state, history) to one file. With
        ``include_optimizer=False`` the optimizer state is left out (a third of the size with Adam):
        the file loads for inference and for fresh or warm-started fits, not for fit(resume=True).
        After fit(comm=...), only rank 0 writes (every rank holds the same model)."""
        save_model(self, path, include_optimizer)

    @classmethod
    def load(cls, path: Any) -> "Autoencoder":
        """The model in `path`, which must be of this class (fastae.load returns any class)."""
        model = load_model(path)
        if type(model) is not cls:
            article = lambda name: ("an " if name[0] in "AEIOU" else "a ") + name
            raise ValueError(f"{path}: holds {article(type(model).__name__)}, not {article(cls.__name__)}; "
                             "fastae.load(path) loads a model of any class")
        return model

    def __reduce__(self) -> Any:
        # pickle / copy.deepcopy go through the same state as save/load.
        return (_unpickle, model_state(self))


def _unpickle(header: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> Autoencoder:
    return restore_state(header, arrays)


def _check_network_fits(spec: ModelSpec, dtype: type) -> None:
    """Refuse a network whose parameters, gradient and optimizer state (about six copies of the
    parameter vector) cannot fit in this machine's memory, before C++ allocates any of it."""
    n_params = spec.n_params  # Python integers: no overflow
    needed = 6 * n_params * np.dtype(dtype).itemsize
    memory = physical_memory()
    if needed > memory:
        raise ValueError(f"latent_dim, hidden: the network {spec.sizes} has {n_params:,} parameters and needs about "
                         f"{needed / 2**30:,.1f} GiB with its optimizer state; this machine has {memory / 2**30:,.1f} GiB")


def _weight(params: np.ndarray, s: Any) -> np.ndarray:
    """The W of dense stage s, a view into the flat parameters."""
    return params[s.weight_at:s.weight_at + s.fan_in * s.fan_out].reshape(s.fan_in, s.fan_out)


def _tie(spec: ModelSpec, params: np.ndarray) -> None:
    """Each tied decoder W = the transpose of its encoder W."""
    for s in spec.layers:
        if s.tied_to is not None:
            _weight(params, s)[:] = _weight(params, spec.layers[s.tied_to]).T


def _linear(slope: int, intercept: int) -> str:
    """slope n + intercept, the count of a network with n inputs."""
    return (f"{slope:,}n" if slope != 1 else "n") + (f" + {intercept:,}" if intercept else "")


def _overridden(cfg: Dict[str, Any], **calls: Any) -> Dict[str, Any]:
    """cfg with the arguments a fit call overrides (those not None), each checked as the constructor's."""
    checks = {"epochs": lambda v: check_int("epochs", v, low=0), "batch_size": lambda v: check_int("batch_size", v),
              "verbose": lambda v: check_int("verbose", v, low=0), "shuffle": lambda v: _flag("shuffle", v)}
    return {**cfg, **{name: checks[name](value) for name, value in calls.items() if value is not None}}


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def _warn_if_target_in_y(y: Any, n_rows: int, what: str) -> None:
    """fit(X_noisy, X_clean) reads like Keras' fit(x, y) but y is scikit-learn's ignored label: say so."""
    if y is None:
        return
    try:
        shape = np.asarray(y).shape
    except (TypeError, ValueError):  # ragged or not numbers: not an array anyone meant as a target
        return
    if len(shape) == 2 and shape[0] == n_rows:
        warnings.warn(f"{what}: y is ignored (an autoencoder learns to reconstruct X); to learn to produce "
                      f"another array from X, pass it as {what}(X, target=...)", UserWarning, stacklevel=3)


def _allowed_range(loss: str, scale: str = "none") -> Tuple[float, float]:
    """The values training data may hold for `loss`: BCE's targets are probabilities (unless min-max
    scaling puts them into [0, 1], clipping what lies beyond the training range)."""
    return (0.0, 1.0) if loss == "bce" and scale == "none" else (-math.inf, math.inf)
