"""Operator target requests (centre/size boxes, pixels or normalised) -> validated (x, y, w, h)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from asymtrack_ros.tracking.base import Box
from asymtrack_ros.tracking.validation import validate_box


class TargetRequestError(ValueError):
    """The requested box cannot be tracked (reason in the text)."""


def box_from_center(center_box: Sequence[float], image_shape: Sequence[int], normalized: bool) -> Box:
    """(cx, cy, w, h) as vision_msgs/BoundingBox2D gives it -> (x, y, w, h) pixels, validated.

    ``normalized``: coordinates are fractions 0..1 of the image width/height (gimbal managers).
    """
    cx, cy, w, h = (float(v) for v in center_box)
    if not all(math.isfinite(v) for v in (cx, cy, w, h)):
        raise TargetRequestError(f"box has a non-finite value: center ({cx}, {cy}) size {w}x{h}")
    if normalized:
        if not all(0.0 <= v <= 1.0 for v in (cx, cy, w, h)):
            raise TargetRequestError(f"normalized box values must lie in [0, 1], got ({cx}, {cy}, {w}, {h})")
        height, width = image_shape[0], image_shape[1]
        cx, cy, w, h = cx * width, cy * height, w * width, h * height
    try:
        return validate_box((cx - w / 2, cy - h / 2, w, h), image_shape)
    except ValueError as error:
        raise TargetRequestError(str(error)) from error
