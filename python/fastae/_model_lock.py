"""One model, many threads: inference calls run together (each has its own C++ workspace), a
call that trains or replaces the weights runs alone (the trainer's workspace and the weights are
shared). The thread that trains may itself run inference (validation, callbacks) meanwhile.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable, TypeVar

__all__ = ["reads_model", "writes_model"]

F = TypeVar("F", bound=Callable[..., Any])


class ModelLock:
    """A readers-writer lock whose writer may also read and write again (re-entrant)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer: Any = None  # the thread that writes
        self._depth = 0

    def acquire(self, write: bool) -> None:
        me = threading.get_ident()
        with self._cond:
            if self._writer == me:  # the writer reads or writes again
                self._depth += 1
                return
            if write:
                self._cond.wait_for(lambda: self._writer is None and self._readers == 0)
                self._writer, self._depth = me, 1
            else:
                self._cond.wait_for(lambda: self._writer is None)
                self._readers += 1

    def release(self, write: bool) -> None:
        with self._cond:
            if self._writer == threading.get_ident():
                self._depth -= 1
                if self._depth == 0:
                    self._writer = None
                    self._cond.notify_all()
                return
            self._readers -= 1
            if self._readers == 0:
                self._cond.notify_all()


_CREATE = threading.Lock()  # makes each model's lock exactly once


def _lock_of(model: Any) -> ModelLock:
    lock = model.__dict__.get("_model_lock")
    if lock is None:
        with _CREATE:
            lock = model.__dict__.setdefault("_model_lock", ModelLock())
    return lock


def _locked(write: bool) -> Callable[[F], F]:
    def decorate(method: F) -> F:
        @functools.wraps(method)
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            lock = _lock_of(self)
            lock.acquire(write)
            try:
                return method(self, *args, **kwargs)
            finally:
                lock.release(write)
        return run  # type: ignore[return-value]
    return decorate


reads_model = _locked(write=False)
writes_model = _locked(write=True)
