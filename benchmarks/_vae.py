"""The variational autoencoders of bench_quality.py --vae and bench_train.py --vae, built the same
way in fastae, PyTorch and JAX: relu hidden layers, two linear heads (mu, logvar), a sigmoid
output with BCE from the logits summed over the features, + KL, averaged over the batch's rows;
Adam lr 1e-3, Glorot-uniform weights and zero biases; logvar clamped to [-30, 20]."""

from __future__ import annotations

from typing import Callable, Tuple

import numpy as np

# name: (hidden, latent_dim)
VAE_MODELS = {"784-256-2": ((256,), 2), "784-512-256-32": ((512, 256), 32)}
BATCH = 128


def fastae_vae(name: str, epochs: int, seed: int, threads: int):
    from fastae import Adam, VariationalAutoencoder

    hidden, latent = VAE_MODELS[name]
    return VariationalAutoencoder(latent_dim=latent, hidden=hidden, loss="bce", optimizer=Adam(lr=1e-3),
                                  batch_size=BATCH, epochs=epochs, random_state=seed, n_threads=threads)


def fastae_plain(name: str, seed: int, threads: int):
    """The plain autoencoder of the same layer sizes (a linear code of latent_dim)."""
    from fastae import Adam, Autoencoder

    hidden, latent = VAE_MODELS[name]
    return Autoencoder(latent_dim=latent, hidden=hidden, loss="bce", optimizer=Adam(lr=1e-3), batch_size=BATCH,
                       random_state=seed, n_threads=threads)


