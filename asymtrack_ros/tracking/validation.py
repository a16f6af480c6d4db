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


MIN_BOX_SIDE = 1.0  # pixels


def validate_box(box: Sequence[float], image_shape: Sequence[int]) -> tuple[float, float, float, float]:
    """Require a finite (x, y, w, h) box, 1 px to the image's size per side, that overlaps the image.

    Checked before any crop: the crop side grows with the box (a 1e308 box overflows it, a 5000 px
    box on a 768x576 image costs gigabytes).
    """
    if len(box) != 4:
        raise ValueError(f"box must be (x, y, w, h), got {len(box)} values")
    x, y, w, h = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        raise ValueError(f"box has a non-finite value: {(x, y, w, h)}")
    if w <= 0 or h <= 0:
        raise ValueError(f"box size must be positive, got w={w}, h={h}")
    height, width = image_shape[0], image_shape[1]
    if w < MIN_BOX_SIDE or h < MIN_BOX_SIDE:
        raise ValueError(f"box of {w:.3g}x{h:.3g} is smaller than {MIN_BOX_SIDE:g} pixel per side")
    if w > width or h > height:
        raise ValueError(f"box of {w:.6g}x{h:.6g} is larger than the {width}x{height} image")
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise ValueError(f"box {(x, y, w, h)} lies entirely outside the {width}x{height} image")
    return x, y, w, h
