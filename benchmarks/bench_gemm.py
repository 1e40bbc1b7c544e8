"""float32 GEMM speed on the products the workloads run: Eigen with several cache-size settings
(Eigen sizes its GEMM blocks from the cache sizes), fastae's own sgemm, and NumPy's BLAS.

    python benchmarks/bench_gemm.py [--threads 1]
    python benchmarks/bench_gemm.py --training

fastae sets the blocking at import (cpp/include/fastae/tuning.hpp); this script shows why.
--training times every product of one training step on one thread's share of the batch (x W,
x^T dz and dz W^T for each layer) with Eigen and each of sgemm's two paths: the figures behind
sgemm's choice of path (cpp/include/fastae/gemm.hpp).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pinning import pin_to_cores  # noqa: E402

# (rows, inner, cols) of x W products in the workloads' forward and backward passes, and a big one.
SHAPES = [(2048, 2048, 2048), (128, 784, 32), (128, 32, 784), (32, 128, 784), (784, 128, 32), (128, 784, 128),
          (256, 784, 1024), (256, 1024, 256), (784, 256, 1024), (16, 100, 64)]
SETTINGS = {"detected": None, "fastae": "tuned", "L2 512K, L3 4M": (32, 512, 4096), "L2 256K, L3 2M": (32, 256, 2048),
            "L2 128K, L3 1M": (32, 128, 1024)}


def gflops(fn, m: int, k: int, n: int) -> float:  # noqa: D401
    fn()
    reps = max(1, int(2e8 / (2 * m * k * n)))
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        times.append((time.perf_counter() - start) / reps)
    return 2 * m * k * n / statistics.median(times) / 1e9


def training_products(np, _core) -> None:
    """GFLOP/s of each product of a training step, per workload, with each kernel; one thread."""
    from fastae.bench import WORKLOADS

    kernels = ["eigen", "direct", "packed", "auto"]
    rng = np.random.default_rng(0)
    print(f"{'workload':<14}{'product':<18}" + "".join(f"{k:>10}" for k in kernels))
    for name, workload in WORKLOADS.items():
        sizes, rows = workload.sizes, workload.batch // 2  # one thread's rows at 2 threads
        seconds = dict.fromkeys(kernels, 0.0)
        for first, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            x, w = rng.random((rows, n_in), dtype=np.float32), rng.random((n_in, n_out), dtype=np.float32)
            dz = rng.random((rows, n_out), dtype=np.float32)
            cases = [("x W", x, w, (rows, n_out), False, False), ("x^T dz", x, dz, (n_in, n_out), True, False)]
            if first:  # the first layer computes no dx
                cases.append(("dz W^T", dz, w, (rows, n_in), False, True))
            for label, a, b, shape, ta, tb in cases:
                out = np.empty(shape, dtype=np.float32)
                flops = 2 * rows * n_in * n_out  # the same for all three products
                rates = [gflops(lambda: _core.matmul(a, b, out, 1, ta, tb, k), rows, n_in, n_out) for k in kernels]
                for k, rate in zip(kernels, rates):
                    seconds[k] += flops / (rate * 1e9)
                print(f"{name:<14}{f'{label} {n_in}x{n_out}':<18}" + "".join(f"{r:>10.1f}" for r in rates))
        print(f"{name:<14}{'step, us':<18}" + "".join(f"{seconds[k] * 1e6:>10.1f}" for k in kernels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--training", action="store_true", help="time the products of a training step instead")
    args = parser.parse_args()
    pin_to_cores(1 if args.training else args.threads)  # before NumPy starts its BLAS threads
    import numpy as np

    from fastae import _core

    if args.training:
        training_products(np, _core)
        return
    detected = _core._detected_cache_sizes()
    tuned = _core.build_info["eigen_cache_sizes"]
    print(f"cache sizes detected by Eigen: {detected}, set by fastae: {tuned}")
    print(f"{'GFLOP/s':<24}" + "".join(f"{f'{m}x{k}x{n}':>15}" for m, k, n in SHAPES))
    rng = np.random.default_rng(0)
    operands = [(rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32),
                 np.empty((m, n), dtype=np.float32)) for m, k, n in SHAPES]
    for name, sizes in SETTINGS.items():
        cache = detected if sizes is None else tuned if sizes == "tuned" else tuple(1024 * s for s in sizes)
        _core._set_cache_sizes(*cache)
        row = [gflops(lambda: _core.matmul(a, b, c, args.threads, kernel="eigen"), *shape)
               for (a, b, c), shape in zip(operands, SHAPES)]
        print(f"{'Eigen, ' + name:<24}" + "".join(f"{v:>15.1f}" for v in row))
    _core._set_cache_sizes(*tuned)
    if _core.build_info["sgemm"]:
        row = [gflops(lambda: _core.matmul(a, b, c, args.threads, kernel="sgemm"), *shape)
               for (a, b, c), shape in zip(operands, SHAPES)]
        print(f"{'fastae sgemm':<24}" + "".join(f"{v:>15.1f}" for v in row))
    row = [gflops(lambda: np.matmul(a, b, out=c), *shape) for (a, b, c), shape in zip(operands, SHAPES)]
    print(f"{'NumPy BLAS':<24}" + "".join(f"{v:>15.1f}" for v in row))


if __name__ == "__main__":
    main()
