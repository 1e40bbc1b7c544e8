"""bench_train.py --variants: samples/s of each model variant against the plain model of the same
workload (mnist-deep; the contractive penalty, which needs a one-layer encoder, on
mnist-shallow), all in one pinned process, the variants taking turns epoch by epoch so that a slow
spell of the shared machine falls on all of them alike. Each variant's target is the share of
the plain model's samples/s that issue 15 asks for."""

import statistics
import time
from typing import Any, Dict

import numpy as np

from _rounds import take_turns

# name: (Autoencoder arguments beyond the workload's, target share of the plain model's samples/s, workload)
VARIANTS = {
    "plain": ({}, None, "mnist-deep"),
    "gaussian noise 0.2": ({"noise": "gaussian", "noise_level": 0.2}, 0.85, "mnist-deep"),
    "masking noise 0.3": ({"noise": "masking", "noise_level": 0.3}, 0.85, "mnist-deep"),
    "salt-and-pepper noise 0.2": ({"noise": "salt_pepper", "noise_level": 0.2}, 0.85, "mnist-deep"),
    "L1 activity 1e-3": ({"activity_l1": 1e-3}, 0.85, "mnist-deep"),
    "dropout 0.2": ({"dropout": 0.2}, 0.85, "mnist-deep"),
    "KL sparsity 0.1, rho 0.05": ({"sparsity_weight": 0.1, "sparsity_target": 0.05, "latent_activation": "sigmoid"},
                                  0.85, "mnist-deep"),
    "tied weights": ({"tied_weights": True}, 0.95, "mnist-deep"),
    "plain, mnist-shallow": ({}, None, "mnist-shallow"),
    "contractive 0.1 (sigmoid code)": ({"contractive": 0.1, "latent_activation": "sigmoid"}, 0.60, "mnist-shallow"),
}


def measure_variants(workloads: Dict[str, Any], threads: int, rows: int, rounds: int) -> Dict[str, float]:
    """Median samples/s of one epoch of each variant over `rounds` rounds (after a warm-up epoch)."""
    from fastae.bench import fastae_runner

    data = {name: np.random.default_rng(0).random((rows, workloads[name].n_features), dtype=np.float32)
            for name in {w for _, _, w in VARIANTS.values()}}
    epochs = {name: fastae_runner(workloads[w], threads, data[w], **variant)
              for name, (variant, _, w) in VARIANTS.items()}
    for epoch in epochs.values():
        epoch()  # warm-up: builds the model and touches its memory

    def measure(name: str) -> Dict[str, float]:
        started = time.perf_counter()
        epochs[name]()
        return {"seconds": time.perf_counter() - started}

    results = take_turns(list(epochs), rounds, measure)
    return {name: rows / statistics.median(r["seconds"] for r in results[name]) for name in epochs}


def variants_table(figures: Dict[str, float]) -> str:
    plain = {w: figures[name] for name, (variant, _, w) in VARIANTS.items() if not variant}
    lines = ["| variant | workload | samples/s | of plain | target |", "|---|---|---|---|---|"]
    for name, (_, target, workload) in VARIANTS.items():
        share = figures[name] / plain[workload]
        verdict = "" if target is None else f"≥ {target:.2f} {'met' if share >= target else 'MISSED'}"
        lines.append(f"| {name} | {workload} | {figures[name]:,.0f} | {share:.2f} | {verdict} |")
    return "\n".join(lines)
