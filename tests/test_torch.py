"""fastae against PyTorch itself: the same network, losses, optimizers and clipping, trained on
the same batches from the same weights, must give the same weights (optional: needs torch)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is an optional peer: pip install torch==2.13.0")

from fastae import (SGD, Adagrad, Adam, AdamW, Autoencoder, CosineAnnealing, ExponentialDecay, ReduceLROnPlateau,  # noqa: E402
                    RMSprop, StepDecay)

from conftest import ACTIVATIONS, LOSSES, make_data, relative_error  # noqa: E402

TORCH_TOL = {"float64": 1e-9, "float32": 1e-4}

TORCH_ACTIVATIONS = {
    "linear": torch.nn.Identity, "relu": torch.nn.ReLU, "leaky_relu": lambda: torch.nn.LeakyReLU(0.01),
    "elu": lambda: torch.nn.ELU(1.0), "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "softplus": torch.nn.Softplus,
}

OPTIMIZERS = [
    (SGD(lr=0.2), lambda p: torch.optim.SGD(p, lr=0.2)),
    (SGD(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.05),
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.05)),
    (SGD(lr=0.1, momentum=0.9, nesterov=True), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    (Adagrad(lr=0.05, weight_decay=0.05), lambda p: torch.optim.Adagrad(p, lr=0.05, weight_decay=0.05)),
    (RMSprop(lr=0.005), lambda p: torch.optim.RMSprop(p, lr=0.005)),
    (RMSprop(lr=0.005, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.05),
     lambda p: torch.optim.RMSprop(p, lr=0.005, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.05)),
    (Adam(lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    (Adam(lr=0.01, betas=(0.8, 0.99), weight_decay=0.05, amsgrad=True),
     lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.05, amsgrad=True)),
    (AdamW(lr=0.01), lambda p: torch.optim.AdamW(p, lr=0.01)),
    (AdamW(lr=0.01, weight_decay=0.1, amsgrad=True), lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1, amsgrad=True)),
]


def torch_twin(model: Autoencoder, dtype: torch.dtype):
    """A torch.nn.Sequential with the model's weights (Linear stores W transposed)."""
    layers = []
    weights = model.get_weights()
    for i, act in enumerate(model.spec_.activations):
        linear = torch.nn.Linear(*weights[2 * i].shape).to(dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weights[2 * i].T.copy()))
            linear.bias.copy_(torch.from_numpy(weights[2 * i + 1]))
        layers.append(linear)
        is_output = i == len(model.spec_.layers) - 1
        if not (is_output and model.loss == "bce"):  # BCEWithLogitsLoss takes the logits
            layers.append(TORCH_ACTIVATIONS[act]())
    return torch.nn.Sequential(*layers)


def torch_loss(name: str):
    return {"mse": torch.nn.MSELoss(), "bce": torch.nn.BCEWithLogitsLoss(), "mae": torch.nn.L1Loss(),
            "huber": torch.nn.HuberLoss(delta=1.0)}[name]


def torch_weights(net) -> list:
    out = []
    for layer in net:
        if isinstance(layer, torch.nn.Linear):
            out += [layer.weight.detach().numpy().T.copy(), layer.bias.detach().numpy().copy()]
    return out


def train_both(X, epochs, make_torch_optimizer, clip_value=None, clip_norm=None, target=None, **params):
    """The model trained by fastae and by torch from the same weights, on the same batches (learning
    to produce `target` from X when given)."""
    model = Autoencoder(shuffle=False, random_state=0, n_threads=1, clip_value=clip_value, clip_norm=clip_norm,
                        **params).build(X.shape[1], None if target is None else target.shape[1])
    tdtype = torch.float64 if params.get("dtype") == "float64" else torch.float32
    net = torch_twin(model, tdtype)
    opt = make_torch_optimizer(net.parameters())
    loss_fn = torch_loss(model.loss)
    model.set_params(warm_start=True).fit(X, target=target, epochs=epochs)
    as_torch = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64 if tdtype == torch.float64 else np.float32))
    data = as_torch(X)
    goal = data if target is None else as_torch(target)
    torch.set_num_threads(1)
    for _ in range(epochs):
        for start in range(0, len(data), model.batch_size):
            batch = data[start:start + model.batch_size]
            opt.zero_grad()
            loss = loss_fn(net(batch), goal[start:start + model.batch_size])
            code = net[:2 * model.spec_.n_encoder](batch)
            if model.activity_l1:  # Keras' activity_regularizer=l1: lambda * mean over rows of sum |code|
                loss = loss + model.activity_l1 * code.abs().sum(dim=1).mean()
            if model.sparsity_weight:  # beta * sum_j KL(rho || rho_hat_j), rho_hat the batch mean of the code
                rho, rho_hat = model.sparsity_target, code.mean(dim=0)
                kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
                loss = loss + model.sparsity_weight * kl.sum()
            loss.backward()
            if clip_value:
                torch.nn.utils.clip_grad_value_(net.parameters(), clip_value)
            if clip_norm:
                torch.nn.utils.clip_grad_norm_(net.parameters(), clip_norm)
            opt.step()
    return model, torch_weights(net)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("index", range(len(OPTIMIZERS)), ids=[repr(o) for o, _ in OPTIMIZERS])
