"""Sprites cut from real images and their compositing: affine pose, motion blur, exact extents, visibility.

A sprite is a premultiplied RGBA float32 patch with a binary shape mask. Its pose maps patch pixels to screen
pixels by one affine transform; the ground-truth box is the exact screen extent of the mask's pixel squares
under that transform (``x, y, w, h`` with pixel ``c`` covering ``[c, c + 1)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

SHAPES = ("rectangle", "ellipse", "rounded", "blob")
SPRITE_SIDE = 160  # sqrt(area) of a sprite patch in its own pixels


@dataclass(frozen=True)
class Sprite:
    """Premultiplied RGBA patch (h, w, 4) float32 in [0, 255] / [0, 1], and the mask's pixel-square corners."""

    rgba: np.ndarray
    corners: np.ndarray  # (K, 2) patch coordinates of the mask boundary pixels' corners
    area: float  # mask area in patch pixels

    @property
    def center(self) -> np.ndarray:
        height, width = self.rgba.shape[:2]
        return np.array([(width - 1) / 2, (height - 1) / 2])


@dataclass(frozen=True)
class Pose:
    """Screen pose: centre (x, y), size (sqrt of the area, px), aspect (w/h factor), rotation (degrees)."""

    center: np.ndarray
    size: float
    aspect: float
    angle: float


def shape_mask(rng: np.random.Generator, height: int, width: int, shape: str) -> np.ndarray:
    """A filled uint8 {0, 1} mask of one of ``SHAPES`` touching the patch borders."""
    mask = np.zeros((height, width), np.uint8)
    if shape == "rectangle":
        mask[:] = 1
    elif shape == "ellipse":
        cv2.ellipse(mask, (((width - 1) / 2, (height - 1) / 2), (width, height), 0), 1, -1)
    elif shape == "rounded":
        radius = int(min(height, width) * rng.uniform(0.15, 0.45))
        cv2.rectangle(mask, (radius, 0), (width - 1 - radius, height - 1), 1, -1)
        cv2.rectangle(mask, (0, radius), (width - 1, height - 1 - radius), 1, -1)
        for x in (radius, width - 1 - radius):
            for y in (radius, height - 1 - radius):
                cv2.circle(mask, (x, y), radius, 1, -1)
    else:  # blob: smooth random radius around the centre, scaled to the patch
        angles = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        radii = np.ones_like(angles)
        for k in (2, 3, 5):
            radii += rng.uniform(0, 0.35 / k * 2) * np.cos(k * angles + rng.uniform(0, 2 * np.pi))
        xs, ys = radii * np.cos(angles), radii * np.sin(angles)
        xs = (xs - xs.min()) / np.ptp(xs) * (width - 1)
        ys = (ys - ys.min()) / np.ptp(ys) * (height - 1)
        cv2.fillPoly(mask, [np.round(np.stack([xs, ys], 1)).astype(np.int32)], 1)
    return mask


def make_sprite(rng: np.random.Generator, image: np.ndarray, aspect: float, shape: str) -> Sprite:
    """Cut a random region of ``aspect`` (w/h) out of ``image`` (RGB or RGBA) and mask it with ``shape``."""
    img_h, img_w = image.shape[:2]
    fraction = rng.uniform(0.2, 0.7)
    crop_w = min(img_w, max(8, round(math.sqrt(fraction * img_h * img_w * aspect))))
    crop_h = min(img_h, max(8, round(crop_w / aspect)))
    x0, y0 = rng.integers(0, img_w - crop_w + 1), rng.integers(0, img_h - crop_h + 1)
    crop = image[y0 : y0 + crop_h, x0 : x0 + crop_w]
    scale = SPRITE_SIDE / math.sqrt(crop_h * crop_w)
    width, height = max(4, round(crop_w * scale)), max(4, round(crop_h * scale))
    crop = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)
    mask = shape_mask(rng, height, width, shape)
    if crop.shape[2] == 4:  # the image's own alpha (e.g. cards, chicky) refines the shape
        mask &= (crop[..., 3] > 127).astype(np.uint8)
        crop = crop[..., :3]
    if mask.sum() < 16:
        mask[:] = 1
    alpha = mask.astype(np.float32)
    return Sprite(np.dstack([crop * alpha[..., None], alpha]), boundary_corners(mask), float(mask.sum()))


def recolor(sprite: Sprite, gains: np.ndarray) -> Sprite:
    """The same sprite with its colour channels multiplied by ``gains`` (a look-alike distractor)."""
    rgba = sprite.rgba.copy()
    rgba[..., :3] = np.minimum(rgba[..., :3] * gains, 255 * rgba[..., 3:])
    return Sprite(rgba, sprite.corners, sprite.area)


