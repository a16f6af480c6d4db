"""Re-detection while LOST: the cached template searched at the normal scale near where the target was last
confidently seen, along the edge of the frame it left by and, optionally, over a grid of crops covering the frame.

AsymTrack encodes its template once per target, so a search crop costs one search-branch pass. While the
session is LOST:

* every ``anchor_search_every``-th LOST frame searches one normal-scale crop centred on the last confident box
  (the anchor). The session's own search widens around the anchor, but at 2.5x the target shrinks in the crop and
  its score collapses; a target that left the view mostly comes back where it left;
* every ``global_search_every``-th LOST frame searches up to ``global_search_crops`` crops of a grid that covers
  the whole frame at the target's last confident scale (adjacent crops overlap by ``global_search_overlap`` of
  their side; a grid larger than one pass is covered over successive passes, round robin, so the cost per frame
  stays bounded);
* every ``border_search_every``-th LOST frame that runs no global search watches the edge the target left by:
  when the anchor touches edges of the frame (within ``boxes.EXIT_MARGIN`` of its own size), up to
  ``global_search_crops`` crops of the same grid along them, round robin. A target that left the view comes back
  through the edge it left by, but not always where it left (on generated leave-and-return validation scenes one
  in eight came back beyond the anchor's crop); the strip sees less of the frame than the global search, and so
  fewer look-alikes. No strip where it would be the whole grid (a crop as large as the frame).

A hit that is an impostor, an object in view as the target's box left the view and followed since
(``impostors.py``), is set aside: a look-alike beside a target that leaves is what the search finds first, and the
check can find it as like the target as the target itself. The best other hit of a pass scoring at least
:data:`REFINE_SCORE` is searched again in a crop centred on itself (a hit near a crop's edge is boxed loosely, and
a loose box verifies poorly). The refined box is a candidate when its
area lies between :data:`MIN_AREA_RATIO` and :data:`MAX_AREA_RATIO` times the anchor's, its shape (width over
height) within a factor :data:`MAX_ASPECT_CHANGE` of the anchor's, and its score (the calibrated network score
capped by the session's check while LOST: the mean of the target check against the initial target and the target
as last confidently seen) reaches the policy's ``recover_score``; the session then re-centres the tracker on it
and the monitor confirms it over ``recover_frames`` frames as any recovery. With ``persistent_hit_frames`` set, a
hit that fails one of the two gates (not both) goes to the check all the same when the network has boxed the same
object (IoU >= :data:`PERSISTENT_OVERLAP`, at :data:`PERSISTENT_SCORE` or more, failing the gates) on that many LOST
frames in a row: the anchor is the fused box, whose shape and size drift from the target's (a correlation filter
keeps the initial width over height while the target turns), so a target boxed the same way frame after frame is
judged by the check rather than by a stale look. Trackers without :class:`RegionSearch` (OpenCV) never re-detect.

While TRACKING, ``distractor_scan_every`` scans the same grid for look-alikes that a candidate then competes with
(``distractors.py``). The values that suit a model live in its ``model.json`` (``"tracker"`` section, next to the
box smoothing); 0 switches a search off.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import numpy as np

from asymtrack_ros.boxes import Box, Sides, area_ratio, aspect_change, box_iou, box_side, exit_sides
from asymtrack_ros.tracking.base import TrackResult
from asymtrack_ros.tracking.impostors import ImpostorTracks

MAX_OVERLAP = 0.9
MAX_EVERY = 10_000  # frames
MAX_CROPS = 10_000
# A candidate's area over the last confident box's. Asymmetric: a target often comes back farther away (smaller),
# while a box much larger than the target is the network's usual miss (it spans the target and its surroundings).
MIN_AREA_RATIO = 0.25
MAX_AREA_RATIO = 2.0
# A candidate at most this many times wider or narrower (width over height) than the last confident box. The
# network's loose box across the target and its surroundings keeps the area but not the shape.
MAX_ASPECT_CHANGE = 1.5
REFINE_SCORE = 0.25  # a first-pass hit at least this confident is searched again, centred on itself
PERSISTENT_SCORE = 0.6  # a gated hit the network is this sure of counts towards ``persistent_hit_frames``
PERSISTENT_OVERLAP = 0.5  # ... when it boxes the same object as the frame before's (IoU)


@dataclass(frozen=True)
class RedetectionSettings:
    """When and where the frame is searched while LOST (module docstring); an ``..._every`` of 0: off.

    ``global_search_crops`` 0 searches the whole grid in one pass. The global search is off by default: on
    real footage it confirms look-alike people (README, "Real footage"); the anchor search runs every LOST frame.
    """

    global_search_every: int = 0
    global_search_overlap: float = 0.5
    global_search_crops: int = 4
    anchor_search_every: int = 1
    distractor_scan_every: int = 0
    border_search_every: int = 0
    persistent_hit_frames: int = 0

    def __post_init__(self) -> None:
        for name, limit in (("global_search_every", MAX_EVERY), ("anchor_search_every", MAX_EVERY),
                            ("global_search_crops", MAX_CROPS), ("distractor_scan_every", MAX_EVERY),
                            ("border_search_every", MAX_EVERY), ("persistent_hit_frames", MAX_EVERY)):
            value = getattr(self, name)
            if not (isinstance(value, int) and 0 <= value <= limit):
                raise ValueError(f"{name} must be an integer in [0, {limit}], got {value!r}")
        if not 0.0 <= self.global_search_overlap <= MAX_OVERLAP:
            raise ValueError(f"global_search_overlap must be in [0, {MAX_OVERLAP}], got {self.global_search_overlap!r}")

    @property
    def enabled(self) -> bool:
        return self.global_search_every > 0 or self.anchor_search_every > 0 or self.border_search_every > 0

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RedetectionSettings:
        """From a mapping of field names to numbers (``model.json``); unknown keys or bad values raise ValueError."""
        unknown = set(values) - set(REDETECTION_KEYS)
        if unknown:
            raise ValueError(f"unknown re-detection keys {sorted(unknown)}; expected {sorted(REDETECTION_KEYS)}")
        numbers = {key: _number(key, value) for key, value in values.items()}  # missing keys keep the defaults
        fields_given: dict[str, Any] = {key: value if key == "global_search_overlap" else int(value)
                                        for key, value in numbers.items()}
        return cls(**fields_given)

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
    anchor_search_every: int | None = None
    distractor_scan_every: int | None = None
    border_search_every: int | None = None
    persistent_hit_frames: int | None = None


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


def search_side(box: Box, search_factor: float) -> float:
    """The side of the search crop centred on ``box``: sqrt(w*h) * ``search_factor``."""
    return box_side(box) * search_factor


def grid_boxes(frame_size: tuple[int, int], target: Box, search_factor: float, overlap: float) -> list[Box]:
    """Boxes of the ``target``'s size whose search crops (side sqrt(w*h) * ``search_factor``) cover the frame.

    ``frame_size`` is (height, width); adjacent crops overlap by ``overlap`` of their side; row-major order.
    """
    _, _, width, height = target
    side = search_side(target, search_factor)
    step = side * (1.0 - overlap)
    axes = []
    for extent in (frame_size[1], frame_size[0]):
        count = 1 if extent <= side else math.ceil((extent - side) / step) + 1
        axes.append(np.linspace(side / 2, extent - side / 2, count) if count > 1 else np.array([extent / 2]))
    return [(float(cx) - width / 2, float(cy) - height / 2, width, height) for cy in axes[1] for cx in axes[0]]


def along_sides(grid: Sequence[Box], frame_size: tuple[int, int], crop_side: float, sides: Sides) -> list[Box]:
    """The boxes of ``grid`` whose search crops (side ``crop_side``) reach one of ``sides``; none when that is
    every crop (the strip would be the whole frame)."""
    height, width = frame_size
    half = crop_side / 2

    def reaches(box: Box) -> bool:
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        return any((side == "left" and cx - half <= 0.5) or (side == "top" and cy - half <= 0.5)
                   or (side == "right" and cx + half >= width - 0.5) or (side == "bottom" and cy + half >= height - 0.5)
                   for side in sides)

    strip = [box for box in grid if reaches(box)]
    return [] if len(strip) == len(grid) else strip


class Verdict(StrEnum):
    """What the gates made of a LOST frame's refined hit."""

    CANDIDATE = "candidate"  # passed: the session re-centres the tracker on it
    SIZE = "size"  # its area lies outside [MIN_AREA_RATIO, MAX_AREA_RATIO] times the anchor's
    SHAPE = "shape"  # its width over height changed by more than MAX_ASPECT_CHANGE
    SCORE = "score"  # its score, capped by the session's check, is under the policy's recover_score
    IMPOSTOR = "impostor"  # another object, in view since the target left it (``impostors.py``)


