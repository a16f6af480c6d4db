"""Person tracks from a static camera without hand annotation: background subtraction and blob association.

The steps, each a pure function on arrays so that tests can feed synthetic frames:

1. :func:`median_background`: the per-pixel median of frames spread over the video.
2. :func:`foreground_mask`: colour difference to the background, minus shadows (darker than the background
   with its chromaticity), opened against noise and closed vertically so that a person's parts join.
3. :func:`find_blobs`: connected components of the mask as ``(x, y, w, h)`` boxes.
4. :func:`track_blobs`: frame-to-frame association with constant-velocity prediction, a centre gate and a size
   gate. A blob that two people merged into, or a person cut in two by a pole, fails the size gate, so the
   track *coasts* through those frames instead of jumping.
5. :func:`fill_gaps`: coasted gaps of at most ``max_gap`` frames are interpolated where the filled box is
   mostly foreground; every other frame without a matched blob stays unknown (NaN).
6. :func:`exit_labels`: frames before a track enters or after it leaves through the image border are absent.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np


@dataclass(frozen=True)
class ForegroundConfig:
    """Thresholds of :func:`foreground_mask` and :func:`find_blobs` (pixels of the full-resolution frame)."""

    threshold: float = 32.0  # largest channel difference to the background that is still background
    shadow_ratio: tuple[float, float] = (0.45, 0.9)  # brightness ratio frame / background of a shadow
    shadow_chroma: float = 0.05  # largest chromaticity (r, g share) change of a shadow pixel
    open_size: int = 3
    close_size: tuple[int, int] = (5, 15)  # (width, height) of the closing kernel
    min_area: int = 120  # smallest blob kept


@dataclass(frozen=True)
class TrackerConfig:
    """Gates and lifetimes of :func:`track_blobs`."""

    centre_gate: float = 0.6  # largest centre distance to the prediction, in predicted box heights
    min_centre_gate: float = 12.0  # pixels: the gate of small, far people
    size_gate: float = 1.35  # largest height ratio (either way) between blob and prediction
    width_gate: float = 1.8  # largest width ratio (legs and arms make the width vary more)
    max_missed: int = 12  # frames a track coasts without a blob before it ends
    min_aspect: float = 1.3  # height / width of a blob that may start a track (one upright person)
    velocity_smoothing: float = 0.5  # weight of the newest velocity estimate
    appearance_gate: float = 40.0  # largest colour distance (see :func:`blob_appearance`) to the track's model
    appearance_smoothing: float = 0.2  # weight of the newest blob in the track's colour model


def median_background(frames: Iterable[np.ndarray]) -> np.ndarray:
    """Per-pixel median of ``frames`` (HxWxC uint8), as uint8."""
    return np.median(np.stack(list(frames)), axis=0).astype(np.uint8)


def foreground_mask(frame: np.ndarray, background: np.ndarray, config: ForegroundConfig) -> np.ndarray:
    """Boolean HxW mask of pixels that differ from ``background`` and are not shadows, cleaned up."""
    image, base = frame.astype(np.float32), background.astype(np.float32)
    changed = np.abs(image - base).max(axis=2) > config.threshold
    brightness, base_brightness = image.sum(axis=2) + 1.0, base.sum(axis=2) + 1.0
    ratio = brightness / base_brightness
    chroma_change = np.abs(image[..., :2] / brightness[..., None] - base[..., :2] / base_brightness[..., None]).max(
        axis=2
    )
    low, high = config.shadow_ratio
    shadow = (ratio >= low) & (ratio <= high) & (chroma_change <= config.shadow_chroma)
    mask = (changed & ~shadow).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((config.open_size, config.open_size), np.uint8))
    width, height = config.close_size
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((height, width), np.uint8))
    return mask.astype(bool)


def find_blobs(mask: np.ndarray, min_area: int) -> np.ndarray:
    """(K, 4) float64 ``(x, y, w, h)`` boxes of the connected components of ``mask`` with at least ``min_area``
    pixels, largest first."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    stats = stats[1:count]
    stats = stats[stats[:, cv2.CC_STAT_AREA] >= min_area]
    order = np.argsort(-stats[:, cv2.CC_STAT_AREA], kind="stable")
    return stats[order, :4].astype(np.float64).reshape(-1, 4)


