"""Input checks shared by every backend: clear ``ValueError``s for bad images and boxes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def validate_image(image: np.ndarray) -> None:
    """Require a non-empty HxWx3 uint8 array."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be HxWx3 (RGB), got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image is empty: shape {image.shape}")


def validate_box(box: Sequence[float], image_shape: Sequence[int]) -> tuple[float, float, float, float]:
    """Require a finite (x, y, w, h) box with positive size that overlaps the image."""
    if len(box) != 4:
        raise ValueError(f"box must be (x, y, w, h), got {len(box)} values")
    x, y, w, h = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        raise ValueError(f"box has a non-finite value: {(x, y, w, h)}")
    if w <= 0 or h <= 0:
        raise ValueError(f"box size must be positive, got w={w}, h={h}")
    height, width = image_shape[0], image_shape[1]
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise ValueError(f"box {(x, y, w, h)} lies entirely outside the {width}x{height} image")
    return x, y, w, h
