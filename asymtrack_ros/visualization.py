"""Annotated frames for the debug image and the demo video."""

from __future__ import annotations

import cv2
import numpy as np

from asymtrack_ros.tracking.monitor import TrackState

STATE_COLORS_RGB = {
    TrackState.IDLE: (160, 160, 160),
    TrackState.TRACKING: (0, 220, 0),
    TrackState.LOST: (255, 60, 60),
    TrackState.ERROR: (255, 0, 255),
}


def annotate(
    image_rgb: np.ndarray,
    box: tuple[float, float, float, float] | None,
    state: TrackState,
    score: float | None,
    fps: float,
    label: str = "",
) -> np.ndarray:
    """Copy of ``image_rgb`` with the box, state, score and rate drawn on it."""
    canvas = np.ascontiguousarray(image_rgb).copy()
    color = STATE_COLORS_RGB[state]
    if box is not None:
        x, y, w, h = (round(v) for v in box)
        cv2.rectangle(canvas, (x, y), (x + w, y + h), color, 2)
        if label:
            cv2.putText(canvas, label, (x, max(12, y - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1, cv2.LINE_AA)
    score_text = "" if score is None else f" score {score:.2f}"
    text = f"{state.name}{score_text} {fps:.1f} fps"
    cv2.rectangle(canvas, (0, 0), (min(canvas.shape[1], 12 + 10 * len(text)), 24), (0, 0, 0), -1)
    cv2.putText(canvas, text, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.55, color, 1, cv2.LINE_AA)
    return canvas