def box_foreground(mask: np.ndarray, box: np.ndarray) -> float:
    """Share of the pixels inside ``box`` (clipped to the image) that ``mask`` marks foreground; 0 if outside."""
    height, width = mask.shape
    x0, y0 = max(round(box[0]), 0), max(round(box[1]), 0)
    x1, y1 = min(round(box[0] + box[2]), width), min(round(box[1] + box[3]), height)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    return float(mask[y0:y1, x0:x1].mean())


def blob_appearance(frame: np.ndarray, mask: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Colour of a blob: mean colour of its foreground pixels in the upper and the lower half of ``box`` (6
    values; a half without foreground takes the other's colour)."""
    x0, y0 = int(box[0]), int(box[1])
    x1, y1 = x0 + int(box[2]), y0 + int(box[3])
    middle = (y0 + y1) // 2
    halves = []
    for top, bottom in ((y0, middle), (middle, y1)):
        pixels = frame[top:bottom, x0:x1][mask[top:bottom, x0:x1]]
        halves.append(pixels.mean(axis=0) if len(pixels) else None)
    fallback = next((half for half in halves if half is not None), np.zeros(frame.shape[2]))
    return np.concatenate([fallback if half is None else half for half in halves]).astype(np.float64)


@dataclass
class _Track:
    boxes: dict[int, np.ndarray]
    appearance: np.ndarray
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    missed: int = 0

    @property
    def last_frame(self) -> int:
        return max(self.boxes)

    def predict(self, frame: int) -> np.ndarray:
        """The last box moved at constant velocity to ``frame``, same size."""
        box = self.boxes[self.last_frame].copy()
        box[:2] += self.velocity * (frame - self.last_frame)
        return box

    def update(self, frame: int, box: np.ndarray, appearance: np.ndarray, config: TrackerConfig) -> None:
        last = self.last_frame
        step = (_centre(box) - _centre(self.boxes[last])) / (frame - last)
        weight = config.velocity_smoothing
        self.velocity = step if len(self.boxes) == 1 else weight * step + (1 - weight) * self.velocity
        weight = config.appearance_smoothing
        self.appearance = weight * appearance + (1 - weight) * self.appearance
        self.boxes[frame] = box
        self.missed = 0


def _centre(box: np.ndarray) -> np.ndarray:
    return box[:2] + box[2:] / 2


def gate_costs(
    predicted: np.ndarray, blobs: np.ndarray, config: TrackerConfig,
    models: np.ndarray | None = None, appearances: np.ndarray | None = None,
) -> np.ndarray:
    """(T, K) centre distances between predicted boxes and blobs, ``inf`` where the centre, size or (given the
    tracks' colour ``models`` and the blobs' ``appearances``) colour gate fails."""
    costs = np.full((len(predicted), len(blobs)), np.inf)
    for row, box in enumerate(predicted):
        for col, blob in enumerate(blobs):
            distance = float(np.linalg.norm(_centre(box) - _centre(blob)))
            height_ratio, width_ratio = blob[3] / box[3], blob[2] / box[2]
            in_gate = distance <= max(config.centre_gate * box[3], config.min_centre_gate)
            same_size = 1 / config.size_gate <= height_ratio <= config.size_gate
            same_width = 1 / config.width_gate <= width_ratio <= config.width_gate
            same_colour = models is None or appearances is None or (
                float(np.linalg.norm(models[row] - appearances[col])) <= config.appearance_gate)
            if in_gate and same_size and same_width and same_colour:
                costs[row, col] = distance
    return costs


def greedy_match(costs: np.ndarray) -> list[tuple[int, int]]:
    """(row, col) pairs, cheapest first, each row and column used once; ``inf`` costs never match."""
    pairs: list[tuple[int, int]] = []
    used_rows: set[int] = set()
    used_cols: set[int] = set()
    for flat in np.argsort(costs, axis=None, kind="stable"):
        row, col = (int(v) for v in np.unravel_index(flat, costs.shape))
        if not np.isfinite(costs[row, col]):
            break
        if row not in used_rows and col not in used_cols:
            pairs.append((row, col))
            used_rows.add(row)
            used_cols.add(col)
    return pairs


def track_blobs(
    blobs_per_frame: Sequence[np.ndarray], config: TrackerConfig,
    appearances_per_frame: Sequence[np.ndarray] | None = None,
) -> list[np.ndarray]:
    """Associate the blobs of every frame into tracks: each an (N, 4) array over all N frames, NaN where no blob
    was matched. ``appearances_per_frame``: a (K, D) colour descriptor per blob (:func:`blob_appearance`);
    without it every blob looks alike. Tracks are returned in order of their first frame."""
    active: list[_Track] = []
    finished: list[_Track] = []
    for frame, blobs in enumerate(blobs_per_frame):
        appearances = (np.zeros((len(blobs), 1)) if appearances_per_frame is None
                       else np.asarray(appearances_per_frame[frame], dtype=np.float64))
        predicted = np.array([track.predict(frame) for track in active]).reshape(-1, 4)
        models = np.array([track.appearance for track in active]) if active else None
        pairs = greedy_match(gate_costs(predicted, blobs, config, models, appearances))
        matched_tracks = {row for row, _ in pairs}
        for row, col in pairs:
            active[row].update(frame, blobs[col].copy(), appearances[col], config)
        for row, track in enumerate(active):
            if row not in matched_tracks:
                track.missed += 1
        finished += [track for track in active if track.missed > config.max_missed]
        active = [track for track in active if track.missed <= config.max_missed]
        used = {col for _, col in pairs}
        for col, blob in enumerate(blobs):
            if col not in used and blob[3] >= config.min_aspect * blob[2] and not _overlaps(blob, predicted):
                active.append(_Track({frame: blob.copy()}, appearances[col].copy()))
    tracks = sorted(finished + active, key=lambda track: min(track.boxes))
    result = []
    for track in tracks:
        boxes = np.full((len(blobs_per_frame), 4), np.nan)
        for frame, box in track.boxes.items():
            boxes[frame] = box
        result.append(boxes)
    return result


def _overlaps(blob: np.ndarray, predicted: np.ndarray) -> bool:
    """Whether ``blob`` overlaps any predicted box (a fragment or merge of a tracked person starts no track)."""
    if not len(predicted):
        return False
    top_left = np.maximum(predicted[:, :2], blob[:2])
    bottom_right = np.minimum(predicted[:, :2] + predicted[:, 2:], blob[:2] + blob[2:])
    return bool((np.clip(bottom_right - top_left, 0, None).prod(axis=1) > 0).any())


def fill_gaps(
    boxes: np.ndarray, foreground: Callable[[int, np.ndarray], float], max_gap: int = 8, min_foreground: float = 0.5
) -> np.ndarray:
    """Interpolate NaN runs of at most ``max_gap`` frames between two known boxes, frame by frame only where
    ``foreground(frame, box)`` (share of the box that is foreground) reaches ``min_foreground``; every other
    NaN row stays NaN (unknown). Rows before the first and after the last known box are left as they are."""
    filled = boxes.copy()
    known = np.flatnonzero(np.isfinite(boxes).all(axis=1))
    for start, end in itertools.pairwise(known):
        gap = end - start - 1
        if gap == 0 or gap > max_gap:
            continue
        for frame in range(start + 1, end):
            weight = (frame - start) / (end - start)
            box = (1 - weight) * boxes[start] + weight * boxes[end]
            if foreground(frame, box) >= min_foreground:
                filled[frame] = box
    return filled


def touches_border(box: np.ndarray, image_size: tuple[int, int], margin: float) -> bool:
    """Whether ``box`` comes within ``margin`` pixels of the border of an image of ``(width, height)``."""
    width, height = image_size
    return bool(box[0] <= margin or box[1] <= margin or box[0] + box[2] >= width - margin
                or box[1] + box[3] >= height - margin)


def exit_labels(boxes: np.ndarray, image_size: tuple[int, int], margin: float = 4.0) -> np.ndarray:
    """Absent mask of a track: the frames before its first box if that box touches the border (the person
    walks in) and after its last box if that one does (the person walks out). Frames inside stay present
    (known or unknown) however long the gap."""
    absent = np.zeros(len(boxes), dtype=bool)
    known = np.flatnonzero(np.isfinite(boxes).all(axis=1))
    if not len(known):
        return ~absent
    first, last = int(known[0]), int(known[-1])
    if touches_border(boxes[first], image_size, margin):
        absent[:first] = True
    if touches_border(boxes[last], image_size, margin):
        absent[last + 1:] = True
    return absent