def test_optimizers_and_losses_match_torch(index, loss, dtype):
    ours, theirs = OPTIMIZERS[index]
    X = make_data(41, 10, seed=11)
    model, weights = train_both(X, 3, theirs, latent_dim=3, hidden=(6,), activation="tanh", loss=loss, batch_size=15,
                                optimizer=ours, dtype=dtype)
    assert relative_error(model.get_weights(), weights) < TORCH_TOL[dtype]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("output_activation", ["sigmoid", "linear", "tanh"])
def test_activations_match_torch(activation, output_activation):
    X = make_data(41, 10, seed=12)
    model, weights = train_both(X, 3, lambda p: torch.optim.Adam(p, lr=0.01), latent_dim=3, hidden=(6,),
                                activation=activation, latent_activation=activation,
                                output_activation=output_activation, batch_size=15, optimizer=Adam(lr=0.01),
                                dtype="float64")
    assert relative_error(model.get_weights(), weights) < TORCH_TOL["float64"]


@pytest.mark.parametrize("clip", [dict(clip_value=0.002), dict(clip_norm=0.01), dict(clip_value=0.002, clip_norm=0.004)])
def test_clipping_matches_torch(clip):
    X = make_data(41, 10, seed=13)
    model, weights = train_both(X, 3, lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.5), latent_dim=3, hidden=(6,),
                                batch_size=15, optimizer=SGD(lr=0.5, momentum=0.5), dtype="float64", **clip)
    assert relative_error(model.get_weights(), weights) < TORCH_TOL["float64"]


