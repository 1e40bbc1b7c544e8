"""Quality against PyTorch on Fashion-MNIST: the same model, recipe and seeds; test BCE and wall time.

    python benchmarks/bench_quality.py [--epochs 5] [--seeds 0 1 2] [--threads 2] [--data fashion-mnist]
    python benchmarks/bench_quality.py --variant denoising
    python benchmarks/bench_quality.py --vae

Each model is relu/sigmoid with a linear code, BCE from the logits, Adam lr 1e-3, batch 256,
Glorot-uniform weights and zero biases, shuffled every epoch. Seed policy: each framework is
seeded with the same integer for its own initialisation and shuffling (fastae's random_state;
torch.manual_seed), so the two runs start from different draws of the same distribution, and
the table averages over --seeds. The test BCE is the mean over every pixel of the 10,000 test
images. Target: fastae within 1% of PyTorch. Needs Debian's dataset-fashion-mnist (or
$FASTAE_DATA); --data sample runs on the small embedded sample instead.

--variant denoising: 784-256-64-256-784 trained with Gaussian noise of standard deviation 0.3 on
its inputs (fastae's noise="gaussian"; in PyTorch, batch + 0.3 * randn_like(batch) each step),
against the plain model. The score is the test MSE between the reconstructions of noisy test
images (one fixed draw of the same noise) and the clean images. Targets: the denoising model
beats the plain one and is within 2% of PyTorch's.

--vae: the variational autoencoders 784-256-2 and 784-512-256-32 (benchmarks/_vae.py: relu,
sigmoid output, BCE summed over the pixels + KL, Adam 1e-3, batch 128, Glorot init), 10 epochs
by default, against the same VAE in PyTorch. The score is the test negative ELBO at z = mu (the
mean over the test images of BCE summed over the pixels + KL; fastae's evaluate). Target:
fastae within 2% of PyTorch.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

from _report import write_report

from fastae import Adam, Autoencoder
from fastae.datasets import load_data

MODELS = {"784-32-784": (), "784-256-64-256-784": (256,)}
LATENT = {"784-32-784": 32, "784-256-64-256-784": 64}


def train_fastae(name, data, epochs, seed, threads, noise_level=0.0, score=None):
    model = Autoencoder(latent_dim=LATENT[name], hidden=MODELS[name], loss="bce", optimizer=Adam(lr=1e-3),
                        batch_size=256, epochs=epochs, random_state=seed, n_threads=threads,
                        noise="gaussian" if noise_level else "none", noise_level=noise_level or 0.1)
    started = time.perf_counter()
    model.fit(data.X_train)
    seconds = time.perf_counter() - started
    return (model.evaluate(data.X_test) if score is None else score(model.reconstruct)), seconds


def train_torch(name, data, epochs, seed, threads, noise_level=0.0, score=None):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    sizes = [784, *MODELS[name], LATENT[name], *reversed(MODELS[name]), 784]
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = torch.nn.Linear(a, b)
        torch.nn.init.xavier_uniform_(linear.weight)  # Glorot uniform
        torch.nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(torch.nn.Identity() if i == len(MODELS[name]) else torch.nn.ReLU())  # linear code
    net = torch.nn.Sequential(*layers)  # outputs logits; the sigmoid is inside the loss
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    X = torch.from_numpy(data.X_train)
    started = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(X))
        for start in range(0, len(X), 256):
            batch = X[order[start:start + 256]]
            inputs = batch + noise_level * torch.randn_like(batch) if noise_level else batch
            optimizer.zero_grad(set_to_none=True)
            loss_fn(net(inputs), batch).backward()
            optimizer.step()
    seconds = time.perf_counter() - started
    with torch.no_grad():
        if score is not None:
            return score(lambda x: torch.sigmoid(net(torch.from_numpy(x))).numpy()), seconds
        X_test = torch.from_numpy(data.X_test)
        test = float(loss_fn(net(X_test), X_test))
    return test, seconds


def denoising_report(args, data, have_torch):
    """The denoising model against the plain one and PyTorch's, on noisy test images."""
    import numpy as np

    level, name = 0.3, "784-256-64-256-784"
    noisy = (data.X_test + level * np.random.default_rng(123).standard_normal(data.X_test.shape)).astype(np.float32)
    score = lambda reconstruct: float(np.mean((reconstruct(noisy) - data.X_test) ** 2))  # MSE against the clean images
    runs = {"fastae, plain": [train_fastae(name, data, args.epochs, s, args.threads, 0.0, score) for s in args.seeds],
            "fastae, denoising": [train_fastae(name, data, args.epochs, s, args.threads, level, score) for s in args.seeds]}
    if have_torch:
        runs["PyTorch, denoising"] = [train_torch(name, data, args.epochs, s, args.threads, level, score)
                                      for s in args.seeds]
    mse = {k: statistics.mean(m for m, _ in v) for k, v in runs.items()}
    lines = ["| model | test MSE, noisy -> clean | training s |", "|---|---|---|"]
    lines += [f"| {k} | {mse[k]:.5f} | {statistics.median(s for _, s in v):.2f} |" for k, v in runs.items()]
    verdicts = [f"denoising beats plain: {'yes' if mse['fastae, denoising'] < mse['fastae, plain'] else 'NO'}"]
    if have_torch:
        diff = (mse["fastae, denoising"] - mse["PyTorch, denoising"]) / mse["PyTorch, denoising"]
        verdicts.append(f"fastae vs PyTorch: {diff:+.2%} ({'within' if abs(diff) <= 0.02 else 'NOT within'} 2%)")
    notes = (f"{data.name}: {len(data.X_train):,} training, {len(data.X_test):,} test images; {name}, Gaussian noise "
             f"{level}, BCE, Adam 1e-3, batch 256, {args.epochs} epochs, {args.threads} threads; mean over seeds "
             f"{args.seeds}. " + "; ".join(verdicts))
    write_report(args.out, "quality_denoising", {k: [m for m, _ in v] for k, v in runs.items()}, "\n".join(lines), notes)


