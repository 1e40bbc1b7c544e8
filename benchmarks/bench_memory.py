"""Peak memory of one epoch of fit on a 60,000 x 784 float32 array (the mnist-deep model),
against the size of the array itself: fastae uses the array in place, so what fit adds is its
workspace, not a copy of the data. PyTorch (from_numpy, shuffled batches) for comparison.

    python benchmarks/bench_memory.py [--rows 60000] [--threads 2]

Each runner runs in a fresh subprocess: it imports its framework and builds its model, creates
X, notes its resident memory, trains one epoch, and reports the peak resident memory (ru_maxrss)
minus that baseline. Writes memory.json and memory.md to --out.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Dict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pinning import pin_if_child, pin_to_cores  # noqa: E402

if __name__ == "__main__":
    pin_if_child(3)  # before NumPy starts its BLAS threads

import numpy as np  # noqa: E402

from _peers import WORKLOADS, fastae_runner, torch_runner  # noqa: E402
from _report import write_report  # noqa: E402

MB = 1024 * 1024


def resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def child(runner: str, rows: int, threads: int) -> Dict[str, float]:
    pin_to_cores(threads)
    w = WORKLOADS["mnist-deep"]
    make = {"fastae": fastae_runner, "pytorch": torch_runner}[runner]
    make(w, threads, np.zeros((2, w.n_features), dtype=np.float32))()  # import and warm the framework
    X = np.random.default_rng(0).random((rows, w.n_features), dtype=np.float32)
    epoch = make(w, threads, X)
    baseline = resident_bytes()
    before_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    epoch()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"array_mb": X.nbytes / MB, "added_mb": max(peak - max(baseline, before_peak), 0) / MB,
            "baseline_mb": baseline / MB, "peak_mb": peak / MB}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=60000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), int(args.child[2]))))
        return
    results = {}
    lines = ["| runner | X (MB) | peak added by one epoch of fit (MB) | added / X |", "|---|---|---|---|"]
    for runner in ("fastae", "pytorch"):
        done = subprocess.run([sys.executable, __file__, "--child", runner, str(args.rows), str(args.threads)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{runner} skipped: {(done.stderr.strip().splitlines() or ['failed'])[-1][:160]}")
            continue
        r = results[runner] = json.loads(done.stdout.strip().splitlines()[-1])
        lines.append(f"| {runner} | {r['array_mb']:.0f} | {r['added_mb']:.1f} | {r['added_mb'] / r['array_mb']:.1%} |")
    table = "\n".join(lines)
    notes = f"mnist-deep model, {args.rows:,} x 784 float32, {args.threads} threads, peak RSS (ru_maxrss) minus the RSS with X in memory."
    write_report(args.out, "memory", results, table, notes)


if __name__ == "__main__":
    main()