@dataclass(frozen=True)
class SearchHit:
    """The refined best hit of one LOST frame's search, its score once capped by the session's check (None: the
    size or shape gate turned it away before the check ran) and the gates' verdict."""

    result: TrackResult
    score: float | None
    verdict: Verdict

    @property
    def candidate_score(self) -> float | None:
        """The capped score of a hit that passed every gate (the session re-centres on it); None otherwise."""
        return self.score if self.verdict == Verdict.CANDIDATE else None

    def describe(self) -> str:
        """One line for an operator, e.g. ``score: network 0.91, checked 0.32``: the verdict, the network's score
        and, when the check ran, the score it capped."""
        network = "none" if self.result.score is None else f"{self.result.score:.2f}"
        checked = "" if self.score is None else f", checked {self.score:.2f}"
        return f"{self.verdict.value}: network {network}{checked}"


class FrameGrid:
    """The crops of a grid that covers the frame at a target's scale, or with ``exits_only`` those along the edges
    the target touches (``boxes.exit_sides``, :func:`along_sides`), handed out round robin (``crops`` per call; 0: the
    whole grid), so that the cost per frame stays bounded."""

    def __init__(self, searcher: RegionSearch, overlap: float, crops: int, exits_only: bool = False) -> None:
        self.searcher, self.overlap, self.crops, self.exits_only = searcher, overlap, crops, exits_only
        self._grid: list[Box] | None = None  # None: not laid out since the last reset
        self._cursor = 0

    def reset(self) -> None:
        """Forget the grid: the next call lays one out for its target."""
        self._grid, self._cursor = None, 0

    def next_boxes(self, image: np.ndarray, target: Box) -> list[Box]:
        """The next crops' centre boxes; the grid is laid out at ``target``'s size (and edges) on the first call
        after a reset."""
        if self._grid is None:
            frame_size = (image.shape[0], image.shape[1])
            self._grid = grid_boxes(frame_size, target, self.searcher.search_factor, self.overlap)
            if self.exits_only:
                self._grid = along_sides(self._grid, frame_size, search_side(target, self.searcher.search_factor),
                                         exit_sides(target, frame_size))
        count = self.crops or len(self._grid)
        if count >= len(self._grid):  # also an empty strip
            return list(self._grid)
        picked = [self._grid[(self._cursor + offset) % len(self._grid)] for offset in range(count)]
        self._cursor = (self._cursor + count) % len(self._grid)
        return picked


