"""Pure checks behind the node's hardening: header sizes, box and label bounds, large crops, policy limits."""

from __future__ import annotations

import math
import struct

import cv2
import numpy as np
import pytest

from asymtrack_ros.compressed_header import HeaderError, claimed_size
from asymtrack_ros.ros.node_health import NodeHealth
from asymtrack_ros.ros.target_request import TargetRequestError, box_from_center, validate_label
from asymtrack_ros.tracking.monitor import LostPolicy, TrackState
from asymtrack_ros.tracking.preprocessing import sample_target
from asymtrack_ros.tracking.session import TrackingSession

IMAGE = np.random.default_rng(0).integers(0, 256, (120, 200, 3), dtype=np.uint8)


@pytest.mark.parametrize("extension,flags", [(".jpg", []), (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
                                             (".png", [])], ids=["baseline-jpeg", "progressive-jpeg", "png"])
def test_claimed_size_reads_the_header_of_real_encoder_output(extension: str, flags: list[int]) -> None:
    _, encoded = cv2.imencode(extension, IMAGE, flags)
    claimed = claimed_size(encoded.tobytes())
    assert (claimed.width, claimed.height, claimed.pixels) == (200, 120, 24000)


def test_claimed_size_skips_fill_bytes_and_refuses_truncated_or_foreign_data() -> None:
    _, encoded = cv2.imencode(".jpg", IMAGE)
    data = encoded.tobytes()
    padded = data[:2] + b"\xff\xff" + data[2:]
    assert claimed_size(padded).width == 200
    with pytest.raises(HeaderError, match="frame header"):
        claimed_size(data[: data.index(b"\xff\xc0")])
    with pytest.raises(HeaderError, match="segment length"):
        claimed_size(b"\xff\xd8\xff\xe0\x00\x01")
    for foreign in (b"RIFF....WEBPVP8 ", b"BM", b"", b"\x89PNG\r\n\x1a\n\x00"):
        with pytest.raises(HeaderError):
            claimed_size(foreign)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + struct.pack(">II", 30000, 40000)
    assert (claimed_size(png).width, claimed_size(png).height) == (30000, 40000)


@pytest.mark.parametrize("box,reason", [
    ((100, 60, 1e308, 1e308), "larger than"), ((100, 60, 201, 10), "larger than"), ((100, 60, 0.5, 10), "smaller"),
    ((math.nan, 60, 10, 10), "non-finite"), ((1e308, 60, 10, 10), "outside"), ((100, 60, -3, 10), "positive"),
])
def test_target_boxes_must_fit_the_image(box, reason: str) -> None:
    with pytest.raises(TargetRequestError, match=reason):
        box_from_center(box, IMAGE.shape, normalized=False)


def test_a_box_as_large_as_the_image_is_accepted() -> None:
    assert box_from_center((100, 60, 200, 120), IMAGE.shape, normalized=False) == (0.0, 0.0, 200.0, 120.0)


@pytest.mark.parametrize("text", ["x" * 129, "a\x00b", "rtl\u202e", "new\nline", "\x1b[31m"])
def test_labels_must_be_short_printable_text(text: str) -> None:
    with pytest.raises(TargetRequestError):
        validate_label(text, "target_id")


def test_printable_unicode_labels_are_kept() -> None:
    assert validate_label("Drohne 1 (rot) · 無人機", "target_id") == "Drohne 1 (rot) · 無人機"


def test_large_crops_are_sampled_without_padding_and_match_the_exact_crop() -> None:
    box = (40.0, 20.0, 120.0, 80.0)
    exact, exact_factor = sample_target(IMAGE, box, 3.0, 64)  # side 294 < 2 * 200: the official path
    smooth = cv2.GaussianBlur(IMAGE, (0, 0), 6)
    wide, wide_factor = sample_target(smooth, box, 10.0, 64)  # side 980 > 400: sampled straight
    reference, _ = sample_target(np.pad(smooth, ((1000, 1000), (1000, 1000), (0, 0))),
                                 (1040.0, 1020.0, 120.0, 80.0), 10.0, 64)
    assert exact.shape == wide.shape == (64, 64, 3) and exact_factor == pytest.approx(64 / 294)
    assert wide_factor == pytest.approx(64 / 980)
    assert np.abs(wide.astype(int) - reference.astype(int)).mean() < 2.0
    with pytest.raises(ValueError, match="no croppable"):
        sample_target(IMAGE, (0, 0, 1e308, 1e308), 4.0, 64)


@pytest.mark.parametrize("field,value", [("lost_frames", 2**62), ("recover_frames", 0), ("search_step", 1e308),
                                         ("search_step", math.nan), ("max_search_scale", 1e308),
                                         ("lost_score", math.nan)])
def test_policy_values_outside_their_range_are_refused(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field.split("_")[0]):
        LostPolicy(**{field: value}).validate()


class StillTracker:
    """A scripted tracker: always the initial box, score 1."""

    def initialize(self, image, box) -> None:
        self.box = box

    def track(self, image, search_scale: float = 1.0):
        from asymtrack_ros.tracking.base import TrackResult

        return TrackResult(box=self.box, score=1.0)

    def reposition(self, box) -> None:
        self.box = box

    def target_check(self, image, box):
        from asymtrack_ros.tracking.appearance import AppearanceCheck

        return AppearanceCheck(image, box)


def test_a_session_refuses_a_frame_of_another_size() -> None:
    session = TrackingSession(StillTracker(), LostPolicy())
    session.start(IMAGE, (50.0, 30.0, 40.0, 40.0), "t")
    assert session.step(IMAGE).state == TrackState.TRACKING
    with pytest.raises(ValueError, match="size changed from 200x120 to 20x10"):
        session.step(IMAGE[:10, :20])


def test_health_shows_the_most_serious_current_problem_and_clears_transient_ones() -> None:
    health = NodeHealth()
    assert health.summary(0.0) == ("OK", "")
    health.bad_input.report("odd width", 10.0)
    assert health.summary(11.0) == ("WARN", "bad input: odd width")
    health.tracking_error = "target dropped"
    assert health.summary(11.0) == ("ERROR", "target dropped")
    health.tracking_error = ""
    assert health.summary(16.0) == ("OK", "")
    assert health.bad_input.count == 1
