"""One tracked target over time: a Tracker plus the lost/recovered monitor and, while LOST, the global search."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asymtrack_ros.boxes import Box, as_box
from asymtrack_ros.tracking.appearance import TargetCheck
from asymtrack_ros.tracking.base import NotInitializedError, Tracker, TrackResult
from asymtrack_ros.tracking.monitor import LostPolicy, TargetMonitor, TrackState
from asymtrack_ros.tracking.redetection import Candidate, GlobalSearch, RegionSearch


@dataclass(frozen=True)
class FrameOutcome:
    """What one frame produced: the state, the confidence, and the box while the target is visible.

    ``score`` is the published confidence: the tracker's own score (if it has one) capped by the tracker's
    target check of the box (``Tracker.target_check``: the appearance similarity to the initial target,
    ``appearance.py``, or the model's learned verifier, ``verification.py``).
    """

    state: TrackState
    target_id: str
    result: TrackResult | None
    score: float = 0.0

    @property
    def box(self) -> Box | None:
        return self.result.box if self.result is not None and self.state == TrackState.TRACKING else None


class TrackingSession:
    """Start, step and stop tracking one target.

    While LOST the search region widens around the last confidently tracked box: a low-score
    prediction never drags the search region away from where the target was last seen. Trackers that
    can search given regions (:class:`RegionSearch`, with ``redetection`` enabled) also search the whole
    frame while LOST (``redetection.py``): a candidate moves the tracker there, and the tracker follows
    it while its score stays at or above ``recover_score``, until the monitor confirms it (TRACKING) or
    the score drops (back to the last confident box).
    """

    def __init__(self, tracker: Tracker, policy: LostPolicy) -> None:
        self.tracker = tracker
        self.monitor = TargetMonitor(policy)
        self.target_id = ""
        self._anchor: Box | None = None
        self._check: TargetCheck | None = None
        self._frame_size: tuple[int, int] = (0, 0)
        self._global: GlobalSearch | None = None
        if isinstance(tracker, RegionSearch) and tracker.redetection.enabled:
            self._global = GlobalSearch(tracker, tracker.redetection)
        self._following = False

    @property
    def state(self) -> TrackState:
        return self.monitor.state

    def start(self, image: np.ndarray, box: Box, target_id: str) -> None:
        """Initialise on ``box`` (validated by the tracker; raises ValueError, state unchanged)."""
        self.tracker.initialize(image, box)
        self._check = self.tracker.target_check(image, box)
        self._frame_size = (image.shape[0], image.shape[1])
        self.target_id, self._anchor = target_id, as_box(box)
        self.monitor.start()
        self._reset_search()

    def set_policy(self, policy: LostPolicy) -> None:
        """Use ``policy`` from the next frame on (validated; ValueError leaves the current one)."""
        self.monitor.set_policy(policy)

    def stop(self) -> None:
        self.monitor.stop()
        self.target_id, self._anchor = "", None
        self._reset_search()

    def check_frame(self, image: np.ndarray) -> None:
        """ValueError when the frame size differs from the first frame's; NotInitializedError before ``start``."""
        self._ready(image)

    def _ready(self, image: np.ndarray) -> tuple[TargetCheck, Box]:
        """The target check and anchor box, once ``image`` passed :meth:`check_frame`."""
        if (image.shape[0], image.shape[1]) != self._frame_size:
            height, width = self._frame_size
            raise ValueError(f"the image size changed from {width}x{height} to {image.shape[1]}x{image.shape[0]}")
        if self._check is None or self._anchor is None:
            raise NotInitializedError()
        return self._check, self._anchor

    def step(self, image: np.ndarray, tracked: TrackResult | None = None) -> FrameOutcome:
        """Track one frame (IDLE: nothing to do); raises as :meth:`check_frame`. ``tracked``: the tracker's result on
        this frame when the caller ran it already (``tracker.track`` at ``monitor.search_scale``, e.g. batched)."""
        if self.monitor.state == TrackState.IDLE:
            return FrameOutcome(TrackState.IDLE, "", None)
        appearance, anchor = self._ready(image)
        was_lost = self.monitor.state == TrackState.LOST
        result = tracked if tracked is not None else self.tracker.track(image, search_scale=self.monitor.search_scale)
        similarity = appearance.similarity(image, result.box)
        score = similarity if result.score is None else min(result.score, similarity)
        if was_lost and not self._following and score < self.monitor.policy.recover_score:
            candidate = self._search_globally(image, anchor, appearance)
            if candidate is not None:
                result, score, self._following = candidate.result, candidate.score, True
                self.tracker.relocate(image, result.box)
        state = self.monitor.update(score)
        if state == TrackState.TRACKING:
            self._reset_search()
            if score >= self.monitor.policy.lost_score:
                self._anchor = result.box
        elif state == TrackState.LOST:
            self._following = self._following and score >= self.monitor.policy.recover_score
            if not self._following:
                self.tracker.reposition(anchor)
        return FrameOutcome(state, self.target_id, result, score)

    def _search_globally(self, image: np.ndarray, anchor: Box, appearance: TargetCheck) -> Candidate | None:
        """A global-search candidate on this LOST frame, if one is due and found (see ``redetection.py``)."""
        if self._global is None or not self._global.due():
            return None
        return self._global.search(image, anchor, appearance, self.monitor.policy.recover_score)

    def _reset_search(self) -> None:
        self._following = False
        if self._global is not None:
            self._global.reset()