def boundary_corners(mask: np.ndarray) -> np.ndarray:
    """Corners (+-0.5) of the mask's boundary pixels: their convex hull is the mask's pixel-square hull."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    points = np.concatenate([c.reshape(-1, 2) for c in contours]).astype(np.float64)
    offsets = np.array([[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5], [0.5, 0.5]])
    return (points[:, None, :] + offsets[None]).reshape(-1, 2)


def pose_matrix(sprite: Sprite, pose: Pose) -> np.ndarray:
    """2x3 affine matrix from patch pixels to screen pixels."""
    base = math.sqrt(sprite.area)
    sx, sy = pose.size / base * math.sqrt(pose.aspect), pose.size / base / math.sqrt(pose.aspect)
    theta = math.radians(pose.angle)
    rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    linear = rotation @ np.diag([sx, sy])
    return np.hstack([linear, (pose.center - linear @ sprite.center)[:, None]])


def screen_extent(sprite: Sprite, matrix: np.ndarray) -> np.ndarray:
    """Exact (x1, y1, x2, y2) of the mask under ``matrix``, in box coordinates (pixel c covers [c, c+1))."""
    points = sprite.corners @ matrix[:, :2].T + matrix[:, 2]
    return np.concatenate([points.min(axis=0), points.max(axis=0)]) + 0.5


def line_kernel(velocity: np.ndarray, exposure: float) -> np.ndarray | None:
    """Normalised linear motion-blur kernel for a screen ``velocity`` (px/frame), None when under 2 px."""
    length = float(np.hypot(*velocity)) * exposure
    if length < 2:
        return None
    size = math.ceil(length) | 1
    kernel = np.zeros((size, size), np.float32)
    direction = velocity / np.hypot(*velocity) * (length - 1) / 2
    center = np.array([size // 2, size // 2], dtype=np.float64)
    start, end = np.round((center - direction) * 16).astype(int), np.round((center + direction) * 16).astype(int)
    cv2.line(kernel, tuple(start), tuple(end), 1.0, 1, cv2.LINE_AA, shift=4)
    return kernel / kernel.sum()


@dataclass(frozen=True)
class Placed:
    """A sprite drawn into a frame: its region of interest and the warped premultiplied RGBA there."""

    x0: int
    y0: int
    rgba: np.ndarray  # (h, w, 4), before motion blur


def place(sprite: Sprite, matrix: np.ndarray, frame_shape: tuple[int, int], margin: int = 0) -> Placed | None:
    """Warp the sprite into its on-screen region (grown by ``margin``), or None when it is entirely off screen."""
    height, width = frame_shape
    x1, y1, x2, y2 = screen_extent(sprite, matrix)
    x0, y0 = max(0, math.floor(x1) - margin), max(0, math.floor(y1) - margin)
    xe, ye = min(width, math.ceil(x2) + margin), min(height, math.ceil(y2) + margin)
    if xe <= x0 or ye <= y0:
        return None
    shifted = matrix.copy()
    shifted[:, 2] -= (x0, y0)
    rgba = cv2.warpAffine(sprite.rgba, shifted, (xe - x0, ye - y0), flags=cv2.INTER_LINEAR, borderValue=0)
    return Placed(x0, y0, rgba)


def composite(frame: np.ndarray, placed: Placed, gain: float, kernel: np.ndarray | None) -> np.ndarray:
    """Draw ``placed`` over ``frame`` (float32 RGB, in place) with a brightness gain and optional blur.

    Returns the alpha that was drawn (h, w) in the placed region, for occlusion bookkeeping.
    """
    rgba = placed.rgba if kernel is None else cv2.filter2D(placed.rgba, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    alpha = rgba[..., 3]
    height, width = alpha.shape
    region = frame[placed.y0 : placed.y0 + height, placed.x0 : placed.x0 + width]
    region *= 1.0 - alpha[..., None]
    region += rgba[..., :3] * gain
    return alpha


def overlap(placed: Placed, other: Placed, other_alpha: np.ndarray) -> tuple[slice, slice, np.ndarray] | None:
    """Where ``other``'s alpha lies over ``placed``'s region: (rows, cols) slices into ``placed`` and the alpha."""
    y0, x0 = max(placed.y0, other.y0), max(placed.x0, other.x0)
    y1 = min(placed.y0 + placed.rgba.shape[0], other.y0 + other_alpha.shape[0])
    x1 = min(placed.x0 + placed.rgba.shape[1], other.x0 + other_alpha.shape[1])
    if y1 <= y0 or x1 <= x0:
        return None
    rows, cols = slice(y0 - placed.y0, y1 - placed.y0), slice(x0 - placed.x0, x1 - placed.x0)
    return rows, cols, other_alpha[y0 - other.y0 : y1 - other.y0, x0 - other.x0 : x1 - other.x0]
