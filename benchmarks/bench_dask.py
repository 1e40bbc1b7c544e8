"""Encoding on Dask: rows/s of fastae.dask.encode on a LocalCluster of 1 and 2 worker processes
(1 thread each) against the in-memory model.encode at 1 and 2 threads, one run.

    python benchmarks/bench_dask.py [--rows 400000] [--features 784] [--chunk 50000] [--rounds 3]

The data is a dask.array made on the workers themselves (seeded random rows, float32), so the
cluster figures are the scoring a cluster does on data it holds, not the cost of shipping a NumPy
array from this process; the in-memory call encodes the same rows from this process's memory.
Medians over rounds; the model (784-128-64 here, Glorot weights) is sent to each worker once.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--features", type=int, default=784)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import dask.array as da
    import distributed

    import fastae.dask as fd
    from fastae import Autoencoder

    model = Autoencoder(latent_dim=64, hidden=(128,), random_state=0).build(args.features)
    X = np.random.default_rng(0).random((args.rows, args.features), dtype=np.float32)
    lines = ["| runner | rows/s | vs in-memory, 1 thread |", "|---|---|---|"]
    base = None
    for threads in (1, 2):
        model.set_params(n_threads=threads)
        model.encode(X[:1000])
        seconds = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            model.encode(X)
            seconds.append(time.perf_counter() - started)
        rate = args.rows / statistics.median(seconds)
        base = base or rate
        lines.append(f"| in memory, model.encode, {threads} thread{'s' * (threads > 1)} | {rate:,.0f} | {rate / base:.2f}× |")
    model.set_params(n_threads=None)
    for workers in (1, 2):
        with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            lazy = da.random.default_rng(0).random((args.rows, args.features), chunks=(args.chunk, args.features),
                                                   dtype=np.float32)
            lazy = client.persist(lazy)  # the rows live on the workers
            distributed.wait(lazy)
            codes = fd.encode(model, lazy)
            client.compute(codes.sum()).result()  # warm: the model reaches every worker
            seconds = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                client.compute(codes.sum()).result()  # every chunk encoded on its worker; only a sum comes back
                seconds.append(time.perf_counter() - started)
            rate = args.rows / statistics.median(seconds)
            lines.append(f"| fastae.dask.encode, LocalCluster {workers} worker{'s' * (workers > 1)} × 1 thread | "
                         f"{rate:,.0f} | {rate / base:.2f}× |")
    print("\n".join(lines))
    print(f"\n{args.rows:,} rows × {args.features} features, chunks of {args.chunk:,} rows, model "
          f"{args.features}-128-64, medians of {args.rounds} rounds")


if __name__ == "__main__":
    main()
