"""Pin a benchmark process to a number of cores, before NumPy or any framework starts threads
(a thread pool keeps the core affinity it started with)."""

import os
import sys


def pin_to_cores(threads: int) -> None:
    """Limit this process to `threads` cores and tell every threading library the same."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    if threads == 1:
        os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, set(cores[:threads]))


def pin_if_child(threads_position: int) -> None:
    """In a `--child ...` subprocess, pin to the thread count at that position after --child."""
    if "--child" in sys.argv:
        pin_to_cores(int(sys.argv[sys.argv.index("--child") + threads_position]))