def torch_vae(name: str, seed: int):
    """(module, negative ELBO of a batch: mean over rows of BCE summed over features + KL)."""
    import torch

    torch.manual_seed(seed)
    hidden, latent = VAE_MODELS[name]

    def linear(a: int, b: int) -> "torch.nn.Linear":
        layer = torch.nn.Linear(a, b)
        torch.nn.init.xavier_uniform_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
        return layer

    def stack(sizes):
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [linear(a, b), torch.nn.ReLU()]
        return torch.nn.Sequential(*layers)

    class VAE(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = stack([784, *hidden])
            self.mu, self.logvar = linear(hidden[-1], latent), linear(hidden[-1], latent)
            self.decoder = torch.nn.Sequential(stack([latent, *reversed(hidden)]), linear(hidden[0], 784))

        def forward(self, x, sample: bool = True):
            h = self.encoder(x)
            mu, logvar = self.mu(h), torch.clamp(self.logvar(h), -30.0, 20.0)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if sample else mu
            return self.decoder(z), mu, logvar

    def negative_elbo(model, x, sample: bool = True):
        logits, mu, logvar = model(x, sample)
        recon = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
        kl = (-0.5 * (1 + logvar - mu**2 - torch.exp(logvar))).sum(1)
        return (recon + kl).mean()

    return VAE(), negative_elbo


def torch_vae_epoch(name: str, seed: int, threads: int, X: np.ndarray) -> Tuple[Callable[[], None], Callable]:
    """(one shuffled epoch of Adam steps, the test negative ELBO at mu of an array)."""
    import torch

    torch.set_num_threads(threads)
    model, negative_elbo = torch_vae(name, seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = torch.from_numpy(X)

    def epoch() -> None:
        order = torch.randperm(len(data))
        for start in range(0, len(data), BATCH):
            optimizer.zero_grad(set_to_none=True)
            negative_elbo(model, data[order[start:start + BATCH]]).backward()
            optimizer.step()

    def test(X_test: np.ndarray) -> float:
        with torch.no_grad():
            return float(negative_elbo(model, torch.from_numpy(X_test), sample=False))

    return epoch, test


def jax_vae_epoch(name: str, seed: int, threads: int, X: np.ndarray) -> Callable[[], None]:
    """One shuffled epoch of jit-compiled Adam steps (optax), the usual JAX training loop."""
    import jax
    import jax.numpy as jnp
    import optax

    hidden, latent = VAE_MODELS[name]
    key = jax.random.PRNGKey(seed)

    def glorot(key, a, b):
        limit = np.sqrt(6 / (a + b))
        return jax.random.uniform(key, (a, b), jnp.float32, -limit, limit), jnp.zeros(b, jnp.float32)

    shapes = {"encoder": list(zip([784, *hidden[:-1]], hidden)), "decoder": list(zip([latent, *reversed(hidden)],
                                                                                      [*reversed(hidden), 784]))}
    params = {}
    for part, pairs in shapes.items():
        params[part] = []
        for a, b in pairs:
            key, sub = jax.random.split(key)
            params[part].append(glorot(sub, a, b))
    key, k1, k2 = jax.random.split(key, 3)
    params["mu"], params["logvar"] = glorot(k1, hidden[-1], latent), glorot(k2, hidden[-1], latent)

    def loss(p, x, eps):
        h = x
        for W, b in p["encoder"]:
            h = jax.nn.relu(h @ W + b)
        mu = h @ p["mu"][0] + p["mu"][1]
        logvar = jnp.clip(h @ p["logvar"][0] + p["logvar"][1], -30.0, 20.0)
        h = mu + jnp.exp(0.5 * logvar) * eps
        for i, (W, b) in enumerate(p["decoder"]):
            h = h @ W + b
            h = jax.nn.relu(h) if i < len(p["decoder"]) - 1 else h
        recon = optax.sigmoid_binary_cross_entropy(h, x).sum(1)
        kl = (-0.5 * (1 + logvar - mu**2 - jnp.exp(logvar))).sum(1)
        return (recon + kl).mean()

    optimizer = optax.adam(1e-3)
    state = {"p": params, "o": optimizer.init(params), "key": key}

    @jax.jit
    def step(p, o, x, key):
        key, sub = jax.random.split(key)
        updates, o = optimizer.update(jax.grad(loss)(p, x, jax.random.normal(sub, (x.shape[0], latent))), o, p)
        return optax.apply_updates(p, updates), o, key

    rng = np.random.default_rng(seed)

    def epoch() -> None:
        shuffled = X[rng.permutation(len(X))]
        p, o, key = state["p"], state["o"], state["key"]
        for start in range(0, len(X), BATCH):
            p, o, key = step(p, o, shuffled[start:start + BATCH], key)
        jax.block_until_ready(p)
        state.update(p=p, o=o, key=key)

    return epoch


def vae_runner(runner: str, name: str, threads: int, X: np.ndarray) -> Callable[[], None]:
    """One training epoch over X of `runner`: fastae's VAE, fastae's plain autoencoder of the same
    layer sizes, or the PyTorch or JAX VAE."""
    if runner == "fastae":
        model = fastae_vae(name, 1, 0, threads)
        return lambda: model.partial_fit(X)  # one epoch, keeping the optimizer state as a long fit does
    if runner == "fastae-plain":
        plain = fastae_plain(name, 0, threads)
        return lambda: plain.partial_fit(X)
    if runner == "pytorch":
        return torch_vae_epoch(name, 0, threads, X)[0]
    if runner == "jax":
        return jax_vae_epoch(name, 0, threads, X)
    raise ValueError(f"runner: unknown {runner!r}")


VAE_PEERS = ["pytorch", "jax"]


def vae_speed_table(figures: dict) -> str:
    """figures[model][runner] = samples/s (None: skipped). Targets: the VAE at >= 85% of the plain
    model's samples/s; >= 3x the best peer on 784-256-2."""
    lines = ["| VAE | fastae VAE | fastae plain AE | VAE / plain (≥ 0.85) | PyTorch | JAX | best peer | "
             "fastae / best peer |", "|---|---|---|---|---|---|---|---|"]
    for name, row in figures.items():
        share = row["fastae"] / row["fastae-plain"]
        peers = {p: row[p] for p in VAE_PEERS if row.get(p)}
        best = max(peers, key=peers.get) if peers else None
        ratio = row["fastae"] / peers[best] if best else None
        target = " (≥ 3×)" if name == "784-256-2" else ""
        verdict = "" if ratio is None else f"{ratio:.2f}×{target}" + (
            f" {'met' if ratio >= 3 else 'MISSED'}" if target else "")
        cell = lambda v: f"{v:,.0f}" if v else "–"
        lines.append(f"| {name} | {cell(row['fastae'])} | {cell(row['fastae-plain'])} | {share:.2f} "
                     f"{'met' if share >= 0.85 else 'MISSED'} | {cell(row.get('pytorch'))} | {cell(row.get('jax'))} | "
                     f"{best or '–'} | {verdict or '–'} |")
    return "\n".join(lines)
