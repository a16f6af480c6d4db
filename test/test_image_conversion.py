"""Image <-> numpy without cv_bridge: every supported encoding, row padding, byte order, bad input."""

from __future__ import annotations

from array import array

import cv2
import numpy as np
import pytest

from ros_fixtures import require_ros


@pytest.fixture(autouse=True)
def _ros() -> None:
    require_ros()


RGB = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)


def message(pixels: np.ndarray, encoding: str, padding: int = 3, bigendian: bool = False):
    """An Image whose rows carry ``padding`` extra bytes (step > width * pixel size)."""
    from sensor_msgs.msg import Image

    height, width = pixels.shape[:2]
    raw = pixels.astype(pixels.dtype.newbyteorder(">" if bigendian else "<")).reshape(height, -1).view(np.uint8)
    rows = np.concatenate([raw, np.full((height, padding), 0xEE, np.uint8)], axis=1)
    return Image(height=height, width=width, encoding=encoding, step=rows.shape[1], is_bigendian=bigendian,
                 data=array("B", rows.tobytes()))


@pytest.mark.parametrize(
    ("encoding", "pixels", "expected"),
    [
        ("rgb8", RGB, RGB),
        ("bgr8", RGB[..., ::-1], RGB),
        ("8UC3", RGB[..., ::-1], RGB),
        ("rgba8", np.dstack([RGB, np.full(RGB.shape[:2], 9, np.uint8)]), RGB),
        ("bgra8", np.dstack([RGB[..., ::-1], np.full(RGB.shape[:2], 9, np.uint8)]), RGB),
        ("mono8", RGB[..., :1], np.repeat(RGB[..., :1], 3, axis=2)),
        ("8UC1", RGB[..., :1], np.repeat(RGB[..., :1], 3, axis=2)),
        ("mono16", RGB[..., :1].astype(np.uint16) * 256 + 77, np.repeat(RGB[..., :1], 3, axis=2)),
        ("16UC1", RGB[..., :1].astype(np.uint16) * 256, np.repeat(RGB[..., :1], 3, axis=2)),
        ("bgr16", RGB[..., ::-1].astype(np.uint16) * 256, RGB),
        ("16UC3", RGB[..., ::-1].astype(np.uint16) * 256, RGB),
        ("rgb16", RGB.astype(np.uint16) * 256 + 255, RGB),
    ],
)
def test_integer_encodings_with_padded_rows_convert_to_rgb_in_both_byte_orders(
    encoding: str, pixels: np.ndarray, expected: np.ndarray
) -> None:
    from asymtrack_ros.image_messages import image_to_rgb

    np.testing.assert_array_equal(image_to_rgb(message(pixels, encoding)), expected)
    if pixels.dtype.itemsize == 2:
        np.testing.assert_array_equal(image_to_rgb(message(pixels, encoding, bigendian=True)), expected)


def test_float_image_is_stretched_to_grey_rgb_spanning_0_to_255() -> None:
    from asymtrack_ros.image_messages import image_to_rgb

    depth = np.linspace(0.5, 4.0, 35, dtype=np.float32).reshape(5, 7, 1)
    converted = image_to_rgb(message(depth, "32FC1"))
    assert converted.shape == (5, 7, 3) and converted.min() == 0 and converted.max() == 255


def test_packed_yuv422_encodings_decode_close_to_the_source_rgb() -> None:
    from asymtrack_ros.image_messages import image_to_rgb

    bgr = cv2.cvtColor(np.ascontiguousarray(RGB[:, :6]), cv2.COLOR_RGB2BGR)
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
    uyvy = np.empty((5, 6, 2), np.uint8)
    uyvy[..., 1] = yuv[..., 0]
    uyvy[:, 0::2, 0], uyvy[:, 1::2, 0] = yuv[:, 0::2, 1], yuv[:, 0::2, 2]
    yuyv = uyvy[..., ::-1].copy()
    for encoding, packed in (("uyvy", uyvy), ("yuv422", uyvy), ("yuyv", yuyv), ("yuv422_yuy2", yuyv)):
        decoded = image_to_rgb(message(packed, encoding, padding=4))
        assert decoded.shape == (5, 6, 3)
        assert np.abs(decoded.astype(int)[..., 1] - RGB[:, :6, 1].astype(int)).mean() < 40, encoding


def test_unsupported_encoding_is_refused() -> None:
    from asymtrack_ros.image_messages import ImageConversionError, image_to_rgb

    with pytest.raises(ImageConversionError, match="unsupported encoding"):
        image_to_rgb(message(RGB, "bayer_rggb8"))


def test_data_shorter_than_step_times_height_is_refused() -> None:
    from asymtrack_ros.image_messages import ImageConversionError, image_to_rgb

    short = message(RGB, "rgb8")
    short.data = short.data[:-10]
    with pytest.raises(ImageConversionError, match="step\\*height"):
        image_to_rgb(short)


def test_step_narrower_than_a_row_of_pixels_is_refused() -> None:
    from asymtrack_ros.image_messages import ImageConversionError, image_to_rgb

    narrow = message(RGB, "rgb8", padding=0)
    narrow.step = 20
    with pytest.raises(ImageConversionError, match="less than width"):
        image_to_rgb(narrow)


def test_corrupt_jpeg_is_refused() -> None:
    from sensor_msgs.msg import CompressedImage

    from asymtrack_ros.image_messages import ImageConversionError, compressed_to_rgb

    with pytest.raises(ImageConversionError, match="corrupt JPEG"):
        compressed_to_rgb(CompressedImage(format="jpeg", data=array("B", b"\xff\xd8not a jpeg")))


def test_rgb_survives_bgr8_rgb8_and_png_round_trips() -> None:
    from asymtrack_ros.image_messages import compressed_to_rgb, image_to_rgb
    from asymtrack_ros.ros.image_conversion import rgb_to_compressed, rgb_to_image

    np.testing.assert_array_equal(image_to_rgb(rgb_to_image(RGB, "bgr8")), RGB)
    np.testing.assert_array_equal(image_to_rgb(rgb_to_image(RGB, "rgb8")), RGB)
    np.testing.assert_array_equal(compressed_to_rgb(rgb_to_compressed(RGB, "png")), RGB)