def compared(name, ours, theirs, keys, tolerance, miss, score_format, time_format):
    """(results row, table line) of fastae's (score, seconds) runs against PyTorch's (none: fastae
    alone): the mean scores, their relative difference, the median seconds, the verdict at
    `tolerance`. keys: the results' names of the two scores; each one's seconds go under
    "<its first word>_seconds"."""
    ours_key, theirs_key = keys
    seconds_key = lambda key: key.split("_")[0] + "_seconds"
    score = statistics.mean(v for v, _ in ours)
    row = {ours_key: [v for v, _ in ours], seconds_key(ours_key): [t for _, t in ours]}
    seconds = format(statistics.median(t for _, t in ours), time_format)
    if not theirs:
        return row, f"| {name} | {score:{score_format}} | – | – | {seconds} | – | – |"
    peer = statistics.mean(v for v, _ in theirs)
    diff = (score - peer) / peer
    row.update({theirs_key: [v for v, _ in theirs], seconds_key(theirs_key): [t for _, t in theirs],
                "relative_difference": diff})
    return row, (f"| {name} | {score:{score_format}} | {peer:{score_format}} | {diff:+.2%} | {seconds} | "
                 f"{statistics.median(t for _, t in theirs):{time_format}} | "
                 f"{'yes' if abs(diff) <= tolerance else miss} |")


def vae_report(args, data, have_torch):
    """fastae's VAEs against PyTorch's: test negative ELBO and training time."""
    from _vae import VAE_MODELS, fastae_vae, torch_vae_epoch

    epochs = args.epochs if args.epochs_given else 10
    results, lines = {}, ["| VAE | fastae test -ELBO | PyTorch test -ELBO | difference | fastae s | PyTorch s | "
                          "within 2% |", "|---|---|---|---|---|---|---|"]
    for name in VAE_MODELS:
        ours, theirs = [], []
        for seed in args.seeds:
            model = fastae_vae(name, epochs, seed, args.threads)
            started = time.perf_counter()
            model.fit(data.X_train)
            ours.append((model.evaluate(data.X_test), time.perf_counter() - started))
            if have_torch:
                epoch, test = torch_vae_epoch(name, seed, args.threads, data.X_train)
                started = time.perf_counter()
                for _ in range(epochs):
                    epoch()
                theirs.append((test(data.X_test), time.perf_counter() - started))
        results[name], line = compared(name, ours, theirs, ("fastae", "pytorch"), 0.02, "NO", ".3f", ".1f")
        lines.append(line)
    notes = (f"{data.name}: {len(data.X_train):,} training, {len(data.X_test):,} test images; {epochs} epochs, Adam "
             f"1e-3, batch 128, {args.threads} threads; the test negative ELBO at z = mu (nats per image) is the mean "
             f"over seeds {args.seeds}, wall time the median training time (one run, a shared machine).")
    write_report(args.out, "quality_vae", results, "\n".join(lines), notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=None, help="default 5 (--vae: 10)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", default="fashion-mnist", help="fashion-mnist (default) or sample")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--variant", choices=["denoising"], help="a variant against the plain model and PyTorch")
    parser.add_argument("--vae", action="store_true", help="the variational autoencoders against PyTorch's")
    args = parser.parse_args()
    args.epochs_given = args.epochs is not None
    args.epochs = args.epochs or 5

    data = load_data(args.data)
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
        print("PyTorch is not installed (pip install torch==2.13.0): fastae alone.", file=sys.stderr)
    if args.variant == "denoising":
        denoising_report(args, data, have_torch)
        return
    if args.vae:
        vae_report(args, data, have_torch)
        return

    results = {}
    lines = ["| model | fastae test BCE | PyTorch test BCE | difference | fastae s | PyTorch s | within 1% |",
             "|---|---|---|---|---|---|---|"]
    for name in args.models:
        ours = [train_fastae(name, data, args.epochs, seed, args.threads) for seed in args.seeds]
        theirs = [train_torch(name, data, args.epochs, seed, args.threads) for seed in args.seeds] if have_torch else []
        results[name], line = compared(name, ours, theirs, ("fastae_bce", "torch_bce"), 0.01, "no", ".5f", ".2f")
        lines.append(line)
    notes = (f"{data.name}: {len(data.X_train):,} training, {len(data.X_test):,} test images; {args.epochs} epochs, "
             f"Adam 1e-3, batch 256, {args.threads} threads; test BCE is the mean over seeds {args.seeds}, "
             "wall time the median training time (one run, a shared machine).")
    write_report(args.out, "quality", results, "\n".join(lines), notes)


if __name__ == "__main__":
    main()
