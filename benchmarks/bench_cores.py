"""Whether two cores of this machine run independently right now: the same single-threaded
fastae training epochs timed on one core alone, then on two cores at once (one process each,
started together). On two real cores the pair runs as fast as the one; where a VM host has put
both virtual CPUs on one physical core (two hyperthreads sharing its execution units), each of
the pair runs at about half speed. A shared host can switch between the two from one minute to
the next, and any 2-thread figure measured meanwhile switches with it.

    python benchmarks/bench_cores.py [--trials 8] [--workload tabular] [--epochs 3]

Prints, per trial, the median epoch seconds alone and in the pair, and the pair's slowdown
(1.0: independent cores; 2.0: one core's worth between the two).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import List

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pinning import pin_to_cores  # noqa: E402


def child(core: int, workload: str, epochs: int, start_at: float) -> float:
    """Median seconds of `epochs` 1-thread epochs on `core`, timed from `start_at` (wall clock)."""
    pin_to_cores(1, [core])
    import numpy as np

    from fastae.bench import WORKLOADS, fastae_runner

    w = WORKLOADS[workload]
    X = np.random.default_rng(0).random((60000, w.n_features), dtype=np.float32)
    epoch = fastae_runner(w, 1, X)
    epoch()  # warm-up, then wait for the other process of a pair
    time.sleep(max(0.0, start_at - time.time()))
    seconds = []
    for _ in range(epochs):
        started = time.perf_counter()
        epoch()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def run_together(cores: List[int], workload: str, epochs: int) -> List[float]:
    """Each core's median epoch seconds, the processes timing the same moments."""
    start_at = time.time() + 5.0  # after every process has imported and warmed up
    procs = [subprocess.Popen([sys.executable, __file__, "--child", str(c), workload, str(epochs), repr(start_at)],
                              stdout=subprocess.PIPE, text=True) for c in cores]
    outs = [p.communicate()[0] for p in procs]
    if any(p.returncode != 0 for p in procs):
        raise SystemExit("a measuring process failed")
    return [json.loads(out.strip().splitlines()[-1]) for out in outs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--workload", default="tabular")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        core, workload, epochs, start_at = args.child
        print(json.dumps(child(int(core), workload, int(epochs), float(start_at))))
        return
    cores = sorted(os.sched_getaffinity(0))[:2]
    if len(cores) < 2:
        raise SystemExit("needs two cores")
    print(f"{args.workload}, 1 thread per process, cores {cores}; seconds per epoch (median of {args.epochs})")
    print("| trial | alone | pair (each) | pair slowdown |\n|---|---|---|---|")
    slowdowns = []
    for trial in range(1, args.trials + 1):
        (alone,) = run_together(cores[:1], args.workload, args.epochs)
        pair = run_together(cores, args.workload, args.epochs)
        slowdowns.append(statistics.mean(pair) / alone)
        print(f"| {trial} | {alone:.3f} | {' / '.join(f'{s:.3f}' for s in pair)} | {slowdowns[-1]:.2f}× |", flush=True)
    shared = sum(s >= 1.5 for s in slowdowns)
    print(f"\nmedian slowdown {statistics.median(slowdowns):.2f}×; {shared} of {len(slowdowns)} trials at 1.5× or more "
          "(the two cores sharing one)")


if __name__ == "__main__":
    main()
