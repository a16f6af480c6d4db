"""Global re-detection while LOST: the cached template searched over a grid of crops covering the frame.

AsymTrack encodes its template once per target, so a search crop costs one search-branch pass. While the
session is LOST, every ``global_search_every``-th LOST frame runs the search branch on up to
``global_search_crops`` crops of a grid that covers the whole frame at the target's last confident scale
(adjacent crops overlap by ``global_search_overlap`` of their side; a grid larger than one pass is covered
over successive passes, round robin, so the cost per frame stays bounded). The best crop's box is a
candidate when its score (the calibrated network score capped by the appearance similarity) reaches the
policy's ``recover_score``; the session then re-centres the tracker on it and the monitor confirms it over
``recover_frames`` frames as any recovery. Trackers without :class:`RegionSearch` (OpenCV) never search
globally.

The values that suit a model live in its ``model.json`` (``"tracker"`` section, next to the box smoothing);
``global_search_every`` 0 switches the global search off.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol, runtime_checkable

import numpy as np

from asymtrack_ros.boxes import Box
from asymtrack_ros.tracking.appearance import TargetCheck
from asymtrack_ros.tracking.base import TrackResult

MAX_OVERLAP = 0.9
MAX_EVERY = 10_000  # frames
MAX_CROPS = 10_000


@dataclass(frozen=True)
class RedetectionSettings:
    """When and how densely the frame is searched while LOST (module docstring); ``global_search_every`` 0: off.

    ``global_search_crops`` 0 searches the whole grid in one pass. Off by default: on the generated
    held-out leave-view set the shipped model confirmed look-alikes while the target was away (false
    tracking 0 -> 10 %, absent frames reported TRACKING 15 -> 32 %) at about 85 ms per LOST frame on
    this CPU; it waits for a learned verification score (issue #14).
    """

    global_search_every: int = 0
    global_search_overlap: float = 0.5
    global_search_crops: int = 4

    def __post_init__(self) -> None:
        if not (isinstance(self.global_search_every, int) and 0 <= self.global_search_every <= MAX_EVERY):
            raise ValueError(f"global_search_every must be an integer in [0, {MAX_EVERY}], "
                             f"got {self.global_search_every!r}")
        if not 0.0 <= self.global_search_overlap <= MAX_OVERLAP:
            raise ValueError(f"global_search_overlap must be in [0, {MAX_OVERLAP}], got {self.global_search_overlap!r}")
        if not (isinstance(self.global_search_crops, int) and 0 <= self.global_search_crops <= MAX_CROPS):
            raise ValueError(f"global_search_crops must be an integer in [0, {MAX_CROPS}], "
                             f"got {self.global_search_crops!r}")

    @property
    def enabled(self) -> bool:
        return self.global_search_every > 0

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RedetectionSettings:
        """From a mapping of field names to numbers (``model.json``); unknown keys or bad values raise ValueError."""
        unknown = set(values) - set(REDETECTION_KEYS)
        if unknown:
            raise ValueError(f"unknown re-detection keys {sorted(unknown)}; expected {sorted(REDETECTION_KEYS)}")
        settings = {key: _number(key, value) for key, value in values.items()}
        every, crops = (int(settings.pop(key, default)) for key, default in (
            ("global_search_every", cls.global_search_every), ("global_search_crops", cls.global_search_crops)))
        return cls(every, settings.get("global_search_overlap", cls.global_search_overlap), crops)

    def to_json(self) -> dict[str, float]:
        return asdict(self)

    def replace(self, overrides: RedetectionOverrides) -> RedetectionSettings:
        """A copy with the values ``overrides`` sets (``None`` leaves a field as it is)."""
        return RedetectionSettings(**{**asdict(self), **{k: v for k, v in asdict(overrides).items() if v is not None}})


@dataclass(frozen=True)
class RedetectionOverrides:
    """Single :class:`RedetectionSettings` values that replace a model's own (``None``: keep the model's value)."""

    global_search_every: int | None = None
    global_search_overlap: float | None = None
    global_search_crops: int | None = None


DEFAULT_REDETECTION = RedetectionSettings()
NO_REDETECTION_OVERRIDES = RedetectionOverrides()
REDETECTION_KEYS = tuple(field.name for field in fields(RedetectionSettings))


@runtime_checkable
class RegionSearch(Protocol):
    """A tracker that can run its search on given regions without moving its own search region."""

    redetection: RedetectionSettings

    @property
    def search_factor(self) -> float:
        """Search crop side over the target's sqrt(w*h)."""

    def search_regions(self, image: np.ndarray, boxes: Sequence[Box]) -> list[TrackResult]:
        """One result (box in image pixels, calibrated score) per search region centred on each of ``boxes``."""


