"""The quick benchmark behind `fastae bench`: one epoch of each workload of benchmarks/bench_train.py
with fastae, the NumPy reference and (when installed) PyTorch, in this process, on seeded random
rows in [0, 1] (float32, Adam lr 1e-3, shuffled). It prints samples/s (the median of the timed
epochs, after a warm-up epoch) and fastae's speed-up over each, taken in the same run.

For the full comparison (JAX, Keras, scikit-learn, 1 and 2 threads, the GEMM roofline, each
runner in its own pinned process) run benchmarks/bench_train.py from a source checkout.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ._spec import ModelSpec, autoencoder_spec


@dataclass(frozen=True)
class Workload:
    name: str
    n_features: int
    hidden: Tuple[int, ...]  # encoder hidden sizes; the decoder mirrors them
    latent: int
    loss: str
    batch: int

    @property
    def spec(self) -> ModelSpec:
        """The network every runner builds: relu hidden layers, a linear code, a sigmoid output."""
        return autoencoder_spec(self.n_features, self.hidden, self.latent, "relu", "linear", "sigmoid", self.loss)

    @property
    def sizes(self) -> Tuple[int, ...]:
        return tuple(self.spec.sizes)

    @property
    def flops_per_sample(self) -> int:
        """6 * sum(in * out): 2 for the forward product, 4 for the two backward products."""
        return 6 * sum(a * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))


WORKLOADS = {w.name: w for w in [
    Workload("tabular", 100, (64,), 32, "mse", 32),
    Workload("mnist-shallow", 784, (), 32, "bce", 256),
    Workload("mnist-deep", 784, (128,), 64, "mse", 256),
    Workload("wide", 784, (1024,), 256, "mse", 512),
]}


def fastae_runner(w: Workload, threads: int, X: np.ndarray, **variant: Any) -> Callable[[], None]:
    """One epoch of fastae on X; `variant`: further Autoencoder arguments (noise, penalties)."""
    from fastae import Adam, Autoencoder

    model = Autoencoder(latent_dim=w.latent, hidden=w.hidden, activation="relu", output_activation="sigmoid",
                        loss=w.loss, optimizer=Adam(lr=1e-3), batch_size=w.batch, n_threads=threads, random_state=0,
                        **variant)
    return lambda: model.partial_fit(X)  # one epoch, keeping the optimizer state as a long fit does


def reference_runner(w: Workload, threads: int, X: np.ndarray) -> Callable[[], None]:
    from fastae import Adam, Autoencoder
    from fastae.reference import ReferenceAutoencoder

    model = Autoencoder(latent_dim=w.latent, hidden=w.hidden, loss=w.loss, optimizer=Adam(lr=1e-3),
                        batch_size=w.batch, random_state=0).build(w.n_features)
    reference = ReferenceAutoencoder(model)
    return lambda: reference.fit(X, 1)


def torch_runner(w: Workload, threads: int, X: np.ndarray) -> Callable[[], None]:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    layers = []
    for stage in w.spec.stages:
        layers.append(torch.nn.Linear(stage.fan_in, stage.fan_out))
        if not (stage.name == "output" and w.loss == "bce"):  # BCEWithLogitsLoss takes the logits
            layers.append({"relu": torch.nn.ReLU(), "linear": torch.nn.Identity(), "sigmoid": torch.nn.Sigmoid()}[stage.activation])
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss() if w.loss == "bce" else torch.nn.MSELoss()
    data = torch.from_numpy(X)

    def epoch() -> None:
        order = torch.randperm(len(data))
        for start in range(0, len(data), w.batch):
            batch = data[order[start:start + w.batch]]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(batch), batch).backward()
            opt.step()
    return epoch


RUNNERS = {"fastae": fastae_runner, "numpy": reference_runner, "pytorch": torch_runner}
REFERENCE_ROWS = 2000  # the NumPy reference is slow; it trains on fewer rows (samples/s is per row anyway)


def timed(call: Callable[[], object], repeats: int) -> List[float]:
    """The seconds of `repeats` calls after one untimed warm-up call (compilation, allocation, caches)."""
    call()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return seconds


def samples_per_second(epoch: Callable[[], None], n_rows: int, repeats: int) -> float:
    """The median samples/s of `repeats` epochs after one warm-up epoch."""
    return n_rows / statistics.median(timed(epoch, repeats))


def run(workloads: Sequence[str], rows: int, repeats: int, threads: int,
        say: Callable[[str], None] = print) -> Dict[str, Dict[str, Optional[float]]]:
    """{workload: {runner: samples/s or None when the runner is not installed}}."""
    results: Dict[str, Dict[str, Optional[float]]] = {}
    rng = np.random.default_rng(0)
    for name in workloads:
        w = WORKLOADS[name]
        X = rng.random((rows, w.n_features), dtype=np.float32)
        results[name] = {}
        for runner, make in RUNNERS.items():
            data = X[:REFERENCE_ROWS] if runner == "numpy" else X
            try:
                epoch = make(w, threads, data)
            except ImportError:
                results[name][runner] = None
                continue
            results[name][runner] = samples_per_second(epoch, len(data), repeats)
        say(f"  {name}: done")
    return results


def table(results: Dict[str, Dict[str, Optional[float]]]) -> str:
    """A Markdown table of samples/s and fastae's ratio to each other runner."""
    fmt = lambda v: "–" if v is None else f"{v / 1e3:.1f}k" if v >= 1e3 else f"{v:.0f}"
    ratio = lambda a, b: "–" if a is None or b is None else f"{a / b:.2f}×"
    lines = ["| workload | fastae | NumPy reference | PyTorch | fastae / NumPy | fastae / PyTorch |",
             "|---|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {fmt(r['fastae'])} | {fmt(r['numpy'])} | {fmt(r['pytorch'])} | "
                     f"{ratio(r['fastae'], r['numpy'])} | {ratio(r['fastae'], r['pytorch'])} |")
    return "\n".join(lines)
