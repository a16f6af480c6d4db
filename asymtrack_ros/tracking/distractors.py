"""Distractor memory: the look-alikes seen while the target was tracked, so that a re-detection is not one of them.

A re-detection check that compares a candidate with the target alone confirms a look-alike that resembles the
target more than the returning target resembles its earlier self: another face, another walker, a recoloured copy.
While the target is tracked confidently, the session scans the frame round robin (the crops of the LOST global
search, ``redetection.FrameGrid``, every ``distractor_scan_every``-th confident frame) and remembers the look
(``TargetCheck.look``) of the best hit that does not overlap the target and that the target check finds alike: it
is not the target, which is where it is tracked. While LOST, a candidate then competes with them (DaSiamRPN's
distractor-aware matching, in its simplest form): its score is capped by the probability that it is the target
rather than the remembered look-alike it resembles most (:func:`target_posterior`), so a box as much like a
look-alike as like the target is not confirmed.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from asymtrack_ros.boxes import Box, box_iou
from asymtrack_ros.tracking.appearance import TargetCheck
from asymtrack_ros.tracking.redetection import (
    REFINE_SCORE,
    FrameGrid,
    RedetectionSettings,
    RegionSearch,
    best_hit,
    due,
)

MEMORY_SIZE = 16  # looks; the oldest is forgotten first


def target_posterior(target: float, other: float) -> float:
    """P(the box is the target | it is the target or the other object), from the check's probabilities that it is
    each, taken as independent: ``t (1 - o) / (t (1 - o) + o (1 - t))``; 0.5 when both are certain or both nil."""
    for_target, for_other = target * (1.0 - other), other * (1.0 - target)
    total = for_target + for_other
    return 0.5 if total <= 0.0 else for_target / total


class DistractorMemory:
    """The looks of the look-alikes of one target (module docstring)."""

    def __init__(self, searcher: RegionSearch, settings: RedetectionSettings) -> None:
        self.searcher = searcher
        self.every = settings.distractor_scan_every
        self._grid = FrameGrid(searcher, settings.global_search_overlap, settings.global_search_crops)
        self._frames = 0
        self.looks: deque[Any] = deque(maxlen=MEMORY_SIZE)

    def reset(self) -> None:
        """Forget everything (a new target)."""
        self._grid.reset()
        self._frames = 0
        self.looks.clear()

    def scan(self, image: np.ndarray, target: Box, check: TargetCheck, min_likeness: float) -> None:
        """Counts one confidently tracked frame (the target in ``target``); when a scan is due, searches the next
        crops and remembers the best hit clear of the target whose similarity to it reaches ``min_likeness``."""
        self._frames += 1
        if not due(self._frames, self.every):
            return

        def clear(box: Box) -> bool:
            return box_iou(box, target) == 0.0

        refined = best_hit(self.searcher, image, self._grid.next_boxes(image, target), clear)
        if refined is None or (refined.score or 0.0) < REFINE_SCORE or not clear(refined.box):
            return
        if check.similarity(image, refined.box) >= min_likeness:
            self.looks.append(check.look(image, refined.box))

    def cap(self, image: np.ndarray, box: Box, check: TargetCheck, score: float) -> float:
        """``score`` (the check's probability that ``box`` is the target) capped by :func:`target_posterior`
        against the remembered look most like ``box``."""
        if not self.looks:
            return score
        other = max(check.likeness(image, box, look) for look in self.looks)
        return min(score, target_posterior(score, other))
