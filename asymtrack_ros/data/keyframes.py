"""Ground truth of moving-camera footage from hand-checked keyframes: linear interpolation between them.

A keyframe is a frame whose box a person checked by looking at it. Between two consecutive keyframes the box
is interpolated linearly, but never across a frame marked absent (target out of view) or unknown (a cut, heavy
occlusion, a box nobody can draw): every frame of such a span that is not itself marked stays unknown (NaN),
as do frames before the first and after the last keyframe.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

import numpy as np

FrameRanges = Iterable[tuple[int, int]]  # inclusive (first, last) frame ranges


def range_mask(num_frames: int, ranges: FrameRanges) -> np.ndarray:
    """Boolean mask of ``num_frames`` frames, true inside the inclusive ``ranges``."""
    mask = np.zeros(num_frames, dtype=bool)
    for first, last in ranges:
        if not 0 <= first <= last < num_frames:
            raise ValueError(f"frame range ({first}, {last}) outside 0..{num_frames - 1}")
        mask[first:last + 1] = True
    return mask


def interpolate_keyframes(
    num_frames: int, keyframes: Mapping[int, Iterable[float]], absent: FrameRanges = (), unknown: FrameRanges = ()
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) boxes (NaN where unknown or absent) and the (N,) absent mask of a sequence of ``num_frames``.

    ``keyframes``: frame -> ``(x, y, w, h)``; a keyframe inside an absent or unknown range is an error."""
    absent_mask = range_mask(num_frames, absent)
    blocked = absent_mask | range_mask(num_frames, unknown)
    boxes = np.full((num_frames, 4), np.nan)
    frames = sorted(keyframes)
    for frame in frames:
        if not 0 <= frame < num_frames:
            raise ValueError(f"keyframe {frame} outside 0..{num_frames - 1}")
        if blocked[frame]:
            raise ValueError(f"keyframe {frame} lies in an absent or unknown range")
        box = np.asarray(list(keyframes[frame]), dtype=np.float64)
        if box.shape != (4,) or not (box[2:] > 0).all():
            raise ValueError(f"keyframe {frame}: need (x, y, w, h) with positive size, got {box}")
        boxes[frame] = box
    for start, end in itertools.pairwise(frames):
        if blocked[start:end].any():
            continue
        weights = (np.arange(start + 1, end) - start)[:, None] / (end - start)
        boxes[start + 1:end] = (1 - weights) * boxes[start] + weights * boxes[end]
    return boxes, absent_mask
