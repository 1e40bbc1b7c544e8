"""Training speed on a busy machine: samples/s of the four workloads while 0, 1 and 2 other
processes keep a core busy each, with the default thread count (n_threads=None, which leaves the
cores other processes use to them) against n_threads=1 and 2, all in one run.

    python benchmarks/bench_contention.py [--rounds 5] [--busy 0 1 2] [--workloads ...]

For each number of busy processes, the busy loops start first (plain Python `while True`), then
one child process per workload times one epoch of each setting in turn, `--rounds` times, so
that a slow spell falls on all three alike; a figure is the median over the rounds. Nothing is
pinned: the point is how the OS shares the cores. The table gives the default's samples/s over
the better fixed choice in each cell (the target: at least 0.8, i.e. within 1.25x).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import fmt, write_report  # noqa: E402
from _rounds import take_turns  # noqa: E402

SETTINGS = ("default", "1", "2")
# Rows per epoch: each epoch takes about 0.05-0.5 s on one core.
ROWS = {"tabular": 10_000, "mnist-shallow": 10_000, "mnist-deep": 10_000, "wide": 2_048}


def child(workload: str, rounds: int) -> Dict[str, float]:
    """Median samples/s of each setting on `workload`, the settings taking turns."""
    import numpy as np

    from fastae.bench import WORKLOADS, fastae_runner

    w = WORKLOADS[workload]
    X = np.random.default_rng(0).random((ROWS[workload], w.n_features), dtype=np.float32)
    epochs = {s: fastae_runner(w, None if s == "default" else int(s), X) for s in SETTINGS}
    for epoch in epochs.values():
        epoch()  # warm-up: builds the model and touches its memory

    def measure(setting: str) -> Dict[str, float]:
        started = time.perf_counter()
        epochs[setting]()
        return {"samples_per_s": len(X) / (time.perf_counter() - started)}

    results = take_turns(SETTINGS, rounds, measure)
    return {s: statistics.median(r["samples_per_s"] for r in results[s]) for s in SETTINGS}


def with_busy_processes(count: int, workloads: List[str], rounds: int) -> Dict[str, Dict[str, float]]:
    """Each workload's figures while `count` busy loops run."""
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        time.sleep(0.5 if count else 0.0)  # the loops are running before anything is timed
        figures = {}
        for workload in workloads:
            done = subprocess.run([sys.executable, __file__, "--child", workload, str(rounds)],
                                  capture_output=True, text=True, check=True)
            figures[workload] = json.loads(done.stdout.strip().splitlines()[-1])
        return figures
    finally:
        for process in busy:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--busy", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--workloads", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return

    results = {str(count): with_busy_processes(count, args.workloads, args.rounds) for count in args.busy}
    lines = ["| workload | busy processes | default | n_threads=1 | n_threads=2 | default / best fixed |",
             "|---|---|---|---|---|---|"]
    worst = None
    for workload in args.workloads:
        for count in args.busy:
            cell = results[str(count)][workload]
            ratio = cell["default"] / max(cell["1"], cell["2"])  # 1.0: as fast as the better fixed choice
            worst = ratio if worst is None else min(worst, ratio)
            lines.append(f"| {workload} | {count} | {fmt(cell['default'])} | {fmt(cell['1'])} | {fmt(cell['2'])} "
                         f"| {ratio:.2f} |")
    notes = (f"samples/s, median of {args.rounds} rounds; rows per epoch {ROWS}; target: default / best fixed "
             f">= 0.80 in every cell; worst cell {worst:.2f}")
    write_report(args.out, "contention", results, "\n".join(lines), notes)


if __name__ == "__main__":
    main()
