"""The model spec: a network as a chain of named stages, built from the hyperparameters in one
place (autoencoder_spec) and read by everything that needs the network's shape: the C++ model's
constructor, the NumPy reference, summary(), get/set_weights, persistence and the benchmarks.

A stage is a record, not a positional tuple. Its parameters sit in the model's flat parameter
vector at weight_at (W, row-major fan_in x fan_out) and bias_at (b, fan_out), stage after stage:
the layout C++ uses, checked against it when a model is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

__all__ = ["Dense", "ModelSpec", "autoencoder_spec"]


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

    @property
    def n_params(self) -> int:
        return self.fan_in * self.fan_out + self.fan_out  # W (in x out) + b (out)


@dataclass(frozen=True)
class ModelSpec:
    stages: Tuple[Dense, ...]
    loss: str

    @property
    def n_features(self) -> int:
        return self.stages[0].fan_in

    @property
    def sizes(self) -> List[int]:
        """[n_features, each stage's width]."""
        return [self.stages[0].fan_in, *(s.fan_out for s in self.stages)]

    @property
    def activations(self) -> List[str]:
        return [s.activation for s in self.stages]

    @property
    def n_encoder(self) -> int:
        """How many stages the encoder has (the code is the last one's output)."""
        return sum(s.part == "encoder" for s in self.stages)

    @property
    def n_params(self) -> int:
        return sum(s.n_params for s in self.stages)


def autoencoder_spec(n_features: int, hidden: Sequence[int], latent_dim: int, activation: str,
                     latent_activation: str, output_activation: str, loss: str) -> ModelSpec:
    """n_features -> *hidden -> latent_dim (the encoder), then the mirror back to n_features."""
    widths = [*hidden, latent_dim, *reversed(hidden), n_features]
    n_encoder = len(hidden) + 1
    stages, fan_in, at = [], n_features, 0
    for i, fan_out in enumerate(widths):
        part = "encoder" if i < n_encoder else "decoder"
        if i == n_encoder - 1:
            name, act = "latent", latent_activation
        elif i == len(widths) - 1:
            name, act = "output", output_activation
        else:
            name, act = f"{part}_{i + 1 if part == 'encoder' else i + 1 - n_encoder}", activation
        stages.append(Dense(name, part, fan_in, fan_out, act, at, at + fan_in * fan_out))
        at += fan_in * fan_out + fan_out
        fan_in = fan_out
    return ModelSpec(tuple(stages), loss)