BestHits = tuple[TrackResult | None, TrackResult | None]  # (the refined best hit, the best impostor hit)


def best_hit(searcher: RegionSearch, image: np.ndarray, boxes: Sequence[Box],
             impostor: Callable[[TrackResult], bool] = lambda hit: False) -> BestHits:
    """The most confident hit of a search over ``boxes`` that is no ``impostor``, searched again centred on itself
    (a hit near a crop's edge is boxed loosely) when it scored at least :data:`REFINE_SCORE` (else None, also when
    the refined search has no score), and the most confident impostor hit (None: none). Hits under
    :data:`REFINE_SCORE` are never impostors."""
    impostors: list[TrackResult] = []
    others: list[TrackResult] = []
    for hit in searcher.search_regions(image, boxes):
        if hit.score is not None:
            (impostors if hit.score >= REFINE_SCORE and impostor(hit) else others).append(hit)
    best_impostor = max(impostors, key=confidence, default=None)
    best = max(others, key=confidence, default=None)
    if best is None or confidence(best) < REFINE_SCORE:
        return None, best_impostor
    refined = searcher.search_regions(image, [best.box])[0]
    return (refined if refined.score is not None else None), best_impostor


def confidence(result: TrackResult) -> float:
    """A result's score, 0 without one."""
    return result.score or 0.0


