"""Mailboxes between callbacks and the worker: the newest message wins, replaced ones are counted as dropped."""

from __future__ import annotations

import threading
from collections.abc import Hashable
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


class KeyedMailbox:
    """Pending items by key, for one consumer that takes them all at once; producers never block.

    Per key the newest item wins; at most ``capacity`` keys wait. Replaced items are counted as dropped.
    """

    def __init__(self, capacity: int) -> None:
        self._lock = threading.Lock()
        self._items: dict[Hashable, Any] = {}
        self.capacity = capacity
        self.dropped = 0

    def put(self, key: Hashable, item: Any, exclusive: bool = False) -> bool:
        """Park ``item`` under ``key`` (``exclusive``: in place of every waiting item); False, nothing parked, when
        ``capacity`` other keys wait."""
        with self._lock:
            if exclusive:
                self.dropped += len(self._items)
                self._items.clear()
            elif key in self._items:
                self.dropped += 1
                del self._items[key]
            elif len(self._items) >= self.capacity:
                return False
            self._items[key] = item
            return True

    def keys(self) -> tuple[Hashable, ...]:
        with self._lock:
            return tuple(self._items)

    def discard(self, key: Hashable) -> bool:
        """Withdraw the item waiting under ``key``; True if there was one."""
        with self._lock:
            return self._items.pop(key, None) is not None

    def take_all(self) -> list[Any]:
        """Every waiting item, oldest key first (the mailbox is then empty)."""
        with self._lock:
            items, self._items = list(self._items.values()), {}
            return items
