"""What fit prints: verbose=1, a live line per epoch updated from the C++ loop; verbose=2, one
line per epoch once it ends."""

from __future__ import annotations

import sys
import time
from typing import Any, Dict, Optional, TextIO


def _is_live(stream: Any) -> bool:
    """Whether `stream` can redraw a line with carriage returns (a terminal or a notebook)."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):
        return False
    return "ipykernel" in sys.modules


def _count(n: float) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.1f}k" if n >= 1e4 else f"{n:.0f}"


class ProgressLine:
    """Prints training progress to `stream` (default: sys.stdout at the time of the call)."""

    min_interval = 0.25  # seconds between redraws of the live line
    hook_seconds = 0.1  # how often the C++ loop stops at a batch boundary to call update (and check Ctrl-C)

    def __init__(self, verbose: int, first_epoch: int, last_epoch: int, n_rows: int,
                 stream: Optional[TextIO] = None):
        self.stream = sys.stdout if stream is None else stream
        self.live = verbose == 1 and _is_live(self.stream)
        self.last_epoch, self.n_rows = last_epoch, n_rows
        self.epoch = first_epoch
        self._width = 0

    def begin_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self._started = self._drawn = time.perf_counter()

    def update(self, rows_done: int, mean_loss: float) -> None:
        """Called from the C++ loop a few times a second: redraw the live line."""
        now = time.perf_counter()
        if not self.live or now - self._drawn < self.min_interval:
            return
        self._drawn = now
        elapsed = now - self._started
        rate = rows_done / elapsed if elapsed > 0 else 0.0
        eta = (self.n_rows - rows_done) / rate if rate > 0 else 0.0
        done = rows_done / self.n_rows
        bar = "=" * int(done * 20)
        self._draw(f"{self._prefix()}  [{bar:<20}] {rows_done}/{self.n_rows}  loss {mean_loss:.6g}"
                   f"  {_count(rate)} samples/s  ETA {eta:.1f}s", end="")

    def end_epoch(self, logs: Dict[str, float]) -> None:
        parts = [self._prefix(), f"loss {logs['loss']:.6g}"]
        if "val_loss" in logs:
            parts.append(f"val_loss {logs['val_loss']:.6g}")
        parts += [f"lr {logs['lr']:.3g}", f"{logs['seconds']:.2f}s", f"{_count(self.n_rows / max(logs['seconds'], 1e-9))} samples/s"]
        self._draw("  ".join(parts), end="\n")

    def interrupted(self) -> None:
        if self.live and self._width:
            self._draw(f"{self._prefix()}  interrupted; the model keeps the weights of the last complete epoch", end="\n")

    def _prefix(self) -> str:
        return f"epoch {self.epoch + 1}/{self.last_epoch}"

    def _draw(self, text: str, end: str) -> None:
        if self.live:  # overwrite the previous live line, padding over what is left of it
            text = "\r" + text + " " * max(0, self._width - len(text))
            self._width = 0 if end else len(text) - 1
        self.stream.write(text + end)
        self.stream.flush()
