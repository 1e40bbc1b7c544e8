"""The thread policy of n_threads=None: a team chosen before each epoch from the cores this
process may use, how many of them other processes keep busy right now, and the work of a step.

Training threads meet at barriers several times per step, so one thread that the OS deschedules
for another process stalls all of them: on a 2-core machine with one other busy process, a
2-thread epoch took 5x as long as a 1-thread one. The default therefore counts the threads of
other processes that are runnable now (Linux: /proc/loadavg's running count less this process's
own running threads; the least of three reads, so a passing process is not counted) and leaves
their cores to them. A fixed ``n_threads`` is used as given: that is what keeps results bitwise
reproducible, since a different team rounds differently.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Iterator, Optional, Sequence

__all__ = ["usable_cores", "busy_elsewhere", "training_team", "thread_budget", "budget"]

_BUDGET = threading.local()  # this thread's cap on a call's team (fastae.dask's tasks share a worker's cores)


@contextlib.contextmanager
def thread_budget(n: int) -> Iterator[None]:
    """Calls made by this thread within the block use at most n threads (results do not change:
    inference does not depend on the team)."""
    previous = getattr(_BUDGET, "n", None)
    _BUDGET.n = n
    try:
        yield
    finally:
        _BUDGET.n = previous


def budget() -> Optional[int]:
    """This thread's cap on a call's team (None: none)."""
    return getattr(_BUDGET, "n", None)

# A thread pays for its share of a step's barriers with either this many multiply-adds or this
# many batch rows (measured on an idle 2-core machine, 1 vs 2 threads, epochs of 20,000 rows:
# 10-16-4 and 20-32-8 at batch 32 (43k, 172k multiply-adds a step) 0.6x, 50-32-16 (406k) 0.94x,
# 100-64-32 (1.6M) 1.02x, 30-4 at batch 256 (184k) 1.39x). Smaller steps use fewer threads.
MIN_STEP_FLOPS_PER_THREAD = 800_000
MIN_ROWS_PER_THREAD = 128
LOADAVG = "/proc/loadavg"
# A step of at least this many multiply-adds runs on every usable core even while other processes
# keep some busy: its phases between barriers are long against the OS's time slices, so the
# extra thread's share of the cores outweighs its stalls (benchmarks/bench_contention.py, 2 cores,
# 2 busy processes: 784-1024-256 at batch 512 (3.3G a step) 6.7k samples/s on 2 threads against
# 5.8k on 1; 784-128-64 at batch 256 (167M) 33k against 37k).
SHARED_STEP_FLOPS = 1_000_000_000


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _running_here() -> int:
    """Threads of this process that are running or runnable now (at least this one)."""
    count = 0
    try:
        for task in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{task}/stat", "rb") as f:
                    state = f.read().rsplit(b")", 1)[1].split()[0]  # the field after "(name)"
            except (OSError, IndexError):
                continue
            count += state == b"R"
    except OSError:
        return 1
    return max(count, 1)


def busy_elsewhere() -> int:
    """How many threads of other processes are running now (0 where the OS does not say)."""
    least = None
    for _ in range(3):
        try:
            with open(LOADAVG, "rb") as f:
                running = int(f.read().split()[3].split(b"/")[0])  # "0.5 0.4 0.3 3/250 1234": 3 runnable
        except (OSError, IndexError, ValueError):
            return 0
        others = max(running - _running_here(), 0)
        least = others if least is None else min(least, others)
    return least or 0


def training_team(layer_sizes: Sequence[int], batch_rows: int) -> int:
    """The team for a training epoch under n_threads=None: the usable cores less those other
    processes keep busy (unless the step is long enough to share them), and no more threads than
    the step has work for (at least one)."""
    cores = usable_cores()
    flops = 3 * batch_rows * sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))  # forward + 2 backward products
    free = cores if flops >= SHARED_STEP_FLOPS else cores - busy_elsewhere()
    by_work = max(1, flops // MIN_STEP_FLOPS_PER_THREAD, batch_rows // MIN_ROWS_PER_THREAD)
    return max(1, min(cores, free, by_work))
