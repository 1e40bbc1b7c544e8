"""Data-parallel training over MPI on this machine, and a model of it on N nodes.

    python benchmarks/bench_distributed.py [--workloads mnist-deep wide] [--rows 20000] [--epochs 3] [--rounds 3]

Measured (each configuration its own `mpiexec` run, the configurations in turns, medians over
rounds): 1 rank x 2 threads against 2 ranks x 1 thread, samples/s of fit(comm=...) over the
timed epochs after a warm-up epoch; per step, the share of the step spent in the gradient's
all-reduce (the whole Python reduce hook), and within it the Python crossing (the hook's time
less the time inside MPI's Allreduce calls).

Modelled: N nodes, each running the measured 1-rank x 2-thread compute per sample on its share
of the global batch, plus a ring all-reduce of the gradient per step, 2 (N - 1) / N x gradient
bytes over a link of B Gbit/s, plus 2 (N - 1) latencies of 5 us: samples/s = batch / (batch / N x
seconds per sample + all-reduce seconds), for N = 1, 2, 4, 8, 16, 64 at 10 and 100 Gbit/s.
Needs mpi4py and an mpiexec (pip install mpi4py mpich).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

LATENCY_S = 5e-6  # one message's latency on a cluster network, per ring step


def child(workload: str, threads: int, rows: int, epochs: int) -> None:
    """One mpiexec run: fit(comm=COMM_WORLD) on this rank's share of `rows` seeded rows."""
    from mpi4py import MPI

    import fastae._distributed as distributed
    from fastae import Autoencoder
    from fastae.bench import WORKLOADS

    comm = MPI.COMM_WORLD
    w = WORKLOADS[workload]
    part = np.array_split(np.arange(rows), comm.Get_size())[comm.Get_rank()]
    X = np.random.default_rng(comm.Get_rank()).random((len(part), w.n_features), dtype=np.float32)
    timing = {"hook": 0.0, "mpi": 0.0, "steps": 0}
    reduce = distributed.DataParallel.reduce

    class TimedComm:
        """comm, with the time inside its Allreduce calls counted."""

        def Allreduce(self, *args, **kwargs):
            started = time.perf_counter()
            comm.Allreduce(*args, **kwargs)
            timing["mpi"] += time.perf_counter() - started

        def __getattr__(self, name):
            return getattr(comm, name)

    def timed_reduce(self, gradient, status):
        started = time.perf_counter()
        out = reduce(self, gradient, status)
        timing["hook"] += time.perf_counter() - started
        timing["steps"] += 1
        return out

    distributed.DataParallel.reduce = timed_reduce
    model = Autoencoder(latent_dim=w.latent, hidden=w.hidden, loss=w.loss, batch_size=w.batch, n_threads=threads,
                        random_state=0)
    model.fit(X, comm=TimedComm(), epochs=1)  # warm-up
    timing.update(hook=0.0, mpi=0.0, steps=0)
    comm.Barrier()
    started = time.perf_counter()
    model.fit(X, comm=TimedComm(), epochs=epochs)
    seconds = time.perf_counter() - started
    if comm.Get_rank() == 0:
        print(json.dumps({"samples_per_s": rows * epochs / seconds, "hook_share": timing["hook"] / seconds,
                          "crossing_share": (timing["hook"] - timing["mpi"]) / seconds,
                          "step_us": 1e6 * seconds / max(timing["steps"], 1),
                          "params": model._model.n_params}))


def measure(mpiexec: str, ranks: int, threads: int, workload: str, rows: int, epochs: int) -> dict:
    done = subprocess.run([mpiexec, "-n", str(ranks), sys.executable, __file__, "--child", workload, str(threads),
                           str(rows), str(epochs)], capture_output=True, text=True, check=True, timeout=1800,
                          env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", nargs="+", default=["mnist-deep", "wide"])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]), int(args.child[3]))
        return
    from fastae.bench import WORKLOADS

    beside = Path(sys.executable).with_name("mpiexec")
    mpiexec = str(beside) if beside.exists() else shutil.which("mpiexec")
    if mpiexec is None:
        sys.exit("no mpiexec: pip install mpi4py mpich")
    configs = [(1, 2), (2, 1)]
    runs = {(w, c): [] for w in args.workloads for c in configs}
    for _ in range(args.rounds):
        for w in args.workloads:
            for ranks, threads in configs:
                runs[w, (ranks, threads)].append(measure(mpiexec, ranks, threads, w, args.rows, args.epochs))
    print("| workload | ranks × threads | samples/s | vs 1 × 2 | all-reduce share of the step | Python crossing share | µs per step |")
    print("|---|---|---|---|---|---|---|")
    per_sample = {}
    for w in args.workloads:
        base = statistics.median(r["samples_per_s"] for r in runs[w, (1, 2)])
        per_sample[w] = 1 / base
        for ranks, threads in configs:
            rs = runs[w, (ranks, threads)]
            rate = statistics.median(r["samples_per_s"] for r in rs)
            print(f"| {w} | {ranks} × {threads} | {rate:,.0f} | {rate / base:.2f}× | "
                  f"{100 * statistics.median(r['hook_share'] for r in rs):.1f}% | "
                  f"{100 * statistics.median(r['crossing_share'] for r in rs):.2f}% | "
                  f"{statistics.median(r['step_us'] for r in rs):,.0f} |")
    print(f"\n{args.rows:,} rows, float32, {args.epochs} timed epochs after a warm-up, medians of {args.rounds} rounds; "
          "with 1 rank the all-reduce is MPI's copy of the buffer to itself.\n")
    print("Modelled N nodes (each computing as 1 rank × 2 threads here; ring all-reduce, 5 µs latency per ring step):\n")
    nodes = [1, 2, 4, 8, 16, 64]
    print("| workload | link | " + " | ".join(f"N={n}" for n in nodes) + " |")
    print("|---|---|" + "---|" * len(nodes))
    for w in args.workloads:
        gradient_bytes = 4 * runs[w, (1, 2)][0]["params"]
        batch = WORKLOADS[w].batch
        for gbit in (10, 100):
            cells = []
            for n in nodes:
                ring = 0.0 if n == 1 else 2 * (n - 1) / n * gradient_bytes / (gbit * 1e9 / 8) + 2 * (n - 1) * LATENCY_S
                cells.append(f"{batch / (batch / n * per_sample[w] + ring):,.0f}")
            print(f"| {w} | {gbit} Gbit/s | " + " | ".join(cells) + " |")
    print("\nsamples/s; batch = the workload's global batch, gradient = 4 bytes × parameters.")


if __name__ == "__main__":
    main()
