"""Training throughput: fastae against the NumPy reference, the peer frameworks and the
machine's GEMM limit, all measured in one run.

    python benchmarks/bench_train.py                 # everything: 60,000 rows, 1 and 2 threads
    python benchmarks/bench_train.py --quick         # 10,000 rows, fewer repeats
    python benchmarks/bench_train.py --workloads wide --peers pytorch jax --threads 2
    python benchmarks/bench_train.py --rounds 3      # runners take turns three times: steadier ratios
    python benchmarks/bench_train.py --variants      # the model variants against the plain model (mnist-deep, mnist-shallow)
    python benchmarks/bench_train.py --vae           # the VAEs against PyTorch's and JAX's, and a plain model of their sizes

Every (runner, workload, threads) is measured in a fresh subprocess pinned to that many cores,
so that thread settings cannot leak between frameworks. A runner trains one warm-up epoch, then
>= 3 timed epochs over shuffled seeded random rows in [0, 1] (float32, Adam lr 1e-3). With
--rounds R, every runner of a workload is measured once per round, the runners taking turns, so
that a slow spell of the shared machine falls on all of them alike; the figure is the median
samples/s of all the timed epochs of all rounds. Each peer's better thread count counts. The
roofline is the fastest float32 GEMM on the machine (fastae's own product or NumPy's BLAS on a
2048^3 product, at the same thread count) divided by 6 * sum(in * out) FLOPs per sample. Figures
are ratios from one run on a shared machine: compare within a run, not across runs.

Outputs (in --out, default benchmarks/results): train.json, train.md, train.png (with matplotlib).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple



sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pinning import pin_if_child  # noqa: E402

if __name__ == "__main__":
    pin_if_child(3)  # before NumPy starts its BLAS threads
    pin_if_child(1, "--variants-child")
    pin_if_child(3, "--vae-child")

import numpy as np  # noqa: E402

from _peers import EXTRA_PEERS, PEERS, ROW_CAP, RUNNERS, WORKLOADS  # noqa: E402
from _report import fmt, write_report  # noqa: E402
from _rounds import take_turns  # noqa: E402
from _variants import measure_variants, variants_table  # noqa: E402
from _vae import VAE_MODELS, VAE_PEERS, vae_runner, vae_speed_table  # noqa: E402

from fastae.bench import timed  # noqa: E402


def child(runner: str, workload: str, threads: int, rows: int, repeats: int) -> Dict[str, Any]:
    """Measure one runner (in this process, already pinned to `threads` cores) and return its figures."""
    w = WORKLOADS[workload]
    rows = min(rows, ROW_CAP.get(runner, rows))
    X = np.random.default_rng(0).random((rows, w.n_features), dtype=np.float32)
    seconds = timed(RUNNERS[runner](w, threads, X), repeats)
    return {"samples_per_s": rows / statistics.median(seconds), "rows": rows, "seconds": seconds}


def vae_child(runner: str, model: str, threads: int, rows: int, repeats: int) -> Dict[str, Any]:
    """Measure one VAE runner (bench_train --vae) in this pinned process."""
    X = np.random.default_rng(0).random((rows, 784), dtype=np.float32)
    seconds = timed(vae_runner(runner, model, threads, X), repeats)
    return {"samples_per_s": rows / statistics.median(seconds), "rows": rows, "seconds": seconds}


def run_child(runner: str, workload: str, threads: int, rows: int, repeats: int, timeout: float,
              mode: str = "--child") -> Dict[str, Any]:
    cmd = [sys.executable, __file__, mode, runner, workload, str(threads), str(rows), str(repeats)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": last[:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def combine_rounds(runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    """One runner's figure from its rounds: the median samples/s over every timed epoch of every
    round that ran; the error if none did."""
    done = [r for r in runs if "seconds" in r]
    if not done:
        return runs[0]
    seconds = [s for r in done for s in r["seconds"]]
    return {"samples_per_s": done[0]["rows"] / statistics.median(seconds), "rows": done[0]["rows"], "seconds": seconds,
            "rounds": len(done)}


def gemm_gflops(threads: int, n: int = 2048, repeats: int = 5) -> Dict[str, float]:
    """Median float32 GEMM speed of fastae's own product (as training uses it) and of NumPy's BLAS."""
    code = f"""
import json, statistics, sys
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
from _pinning import pin_to_cores
pin_to_cores({threads})
import numpy as np
from fastae import _core
from fastae.bench import timed
a = np.random.default_rng(0).random(({n}, {n}), dtype=np.float32); b = a.copy(); c = np.empty_like(a)
out = {{}}
for name, fn in (("fastae", lambda: _core.matmul(a, b, c, {threads})), ("numpy", lambda: np.matmul(a, b, out=c))):
    out[name] = 2 * {n} ** 3 / statistics.median(timed(fn, {repeats})) / 1e9
