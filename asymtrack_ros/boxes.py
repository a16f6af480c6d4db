"""Axis-aligned boxes ``(x, y, w, h)`` in image pixels: the one ``Box`` type and the one IoU."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

Box = tuple[float, float, float, float]
Sides = frozenset[str]  # frame edges: "left", "top", "right", "bottom"
EXIT_MARGIN = 0.25  # a box this close to an edge (times its width or height) touches it: it left the view there


def as_box(values: Iterable[float]) -> Box:
    """Four numbers (a sequence, an array row) as a ``Box`` of Python floats; ValueError unless there are four."""
    x, y, w, h = (float(v) for v in values)
    return x, y, w, h


def iou(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Row-wise IoU of two (N, 4) box arrays; 0 where it is undefined (no area, non-finite values)."""
    top_left = np.maximum(boxes[:, :2], others[:, :2])
    bottom_right = np.minimum(boxes[:, :2] + boxes[:, 2:], others[:, :2] + others[:, 2:])
    intersection = np.prod(np.clip(bottom_right - top_left, 0.0, None), axis=1)
    union = np.prod(boxes[:, 2:], axis=1) + np.prod(others[:, 2:], axis=1) - intersection
    with np.errstate(divide="ignore", invalid="ignore"):
        overlap = intersection / union
    return np.where(np.isfinite(overlap), overlap, 0.0)


def box_iou(box: Box, other: Box) -> float:
    """IoU of two boxes (0 where undefined)."""
    return float(iou(np.asarray([box], dtype=float), np.asarray([other], dtype=float))[0])


def visible_fraction(box: Box, frame_size: tuple[int, int]) -> float:
    """Share of ``box``'s area inside a frame of ``frame_size`` (height, width); 0 for an empty box."""
    x, y, w, h = box
    if not (w > 0 and h > 0):
        return 0.0
    height, width = frame_size
    inside_w = max(0.0, min(x + w, width) - max(x, 0.0))
    inside_h = max(0.0, min(y + h, height) - max(y, 0.0))
    return inside_w * inside_h / (w * h)


def area_ratio(box: Box, other: Box) -> float:
    """``box``'s area over ``other``'s."""
    return (box[2] * box[3]) / max(other[2] * other[3], 1e-6)


def aspect_change(box: Box, other: Box) -> float:
    """How many times wider or narrower (width over height) ``box`` is than ``other`` (>= 1)."""
    ratio = (box[2] * other[3]) / max(box[3] * other[2], 1e-6)
    return max(ratio, 1.0 / max(ratio, 1e-6))


def similar_area(box: Box, other: Box, max_ratio: float) -> bool:
    """Whether ``box``'s area is within a factor ``max_ratio`` (>= 1) of ``other``'s."""
    return 1.0 / max_ratio <= area_ratio(box, other) <= max_ratio


def box_side(box: Box) -> float:
    """The box's scale: the side of the square of its area, sqrt(w * h)."""
    return math.sqrt(box[2] * box[3])


def exit_sides(box: Box, frame_size: tuple[int, int]) -> Sides:
    """The frame edges that ``box`` touches or crosses, within :data:`EXIT_MARGIN` of its own width (height);
    ``frame_size`` is (height, width)."""
    x, y, w, h = box
    height, width = frame_size
    near = {"left": x <= EXIT_MARGIN * w, "top": y <= EXIT_MARGIN * h,
            "right": x + w >= width - EXIT_MARGIN * w, "bottom": y + h >= height - EXIT_MARGIN * h}
    return frozenset(side for side, touching in near.items() if touching)


def centre(box: Box) -> tuple[float, float]:
    """The (x, y) centre of ``box``."""
    x, y, w, h = box
    return x + w / 2, y + h / 2
