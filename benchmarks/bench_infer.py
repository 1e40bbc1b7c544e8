"""Inference throughput: encode and reconstruct 60,000 rows with fastae, PyTorch (no_grad) and
the NumPy reference, for the training benchmark's models, measured in one run.

    python benchmarks/bench_infer.py [--threads 2] [--rows 60000] [--rounds 3] [--workloads ...] [--quick]

Each (runner, workload) runs in a fresh subprocess pinned to --threads cores, once per round,
the runners taking turns (so that a slow spell of the shared machine falls on all of them
alike); the figure is the median samples/s of the --repeats calls after a warm-up of every
round. Writes infer.json and infer.md to --out.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pinning import pin_if_child, pin_to_cores  # noqa: E402

if __name__ == "__main__":
    pin_if_child(3)  # before NumPy starts its BLAS threads

import numpy as np  # noqa: E402

from _peers import WORKLOADS, Workload  # noqa: E402
from _report import fmt, write_report  # noqa: E402
from _rounds import take_turns  # noqa: E402

from fastae.bench import timed  # noqa: E402

RUNNERS = ["fastae", "pytorch", "numpy"]
OPS = ("encode", "reconstruct")


def make(runner: str, w: Workload, threads: int) -> Tuple[Callable[[np.ndarray], Any], Callable[[np.ndarray], Any]]:
    """(encode, reconstruct) functions of one runner, with the same Glorot-initialised weights."""
    from fastae import Autoencoder
    from fastae.reference import ReferenceAutoencoder

    model = Autoencoder(latent_dim=w.latent, hidden=w.hidden, loss=w.loss, n_threads=threads,
                        random_state=0).build(w.n_features)
    if runner == "fastae":
        return model.encode, model.reconstruct
    if runner == "numpy":
        ref = ReferenceAutoencoder(model)
        return ref.encode, ref.reconstruct
    import torch

    torch.set_num_threads(threads)
    weights = model.get_weights()
    layers = []
    for i, act in enumerate(model.spec_.activations):
        linear = torch.nn.Linear(*weights[2 * i].shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weights[2 * i].T.copy()))
            linear.bias.copy_(torch.from_numpy(weights[2 * i + 1]))
        layers += [linear, {"relu": torch.nn.ReLU(), "linear": torch.nn.Identity(), "sigmoid": torch.nn.Sigmoid()}[act]]
    net = torch.nn.Sequential(*layers).eval()
    encoder = net[:2 * model.n_encoder_layers_]

    def run(module: Any) -> Callable[[np.ndarray], Any]:
        def call(X: np.ndarray) -> Any:
            with torch.no_grad():
                return module(torch.from_numpy(X)).numpy()
        return call
    return run(encoder), run(net)


def child(runner: str, workload: str, threads: int, rows: int, repeats: int) -> Dict[str, List[float]]:
    """The seconds of each timed call of encode and of reconstruct."""
    pin_to_cores(threads)
    w = WORKLOADS[workload]
    X = np.random.default_rng(0).random((rows, w.n_features), dtype=np.float32)
    return {op: timed(lambda: fn(X), repeats) for op, fn in zip(OPS, make(runner, w, threads))}


def run_child(runner: str, workload: str, args: argparse.Namespace) -> Dict[str, Any]:
    """child() in a fresh subprocess: the seconds of each call by op, or {"error": its last line}."""
    cmd = [sys.executable, __file__, "--child", runner, workload, str(args.threads), str(args.rows), str(args.repeats)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:160]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=int, default=60000)
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per runner and round")
    parser.add_argument("--rounds", type=int, default=3, help="times each runner is measured, the runners taking turns")
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument("--quick", action="store_true", help="10,000 rows, 3 repeats, 1 round")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        runner, workload, threads, rows, repeats = args.child
        print(json.dumps(child(runner, workload, int(threads), int(rows), int(repeats))))
        return
    if args.quick:
        args.rows, args.repeats, args.rounds = 10000, 3, 1
    if args.rounds < 1 or args.repeats < 1:
        parser.error("--rounds and --repeats must be at least 1")

    results: Dict[str, Any] = {"threads": args.threads, "rows": args.rows, "repeats": args.repeats,
                               "rounds": args.rounds, "workloads": {}}
    lines = ["| workload | op | fastae | PyTorch no_grad | NumPy ref | fastae / PyTorch |", "|---|---|---|---|---|---|"]
    for name in args.workloads:
        row: Dict[str, Dict[str, float]] = {}
        for runner, runs in take_turns(RUNNERS, args.rounds, lambda r: run_child(r, name, args)).items():
            done = [r for r in runs if "error" not in r]
            if not done:
                print(f"{runner} skipped on {name}: {runs[0]['error']}")
                continue
            row[runner] = {op: args.rows / statistics.median([s for r in done for s in r[op]]) for op in OPS}
        results["workloads"][name] = row
        for op in OPS:
            ours, torch_fig = row["fastae"][op], row.get("pytorch", {}).get(op)
            ratio = f"{ours / torch_fig:.2f}×" if torch_fig else "–"
            lines.append(f"| {name} | {op} | {fmt(ours)} | {fmt(torch_fig)} | {fmt(row.get('numpy', {}).get(op))} | {ratio} |")
    table = "\n".join(lines)
    notes = (f"Samples/s, median of {args.repeats} calls on {args.rows:,} rows after a warm-up in each of "
             f"{args.rounds} round(s), the runners taking turns; {args.threads} threads for every runner, one run.")
    write_report(args.out, "infer", results, table, notes)


if __name__ == "__main__":
    main()
