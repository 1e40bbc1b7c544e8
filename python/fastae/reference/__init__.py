"""The NumPy reference: the same network, losses, optimizers and epoch loop as the C++ core,
written for clarity rather than speed. Tests run both on the same seeds and compare; the
reference's own gradients are checked against finite differences in float64.

Conventions (shared with C++): activations are rows [batch, features]; W has shape (in, out);
a loss is the mean over every element of the batch; BCE is computed from the logits of the
sigmoid output; the shuffle is SplitMix64 + Fisher-Yates.

One module per concept, as in cpp/include/fastae: activations, losses, network, optimizers, rng
(the shuffle and the counter-based draws), input_noise, dropout, missing, training, vae.
"""

from .activations import ELU_ALPHA, LEAKY_SLOPE, activate, activation_derivative, sigmoid
from .dropout import dropout_mask, dropout_stage
from .input_noise import INPUT_STAGE, add_noise
from .losses import HUBER_DELTA, loss_elements, loss_gradient
from .missing import fill_inputs, mask_targets
from .network import Network
from .optimizers import ReferenceOptimizer, clip_gradients
from .rng import (GOLDEN_GAMMA, MASK64, bits_to_normal, bits_to_open_uniform, bits_to_uniform, counter_bits,
                  counter_keys, shuffled_order, splitmix64_finalise, splitmix64_next)
from .training import ReferenceAutoencoder, train_epoch
from .vae import LOGVAR_HIGH, LOGVAR_LOW, ReferenceVariationalAutoencoder, VaeNetwork, kl_rows, sampling_eps

__all__ = ["ELU_ALPHA", "LEAKY_SLOPE", "activate", "activation_derivative", "sigmoid", "dropout_mask", "dropout_stage", "INPUT_STAGE", "add_noise",
           "HUBER_DELTA", "loss_elements", "loss_gradient", "fill_inputs", "mask_targets", "Network", "ReferenceOptimizer", "clip_gradients",
           "GOLDEN_GAMMA", "MASK64", "bits_to_normal", "bits_to_open_uniform", "bits_to_uniform", "counter_bits",
           "counter_keys", "shuffled_order", "splitmix64_finalise", "splitmix64_next", "ReferenceAutoencoder",
           "train_epoch", "LOGVAR_HIGH", "LOGVAR_LOW", "ReferenceVariationalAutoencoder", "VaeNetwork", "kl_rows", "sampling_eps"]
