"""The variational autoencoder against PyTorch autograd: the same weights, batches and eps (the
counter RNG's, from the NumPy reference, which C++ matches: tests/test_vae.py), trained with
torch.optim.Adam on the objective written in torch, must give the same weights and losses."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is an optional peer: pip install torch==2.13.0")

from fastae import VariationalAutoencoder  # noqa: E402
from fastae.reference import sampling_eps  # noqa: E402

from conftest import make_data, relative_error  # noqa: E402

TORCH_TOL = {"float64": 1e-9, "float32": 1e-4}
ACTS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "elu": torch.nn.functional.elu}


def torch_vae_steps(vae, X, epochs, batch_size, dtype):
    """Trains torch parameters made from vae's weights; returns (weights in get_weights' layout, epoch losses)."""
    tdtype = torch.float64 if dtype == "float64" else torch.float32
    params = [torch.tensor(w, dtype=tdtype, requires_grad=True) for w in vae.get_weights()]
    n_hidden = len(vae.hidden)
    act = ACTS[vae.activation]
    opt = torch.optim.Adam(params, lr=1e-2)
    Xt = torch.tensor(X, dtype=tdtype)
    losses = []
    for epoch in range(epochs):
        beta = vae.beta_at(epoch)
        total = 0.0
        for start in range(0, len(X), batch_size):
            rows = np.arange(start, min(start + batch_size, len(X)))
            x = Xt[rows]
            a = x
            for i in range(n_hidden):
                a = act(a @ params[2 * i] + params[2 * i + 1])
            k = 2 * n_hidden
            mu = a @ params[k] + params[k + 1]
            logvar = torch.clamp(a @ params[k + 2] + params[k + 3], -30.0, 20.0)
            eps = torch.tensor(sampling_eps(vae._noise_seed, epoch, rows, n_hidden, mu.shape[1], np.float64), dtype=tdtype)
            z = mu + torch.exp(0.5 * logvar) * eps
            a = z
            d = k + 4
            for i in range(n_hidden):
                a = act(a @ params[d + 2 * i] + params[d + 2 * i + 1])
            logits = a @ params[-2] + params[-1]
            if vae.loss == "bce":
                recon = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
            else:
                recon = ((torch.sigmoid(logits) - x) ** 2).sum(1)
            kl = (-0.5 * (1 + logvar - mu**2 - torch.exp(logvar))).sum(1)
            loss = (recon + beta * kl).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(rows)
        losses.append(total / len(X))
    return [p.detach().numpy() for p in params], losses


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("loss", ["bce", "mse"])
@pytest.mark.parametrize("hidden, activation", [((6,), "relu"), ((7, 5), "tanh"), ((), "relu")])
def test_a_vae_trains_as_torch_autograd_does(dtype, loss, hidden, activation):
    X = make_data(50, 8)
    vae = VariationalAutoencoder(latent_dim=3, hidden=hidden, activation=activation, loss=loss, dtype=dtype,
                                 optimizer="adam", learning_rate=1e-2, batch_size=16, shuffle=False, beta=0.8,
                                 kl_warmup_epochs=2, random_state=0, n_threads=2).build(8)
    want, losses = torch_vae_steps(vae, X, 3, 16, dtype)
    vae.set_params(warm_start=True).fit(X, epochs=3)
    assert relative_error(vae.get_weights(), want) < TORCH_TOL[dtype]
    np.testing.assert_allclose(vae.history_["loss"], losses, rtol=TORCH_TOL[dtype] * 10)