def grid_boxes(frame_size: tuple[int, int], target: Box, search_factor: float, overlap: float) -> list[Box]:
    """Boxes of the ``target``'s size whose search crops (side sqrt(w*h) * ``search_factor``) cover the frame.

    ``frame_size`` is (height, width); adjacent crops overlap by ``overlap`` of their side; row-major order.
    """
    _, _, width, height = target
    side = math.sqrt(width * height) * search_factor
    step = side * (1.0 - overlap)
    axes = []
    for extent in (frame_size[1], frame_size[0]):
        count = 1 if extent <= side else math.ceil((extent - side) / step) + 1
        axes.append(np.linspace(side / 2, extent - side / 2, count) if count > 1 else np.array([extent / 2]))
    return [(float(cx) - width / 2, float(cy) - height / 2, width, height) for cy in axes[1] for cx in axes[0]]


@dataclass(frozen=True)
class Candidate:
    """A global-search hit: the network's result and its score capped by the appearance similarity."""

    result: TrackResult
    score: float


class GlobalSearch:
    """The round-robin global search of one LOST episode (see the module docstring)."""

    def __init__(self, searcher: RegionSearch, settings: RedetectionSettings) -> None:
        self.searcher = searcher
        self.settings = settings
        self._grid: list[Box] = []
        self._cursor = 0
        self._lost_frames = 0

    def reset(self) -> None:
        """Forget the grid and the LOST frame count (a new target, or tracking again)."""
        self._grid, self._cursor, self._lost_frames = [], 0, 0

    def due(self) -> bool:
        """Counts one LOST frame; True when a global pass runs on it."""
        self._lost_frames += 1
        return (self._lost_frames - 1) % self.settings.global_search_every == 0

    def search(self, image: np.ndarray, anchor: Box, appearance: TargetCheck, min_score: float) -> Candidate | None:
        """The best candidate of one pass scoring at least ``min_score`` after the appearance cap, or None."""
        if not self._grid:
            frame_size = (image.shape[0], image.shape[1])
            overlap = self.settings.global_search_overlap
            self._grid = grid_boxes(frame_size, anchor, self.searcher.search_factor, overlap)
        boxes = self._next_boxes()
        best: Candidate | None = None
        for result in self.searcher.search_regions(image, boxes):
            if result.score is None or result.score < min_score:
                continue
            score = min(result.score, appearance.similarity(image, result.box))
            if score >= min_score and (best is None or score > best.score):
                best = Candidate(result, score)
        return best

    def _next_boxes(self) -> list[Box]:
        count = self.settings.global_search_crops or len(self._grid)
        if count >= len(self._grid):
            return list(self._grid)
        picked = [self._grid[(self._cursor + offset) % len(self._grid)] for offset in range(count)]
        self._cursor = (self._cursor + count) % len(self._grid)
        return picked


def _number(key: str, value: Any) -> float:
    """A finite number of ``model.json``; the integer settings must hold whole numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"bad re-detection value {key}={value!r}: not a finite number")
    if key != "global_search_overlap" and not float(value).is_integer():
        raise ValueError(f"bad re-detection value {key}={value!r}: not a whole number")
    return float(value)
