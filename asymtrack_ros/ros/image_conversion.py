"""RGB frames -> sensor_msgs/Image and CompressedImage, without cv_bridge.

Messages -> RGB frames (every size checked before any pixel is touched) is ROS-free and lives in
:mod:`asymtrack_ros.image_messages`, shared with the recording evaluation. This module is the way back:
RGB frames -> rclpy messages.
"""

from __future__ import annotations

from array import array

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image

from asymtrack_ros.image_messages import ImageConversionError


def rgb_to_image(image_rgb: np.ndarray, encoding: str = "bgr8") -> Image:
    """An Image message (bgr8 or rgb8) of an HxWx3 uint8 RGB frame; header left for the caller."""
    if encoding not in ("bgr8", "rgb8"):
        raise ValueError(f"rgb_to_image writes bgr8 or rgb8, not {encoding!r}")
    pixels = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR) if encoding == "bgr8" else image_rgb
    message = Image(height=pixels.shape[0], width=pixels.shape[1], encoding=encoding, step=pixels.shape[1] * 3)
    data = array("B")
    data.frombytes(np.ascontiguousarray(pixels).data)
    message.data = data
    return message


def rgb_to_compressed(image_rgb: np.ndarray, fmt: str = "jpeg", quality: int = 90) -> CompressedImage:
    """A CompressedImage (jpeg or png) of an HxWx3 uint8 RGB frame."""
    extension = {"jpeg": ".jpg", "png": ".png"}[fmt]
    ok, encoded = cv2.imencode(extension, cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, quality] if fmt == "jpeg" else [])
    if not ok:
        raise ImageConversionError(f"cannot encode image as {fmt}")
    message = CompressedImage(format=fmt)
    message.data = array("B", encoded.tobytes())
    return message
