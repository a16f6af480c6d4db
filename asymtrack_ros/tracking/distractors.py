"""Distractor memory: the look-alikes seen while the target was tracked, so that a re-detection is not one of them.

A re-detection check that compares a candidate with the target alone confirms a look-alike that resembles the
target more than the returning target resembles its earlier self: another face, another walker, a recoloured copy.
While the target is tracked confidently, the session scans the frame round robin, one crop of the LOST global
search's grid (``redetection.FrameGrid``) every ``distractor_scan_every``-th confident frame, so that a frame that
scans costs one search pass more, and remembers the look (``TargetCheck.look``) of the crop's hit when it lies in the
crop's central half (there the network boxes it as tightly as the target it tracks; the grid's crops overlap, so
other crops' central halves cover the rest), does not overlap the target and the target check finds it alike: it
is not the target, which is where it is tracked. While LOST, a candidate then competes with them (DaSiamRPN's
distractor-aware matching, in its simplest form): its score is capped by the probability that it is the target
rather than the remembered look-alike it resembles most (:func:`target_posterior`), so a box as much like a
look-alike as like the target is not confirmed.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from asymtrack_ros.boxes import Box, box_iou, centre
from asymtrack_ros.tracking.appearance import TargetCheck
from asymtrack_ros.tracking.redetection import (
    REFINE_SCORE,
    FrameGrid,
    RedetectionSettings,
    RegionSearch,
    due,
    search_side,
)

MEMORY_SIZE = 16  # looks; the oldest is forgotten first
SCAN_CROPS = 1  # per scan: one search pass


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
        self._grid = FrameGrid(searcher, settings.global_search_overlap, SCAN_CROPS)
        self._frames = 0
        self.looks: deque[Any] = deque(maxlen=MEMORY_SIZE)

    def reset(self) -> None:
        """Forget everything (a new target)."""
        self._grid.reset()
        self._frames = 0
        self.looks.clear()

    def scan(self, image: np.ndarray, target: Box, check: TargetCheck, min_likeness: float) -> None:
        """Counts one confidently tracked frame (the target in ``target``); when a scan is due, searches the next
        crop and remembers its hit (network score >= :data:`REFINE_SCORE`) when it lies in the crop's central half,
        clear of the target, and its similarity to the target reaches ``min_likeness``."""
        self._frames += 1
        if not due(self._frames, self.every):
            return
        crops = self._grid.next_boxes(image, target)
        for crop, hit in zip(crops, self.searcher.search_regions(image, crops), strict=True):
            if ((hit.score or 0.0) >= REFINE_SCORE and self._central(hit.box, crop) and box_iou(hit.box, target) == 0.0
                    and check.similarity(image, hit.box) >= min_likeness):
                self.looks.append(check.look(image, hit.box))

    def _central(self, box: Box, crop: Box) -> bool:
        """Whether ``box``'s centre lies in the central half of the search crop centred on ``crop``."""
        reach = search_side(crop, self.searcher.search_factor) / 4
        (x, y), (crop_x, crop_y) = centre(box), centre(crop)
        return abs(x - crop_x) <= reach and abs(y - crop_y) <= reach

    def cap(self, image: np.ndarray, box: Box, check: TargetCheck, score: float) -> float:
        """``score`` (a probability that ``box`` is the target) capped by :func:`target_posterior` of the better
        evidence for the target, ``score`` or ``check``'s own similarity, against ``check``'s likeness of ``box`` to
        the remembered look most like it. With the session's confirmation head as ``score``, weighing the head's
        number alone against the check's likeness lost returning targets that the check found more like themselves
        (0.85 against 0.81); the re-identification's score is never under the check's similarity."""
        if not self.looks:
            return score
        other = max(check.likeness(image, box, look) for look in self.looks)
        return min(score, target_posterior(max(score, check.similarity(image, box)), other))
