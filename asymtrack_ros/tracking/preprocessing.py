"""Crop, normalise and map-back arithmetic, identical to the official trackers.

Both AsymTrack and HiT crop a square of side ``ceil(sqrt(w*h) * factor)`` around the box centre
(Python ``round`` for the corner, zero padding outside the image, with the official far-side
``+1`` padding quirk), resize it bilinearly, and normalise with ImageNet statistics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from asymtrack_ros.boxes import Box

# Above this crop side (times the image's longer side) the padded crop is never materialised.
LARGE_CROP_RATIO = 2


def sample_target(
    image: np.ndarray, box: Sequence[float] | np.ndarray, factor: float, output_size: int
) -> tuple[np.ndarray, float]:
    """Square crop of side ``ceil(sqrt(w*h)*factor)`` centred on ``box``, resized to ``output_size``.

    Returns the (output_size, output_size, 3) uint8 crop and ``resize_factor = output_size / crop_side``.
    Crops more than ``LARGE_CROP_RATIO`` times the image's longer side (a whole-image box searched
    with a widened region) are sampled straight to ``output_size`` instead of padded first: the same
    bilinear sampling without the official far-side padding quirk, and memory bounded by the image.
    """
    x, y, w, h = box
    side = math.sqrt(w * h) * factor
    if not math.isfinite(side) or side <= 0:
        raise ValueError(f"box {tuple(box)} with factor {factor} gives no croppable region")
    crop_side = math.ceil(side)
    x1 = round(x + 0.5 * w - crop_side * 0.5)
    y1 = round(y + 0.5 * h - crop_side * 0.5)
    x2, y2 = x1 + crop_side, y1 + crop_side
    height, width = image.shape[:2]
    if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
        raise ValueError(f"box {tuple(box)} does not overlap the {width}x{height} image")
    if crop_side > LARGE_CROP_RATIO * max(height, width):
        return _sample_large(image, x1, y1, crop_side, output_size), output_size / crop_side
    x1_pad, y1_pad = max(0, -x1), max(0, -y1)
    x2_pad, y2_pad = max(x2 - width + 1, 0), max(y2 - height + 1, 0)
    crop = image[y1 + y1_pad : y2 - y2_pad, x1 + x1_pad : x2 - x2_pad]
    if crop.size == 0:
        raise ValueError(f"box {tuple(box)} does not overlap the {width}x{height} image")
    padded = cv2.copyMakeBorder(crop, y1_pad, y2_pad, x1_pad, x2_pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return cv2.resize(padded, (output_size, output_size)), output_size / crop_side


def _sample_large(image: np.ndarray, x1: int, y1: int, crop_side: int, output_size: int) -> np.ndarray:
    """Bilinear samples of the square (x1, y1, crop_side) at ``output_size``^2 pixel centres, zeros outside."""
    scale = crop_side / output_size
    to_source = np.array([[scale, 0.0, x1 + 0.5 * scale - 0.5], [0.0, scale, y1 + 0.5 * scale - 0.5]])
    return cv2.warpAffine(image, to_source, (output_size, output_size),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


class Normalizer:
    """uint8 HxWx3 RGB crop -> float32 (1, 3, H, W) tensor data, ``(x/255 - mean) / std``."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = np.asarray(mean, dtype=np.float32).reshape(1, 3, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(1, 3, 1, 1)

    def __call__(self, crop: np.ndarray) -> np.ndarray:
        # One channel plane at a time, in place: the same float32 operations as the official
        # ``(x / 255 - mean) / std`` on a transposed copy (bit-identical), about 4x faster.
        tensor = np.empty((1, 3, *crop.shape[:2]), dtype=np.float32)
        for channel in range(3):
            plane = tensor[0, channel]
            np.divide(crop[:, :, channel], np.float32(255.0), out=plane, dtype=np.float32)
            np.subtract(plane, self.mean[0, channel, 0, 0], out=plane)
            np.divide(plane, self.std[0, channel, 0, 0], out=plane)
        return tensor


def map_box_back(pred_box_norm: np.ndarray, previous: Box, search_size: int, resize_factor: float) -> Box:
    """Network (cx, cy, w, h) normalised to the search crop -> (x, y, w, h) in image pixels.

    Float32 scaling as the official tracker does (``pred * search_size / resize_factor`` on a tensor).
    """
    scaled = pred_box_norm.astype(np.float32) * np.float32(search_size) / np.float32(resize_factor)
    cx, cy, w, h = (float(v) for v in scaled)
    half_side = 0.5 * search_size / resize_factor
    cx_real = cx + (previous[0] + 0.5 * previous[2] - half_side)
    cy_real = cy + (previous[1] + 0.5 * previous[3] - half_side)
    return cx_real - 0.5 * w, cy_real - 0.5 * h, w, h


def clip_box(box: Box, height: int, width: int, margin: float = 10) -> Box:
    """Keep at least ``margin`` pixels of the box inside the image and a size of at least ``margin``."""
    x1, y1, w, h = box
    x2, y2 = x1 + w, y1 + h
    x1 = min(max(0, x1), width - margin)
    x2 = min(max(margin, x2), width)
    y1 = min(max(0, y1), height - margin)
    y2 = min(max(margin, y2), height)
    return x1, y1, max(margin, x2 - x1), max(margin, y2 - y1)
