"""sensor_msgs/Image and CompressedImage fields -> numpy RGB frames, for any object that carries those fields.

rclpy's messages (the node) and rosbags' messages (``asymtrack-eval --bag``) alike: only the fields are read,
so this module imports no ROS code. Raw images are viewed zero-copy (``np.frombuffer``), row padding (``step``)
respected, and turned into the HxWx3 uint8 RGB frames the trackers take. 16-bit images are scaled by 1/256,
32-bit float images min-max normalised per frame, mono replicated to three channels. Every size is checked
before any pixel is touched: raw images by their fields, JPEG and PNG by their header
(:mod:`asymtrack_ros.compressed_header`), both against ``max_pixels`` (the node's ``max_input_pixels``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np

from asymtrack_ros.compressed_header import ClaimedSize, HeaderError, claimed_size

if TYPE_CHECKING:
    from asymtrack_ros.compressed_header import BytesLike

DEFAULT_MAX_PIXELS = 7680 * 4320  # 8K UHD


class RawImage(Protocol):
    """The fields of sensor_msgs/Image read here."""

    @property
    def height(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def step(self) -> int: ...
    @property
    def encoding(self) -> str: ...
    @property
    def is_bigendian(self) -> int: ...
    @property
    def data(self) -> BytesLike: ...


class CompressedData(Protocol):
    """The fields of sensor_msgs/CompressedImage read here."""

    @property
    def format(self) -> str: ...
    @property
    def data(self) -> BytesLike: ...


def byte_view(data: BytesLike) -> memoryview:
    """``data`` (bytes, ``array('B')``, a uint8 array) as a flat byte memoryview, without copying."""
    return memoryview(data).cast("B")


class ImageConversionError(ValueError):
    """The message cannot be turned into an image (reason in the text)."""


@dataclass(frozen=True)
class Encoding:
    dtype: str
    channels: int
    to_rgb: int | None  # cv2 colour conversion after bringing the pixels to uint8, None = already RGB


ENCODINGS: dict[str, Encoding] = {
    "rgb8": Encoding("u1", 3, None),
    "bgr8": Encoding("u1", 3, cv2.COLOR_BGR2RGB),
    "8UC3": Encoding("u1", 3, cv2.COLOR_BGR2RGB),
    "rgba8": Encoding("u1", 4, cv2.COLOR_RGBA2RGB),
    "bgra8": Encoding("u1", 4, cv2.COLOR_BGRA2RGB),
    "8UC4": Encoding("u1", 4, cv2.COLOR_BGRA2RGB),
    "mono8": Encoding("u1", 1, cv2.COLOR_GRAY2RGB),
    "8UC1": Encoding("u1", 1, cv2.COLOR_GRAY2RGB),
    "mono16": Encoding("u2", 1, cv2.COLOR_GRAY2RGB),
    "16UC1": Encoding("u2", 1, cv2.COLOR_GRAY2RGB),
    "bgr16": Encoding("u2", 3, cv2.COLOR_BGR2RGB),
    "16UC3": Encoding("u2", 3, cv2.COLOR_BGR2RGB),
    "rgb16": Encoding("u2", 3, None),
    "bgra16": Encoding("u2", 4, cv2.COLOR_BGRA2RGB),
    "rgba16": Encoding("u2", 4, cv2.COLOR_RGBA2RGB),
    "32FC1": Encoding("f4", 1, cv2.COLOR_GRAY2RGB),
    "uyvy": Encoding("u1", 2, cv2.COLOR_YUV2RGB_UYVY),
    "yuv422": Encoding("u1", 2, cv2.COLOR_YUV2RGB_UYVY),
    "yuyv": Encoding("u1", 2, cv2.COLOR_YUV2RGB_YUYV),
    "yuv422_yuy2": Encoding("u1", 2, cv2.COLOR_YUV2RGB_YUYV),
}


def check_size(width: int, height: int, max_pixels: int) -> None:
    """Refuse empty images and images above ``max_pixels``."""
    if height == 0 or width == 0:
        raise ImageConversionError(f"empty image ({width}x{height})")
    if width * height > max_pixels:
        raise ImageConversionError(
            f"image of {width}x{height} = {width * height} pixels exceeds max_input_pixels = {max_pixels}")


def check_layout(message: RawImage, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[Encoding, np.dtype, int]:
    """Validate encoding, size, step and data length without touching the pixels (O(1)).

    Returns the encoding, the pixel dtype (with byte order) and the bytes per row without padding.
    """
    encoding = ENCODINGS.get(message.encoding)
    if encoding is None:
        raise ImageConversionError(f"unsupported encoding {message.encoding!r}; supported: {sorted(ENCODINGS)}")
    height, width, step = message.height, message.width, message.step
    check_size(width, height, max_pixels)
    if encoding.channels == 2 and width % 2:
        raise ImageConversionError(f"{message.encoding} packs two pixels per 4 bytes: width {width} must be even")
    dtype = np.dtype(encoding.dtype).newbyteorder(">" if message.is_bigendian else "<")
    row_bytes = width * encoding.channels * dtype.itemsize
    if step < row_bytes:
        raise ImageConversionError(f"step {step} is less than width*channels*bytes = {row_bytes}")
    size = byte_view(message.data).nbytes
    if size < step * height:
        raise ImageConversionError(f"data has {size} bytes, step*height needs {step * height}")
    return encoding, dtype, row_bytes


def image_to_rgb(message: RawImage, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """HxWx3 uint8 RGB frame of a raw image message; ImageConversionError on bad input."""
    encoding, dtype, row_bytes = check_layout(message, max_pixels)
    height, width, step = message.height, message.width, message.step
    buffer = np.frombuffer(byte_view(message.data), dtype=np.uint8)
    rows = buffer[: step * height].reshape(height, step)[:, :row_bytes]
    pixels = rows.view(dtype) if rows.flags.c_contiguous else np.ascontiguousarray(rows).view(dtype)
    pixels = pixels.reshape(height, width, encoding.channels)
    return _to_rgb8(pixels, encoding)


def _to_rgb8(pixels: np.ndarray, encoding: Encoding) -> np.ndarray:
    if pixels.dtype.kind == "f":
        finite = np.nan_to_num(pixels.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        low, high = float(finite.min()), float(finite.max())
        scaled = np.rint((finite - low) * (255.0 / (high - low))) if high > low else np.zeros_like(finite)
        pixels = scaled.astype(np.uint8)
    elif pixels.dtype.itemsize == 2:
        pixels = (pixels.astype(np.uint16) >> 8).astype(np.uint8)
    if encoding.to_rgb is None:
        return pixels
    if encoding.channels == 2:
        return cv2.cvtColor(pixels, encoding.to_rgb)
    return cv2.cvtColor(pixels[..., 0] if encoding.channels == 1 else pixels, encoding.to_rgb)


def check_compressed(message: CompressedData, max_pixels: int = DEFAULT_MAX_PIXELS) -> ClaimedSize:
    """The format and size a JPEG/PNG message claims, refused when empty or above ``max_pixels``."""
    if byte_view(message.data).nbytes == 0:
        raise ImageConversionError("compressed image has no data")
    try:
        claimed = claimed_size(message.data)
    except HeaderError as error:
        raise ImageConversionError(f"{error} (format field {message.format[:40]!r})") from error
    check_size(claimed.width, claimed.height, max_pixels)
    return claimed


def compressed_to_rgb(message: CompressedData, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode a JPEG or PNG CompressedImage to HxWx3 uint8 RGB, its claimed size checked first."""
    claimed = check_compressed(message, max_pixels)
    buffer = np.frombuffer(byte_view(message.data), dtype=np.uint8)
    try:
        decoded = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    except cv2.error as error:
        raise ImageConversionError(f"OpenCV cannot decode the {claimed.format}: {error}") from error
    if decoded is None:
        raise ImageConversionError(f"cannot decode compressed image ({claimed.format}, {buffer.size} bytes)")
    if decoded.shape[:2] != (claimed.height, claimed.width):
        raise ImageConversionError(f"decoded {decoded.shape[1]}x{decoded.shape[0]} differs from the "
                                   f"{claimed.width}x{claimed.height} its header claims")
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