class LostSearch:
    """The anchor, border and round-robin global searches of one LOST episode and its impostors (see the module
    docstring)."""

    def __init__(self, searcher: RegionSearch, settings: RedetectionSettings) -> None:
        self.searcher = searcher
        self.settings = settings
        self._grid = FrameGrid(searcher, settings.global_search_overlap, settings.global_search_crops)
        self._border = FrameGrid(searcher, settings.global_search_overlap, settings.global_search_crops,
                                 exits_only=True)
        self._lost_frames = 0
        self._impostors = ImpostorTracks()
        self._persistent = PersistentHit()

    def reset(self) -> None:
        """Forget the grids, the impostors, the persistent hit and the LOST frame count (a new target, or tracking
        again)."""
        self._grid.reset()
        self._border.reset()
        self._impostors.reset()
        self._persistent = PersistentHit()
        self._lost_frames = 0

    def left_view(self, box: Box, frame_size: tuple[int, int]) -> None:
        """The tracker's ``box`` left the view: the hits of the next LOST frames away from its exit edges are
        impostors (``impostors.py``)."""
        self._impostors.left_view(box, frame_size)

    def _impostor(self, hit: TrackResult) -> bool:
        return self._impostors.claims(hit.box, confidence(hit), self._lost_frames)

    def search(self, image: np.ndarray, anchor: Box, check: Callable[[np.ndarray, Box], float],
               min_score: float) -> SearchHit | None:
        """Counts one LOST frame and runs the crops due on it: the refined best hit and the gates' verdict on it
        (a candidate when it keeps the anchor's size and shape and its score capped by ``check``, the session's
        target check while LOST, reaches ``min_score``), or None when no search ran or nothing was hit."""
        self._lost_frames += 1
        boxes = [anchor] if due(self._lost_frames, self.settings.anchor_search_every) else []
        if due(self._lost_frames, self.settings.global_search_every):
            boxes += self._grid.next_boxes(image, anchor)
        elif due(self._lost_frames, self.settings.border_search_every):
            boxes += self._border.next_boxes(image, anchor)
        refined, impostor = best_hit(self.searcher, image, boxes, self._impostor) if boxes else (None, None)
        if refined is None or refined.score is None:
            return None if impostor is None else SearchHit(impostor, None, Verdict.IMPOSTOR)
        if self._impostor(refined):
            return SearchHit(refined, None, Verdict.IMPOSTOR)
        verdict = look_verdict(refined.box, anchor)
        frames = self._persistent.update(refined, self._lost_frames, verdict is not None)
        persists = 0 < self.settings.persistent_hit_frames <= frames and fails_one_gate(refined.box, anchor)
        if verdict is not None and not persists:
            return SearchHit(refined, None, verdict)
        score = min(refined.score, check(image, refined.box))
        return SearchHit(refined, score, Verdict.CANDIDATE if score >= min_score else Verdict.SCORE)


class PersistentHit:
    """How many LOST frames in a row the network has boxed one object that the gates turn away
    (``persistent_hit_frames``: the hits score at least :data:`PERSISTENT_SCORE`, each overlapping the one before
    by :data:`PERSISTENT_OVERLAP`)."""

    def __init__(self) -> None:
        self._frames = 0
        self._last: tuple[Box, int] | None = None  # the last counted hit and its LOST frame

    def update(self, hit: TrackResult, lost_frame: int, gated: bool) -> int:
        """Count ``hit`` on LOST frame ``lost_frame`` (``gated``: a gate turned it away); the run's length now."""
        if not gated or confidence(hit) < PERSISTENT_SCORE:
            self._frames, self._last = 0, None
            return 0
        last = self._last
        continues = last is not None and last[1] == lost_frame - 1 and box_iou(last[0], hit.box) >= PERSISTENT_OVERLAP
        self._frames = self._frames + 1 if continues else 1
        self._last = (hit.box, lost_frame)
        return self._frames


def keeps_size(box: Box, look: Box) -> bool:
    """Whether ``box``'s area lies within :data:`MIN_AREA_RATIO` .. :data:`MAX_AREA_RATIO` of ``look``'s."""
    return MIN_AREA_RATIO <= area_ratio(box, look) <= MAX_AREA_RATIO


def keeps_shape(box: Box, look: Box) -> bool:
    """Whether ``box``'s width over height lies within :data:`MAX_ASPECT_CHANGE` of ``look``'s."""
    return aspect_change(box, look) <= MAX_ASPECT_CHANGE


def fails_one_gate(box: Box, look: Box) -> bool:
    """Whether ``box`` keeps exactly one of the size and the shape of ``look``."""
    return keeps_size(box, look) != keeps_shape(box, look)


def look_verdict(box: Box, look: Box) -> Verdict | None:
    """None when ``box`` keeps the size and the shape of ``look``; else the gate that turns it away."""
    if not keeps_size(box, look):
        return Verdict.SIZE
    return None if keeps_shape(box, look) else Verdict.SHAPE


def due(count: int, every: int) -> bool:
    """Whether something that runs every ``every``-th frame (0: never) of a run of frames runs on its ``count``-th."""
    return every > 0 and (count - 1) % every == 0


def _number(key: str, value: Any) -> float:
    """A finite number of ``model.json``; the integer settings must hold whole numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"bad re-detection value {key}={value!r}: not a finite number")
    if key != "global_search_overlap" and not float(value).is_integer():
        raise ValueError(f"bad re-detection value {key}={value!r}: not a whole number")
    return float(value)
