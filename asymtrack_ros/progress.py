"""A dependency-free progress line on stderr: redrawn in place on a terminal, printed now and then otherwise."""

from __future__ import annotations

import datetime
import shutil
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO


class Progress:
    """Counts finished steps out of ``total``; use as a context manager and call :meth:`advance` per step.

    On a terminal the line is redrawn after every step (``\\r``); elsewhere (logs, pipes) a line is written
    at most every ``interval_s`` seconds, and always for the last step.
    """

    def __init__(
        self,
        total: int,
        label: str,
        stream: TextIO | None = None,
        interval_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.label, self.done = total, label, 0
        self.stream = sys.stderr if stream is None else stream
        self.interactive = self.stream.isatty()
        self.interval_s, self._clock = interval_s, clock
        self._start = clock()
        self._last_written = -float("inf")

    def __enter__(self) -> Progress:
        if self.interactive:
            self._redraw(self.line())
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.interactive and self.done < self.total:
            self.stream.write("\n")  # keep the interrupted line visible
            self.stream.flush()

    def advance(self, detail: str = "") -> None:
        """One more step done; ``detail`` (what was just finished) ends the line."""
        self.done += 1
        now, last = self._clock(), self.done >= self.total
        if self.interactive:
            self._redraw(self.line(detail), end="\n" if last else "")
        elif last or now - self._last_written >= self.interval_s:
            self.stream.write(self.line(detail) + "\n")
            self.stream.flush()
            self._last_written = now

    def line(self, detail: str = "") -> str:
        """``label: done/total (percent) elapsed, left | detail``."""
        elapsed = self._clock() - self._start
        share = self.done / self.total if self.total else 1.0
        left = f"{_clock_time(elapsed / self.done * (self.total - self.done))} left" if self.done else "? left"
        text = f"{self.label}: {self.done}/{self.total} ({share:.0%}) {_clock_time(elapsed)} elapsed, {left}"
        return f"{text} | {detail}" if detail else text

    def _redraw(self, line: str, end: str = "") -> None:
        width = shutil.get_terminal_size().columns - 1  # a wrapped line could not be redrawn in place
        self.stream.write("\r\x1b[K" + line[:width] + end)
        self.stream.flush()


def _clock_time(seconds: float) -> str:
    return str(datetime.timedelta(seconds=round(seconds)))
