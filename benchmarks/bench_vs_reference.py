"""fastae's fit against the NumPy reference on the same data, in the same run.

    python benchmarks/bench_vs_reference.py [--rows 20000] [--repeats 3] [--threads 2]

Both train one epoch at a time from the same weights and shuffle seed; the table gives the
median seconds per epoch of each and the ratio. Figures are only comparable within one run.
"""

import argparse
import statistics
import time

import numpy as np

from fastae import Adam, Autoencoder
from fastae.reference import ReferenceAutoencoder

WORKLOADS = {  # name: (n_features, hidden, latent, loss, batch)
    "tabular": (100, (64,), 32, "mse", 32),
    "mnist-shallow": (784, (), 32, "bce", 256),
    "mnist-deep": (784, (128,), 64, "mse", 256),
}


def median_epoch_seconds(fit_one_epoch, repeats: int) -> float:
    fit_one_epoch()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fit_one_epoch()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    print(f"{'workload':<15}{'fastae s/epoch':>16}{'NumPy s/epoch':>16}{'speed-up':>10}")
    for name in args.workloads:
        n_features, hidden, latent, loss, batch = WORKLOADS[name]
        X = rng.random((args.rows, n_features), dtype=np.float32)
        model = Autoencoder(latent_dim=latent, hidden=hidden, loss=loss, optimizer=Adam(lr=1e-3), batch_size=batch,
                            n_threads=args.threads, random_state=0, warm_start=True).build(n_features)
        reference = ReferenceAutoencoder(model)
        ours = median_epoch_seconds(lambda: model.fit(X, epochs=1), args.repeats)
        theirs = median_epoch_seconds(lambda: reference.fit(X, 1), args.repeats)
        print(f"{name:<15}{ours:>16.3f}{theirs:>16.3f}{theirs / ours:>9.1f}x")


if __name__ == "__main__":
    main()
