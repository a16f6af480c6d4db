"""Several targets at once: one :class:`TrackingSession` per target id, stepped together on each frame.

Each target has its own tracker (``Tracker.spawn`` of the first, sharing its loaded network), lost/recovered
monitor and global search, so the lost and re-acquisition logic applies per target. When every tracker shares a
runner that takes batches (``siamese.shared_batch_runner``: the ONNX backend with a ``--dynamic-batch`` search
graph), one search pass serves all targets; other trackers (torch, OpenCV, ...) step one target after another.
A target whose frame fails is dropped and reported; the others go on.

``max_targets`` 1 is the single-target tracker: a new id replaces the tracked target. With more, a new id adds a
target while there is room, and a known id re-targets that target.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from asymtrack_ros.boxes import Box
from asymtrack_ros.tracking.base import Tracker, TrackResult
from asymtrack_ros.tracking.fusion import FusedTracker
from asymtrack_ros.tracking.monitor import LostPolicy, TrackState
from asymtrack_ros.tracking.session import FrameOutcome, TrackingSession
from asymtrack_ros.tracking.siamese import shared_batch_runner, track_together

LOGGER = logging.getLogger(__name__)
MAX_TARGETS_LIMIT = 16  # upper bound of max_targets: each target costs one search crop per frame


class TargetError(ValueError):
    """A target request that cannot be carried out (unknown id, no room, a tracker that tracks one target)."""


@dataclass(frozen=True)
class TargetFailure:
    """A target dropped on a frame that its tracking failed on, and why."""

    target_id: str
    reason: str


@dataclass(frozen=True)
class TargetsStep:
    """One frame of every target: outcomes in the order the targets were added, the targets dropped on it, and
    whether one batched search pass served them."""

    outcomes: tuple[FrameOutcome, ...]
    failures: tuple[TargetFailure, ...] = ()
    batched: bool = False


def batch_network(tracker: Tracker) -> Tracker:
    """The part of ``tracker`` whose search can run batched: a fused tracker's network, else the tracker itself."""
    return tracker.network if isinstance(tracker, FusedTracker) else tracker


def validate_max_targets(value: int) -> int:
    """``value`` if it lies in 1..:data:`MAX_TARGETS_LIMIT` (ValueError otherwise)."""
    if not 1 <= value <= MAX_TARGETS_LIMIT:
        raise ValueError(f"max_targets must be in 1..{MAX_TARGETS_LIMIT}, got {value}")
    return value


