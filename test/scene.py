"""A deterministic moving-target scene for node tests: a textured square gliding over texture."""

from __future__ import annotations

import numpy as np

WIDTH, HEIGHT, SIDE = 320, 240, 48


def _texture(rng: np.random.Generator, height: int, width: int, cell: int) -> np.ndarray:
    coarse = rng.integers(0, 256, (height // cell + 1, width // cell + 1, 3), dtype=np.uint8)
    return np.repeat(np.repeat(coarse, cell, axis=0), cell, axis=1)[:height, :width]


BACKGROUND = (_texture(np.random.default_rng(1), HEIGHT, WIDTH, 16) // 3 + 60).astype(np.uint8)
TARGET = _texture(np.random.default_rng(2), SIDE, SIDE, 6)


def target_box(t: int) -> tuple[float, float, float, float]:
    """Ground-truth (x, y, w, h) of the square in frame ``t`` (slow, smooth motion)."""
    x = 60 + 100 * (0.5 - 0.5 * np.cos(t / 40.0))
    y = 70 + 60 * (0.5 - 0.5 * np.cos(t / 55.0))
    return float(round(x)), float(round(y)), float(SIDE), float(SIDE)


def frame(t: int) -> np.ndarray:
    """RGB frame ``t``."""
    image = BACKGROUND.copy()
    x, y, w, h = (int(v) for v in target_box(t))
    image[y : y + h, x : x + w] = TARGET
    return image


SECOND_SIDE = 40
SECOND_TARGET = _texture(np.random.default_rng(3), SECOND_SIDE, SECOND_SIDE, 5)


def second_box(t: int) -> tuple[float, float, float, float]:
    """Ground-truth (x, y, w, h) of a second square, right of the first one's path (they never overlap)."""
    x = 230 + 40 * (0.5 - 0.5 * np.cos(t / 35.0))
    y = 20 + 100 * (0.5 - 0.5 * np.cos(t / 50.0))
    return float(round(x)), float(round(y)), float(SECOND_SIDE), float(SECOND_SIDE)


def two_target_frame(t: int) -> np.ndarray:
    """RGB frame ``t`` with both squares."""
    image = frame(t)
    x, y, w, h = (int(v) for v in second_box(t))
    image[y : y + h, x : x + w] = SECOND_TARGET
    return image
