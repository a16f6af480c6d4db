"""Training crops and augmentations (pytracking/OSTrack conventions).

Both crops use the tracker's own :func:`~asymtrack_ros.tracking.preprocessing.sample_target` and
:class:`~asymtrack_ros.tracking.preprocessing.Normalizer`; jitter moves and rescales the box *before* cropping
(search: centre jitter 3, scale jitter 0.25; template: none). The target box in the search crop follows the
inverse of the tracker's :func:`~asymtrack_ros.tracking.preprocessing.map_box_back`, so training and inference
agree to the pixel. Joint grayscale (5 %) and horizontal flip (50 %), per-crop brightness jitter (0.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from asymtrack_ros.tracking.preprocessing import sample_target


@dataclass(frozen=True)
class AugmentConfig:
    """Jitter and photometric augmentation settings."""

    search_center_jitter: float = 3.0
    search_scale_jitter: float = 0.25
    template_center_jitter: float = 0.0
    template_scale_jitter: float = 0.0
    grayscale_prob: float = 0.05
    flip_prob: float = 0.5
    brightness_jitter: float = 0.2


def jitter_box(rng: np.random.Generator, box: np.ndarray, center_jitter: float, scale_jitter: float) -> np.ndarray:
    """pytracking's jittered box: size times ``exp(N(0, scale_jitter))``, centre moved by up to
    ``center_jitter / 2`` times the jittered ``sqrt(w * h)`` per axis."""
    size = box[2:] * np.exp(rng.normal(size=2) * scale_jitter)
    max_offset = math.sqrt(size[0] * size[1]) * center_jitter
    center = box[:2] + box[2:] / 2 + max_offset * (rng.random(2) - 0.5)
    return np.concatenate([center - size / 2, size])


def crop_around(
    image: np.ndarray, crop_box: np.ndarray, target_box: np.ndarray, factor: float, output_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Crop centred on ``crop_box``; returns the crop and ``target_box`` as normalised (cx, cy, w, h) in it."""
    crop, resize_factor = sample_target(image, crop_box, factor, output_size)
    offset = (target_box[:2] + target_box[2:] / 2) - (crop_box[:2] + crop_box[2:] / 2)
    center = offset * resize_factor + output_size / 2
    return crop, np.concatenate([center, target_box[2:] * resize_factor]) / output_size


def brightness(rng: np.random.Generator, crop: np.ndarray, jitter: float) -> np.ndarray:
    """Multiply by one factor drawn from ``[1 - jitter, 1 + jitter]``."""
    factor = rng.uniform(max(0.0, 1 - jitter), 1 + jitter)
    return np.clip(crop.astype(np.float32) * factor, 0, 255).astype(np.uint8)


def photometric(
    rng: np.random.Generator, template: np.ndarray, search: np.ndarray, search_box: np.ndarray, config: AugmentConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Joint grayscale and horizontal flip, then per-crop brightness; the box follows the flip."""
    if rng.random() < config.grayscale_prob:
        template, search = (
            cv2.cvtColor(cv2.cvtColor(c, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB) for c in (template, search)
        )
    if rng.random() < config.flip_prob:
        template, search = template[:, ::-1], search[:, ::-1]
        search_box = np.array([1.0 - search_box[0], *search_box[1:]])
    template = brightness(rng, template, config.brightness_jitter)
    search = brightness(rng, search, config.brightness_jitter)
    return template, search, search_box
