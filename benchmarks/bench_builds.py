"""Training and inference speed of this checkout's fastae against another build of fastae (an
earlier commit, or a native build against the portable one), interleaved: each round runs one
child process per build per workload, so that a slow spell of the shared machine falls on both
alike. Build the baseline the same way as this one (both with pip, or both with CMake and the
modules copied into the package), or the comparison measures the build instead of the code.

    git worktree add /tmp/base <commit> && (cd /tmp/base && pip install --target /tmp/base-pkg .)
    python benchmarks/bench_builds.py --baseline /tmp/base-pkg [--rounds 10] [--threads 1 2] [--measure train infer]

    # the native build against the portable one (README: Build options)
    FASTAE_NATIVE=ON pip install --target /tmp/native-pkg . && pip install --target /tmp/portable-pkg .
    python benchmarks/bench_builds.py --baseline /tmp/native-pkg --this /tmp/portable-pkg

--baseline (and --this) are folders that hold a fastae package (they go first on the child's
PYTHONPATH); without --this, this checkout's fastae is whichever `import fastae` finds. Prints
the median samples/s of each build per workload, thread count and measure (train: one epoch;
infer: reconstructing all rows), and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pinning import pin_if_child  # noqa: E402
from _rounds import take_turns  # noqa: E402

if __name__ == "__main__":
    pin_if_child(2)

ROWS = {"tabular": 20_000, "mnist-shallow": 10_000, "mnist-deep": 10_000, "wide": 2_048}


def child(workload: str, threads: int, epochs: int, measure: str) -> float:
    """Median samples/s of `epochs` epochs (or reconstructions of every row) after a warm-up one."""
    import numpy as np

    from fastae import Autoencoder
    from fastae.bench import WORKLOADS, fastae_runner, timed

    w = WORKLOADS[workload]
    X = np.random.default_rng(0).random((ROWS[workload] * (5 if measure == "infer" else 1), w.n_features),
                                        dtype=np.float32)
    if measure == "train":
        return len(X) / statistics.median(timed(fastae_runner(w, threads, X), epochs))
    model = Autoencoder(latent_dim=w.latent, hidden=w.hidden, loss=w.loss, n_threads=threads, random_state=0)
    model.build(w.n_features)
    return len(X) / statistics.median(timed(lambda: model.reconstruct(X), epochs))


def run_child(package: Optional[str], workload: str, threads: int, epochs: int, measure: str) -> float:
    env = dict(os.environ)
    if package:
        env["PYTHONPATH"] = os.pathsep.join([package, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    done = subprocess.run([sys.executable, __file__, "--child", workload, str(threads), str(epochs), measure],
                          env=env, cwd=str(Path(__file__).resolve().parent), capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=False, help="a folder holding the other build's fastae package")
    parser.add_argument("--this", default=None, help="a folder holding this build's fastae package (default: import fastae)")
    parser.add_argument("--measure", nargs="+", default=["train"], choices=["train", "infer"])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per child")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workloads", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), int(args.child[2]), args.child[3])))
        return
    if not args.baseline:
        parser.error("--baseline is required")
    builds = {"baseline": args.baseline, "this": args.this}
    runners = [(build, workload, threads, measure) for measure in args.measure for workload in args.workloads
               for threads in args.threads for build in builds]
    runs = take_turns(runners, args.rounds,
                      lambda r: {"samples_per_s": run_child(builds[r[0]], r[1], r[2], args.epochs, r[3])})
    figures: Dict[Tuple[str, str, int, str], List[float]] = {r: [done["samples_per_s"] for done in runs[r]]
                                                             for r in runners}
    print(f"samples/s, median of {args.rounds} rounds of {args.epochs} epochs or reconstructions; "
          f"baseline: {args.baseline}; this: {args.this or 'import fastae'}")
    print("| measure | workload | threads | baseline | this | this / baseline |\n|---|---|---|---|---|---|")
    for measure in args.measure:
        for workload in args.workloads:
            for threads in args.threads:
                base = statistics.median(figures[("baseline", workload, threads, measure)])
                this = statistics.median(figures[("this", workload, threads, measure)])
                print(f"| {measure} | {workload} | {threads} | {base:,.0f} | {this:,.0f} | {this / base:.2f} |")


if __name__ == "__main__":
    main()
