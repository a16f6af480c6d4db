"""Where a tracked box lies relative to the camera: the numbers a gimbal, a visual servo or a follower needs.

- ``image_offset``: the box centre's offset from the image centre, normalised to [-1, 1] per axis
  (x right, y down; -1/+1 at the image borders), and the box size as a fraction of the image.
- ``bearing``: with the camera's intrinsics (sensor_msgs/CameraInfo ``K``, ``D``), the unit ray to
  the box centre in the camera's optical frame (x right, y down, z forward; REP 103) and the angles
  a gimbal turns by: ``yaw`` (positive when the target is right of the optical axis) and ``pitch``
  (positive when it is above). Lens distortion (plumb_bob, rational_polynomial) is removed with
  OpenCV's ``undistortPoints``; a camera_info of another resolution than the image (binning) is scaled.

Imports no ROS module.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from asymtrack_ros.boxes import Box, centre

DISTORTION_MODELS = ("plumb_bob", "rational_polynomial", "")
DISTORTION_LENGTHS = (4, 5, 8, 12, 14)  # the coefficient counts OpenCV's undistortPoints takes


@dataclass(frozen=True)
class ImageOffset:
    """Box centre offset from the image centre in [-1, 1] (x right, y down) and size in image fractions."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Bearing:
    """Unit ray to the target in the optical frame and the gimbal angles (radians)."""

    ray: tuple[float, float, float]
    yaw: float
    pitch: float


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics for an image of ``width`` x ``height``, with the camera's distortion."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    distortion: tuple[float, ...] = ()

    @classmethod
    def from_camera_info(cls, k: Sequence[float], d: Sequence[float], model: str, width: int,
                         height: int) -> Intrinsics:
        """From CameraInfo fields; ValueError for an unusable matrix or an unknown distortion model."""
        fx, fy, cx, cy = float(k[0]), float(k[4]), float(k[2]), float(k[5])
        if not all(math.isfinite(v) for v in (fx, fy, cx, cy)) or fx <= 0 or fy <= 0 or width <= 0 or height <= 0:
            raise ValueError(f"camera_info has no usable intrinsics (K {list(k)}, {width}x{height})")
        if model not in DISTORTION_MODELS:
            raise ValueError(f"distortion model {model!r} is not supported (use {', '.join(DISTORTION_MODELS[:2])})")
        coefficients = tuple(float(v) for v in d)
        if not all(math.isfinite(v) for v in coefficients):
            raise ValueError(f"camera_info distortion has a non-finite value: {list(coefficients)}")
        distortion = coefficients if any(coefficients) else ()
        if distortion and len(distortion) not in DISTORTION_LENGTHS:
            raise ValueError(f"camera_info has {len(distortion)} distortion coefficients; expected one of "
                             f"{DISTORTION_LENGTHS}")
        return cls(fx, fy, cx, cy, int(width), int(height), distortion)

    def scaled_to(self, width: int, height: int) -> Intrinsics:
        """The same camera at another resolution (binning or resizing keeps the field of view)."""
        sx, sy = width / self.width, height / self.height
        return Intrinsics(self.fx * sx, self.fy * sy, (self.cx + 0.5) * sx - 0.5, (self.cy + 0.5) * sy - 0.5,
                          width, height, self.distortion)


def image_offset(box: Box, width: int, height: int) -> ImageOffset:
    """The box's centre offset and size relative to a ``width`` x ``height`` image."""
    (u, v), (w, h) = centre(box), box[2:]
    half_w, half_h = width / 2.0, height / 2.0
    return ImageOffset((u - half_w) / half_w, (v - half_h) / half_h, w / width, h / height)


def bearing(box: Box, intrinsics: Intrinsics) -> Bearing:
    """Ray and gimbal angles to the box centre."""
    u, v = centre(box)
    if intrinsics.distortion:
        camera = np.array([[intrinsics.fx, 0.0, intrinsics.cx], [0.0, intrinsics.fy, intrinsics.cy], [0, 0, 1]])
        point = cv2.undistortPoints(np.array([[[u, v]]], dtype=np.float64), camera,
                                    np.array(intrinsics.distortion, dtype=np.float64))
        xn, yn = float(point[0, 0, 0]), float(point[0, 0, 1])
    else:
        xn, yn = (u - intrinsics.cx) / intrinsics.fx, (v - intrinsics.cy) / intrinsics.fy
    norm = math.sqrt(xn * xn + yn * yn + 1.0)
    return Bearing((xn / norm, yn / norm, 1.0 / norm), math.atan2(xn, 1.0), math.atan2(-yn, math.hypot(xn, 1.0)))
