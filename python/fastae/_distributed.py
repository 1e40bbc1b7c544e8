"""Data-parallel training over MPI: one model trained by the ranks of a communicator, each rank
passing its own rows, with the semantics of one process holding every row (the ranks' rows
concatenated in rank order). batch_size is the global batch; each epoch's shuffle is one seeded
permutation of the global rows (train_epoch's own shuffle, so the same as one process's); in
each step every rank computes the gradient over its rows of the global batch (each scaled by
the global batch), one Allreduce sums the gradient buffer across the ranks, and every rank
clips and updates alike. The epoch's losses, the validation loss and whether to stop are global:
every rank holds the same weights and the same history. Needs mpi4py (``fastae[mpi]``).
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from . import _core

__all__ = ["DataParallel", "agree", "check_communicator"]

# The statuses of a step, largest first wins: rank r's failure is reported as r + 1.
FINE = 0.0


class DataParallel:
    """The ranks of `comm` training one model; this rank holds n_local rows."""

    def __init__(self, comm: Any, n_local: int):
        from mpi4py import MPI

        self.MPI = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        counts: List[int] = comm.allgather(int(n_local))  # once: every rank's row count
        self.offset = sum(counts[:self.rank])  # this rank's first row in the global order
        self.n_local, self.n_global = int(n_local), sum(counts)
        self.train_rows = np.arange(self.n_global, dtype=np.int64)  # the global rows the epochs train on
        self._status = np.zeros(1)

    def train_on(self, rows: np.ndarray) -> None:
        """Train on these global rows alone (sorted; the rest are validation rows)."""
        self.train_rows = np.asarray(rows, dtype=np.int64)

    def local(self, rows: np.ndarray) -> np.ndarray:
        """The global rows (sorted) that this rank holds, as indices into its X."""
        rows = np.asarray(rows, dtype=np.int64)
        return rows[(rows >= self.offset) & (rows < self.offset + self.n_local)] - self.offset

    def steps(self, batch_size: int, shuffle: bool,
              rng_state: int) -> Tuple[Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], int]:
        """((rows, keys, step_ends, step_rows) of this rank for one epoch, the next rng state): the
        global training rows shuffled as train_epoch shuffles them, cut into global batches."""
        n = len(self.train_rows)
        if shuffle:  # train_epoch's shuffle of its rows: the same permutation of positions
            permutation, rng_state = _core.shuffled_order(n, rng_state)
            order = self.train_rows[permutation]
        else:
            order = self.train_rows
        batch = min(batch_size, n)
        step_of = np.arange(n, dtype=np.int64) // batch  # the global step of each position
        n_steps = int(step_of[-1]) + 1
        mine = (order >= self.offset) & (order < self.offset + self.n_local)
        keys = np.ascontiguousarray(order[mine])  # global indices: the counter RNG's keys
        rows = keys - self.offset  # indices into this rank's X
        step_ends = np.cumsum(np.bincount(step_of[mine], minlength=n_steps)).astype(np.int64)
        step_rows = np.bincount(step_of, minlength=n_steps).astype(np.int64)
        return (rows, keys, step_ends, step_rows), rng_state

    def reduce(self, gradient: np.ndarray, status: float) -> float:
        """Sum the gradient across the ranks in place (one Allreduce of the whole buffer), and
        return the largest status: 0 when every rank is fine, else 1 + the highest failing rank."""
        self.comm.Allreduce(self.MPI.IN_PLACE, gradient, op=self.MPI.SUM)
        self._status[0] = self.rank + 1.0 if status != FINE else FINE
        self.comm.Allreduce(self.MPI.IN_PLACE, self._status, op=self.MPI.MAX)
        return float(self._status[0])

    def add(self, values: np.ndarray) -> None:
        """values (float64) summed over the ranks in place: a step's observed count with missing
        values, the code's batch means with the KL sparsity penalty."""
        self.comm.Allreduce(self.MPI.IN_PLACE, values, op=self.MPI.SUM)

    def total(self, values: Sequence[float]) -> np.ndarray:
        """values summed over the ranks (float64)."""
        return self._reduced(values, self.MPI.SUM)

    def agree(self, error: Optional[BaseException], what: str) -> None:
        agree(self.comm, error, what)

    def minimum(self, values: np.ndarray) -> np.ndarray:
        """values' elementwise minimum over the ranks."""
        return self._reduced(values, self.MPI.MIN)

    def maximum(self, values: np.ndarray) -> np.ndarray:
        """values' elementwise maximum over the ranks."""
        return self._reduced(values, self.MPI.MAX)

    def _reduced(self, values: Any, op: Any) -> np.ndarray:
        """A float64 copy of values, reduced elementwise with `op` over the ranks."""
        out = np.asarray(values, dtype=np.float64).copy()
        self.comm.Allreduce(self.MPI.IN_PLACE, out, op=op)
        return out

    def broadcast(self, value: Any) -> Any:
        """Rank 0's value, on every rank."""
        return self.comm.bcast(value, root=0)


def agree(comm: Any, error: Optional[BaseException], what: str) -> None:
    """Every rank of comm learns whether any rank failed `what`; a failing rank raises its own error
    with its rank number, every other rank a RuntimeError naming the first failing rank."""
    failures = comm.allgather(None if error is None else (type(error).__name__, str(error)))
    if error is not None:
        raise type(error)(f"rank {comm.Get_rank()}: {error}") from error
    for rank, failure in enumerate(failures):
        if failure is not None:
            kind, message = failure
            raise RuntimeError(f"{what}: rank {rank} failed ({kind}: rank {rank}: {message}); every rank stopped")


def check_communicator(comm: Any) -> None:
    """Refuse a comm that is not an mpi4py communicator, by name."""
    if not (hasattr(comm, "Allreduce") and hasattr(comm, "Get_rank") and hasattr(comm, "allgather")):
        raise TypeError(f"comm: expected an mpi4py communicator (from mpi4py import MPI; comm=MPI.COMM_WORLD), "
                        f"got {type(comm).__name__}")
