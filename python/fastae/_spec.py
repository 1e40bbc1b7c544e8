"""The model spec: a network as a chain of named stages, built from the hyperparameters in one
place (autoencoder_spec) and read by everything that needs the network's shape: the C++ model's
constructor, the NumPy reference, summary(), get/set_weights, persistence and the benchmarks.

A stage is a record, not a positional tuple: a Dense layer, whose parameters sit in the model's
flat parameter vector at weight_at (W, row-major fan_in x fan_out) and bias_at (b, fan_out), layer
after layer (the layout C++ uses, checked against it when a model is built); or a Dropout after a
hidden layer, which has no parameters and acts in training only; or, in a variational
autoencoder, the Sampling after the linear heads layer that outputs [mu | logvar].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

__all__ = ["Dense", "Dropout", "Sampling", "ModelSpec", "autoencoder_spec", "vae_spec"]


@dataclass(frozen=True)
class Dense:
    """a = activation(x W + b), W of shape (fan_in, fan_out)."""

    name: str  # encoder_1, ..., latent, decoder_1, ..., output
    part: str  # "encoder" or "decoder"
    fan_in: int
    fan_out: int
    activation: str
    weight_at: int
    bias_at: int
    tied_to: Optional[int] = None  # tied weights: the index of the encoder layer whose W^T this layer uses
    heads: bool = False  # a VAE's [mu | logvar] layer: two heads of fan_out / 2, side by side

    @property
    def n_params(self) -> int:
        return self.fan_in * self.fan_out + self.fan_out  # W (in x out) + b (out)


@dataclass(frozen=True)
class Dropout:
    """In training, each output of dense layer `after` is kept with probability 1 - rate and scaled
    by 1 / (1 - rate) (inverted dropout); the counter RNG's stage 1 + after draws the mask."""

    name: str  # dropout_1, ...
    part: str
    after: int  # the index of the dense layer whose output it drops
    rate: float
    fan_out: int
    activation: str = ""
    n_params: int = 0


@dataclass(frozen=True)
class Sampling:
    """A VAE's z = mu + exp(logvar / 2) eps after the heads layer `after` (its outputs [mu | logvar]);
    eps ~ N(0, I) from the counter RNG's stage 1 + after. In inference z = mu."""

    name: str
    part: str
    after: int
    fan_out: int  # latent_dim
    activation: str = "z = mu + sigma eps"
    n_params: int = 0


Stage = Union[Dense, Dropout, Sampling]


@dataclass(frozen=True)
class ModelSpec:
    stages: Tuple[Stage, ...]
    loss: str

    @property
    def layers(self) -> Tuple[Dense, ...]:
        """The dense layers, in order: the ones with parameters, which C++ runs."""
        return tuple(s for s in self.stages if isinstance(s, Dense))

    @property
    def n_features(self) -> int:
        return self.layers[0].fan_in

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].fan_out

    @property
    def sizes(self) -> List[int]:
        """The data's width before, between and after the dense layers: [n_features, ...,
        n_outputs] (a VAE's latent width stands for its heads layer's 2 latent_dim outputs)."""
        layers = self.layers
        return [self.n_features, *(s.fan_in for s in layers[1:]), self.n_outputs]

    @property
    def sampling_layer(self) -> int:
        """The index of a VAE's heads layer, which the sampling follows (-1: none)."""
        return next((s.after for s in self.stages if isinstance(s, Sampling)), -1)

    @property
    def activations(self) -> List[str]:
        return [s.activation for s in self.layers]

    @property
    def dropout_rates(self) -> List[float]:
        """The dropout rate on each dense layer's output (0.0: none)."""
        rates = [0.0] * len(self.layers)
        for s in self.stages:
            if isinstance(s, Dropout):
                rates[s.after] = s.rate
        return rates

    @property
    def mirror(self) -> List[int]:
        """For each dense layer, the encoder layer whose W^T it uses (tied weights), else -1."""
        return [-1 if s.tied_to is None else s.tied_to for s in self.layers]

    @property
    def n_encoder(self) -> int:
        """How many dense layers the encoder has (the code is the last one's output)."""
        return sum(s.part == "encoder" for s in self.layers)

    @property
    def n_params(self) -> int:
        return sum(s.n_params for s in self.layers)

    def part_params(self, part: str) -> slice:
        """Where the encoder's (or the decoder's) parameters lie in the flat vector: one run each."""
        boundary = self.layers[self.n_encoder].weight_at  # the decoder's first W follows the encoder's last b
        return slice(0, boundary) if part == "encoder" else slice(boundary, self.n_params)


