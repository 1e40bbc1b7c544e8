"""The model spec (fastae/_spec.py): named stages built from the hyperparameters in one place,
laid out in the parameter vector exactly as C++ lays them out."""

import pytest

from fastae import Autoencoder
from fastae._spec import autoencoder_spec


@pytest.mark.parametrize("hidden", [(), (7,), (9, 5)])
def test_the_spec_matches_the_cpp_layout(hidden):
    model = Autoencoder(latent_dim=3, hidden=hidden).build(11)
    spec = model.spec_
    assert [(s.fan_in, s.fan_out, s.weight_at, s.bias_at, s.activation) for s in spec.stages] == \
        [tuple(layer) for layer in model._model.layers]
    assert spec.n_params == model._model.n_params


def test_stages_are_named_records():
    spec = autoencoder_spec(10, (8, 4), 2, "tanh", "linear", "sigmoid", "bce")
    assert [s.name for s in spec.stages] == ["encoder_1", "encoder_2", "latent", "decoder_1", "decoder_2", "output"]
    assert [s.part for s in spec.stages] == ["encoder"] * 3 + ["decoder"] * 3
    assert spec.activations == ["tanh", "tanh", "linear", "tanh", "tanh", "sigmoid"]
    assert spec.sizes == [10, 8, 4, 2, 4, 8, 10] and spec.n_encoder == 3 and spec.n_features == 10
    latent = spec.stages[2]
    assert (latent.fan_in, latent.fan_out, latent.n_params) == (4, 2, 4 * 2 + 2)
    assert spec.stages[1].weight_at == 10 * 8 + 8  # after the first stage's W and b


def test_shallow_spec_has_a_latent_and_an_output_stage():
    spec = autoencoder_spec(5, (), 2, "relu", "sigmoid", "linear", "mse")
    assert [(s.name, s.activation) for s in spec.stages] == [("latent", "sigmoid"), ("output", "linear")]
