"""The generated test scene: a seeded, textured object moving over a textured background (exact boxes)."""

from __future__ import annotations

import cv2
import numpy as np


def texture(rng: np.random.Generator, height: int, width: int, blur: float) -> np.ndarray:
    """Smooth coloured noise with a few stripes, uint8 (height, width, 3)."""
    noise = rng.random((height, width, 3), dtype=np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), blur)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle, period = rng.uniform(0, np.pi), rng.uniform(8, 24)
    stripes = 0.5 + 0.5 * np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    span = smooth.max() - smooth.min() + 1e-6
    image = 0.7 * (smooth - smooth.min()) / span + 0.3 * stripes[..., None] * rng.random(3, dtype=np.float32)
    return np.clip(image * 255, 0, 255).astype(np.uint8)


def generated_sequence(
    num_frames: int = 40, height: int = 360, width: int = 480, seed: int = 0, period: int = 120
) -> tuple[np.ndarray, np.ndarray]:
    """Frames (N, H, W, 3) uint8 RGB and ground-truth boxes (N, 4) ``x, y, w, h``.

    The object (about 1/6 of the frame, its own texture and a border) follows a smooth Lissajous
    path (one loop per ``period`` frames) with a slow size change; background and path are fixed by ``seed``.
    """
    rng = np.random.default_rng(seed)
    background = texture(rng, height, width, blur=6.0)
    obj_h, obj_w = height // 5, width // 7
    patch = texture(rng, obj_h, obj_w, blur=2.0)
    cv2.rectangle(patch, (0, 0), (obj_w - 1, obj_h - 1), tuple(int(v) for v in rng.integers(0, 255, 3)), 3)
    phase = rng.uniform(0, 2 * np.pi, 2)
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    boxes = np.empty((num_frames, 4), np.float64)
    for i in range(num_frames):
        t = i / period
        scale = 1.0 + 0.2 * np.sin(2 * np.pi * t)
        w, h = max(8, round(obj_w * scale)), max(8, round(obj_h * scale))
        cx = width * (0.5 + 0.3 * np.sin(2 * np.pi * t + phase[0]))
        cy = height * (0.5 + 0.3 * np.sin(4 * np.pi * t + phase[1]))
        x, y = round(cx - w / 2), round(cy - h / 2)
        frame = background.copy()
        frame[y : y + h, x : x + w] = cv2.resize(patch, (w, h))
        frames[i], boxes[i] = frame, (x, y, w, h)
    return frames, boxes
