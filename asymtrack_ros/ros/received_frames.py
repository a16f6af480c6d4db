"""Camera messages as the node keeps them: checked in O(1) on arrival, decoded later by the worker."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sensor_msgs.msg import CompressedImage, Image

from asymtrack_ros.boxes import Box
from asymtrack_ros.image_messages import check_compressed, check_layout, compressed_to_rgb, image_to_rgb


@dataclass(frozen=True)
class ReceivedFrame:
    """An image message that passed the O(1) checks, with the size it has (or its header claims)."""

    message: Image | CompressedImage
    width: int
    height: int


@dataclass(frozen=True)
class PendingTarget:
    """A validated target request waiting for the worker: the box on ``frame``, in pixels."""

    frame: ReceivedFrame
    box: Box
    target_id: str


def receive(message: Image | CompressedImage, max_pixels: int) -> ReceivedFrame:
    """The frame with its real (raw) or claimed (JPEG/PNG header) size; ImageConversionError when malformed
    or above ``max_pixels``. Touches no pixel."""
    if isinstance(message, CompressedImage):
        claimed = check_compressed(message, max_pixels)
        return ReceivedFrame(message, claimed.width, claimed.height)
    check_layout(message, max_pixels)
    return ReceivedFrame(message, message.width, message.height)


def decode(message: Image | CompressedImage, max_pixels: int) -> np.ndarray:
    """The HxWx3 uint8 RGB frame of a raw or compressed message (ImageConversionError on bad input)."""
    if isinstance(message, CompressedImage):
        return compressed_to_rgb(message, max_pixels)
    return image_to_rgb(message, max_pixels)