class TargetSet:
    """Add, re-target, remove and step the tracked targets, keyed by id (see the module docstring).

    ``tracker`` serves the first target and is the one that reports the device and takes run-time settings.
    ``batch`` False steps one target after another even where one batched pass could serve them (comparisons).
    """

    def __init__(self, tracker: Tracker, policy: LostPolicy, max_targets: int = 1, batch: bool = True) -> None:
        self.tracker = tracker
        self.max_targets = validate_max_targets(max_targets)
        self._batch = batch
        self._policy = policy
        self._sessions: dict[str, TrackingSession] = {}
        self._spare: list[Tracker] = [tracker]

    @property
    def ids(self) -> tuple[str, ...]:
        """The tracked target ids, in the order they were added."""
        return tuple(self._sessions)

    @property
    def states(self) -> dict[str, TrackState]:
        """The state of each tracked target, in the order they were added."""
        return {target_id: session.state for target_id, session in self._sessions.items()}

    @property
    def batches(self) -> bool:
        """True when the targets are searched for in one pass."""
        return self._batch and shared_batch_runner([batch_network(self.tracker)]) is not None

    def set(self, image: np.ndarray, box: Box, target_id: str) -> None:
        """Start ``target_id`` on ``box`` of ``image``: re-targets a tracked id, else adds a target (see the module
        docstring). TargetError: no room or no tracker for it; ValueError from the tracker (a bad box): nothing
        changed."""
        if not target_id:
            raise TargetError("a target needs a non-empty id")
        if target_id in self._sessions:
            self._sessions[target_id].start(image, box, target_id)
        elif self.max_targets == 1 and self._sessions:
            (session,) = self._sessions.values()
            session.start(image, box, target_id)
            self._sessions = {target_id: session}
        else:
            self._add(image, box, target_id)

    def remove(self, target_id: str) -> None:
        """Stop tracking ``target_id`` (TargetError when it is not tracked)."""
        session = self._sessions.pop(target_id, None)
        if session is None:
            raise TargetError(f"no target {target_id!r} is tracked (tracked: {', '.join(self.ids) or 'none'})")
        session.stop()
        self._spare.append(session.tracker)

    def clear(self) -> None:
        """Stop tracking every target."""
        for target_id in self.ids:
            self.remove(target_id)

    def set_policy(self, policy: LostPolicy) -> None:
        """Use ``policy`` for every target from the next frame on (validated; ValueError leaves the current one)."""
        for session in self._sessions.values():
            session.set_policy(policy)
        self._policy = policy

    def step(self, image: np.ndarray, scan: bool = True) -> TargetsStep:
        """Track every target on ``image``; a target whose tracking fails is dropped and listed in ``failures``.
        ``scan``: whether the sessions may run their optional distractor scan (:meth:`TrackingSession.step`)."""
        failures: list[TargetFailure] = []
        ready: list[TrackingSession] = []
        for target_id, session in self._sessions.items():
            try:
                session.check_frame(image)
                ready.append(session)
            except Exception as error:  # one target's failure must not stop the others
                failures.append(TargetFailure(target_id, str(error)))
        tracked = self._track_together(image, ready)
        outcomes = []
        for session in ready:
            try:
                outcomes.append(session.step(image, tracked.get(session.target_id), scan))
            except Exception as error:  # one target's failure must not stop the others
                failures.append(TargetFailure(session.target_id, str(error)))
        for failure in failures:
            self.remove(failure.target_id)
        return TargetsStep(tuple(outcomes), tuple(failures), batched=bool(tracked))

    def _add(self, image: np.ndarray, box: Box, target_id: str) -> None:
        if len(self._sessions) >= self.max_targets:
            raise TargetError(f"{len(self._sessions)} targets are tracked, max_targets is {self.max_targets}: "
                              f"remove one ({', '.join(self.ids)}) or re-target a tracked id")
        tracker = self._spare.pop() if self._spare else self._spawn()
        session = TrackingSession(tracker, self._policy)
        try:
            session.start(image, box, target_id)
        except Exception:
            self._spare.append(tracker)
            raise
        self._sessions[target_id] = session

    def _spawn(self) -> Tracker:
        try:
            return self.tracker.spawn()
        except NotImplementedError as error:
            raise TargetError(f"{error}: set max_targets 1") from error

    def _track_together(self, image: np.ndarray, sessions: Sequence[TrackingSession]) -> dict[str, TrackResult]:
        """The trackers' results of one batched search pass, by target id; empty when they do not batch (or the
        pass failed: each target then tracks on its own, and a failure is reported for the target it concerns)."""
        trackers = [session.tracker for session in sessions]
        networks = [batch_network(tracker) for tracker in trackers]
        if not self._batch or len(sessions) < 2 or shared_batch_runner(networks) is None:
            return {}
        for tracker in trackers:
            if isinstance(tracker, FusedTracker):
                tracker.start_local(image)  # the local trackers update while the batched pass runs
        try:
            found = track_together(networks, image, [session.search_scale for session in sessions])
        except Exception as error:  # fall back to one pass per target, which reports per target
            LOGGER.warning("batched search of %d targets failed, tracking them one by one: %s", len(sessions), error)
            return {}
        results = [tracker.track_with(image, result) if isinstance(tracker, FusedTracker) else result
                   for tracker, result in zip(trackers, found, strict=True)]
        return {session.target_id: result for session, result in zip(sessions, results, strict=True)}