def _torch_rates(make_scheduler, n_epochs, metrics=None):
    """The learning rate torch uses in each of n_epochs epochs (stepping once per epoch)."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = make_scheduler(optimizer)
    rates = []
    for epoch in range(n_epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step(metrics[epoch]) if metrics is not None else scheduler.step()
    return rates


@pytest.mark.parametrize("ours, theirs", [
    (StepDecay(3, 0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)),
    (ExponentialDecay(0.8), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.8)),
    (CosineAnnealing(9, min_lr=0.05), lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 9, eta_min=0.05)),
])
def test_schedules_match_torch(ours, theirs):
    np.testing.assert_allclose([ours(e, 1.0, {"loss": []}) for e in range(10)], _torch_rates(theirs, 10), rtol=1e-12)


@pytest.mark.parametrize("kwargs", [{}, {"patience": 1, "factor": 0.5}, {"patience": 0, "cooldown": 2, "min_lr": 0.02},
                                    {"patience": 2, "threshold": 0.1}])
def test_reduce_on_plateau_matches_torch(kwargs):
    metrics = list(np.random.default_rng(3).random(40) + np.linspace(1.0, 0.2, 40))
    ours = ReduceLROnPlateau(**kwargs)
    torch_names = {"min_lr": "min_lr", "patience": "patience", "factor": "factor", "cooldown": "cooldown",
                   "threshold": "threshold"}
    theirs = lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, **{torch_names[k]: v for k, v in kwargs.items()})
    history = {"loss": metrics}
    np.testing.assert_allclose([ours(e, 1.0, history) for e in range(40)], _torch_rates(theirs, 40, metrics), rtol=1e-12)


@pytest.mark.parametrize("latent_activation", ["linear", "relu", "sigmoid"])
@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_activity_l1_matches_torch(latent_activation, loss):
    X = make_data(41, 10, seed=12)
    model, weights = train_both(X, 3, lambda p: torch.optim.Adam(p, lr=0.01), latent_dim=3, hidden=(6,),
                                activation="tanh", latent_activation=latent_activation, loss=loss, batch_size=15,
                                optimizer=Adam(lr=0.01), dtype="float64", activity_l1=0.05)
    assert relative_error(model.get_weights(), weights) < TORCH_TOL["float64"]


@pytest.mark.parametrize("hidden", [(), (6,)])
@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_kl_sparsity_matches_torch(loss, hidden):
    X = make_data(41, 10, seed=14)
    model, weights = train_both(X, 3, lambda p: torch.optim.Adam(p, lr=0.01), latent_dim=4, hidden=hidden,
                                activation="tanh", latent_activation="sigmoid", loss=loss, batch_size=15,
                                optimizer=Adam(lr=0.01), dtype="float64", sparsity_weight=0.3, sparsity_target=0.1)
    assert relative_error(model.get_weights(), weights) < TORCH_TOL["float64"]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_an_x_to_target_mapping_matches_torch(dtype):
    X = make_data(41, 10, seed=15)
    T = make_data(41, 4, seed=16)
    model, weights = train_both(X, 3, lambda p: torch.optim.Adam(p, lr=0.01), target=T, latent_dim=3, hidden=(6,),
                                activation="tanh", batch_size=15, optimizer=Adam(lr=0.01), dtype=dtype)
    assert model.get_weights()[-1].shape == (4,)
    assert relative_error(model.get_weights(), weights) < TORCH_TOL[dtype]


class TiedTwin(torch.nn.Module):
    """The model's network in torch with the decoder using the encoder's weights transposed."""

    def __init__(self, model: Autoencoder, dtype: torch.dtype):
        super().__init__()
        weights = model.get_weights()
        layers = model.spec_.layers
        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        for i, s in enumerate(layers):
            w = torch.from_numpy(weights[2 * i].T.copy()).to(dtype)  # torch's (out, in)
            self.weights.append(torch.nn.Parameter(w, requires_grad=s.tied_to is None))
            self.biases.append(torch.nn.Parameter(torch.from_numpy(weights[2 * i + 1].copy()).to(dtype)))
        self.mirror = model.spec_.mirror
        self.acts = [TORCH_ACTIVATIONS[s.activation]() for s in layers]

    def forward(self, x):
        for i, act in enumerate(self.acts):
            w = self.weights[i] if self.mirror[i] < 0 else self.weights[self.mirror[i]].t()  # W_d = W_e^T
            x = act(torch.nn.functional.linear(x, w, self.biases[i]))
        return x


@pytest.mark.parametrize("hidden", [(), (6,)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_tied_weights_match_torch(hidden, dtype):
    X = make_data(41, 10, seed=17)
    model = Autoencoder(shuffle=False, random_state=0, n_threads=1, latent_dim=3, hidden=hidden, activation="tanh",
                        loss="mse", batch_size=15, optimizer=Adam(lr=0.01, weight_decay=0.01), dtype=dtype,
                        tied_weights=True).build(10)
    tdtype = torch.float64 if dtype == "float64" else torch.float32
    net = TiedTwin(model, tdtype)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=0.01, weight_decay=0.01)
    model.set_params(warm_start=True).fit(X, epochs=3)
    data = torch.from_numpy(X.astype(np.float64 if dtype == "float64" else np.float32))
    torch.set_num_threads(1)
    for _ in range(3):
        for start in range(0, len(data), 15):
            batch = data[start:start + 15]
            opt.zero_grad()
            torch.nn.functional.mse_loss(net(batch), batch).backward()
            opt.step()
    theirs = []
    for i, e in enumerate(net.mirror):
        w = net.weights[i] if e < 0 else net.weights[e].t()
        theirs += [w.detach().numpy().T.copy(), net.biases[i].detach().numpy().copy()]
    assert relative_error(model.get_weights(), theirs) < TORCH_TOL[dtype]


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "softplus", "elu"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_contractive_penalty_matches_torch_autograd(activation, dtype):
    """torch computes ||dh/dx||_F^2 by autograd itself (create_graph=True, one code unit at a time)
    and differentiates through it: no formula of ours is in its gradient."""
    X = make_data(41, 10, seed=18)
    model = Autoencoder(shuffle=False, random_state=0, n_threads=1, latent_dim=3, latent_activation=activation,
                        loss="mse", batch_size=15, optimizer=Adam(lr=0.01), dtype=dtype, contractive=0.2).build(10)
    tdtype = torch.float64 if dtype == "float64" else torch.float32
    net = torch_twin(model, tdtype)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    model.set_params(warm_start=True).fit(X, epochs=3)
    data = torch.from_numpy(X.astype(np.float64 if dtype == "float64" else np.float32))
    torch.set_num_threads(1)
    for _ in range(3):
        for start in range(0, len(data), 15):
            batch = data[start:start + 15].clone().requires_grad_(True)
            opt.zero_grad()
            code = net[:2](batch)
            jacobian_sq = sum((torch.autograd.grad(code[:, j].sum(), batch, create_graph=True)[0] ** 2).sum(dim=1)
                              for j in range(code.shape[1]))  # rows are independent: d code_j / d x per row
            loss = torch.nn.functional.mse_loss(net(batch), batch.detach()) + 0.2 * jacobian_sq.mean()
            loss.backward()
            opt.step()
    assert relative_error(model.get_weights(), torch_weights(net)) < TORCH_TOL[dtype]
