"""A short buffer of recent frames by stamp, so an operator's box applies to the frame they saw."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class FrameHistory:
    """The last ``size`` frames (any objects: arrays or image messages) keyed by stamp in nanoseconds.

    Thread-safe: the camera callback adds while a service looks frames up.
    """

    def __init__(self, size: int = 30) -> None:
        self.size = size
        self._frames: OrderedDict[int, Any] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, stamp_ns: int, frame: Any) -> None:
        with self._lock:
            self._frames[stamp_ns] = frame
            self._frames.move_to_end(stamp_ns)
            while len(self._frames) > self.size:
                self._frames.popitem(last=False)

    def latest(self) -> tuple[int, Any] | None:
        """Newest (stamp, frame), or None before the first frame."""
        with self._lock:
            if not self._frames:
                return None
            stamp = next(reversed(self._frames))
            return stamp, self._frames[stamp]

    def get(self, stamp_ns: int) -> Any | None:
        """The frame with exactly this stamp, if still buffered."""
        with self._lock:
            return self._frames.get(stamp_ns)
