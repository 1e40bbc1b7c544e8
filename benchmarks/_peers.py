"""Training loops of fastae, the NumPy reference and the peer frameworks, for the benchmarks.

Each runner is built for one workload and one thread count and returns a function that trains
one epoch over X (shuffled, Adam lr 1e-3). The peers are imported only inside their runner, so
that a missing one is skipped with a message instead of failing the whole benchmark.
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np


from fastae.bench import WORKLOADS, Workload, fastae_runner, reference_runner, torch_runner  # noqa: F401  (shared with `fastae bench`)


def _jax_setup(w: Workload):
    """Glorot-initialised parameters, the loss, and an optax Adam step for the workload."""
    import jax
    import jax.numpy as jnp
    import optax

    key = jax.random.PRNGKey(0)
    params = []
    sizes = w.sizes
    for a, b in zip(sizes[:-1], sizes[1:]):
        key, sub = jax.random.split(key)
        limit = np.sqrt(6 / (a + b))
        params.append((jax.random.uniform(sub, (a, b), jnp.float32, -limit, limit), jnp.zeros(b, jnp.float32)))
    n_layers = len(params)

    def forward(p, x):
        for i, (W, b) in enumerate(p):
            x = x @ W + b
            if i < n_layers - 1 and i != len(w.hidden):
                x = jax.nn.relu(x)
        return x  # logits of the output layer

    def loss(p, x):
        z = forward(p, x)
        if w.loss == "bce":
            return jnp.mean(optax.sigmoid_binary_cross_entropy(z, x))
        return jnp.mean((jax.nn.sigmoid(z) - x) ** 2)

    optimizer = optax.adam(1e-3)

    def step(carry, x):
        p, o = carry
        updates, o = optimizer.update(jax.grad(loss)(p, x), o, p)
        return (optax.apply_updates(p, updates), o), None

    return {"p": params, "o": optimizer.init(params)}, step


def jax_runner(w: Workload, threads: int, X: np.ndarray) -> Callable[[], None]:
    """A jit-compiled train step called once per batch (the usual JAX training loop)."""
    import jax

    state, step = _jax_setup(w)
    train_step = jax.jit(lambda p, o, x: step((p, o), x)[0])
    rng = np.random.default_rng(0)

    def epoch() -> None:
        shuffled = X[rng.permutation(len(X))]
        p, o = state["p"], state["o"]
        for start in range(0, len(X), w.batch):
            p, o = train_step(p, o, shuffled[start:start + w.batch])
        jax.block_until_ready(p)
        state["p"], state["o"] = p, o
    return epoch


def jax_scan_runner(w: Workload, threads: int, X: np.ndarray) -> Callable[[], None]:
    """The whole epoch's full batches in one compiled lax.scan (JAX's fastest form), then the rest."""
    import jax
    import jax.numpy as jnp

    state, step = _jax_setup(w)
    run_batches = jax.jit(lambda p, o, batches: jax.lax.scan(step, (p, o), batches)[0])
    last_batch = jax.jit(lambda p, o, x: step((p, o), x)[0])
    rng = np.random.default_rng(0)
    n_full = len(X) // w.batch

    def epoch() -> None:
        shuffled = X[rng.permutation(len(X))]
        full = jnp.asarray(shuffled[:n_full * w.batch].reshape(n_full, w.batch, -1))
        p, o = run_batches(state["p"], state["o"], full)
        if len(X) % w.batch:
            p, o = last_batch(p, o, jnp.asarray(shuffled[n_full * w.batch:]))
        jax.block_until_ready(p)
        state["p"], state["o"] = p, o
    return epoch


def keras_runner(w: Workload, threads: int, X: np.ndarray) -> Callable[[], None]:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    inputs = keras.Input((w.n_features,))
    x = inputs
    sizes = w.sizes
    for i, b in enumerate(sizes[1:]):
        last = i == len(sizes) - 2
        act = "sigmoid" if last else ("linear" if i == len(w.hidden) else "relu")
        x = keras.layers.Dense(b, activation=act)(x)
    model = keras.Model(inputs, x)
    loss = "binary_crossentropy" if w.loss == "bce" else "mse"
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    return lambda: model.fit(X, X, batch_size=w.batch, epochs=1, shuffle=True, verbose=0)


def sklearn_runner(w: Workload, threads: int, X: np.ndarray) -> Callable[[], None]:
    from sklearn.neural_network import MLPRegressor

    hidden = tuple(w.sizes[1:-1])
    model = MLPRegressor(hidden_layer_sizes=hidden, activation="relu", solver="adam", learning_rate_init=1e-3,
                         batch_size=w.batch, shuffle=True, random_state=0)
    return lambda: model.partial_fit(X, X)


RUNNERS = {"fastae": fastae_runner, "numpy": reference_runner, "pytorch": torch_runner, "jax": jax_runner,
           "jax-scan": jax_scan_runner, "keras": keras_runner, "sklearn": sklearn_runner}
PEERS = ["pytorch", "jax", "keras", "sklearn"]  # the peers the targets are set against
EXTRA_PEERS = ["jax-scan"]  # shown beside them, not counted as "best peer"
# Peers slow enough that a part of the data gives a stable samples/s figure sooner.
ROW_CAP = {"numpy": 12000, "sklearn": 12000}
