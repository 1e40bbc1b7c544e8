"""Same (seed, n_threads, batch size) -> bitwise the same weights; a different seed -> different."""

import numpy as np
import pytest

from fastae import Autoencoder

from conftest import make_data


def fit_weights(seed, n_threads, dtype="float32", X=None):
    X = make_data(600, 30, seed=5) if X is None else X
    model = Autoencoder(latent_dim=4, hidden=(16,), epochs=3, batch_size=64, random_state=seed, n_threads=n_threads,
                        dtype=dtype).fit(X)
    return model.get_weights()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_same_seed_and_threads_is_bitwise_identical(n_threads, dtype):
    first, second = fit_weights(3, n_threads, dtype), fit_weights(3, n_threads, dtype)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


def test_different_seeds_differ():
    first, second = fit_weights(3, 2), fit_weights(4, 2)
    assert not any(np.array_equal(a, b) for a, b in zip(first[::2], second[::2]))


def test_shuffle_seed_alone_changes_the_trajectory():
    """Same initial weights, different shuffle state: training differs, so the shuffle is really applied."""
    X = make_data(600, 30, seed=5)
    a = Autoencoder(latent_dim=4, epochs=2, batch_size=64, random_state=1).build(30)
    b = Autoencoder(latent_dim=4, epochs=2, batch_size=64, random_state=1, warm_start=True).build(30)
    b._rng_state ^= 1
    a.set_params(warm_start=True).fit(X)
    b.fit(X)
    assert not np.array_equal(a.get_weights()[0], b.get_weights()[0])


def test_inference_does_not_depend_on_threads():
    X = make_data(1000, 30, seed=6)
    model = Autoencoder(latent_dim=4, hidden=(16,), epochs=1, random_state=0).fit(X)
    one = model.set_params(n_threads=1).reconstruct(X)
    two = model.set_params(n_threads=2).reconstruct(X)
    assert np.array_equal(one, two)
