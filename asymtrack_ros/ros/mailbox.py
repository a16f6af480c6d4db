"""A one-slot mailbox: the newest message wins, replaced ones are counted as dropped."""

from __future__ import annotations

import threading
from typing import Any


class LatestMailbox:
    """Producer callbacks ``put`` without blocking; one consumer ``take``s the newest item."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._item: tuple[Any, float] | None = None
        self.dropped = 0

    def put(self, message: Any, received: float) -> None:
        with self._condition:
            if self._item is not None:
                self.dropped += 1
            self._item = (message, received)
            self._condition.notify()

    def take(self, timeout: float) -> tuple[Any, float] | None:
        """The waiting (message, receive time), or None after ``timeout`` seconds."""
        with self._condition:
            if self._item is None:
                self._condition.wait(timeout)
            item, self._item = self._item, None
            return item
