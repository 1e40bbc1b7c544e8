"""Pin a benchmark process to a number of cores, before NumPy or any framework starts threads
(a thread pool keeps the core affinity it started with)."""

import os
import sys
from typing import Optional, Sequence


def pin_to_cores(threads: int, cores: Optional[Sequence[int]] = None) -> None:
    """Limit this process to `threads` cores (the first it may run on, unless `cores` names them)
    and tell every threading library the same."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    if threads == 1:
        os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    if hasattr(os, "sched_setaffinity"):
        chosen = cores if cores is not None else sorted(os.sched_getaffinity(0))[:threads]
        os.sched_setaffinity(0, set(chosen))


def pin_if_child(threads_position: int, flag: str = "--child") -> None:
    """In a `<flag> ...` subprocess, pin to the thread count at that position after the flag."""
    if flag in sys.argv:
        pin_to_cores(int(sys.argv[sys.argv.index(flag) + threads_position]))
