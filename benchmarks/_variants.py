"""bench_train.py --variants: samples/s of each model variant against the plain model on
mnist-deep, all in one pinned process, the variants taking turns epoch by epoch so that a slow
spell of the shared machine falls on all of them alike. Each variant's target is the share of
the plain model's samples/s that issue 15 asks for."""

import statistics
import time
from typing import Any, Dict

import numpy as np

from _rounds import take_turns

# name: (Autoencoder arguments beyond the workload's, target share of the plain model's samples/s)
VARIANTS = {
    "plain": ({}, None),
    "gaussian noise 0.2": ({"noise": "gaussian", "noise_level": 0.2}, 0.85),
    "masking noise 0.3": ({"noise": "masking", "noise_level": 0.3}, 0.85),
    "salt-and-pepper noise 0.2": ({"noise": "salt_pepper", "noise_level": 0.2}, 0.85),
    "L1 activity 1e-3": ({"activity_l1": 1e-3}, 0.85),
    "dropout 0.2": ({"dropout": 0.2}, 0.85),
    "KL sparsity 0.1, rho 0.05": ({"sparsity_weight": 0.1, "sparsity_target": 0.05, "latent_activation": "sigmoid"},
                                  0.85),
    "tied weights": ({"tied_weights": True}, 0.95),
}


def measure_variants(workload: Any, threads: int, rows: int, rounds: int) -> Dict[str, float]:
    """Median samples/s of one epoch of each variant over `rounds` rounds (after a warm-up epoch)."""
    from fastae.bench import fastae_runner

    X = np.random.default_rng(0).random((rows, workload.n_features), dtype=np.float32)
    epochs = {name: fastae_runner(workload, threads, X, **variant) for name, (variant, _) in VARIANTS.items()}
    for epoch in epochs.values():
        epoch()  # warm-up: builds the model and touches its memory

    def measure(name: str) -> Dict[str, float]:
        started = time.perf_counter()
        epochs[name]()
        return {"seconds": time.perf_counter() - started}

    results = take_turns(list(epochs), rounds, measure)
    return {name: rows / statistics.median(r["seconds"] for r in results[name]) for name in epochs}


def variants_table(figures: Dict[str, float]) -> str:
    plain = figures["plain"]
    lines = ["| variant | samples/s | of plain | target |", "|---|---|---|---|"]
    for name, (_, target) in VARIANTS.items():
        share = figures[name] / plain
        verdict = "" if target is None else f"≥ {target:.2f} {'met' if share >= target else 'MISSED'}"
        lines.append(f"| {name} | {figures[name]:,.0f} | {share:.2f} | {verdict} |")
    return "\n".join(lines)
