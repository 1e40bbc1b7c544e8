"""fastae's fit against the NumPy reference on the same data, in the same run.

    python benchmarks/bench_vs_reference.py [--rows 20000] [--repeats 3] [--threads 2]

Both train one epoch at a time from the same weights and shuffle seed; the table gives the
median seconds per epoch of each and the ratio. Figures are only comparable within one run.
"""

import argparse
import statistics

import numpy as np

from fastae import Adam, Autoencoder
from fastae.bench import WORKLOADS, timed
from fastae.reference import ReferenceAutoencoder

DEFAULT_WORKLOADS = ["tabular", "mnist-shallow", "mnist-deep"]  # wide takes minutes in NumPy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workloads", nargs="+", default=DEFAULT_WORKLOADS, choices=list(WORKLOADS))
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    print(f"{'workload':<15}{'fastae s/epoch':>16}{'NumPy s/epoch':>16}{'speed-up':>10}")
    for name in args.workloads:
        w = WORKLOADS[name]
        X = rng.random((args.rows, w.n_features), dtype=np.float32)
        model = Autoencoder(latent_dim=w.latent, hidden=w.hidden, loss=w.loss, optimizer=Adam(lr=1e-3),
                            batch_size=w.batch, n_threads=args.threads, random_state=0,
                            warm_start=True).build(w.n_features)
        reference = ReferenceAutoencoder(model)
        ours = statistics.median(timed(lambda: model.fit(X, epochs=1), args.repeats))
        theirs = statistics.median(timed(lambda: reference.fit(X, 1), args.repeats))
        print(f"{name:<15}{ours:>16.3f}{theirs:>16.3f}{theirs / ours:>9.1f}x")


if __name__ == "__main__":
    main()
