"""Same (seed, n_threads, batch size) -> bitwise the same weights; a different seed -> different."""

import os
import subprocess
import sys

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


def test_fewer_threads_than_asked_still_train_every_row():
    """Under OMP_THREAD_LIMIT=1, n_threads=2 gets one OpenMP thread: the work is split among the
    threads that started, so training equals n_threads=1 (not half of each batch left out)."""
    script = (
        "import numpy as np\n"
        "from fastae import Autoencoder\n"
        "X = np.random.default_rng(0).random((64, 10))\n"
        "w = [Autoencoder(latent_dim=3, hidden=(6,), epochs=2, batch_size=16, n_threads=t, random_state=0)"
        ".fit(X).get_weights() for t in (1, 2)]\n"
        "assert all(np.array_equal(a, b) for a, b in zip(*w)), 'n_threads=2 under a limit of 1 differs'\n"
    )
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
