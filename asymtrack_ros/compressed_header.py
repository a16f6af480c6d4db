"""The pixel size a JPEG or PNG claims, read from its header without decoding anything.

The node refuses an image by its claimed size before handing it to a decoder, so a small file
that decodes to gigabytes (a decompression bomb) never gets decoded. Neutral (no ROS): the node and the
recording evaluation (rosbags' messages, whose ``data`` is a numpy array) both read headers here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # bytes, array('B'), a uint8 numpy array: anything with a one-byte-per-element buffer
    from typing_extensions import Buffer as BytesLike

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI = (0xFF, 0xD8)
# Start-of-frame markers of every JPEG coding process (not DHT 0xC4, JPG 0xC8, DAC 0xCC).
JPEG_FRAME_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
JPEG_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length field
JPEG_SCAN_OR_END = frozenset({0xDA, 0xD9})


class HeaderError(ValueError):
    """The data is not a JPEG or PNG whose header can be read (reason in the text)."""


@dataclass(frozen=True)
class ClaimedSize:
    """What the header says: the format and the size in pixels."""

    format: str
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def claimed_size(data: BytesLike) -> ClaimedSize:
    """Format and size from the first bytes of ``data`` (bytes, ``array('B')`` or a uint8 array), read in place.

    Read through a byte memoryview, so every byte is a Python int (a numpy uint8 would overflow when shifted).
    """
    view = memoryview(data).cast("B")
    if len(view) >= 8 and bytes(view[:8]) == PNG_SIGNATURE:
        return _png_size(view)
    if len(view) >= 2 and (view[0], view[1]) == JPEG_SOI:
        return _jpeg_size(view)
    raise HeaderError("unsupported compressed format: only JPEG and PNG are accepted")


def _png_size(data: memoryview) -> ClaimedSize:
    if len(data) < 24 or bytes(data[12:16]) != b"IHDR":
        raise HeaderError("PNG without an IHDR header")
    width, height = int.from_bytes(bytes(data[16:20]), "big"), int.from_bytes(bytes(data[20:24]), "big")
    return ClaimedSize("png", width, height)


def _jpeg_size(data: memoryview) -> ClaimedSize:
    """Walk the marker segments up to the first start-of-frame (each step skips a whole segment)."""
    position, end = 2, len(data)
    while position + 1 < end:
        if data[position] != 0xFF:
            raise HeaderError(f"corrupt JPEG: no marker at byte {position}")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in JPEG_STANDALONE_MARKERS:
            position += 2
            continue
        if marker in JPEG_SCAN_OR_END:
            break
        if position + 4 > end:
            break
        length = (data[position + 2] << 8) | data[position + 3]
        if length < 2:
            raise HeaderError(f"corrupt JPEG: segment length {length} at byte {position}")
        if marker in JPEG_FRAME_MARKERS:
            if position + 9 > end:
                break
            height = (data[position + 5] << 8) | data[position + 6]
            width = (data[position + 7] << 8) | data[position + 8]
            return ClaimedSize("jpeg", width, height)
        position += 2 + length
    raise HeaderError("JPEG without a frame header (SOF) before its image data")
