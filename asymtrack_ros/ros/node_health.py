"""What went wrong in the tracker node, kept apart by kind so each clears on its own terms.

- a backend that failed to start: permanent, the node reports ERROR until restarted;
- a tracking error (a target that failed to start or a frame that failed while tracking): the
  target is dropped and ERROR is reported until the next target starts or ``~/reset``;
- an unexpected exception while processing one frame or request: counted, ERROR for a few seconds;
- bad input (malformed or oversized images): counted, WARN for a few seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

RECENT_SECONDS = 5.0


@dataclass
class ProblemCounter:
    """How often one kind of problem happened, and the latest one."""

    count: int = 0
    text: str = ""
    time: float = -math.inf

    def report(self, text: str, now: float) -> None:
        self.count += 1
        self.text, self.time = text, now

    def recent(self, now: float) -> bool:
        return now - self.time < RECENT_SECONDS


@dataclass
class NodeHealth:
    """The node's problems; ``summary`` picks the one diagnostics and status should show."""

    backend_error: str = ""
    tracking_error: str = ""
    bad_input: ProblemCounter = field(default_factory=ProblemCounter)
    internal: ProblemCounter = field(default_factory=ProblemCounter)

    def summary(self, now: float) -> tuple[str, str]:
        """(level, text) of the most serious current problem: ERROR, WARN, or ("OK", "")."""
        if self.backend_error:
            return "ERROR", self.backend_error
        if self.tracking_error:
            return "ERROR", self.tracking_error
        if self.internal.recent(now):
            return "ERROR", f"internal error: {self.internal.text}"
        if self.bad_input.recent(now):
            return "WARN", f"bad input: {self.bad_input.text}"
        return "OK", ""