print(json.dumps(out))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def markdown_table(results: Dict[str, Any], threads: int) -> str:
    peers = results["peers"]
    head = ["workload", f"fastae ({threads} thr)", "NumPy ref", *peers, "best peer¹", "fastae / best peer", "% roofline"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in results["workloads"].items():
        cells = [name, fmt(row["fastae"]), fmt(row.get("numpy"))]
        cells += [fmt(row["peers"].get(p)) for p in peers]
        best = row.get("best_peer")
        cells.append(f"{best['name']} {fmt(best['samples_per_s'])}" if best else "–")
        cells.append(f"{row['ratio']:.2f}×" if row.get("ratio") else "–")
        cells.append(f"{row['roofline_pct']:.0f}%")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bar_chart(results: Dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart (pip install matplotlib)")
        return False
    names = list(results["workloads"])
    series = ["fastae", "numpy", *results["peers"], "roofline"]
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 4))
    for ax, name in zip(np.atleast_1d(axes), names):
        row = results["workloads"][name]
        values = [row["fastae"], row.get("numpy")] + [row["peers"].get(p) for p in results["peers"]] + [row["roofline"]]
        shown = [(s, v) for s, v in zip(series, values) if v]
        ax.bar([s for s, _ in shown], [v for _, v in shown],
               color=["tab:red" if s == "fastae" else "tab:gray" if s == "roofline" else "tab:blue" for s, _ in shown])
        ax.set_title(name)
        ax.set_ylabel("samples/s")
        ax.tick_params(axis="x", rotation=45)
    fig.suptitle(f"Training samples/s, float32 (fastae {results['threads']} threads)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def vae_speeds(args: argparse.Namespace) -> None:
    """bench_train --vae: every runner of each VAE in its own pinned child, taking turns over the rounds."""
    rows, repeats = (10000, 2) if args.quick else (args.rows, args.repeats)
    thread_counts = sorted({1, args.threads})
    figures: Dict[str, Dict[str, Any]] = {}
    for name in VAE_MODELS:
        runners = [("fastae", args.threads), ("fastae-plain", args.threads)]
        runners += [(peer, t) for peer in VAE_PEERS for t in thread_counts]
        runs = take_turns(runners, args.rounds,
                          lambda r: run_child(r[0], name, r[1], rows, repeats, args.timeout, "--vae-child"))
        combined = {r: combine_rounds(done) for r, done in runs.items()}
        row: Dict[str, Any] = {}
        for (runner, _), figure in combined.items():
            if "samples_per_s" in figure:
                row[runner] = max(row.get(runner) or 0, figure["samples_per_s"])  # a peer's better thread count
            else:
                row.setdefault(runner, None)
                print(f"  {runner} skipped on {name}: {figure['error']}")
        figures[name] = row
    write_report(args.out, "train_vae", figures, vae_speed_table(figures),
                 f"VAEs of benchmarks/_vae.py on {rows:,} random rows in [0, 1] of 784 features, batch 128, Adam "
                 f"1e-3; samples/s, median of {repeats} epochs after a warm-up, {args.rounds} round(s); fastae at "
                 f"{args.threads} threads, peers the better of {' and '.join(map(str, thread_counts))} threads.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="fastae's thread count; peers run at 1 and at this")
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument("--peers", nargs="*", default=PEERS + EXTRA_PEERS, choices=PEERS + EXTRA_PEERS,
                        help="jax-scan (a whole epoch in one lax.scan) is shown but not counted as the best peer")
    parser.add_argument("--rows", type=int, default=60000)
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per runner and round")
    parser.add_argument("--rounds", type=int, default=1, help="times each runner is measured, the runners taking turns")
    parser.add_argument("--quick", action="store_true", help="10,000 rows, 2 timed epochs")
    parser.add_argument("--no-reference", action="store_true", help="skip the NumPy reference")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per measurement")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--variants", action="store_true",
                        help="only fastae's variants (noise, dropout, penalties, tied weights) against the plain model")
    parser.add_argument("--vae", action="store_true",
                        help="the VAEs 784-256-2 and 784-512-256-32 (batch 128) against PyTorch's and JAX's VAE and "
                             "fastae's plain autoencoder of the same sizes")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--vae-child", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--variants-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.variants_child:
        threads, rows, rounds = (int(v) for v in args.variants_child)
        print(json.dumps(measure_variants(WORKLOADS, threads, rows, rounds)))
        return
    if args.variants:
        rows = 10000 if args.quick else 20000
        rounds = max(args.rounds, 5)
        done = subprocess.run([sys.executable, __file__, "--variants-child", str(args.threads), str(rows), str(rounds)],
                              capture_output=True, text=True, check=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        write_report(args.out, "variants", figures, variants_table(figures),
                     f"mnist-deep (784-128-64-128-784, batch 256) and mnist-shallow (784-32-784, bce, batch 256), "
                     f"{rows:,} rows, {args.threads} threads, the variants taking turns; median of {rounds} epochs each")
        return
    if args.vae_child:
        runner, model, threads, rows, repeats = args.vae_child
        print(json.dumps(vae_child(runner, model, int(threads), int(rows), int(repeats))))
        return
    if args.vae:
        vae_speeds(args)
        return
    if args.child:
        runner, workload, threads, rows, repeats = args.child
        print(json.dumps(child(runner, workload, int(threads), int(rows), int(repeats))))
        return
    if args.quick:
        args.rows, args.repeats = 10000, 2
    if args.rounds < 1 or args.repeats < 1:
        parser.error("--rounds and --repeats must be at least 1")

    thread_counts = sorted({1, args.threads})
    gemm = gemm_gflops(args.threads)
    best_gemm = max(gemm.values())
    results: Dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
        "threads": args.threads, "rows": args.rows, "repeats": args.repeats, "rounds": args.rounds, "peers": args.peers,
        "gemm_gflops": gemm, "workloads": {},
    }
    print(f"GEMM 2048^3 float32, {args.threads} threads: fastae {gemm['fastae']:.0f} GFLOP/s, "
          f"NumPy {gemm['numpy']:.0f} GFLOP/s")
    for name in args.workloads:
        w = WORKLOADS[name]
        row: Dict[str, Any] = {"roofline": best_gemm * 1e9 / w.flops_per_sample, "peers": {}, "peer_detail": {}}
        runners: List[Tuple[str, int]] = [("fastae", args.threads)]
        runners += [("fastae", 1)] if args.threads != 1 else []
        runners += [] if args.no_reference else [("numpy", args.threads)]
        runners += [(peer, t) for peer in args.peers for t in thread_counts]
        runs = take_turns(runners, args.rounds,
                          lambda r: run_child(r[0], name, r[1], args.rows, args.repeats, args.timeout))
        figures = {r: combine_rounds(done) for r, done in runs.items()}
        fastae = figures[("fastae", args.threads)]
        if "error" in fastae:
            raise SystemExit(f"fastae failed on {name}: {fastae['error']}")
        row["fastae"] = fastae["samples_per_s"]
        if args.threads != 1:
            row["fastae_1_thread"] = figures[("fastae", 1)].get("samples_per_s")
        if not args.no_reference:
            row["numpy"] = figures[("numpy", args.threads)].get("samples_per_s")
        for peer in args.peers:
            per_thread = {t: figures[(peer, t)] for t in thread_counts}
            row["peer_detail"][peer] = per_thread
            ok = [f["samples_per_s"] for f in per_thread.values() if "samples_per_s" in f]
            if ok:
                row["peers"][peer] = max(ok)
            else:
                print(f"  {peer} skipped on {name}: {next(iter(per_thread.values()))['error']}")
        counted = {p: v for p, v in row["peers"].items() if p not in EXTRA_PEERS}
        if counted:
            best = max(counted, key=counted.get)
            row["best_peer"] = {"name": best, "samples_per_s": row["peers"][best]}
            row["ratio"] = row["fastae"] / row["peers"][best]
        row["roofline_pct"] = 100 * row["fastae"] / row["roofline"]
        results["workloads"][name] = row
        extra = f", {row['ratio']:.2f}x the best peer ({row['best_peer']['name']})" if row.get("ratio") else ""
        print(f"{name}: fastae {fmt(row['fastae'])} samples/s{extra}, {row['roofline_pct']:.0f}% of roofline")

    table = markdown_table(results, args.threads)
    rounds_note = f"in each of {args.rounds} rounds, the runners taking turns " if args.rounds > 1 else ""
    scaling = [f"{n}: {r['fastae'] / r['fastae_1_thread']:.2f}×" for n, r in results["workloads"].items()
               if r.get("fastae_1_thread")]
    notes = (f"¹ best of {', '.join(p for p in PEERS if p in args.peers)}; jax-scan (a whole epoch compiled into one "
             f"lax.scan) is shown for reference. Samples/s, median of {args.repeats} epochs of {args.rows:,} rows "
             f"after a warm-up {rounds_note}(NumPy reference "
             f"and scikit-learn on at most {ROW_CAP['numpy']:,} rows). Peers: the better of 1 and {args.threads} "
             f"threads. Roofline: {best_gemm:.0f} GFLOP/s (best 2048³ float32 GEMM: fastae {gemm['fastae']:.0f}, "
             f"NumPy {gemm['numpy']:.0f}) / 6·Σ in·out FLOPs per sample. Machine: {results['machine']}.")
    if scaling:
        notes += f" fastae {args.threads} threads vs 1: " + ", ".join(scaling) + "."
    print()
    write_report(args.out, "train", results, table, notes)
    if bar_chart(results, args.out / "train.png"):
        print(f"wrote {args.out / 'train.json'}, train.md, train.png")


if __name__ == "__main__":
    main()