def autoencoder_spec(n_features: int, hidden: Sequence[int], latent_dim: int, activation: str,
                     latent_activation: str, output_activation: str, loss: str, n_outputs: Optional[int] = None,
                     dropout: float = 0.0, tied: bool = False) -> ModelSpec:
    """n_features -> *hidden -> latent_dim (the encoder), then the mirror back to n_outputs (default:
    n_features), with dropout at `dropout` after every hidden layer but the code; with `tied`,
    decoder layer k uses the transpose of the W of the encoder layer it mirrors."""
    widths = [*hidden, latent_dim, *reversed(hidden), n_features if n_outputs is None else n_outputs]
    n_encoder = len(hidden) + 1
    stages: List[Stage] = []
    fan_in, at = n_features, 0
    for i, fan_out in enumerate(widths):
        part = "encoder" if i < n_encoder else "decoder"
        if i == n_encoder - 1:
            name, act = "latent", latent_activation
        elif i == len(widths) - 1:
            name, act = "output", output_activation
        else:
            name, act = f"{part}_{i + 1 if part == 'encoder' else i + 1 - n_encoder}", activation
        tied_to = len(widths) - 1 - i if tied and part == "decoder" else None  # layer L-1-e mirrors layer e
        stages.append(Dense(name, part, fan_in, fan_out, act, at, at + fan_in * fan_out, tied_to))
        if dropout > 0 and name not in ("latent", "output"):
            stages.append(Dropout(f"dropout_{sum(isinstance(s, Dropout) for s in stages) + 1}", part, i, dropout, fan_out))
        at += fan_in * fan_out + fan_out
        fan_in = fan_out
    return ModelSpec(tuple(stages), loss)


def vae_spec(n_features: int, hidden: Sequence[int], latent_dim: int, activation: str, output_activation: str,
             loss: str, dropout: float = 0.0) -> ModelSpec:
    """A variational autoencoder: n_features -> *hidden, then the linear heads layer with
    2 latent_dim outputs [mu | logvar], the Sampling of z, and the decoder latent_dim ->
    *reversed(hidden) -> n_features; dropout after every hidden layer."""
    stages: List[Stage] = []
    fan_in, at, index = n_features, 0, 0

    def dense(name: str, part: str, fan_out: int, act: str, heads: bool = False) -> None:
        nonlocal fan_in, at, index
        stages.append(Dense(name, part, fan_in, fan_out, act, at, at + fan_in * fan_out, heads=heads))
        if dropout > 0 and not heads and name != "output":
            stages.append(Dropout(f"dropout_{sum(isinstance(s, Dropout) for s in stages) + 1}", part, index, dropout,
                                  fan_out))
        at += fan_in * fan_out + fan_out
        fan_in, index = fan_out, index + 1

    for i, width in enumerate(hidden):
        dense(f"encoder_{i + 1}", "encoder", width, activation)
    dense("mu_logvar", "encoder", 2 * latent_dim, "linear", heads=True)
    stages.append(Sampling("sampling", "encoder", index - 1, latent_dim))
    fan_in = latent_dim
    for i, width in enumerate(reversed(hidden)):
        dense(f"decoder_{i + 1}", "decoder", width, activation)
    dense("output", "decoder", n_features, output_activation)
    return ModelSpec(tuple(stages), loss)
