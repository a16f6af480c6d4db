"""A short buffer of recent frames by stamp, so an operator's box applies to the frame they saw."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np


class FrameHistory:
    """The last ``size`` frames keyed by stamp (integer nanoseconds)."""

    def __init__(self, size: int = 30) -> None:
        self.size = size
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()

    def add(self, stamp_ns: int, image: np.ndarray) -> None:
        self._frames[stamp_ns] = image
        self._frames.move_to_end(stamp_ns)
        while len(self._frames) > self.size:
            self._frames.popitem(last=False)

    def latest(self) -> tuple[int, np.ndarray] | None:
        """Newest (stamp, frame), or None before the first frame."""
        if not self._frames:
            return None
        stamp = next(reversed(self._frames))
        return stamp, self._frames[stamp]

    def get(self, stamp_ns: int) -> np.ndarray | None:
        """The frame with exactly this stamp, if still buffered."""
        return self._frames.get(stamp_ns)

    def clear(self) -> None:
        self._frames.clear()
