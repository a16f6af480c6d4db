"""Shot cuts: the whole picture changes from one frame to the next (an edited video's cut, another camera on the
same topic).

A local tracker keeps its box across a cut and follows whatever now lies there, so after a cut its box's
continuity says nothing about the target. A cut is a frame whose small grey thumbnail correlates with the previous
frame's under :data:`CUT_CORRELATION`. On our real validation footage cuts correlate at 0.09-0.22 and every other
frame at 0.46 or more (0.55: a bus passing right in front of the camera); generated scenes' background cuts at under
0.17.
"""

from __future__ import annotations

import cv2
import numpy as np

THUMBNAIL = (32, 24)  # width, height: coarse enough that motion within a shot keeps the correlation high
CUT_CORRELATION = 0.3
FLAT = 1e-6  # a thumbnail with no more variance than this (a black frame) has nothing to correlate


def thumbnail(image: np.ndarray) -> np.ndarray:
    """The image (RGB) as a small grey float thumbnail, mean-free."""
    grey = cv2.resize(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), THUMBNAIL, interpolation=cv2.INTER_AREA)
    values = grey.astype(np.float32) / 255.0
    return values - values.mean()


def correlation(first: np.ndarray, second: np.ndarray) -> float:
    """Normalised cross-correlation of two mean-free thumbnails; 1 when either is flat (no structure to compare)."""
    energy = float(np.sqrt((first * first).sum() * (second * second).sum()))
    return float((first * second).sum()) / energy if energy > FLAT else 1.0


class ShotCutDetector:
    """Tells, frame by frame, whether the picture cut since the previous frame."""

    def __init__(self, threshold: float = CUT_CORRELATION) -> None:
        self.threshold = threshold
        self._previous: np.ndarray | None = None

    def start(self, image: np.ndarray) -> None:
        """Forget the frames seen so far; ``image`` is the previous frame of the next :meth:`is_cut`."""
        self._previous = thumbnail(image)

    def is_cut(self, image: np.ndarray) -> bool:
        """Whether ``image`` (RGB) cuts from the previous frame given (False for the first one)."""
        current = thumbnail(image)
        previous, self._previous = self._previous, current
        return previous is not None and correlation(previous, current) < self.threshold
