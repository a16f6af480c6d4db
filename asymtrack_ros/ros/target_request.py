"""Operator target requests (centre/size boxes, pixels or normalised) -> validated (x, y, w, h)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from asymtrack_ros.tracking.base import Box
from asymtrack_ros.tracking.validation import validate_box

MAX_LABEL_LENGTH = 128


class TargetRequestError(ValueError):
    """The requested box cannot be tracked (reason in the text)."""


def validate_label(text: str, what: str) -> str:
    """``text`` if it is printable (no control, format or bidi characters) and at most 128 characters."""
    if len(text) > MAX_LABEL_LENGTH:
        raise TargetRequestError(f"{what} has {len(text)} characters; at most {MAX_LABEL_LENGTH} are allowed")
    if not text.isprintable():
        bad = next(c for c in text if not c.isprintable())
        raise TargetRequestError(f"{what} holds the non-printable character U+{ord(bad):04X}; use printable text")
    return text


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
