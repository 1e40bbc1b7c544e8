"""What missing="mask" costs: training and inference speed against missing="error", one run.

    python benchmarks/bench_missing.py [--threads 2] [--rounds 5] [--rows 20000]

On data without NaN, a missing="mask" model runs the same products as a missing="error" one plus
the fill (a select per input value), the mask (a select and a multiply per output value) and one
more barrier per batch; with 20% of the values NaN it does the same work. Each configuration's
epochs and reconstructions take turns in rounds (_rounds.py), so that a slow spell of the shared
machine falls on all alike; reported: the medians, and each mask-mode figure as a ratio of the
error-mode figure of the same round set. Workloads: tabular (64 features, 128 -> 16) and
mnist-shallow-like (784 features, 256 -> 32), synthetic data in [0, 1], batch 256, float32.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import fmt, write_report  # noqa: E402
from _rounds import take_turns  # noqa: E402

WORKLOADS = {"tabular": (64, (128,), 16), "mnist-shallow": (784, (256,), 32)}
MODES = ("error, no NaN", "mask, no NaN", "mask, 20% NaN")


def data(n_features, rows, seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.random((rows, 8)) @ rng.random((8, n_features)) / 8).astype(np.float32)
    holes = X.copy()
    holes[rng.random(X.shape) < 0.2] = np.nan
    return X, holes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    from fastae import Autoencoder

    results = {}
    for workload, (n_features, hidden, latent) in WORKLOADS.items():
        X, holes = data(n_features, args.rows)
        models = {}
        for mode in MODES:
            missing = "error" if mode.startswith("error") else "mask"
            models[mode] = Autoencoder(latent_dim=latent, hidden=hidden, missing=missing, batch_size=256,
                                       n_threads=args.threads, random_state=0).fit(X[:256], epochs=0)

        def measure(mode):
            model, train = models[mode], holes if mode == MODES[2] else X
            started = time.perf_counter()
            model.partial_fit(train)
            trained = time.perf_counter() - started
            started = time.perf_counter()
            model.reconstruct(train)
            return {"train": len(train) / trained, "reconstruct": len(train) / (time.perf_counter() - started)}

        rounds = take_turns(MODES, args.rounds, measure)
        results[workload] = {mode: {k: statistics.median(r[k] for r in runs) for k in ("train", "reconstruct")}
                             for mode, runs in rounds.items()}
    lines = ["| workload | mode | train samples/s | vs error mode | reconstruct samples/s | vs error mode |",
             "|---|---|---|---|---|---|"]
    for workload, per in results.items():
        base = per[MODES[0]]
        for mode, r in per.items():
            lines.append(f"| {workload} | {mode} | {fmt(r['train'])} | {r['train'] / base['train']:.2f}× | "
                         f"{fmt(r['reconstruct'])} | {r['reconstruct'] / base['reconstruct']:.2f}× |")
    notes = (f"{args.threads} threads, {args.rows:,} rows, float32, batch 256; medians of {args.rounds} rounds taken "
             "in turns (one epoch and one reconstruction of all rows per round).")
    write_report(args.out, "missing", results, "\n".join(lines), notes)


if __name__ == "__main__":
    main()
