"""Black-box fuzz of the node: a few hundred malformed images, requests and parameters from a fixed seed.

The node runs in its own process with the KCF backend: the shipped network drifts off this
synthetic scene's target within a few hundred frames even without any bad input, and the input
path under test is the same for every backend. Between bursts of malformed messages the scene
keeps playing; the node must end still tracking the target, with every bad message counted as bad
input (none as an internal error) and its memory bounded.
"""

from __future__ import annotations

import struct
import time
from array import array

import cv2
import numpy as np
import pytest
from scene import frame
from scene_publisher import assert_tracks_target
from test_tracker_node_hardening import (
    OPENCV,
    compressed,
    inject,
    jpeg_claiming,
    last_diagnostic,
    peak_rss_mb,
    png_bomb,
    set_parameters,
    tracked_scene,
)

from ros_fixtures import wait_until

pytestmark = [pytest.mark.ros, pytest.mark.slow]
SEED = 20261201
BURSTS, PER_BURST = 15, 14  # 210 malformed images per input kind
PEAK_RSS_LIMIT_MB = 800


def pick(rng: np.random.Generator, options: list):
    """One of ``options`` as it is (numpy's choice would strip the trailing NULs of strings)."""
    return options[int(rng.integers(len(options)))]


def malformed_raw(rng: np.random.Generator):
    """One raw Image that no conversion can accept (layout, size, encoding or YUV width wrong)."""
    from sensor_msgs.msg import Image

    from asymtrack_ros.image_messages import ENCODINGS

    encoding = pick(rng, [*ENCODINGS, "bayer_rggb8", "", "RGB8", "jpeg", "\u202ergb8", "x" * 300])
    kind = int(rng.integers(5))
    width, height = (int(v) for v in rng.integers(0, 2000, 2))
    step = width * 3
    if kind == 0:  # huge claimed size, tiny data
        width, height, step = 65500, 65500, 65500 * 4
    elif kind == 1:  # odd-width packed YUV with consistent data
        encoding, width, height = pick(rng, ["uyvy", "yuyv", "yuv422", "yuv422_yuy2"]), 2 * width + 1, 8
        step = 2 * width
    elif kind == 2:  # step below the row size
        step = max(0, width - int(rng.integers(1, 5)))
    elif kind == 3:  # absurd step
        step = 2**32 - 1
    data_length = step * height if kind == 1 else int(rng.integers(0, 4096))
    return Image(height=height, width=width, encoding=encoding, step=step, is_bigendian=int(rng.integers(2)),
                 data=array("B", rng.integers(0, 256, data_length, dtype=np.uint8).tobytes()))


def malformed_compressed(rng: np.random.Generator, bomb: bytes):
    """One CompressedImage that must be refused before or during decoding (never decoded to a huge frame)."""
    _, encoded = cv2.imencode(".jpg", cv2.cvtColor(frame(int(rng.integers(100))), cv2.COLOR_RGB2BGR))
    jpeg = encoded.tobytes()
    kind = int(rng.integers(8))
    if kind == 0:
        data = rng.integers(0, 256, int(rng.integers(1, 5000)), dtype=np.uint8).tobytes()
    elif kind == 1:  # header only, cut before the scan
        data = jpeg[: int(rng.integers(2, jpeg.index(b"\xff\xda")))]
    elif kind == 2:
        data = jpeg_claiming(int(rng.integers(20000, 65536)), int(rng.integers(20000, 65536)))
    elif kind == 3:
        data = jpeg_claiming(0, int(rng.integers(1, 65536)))
    elif kind == 4:  # PNG with a random claimed size and garbage pixels
        header = struct.pack(">II", *(int(v) for v in rng.integers(10000, 2**31 - 1, 2)))
        data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + header + rng.bytes(64)
    elif kind == 5:
        data = bomb
    elif kind == 6:  # other formats and wrappers the node does not decode
        data = pick(rng, [b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"BM6\x00\x00\x00", b"\x00" * 12 + jpeg[:64]])
    else:
        data = b""
    return compressed(data, pick(rng, ["jpeg", "png", "", "rgb8; jpeg compressed bgr8", "\x1b[2J"]))


def invalid_target_request(rng: np.random.Generator) -> tuple[tuple[float, float, float, float], dict]:
    """A SetTarget request that must be refused: (cx, cy, w, h) and keyword arguments."""
    nasty = [float("nan"), float("inf"), -float("inf"), 1e308, -1e308, -5.0, 0.0, 1e-300, 4e5]
    box = [float(rng.uniform(0, 320)), float(rng.uniform(0, 240)), 40.0, 40.0]
    choice = int(rng.integers(4))
    if choice == 0:
        box[int(rng.integers(4))] = pick(rng, nasty)
        return (box[0], box[1], box[2], box[3]), {}
    if choice == 1:
        return (0.5, 0.5, pick(rng, [1.5, -0.1, float("nan")]), 0.1), {"normalized": True}
    if choice == 2:
        return (160.0, 120.0, 40.0, 40.0), {"target_id": pick(rng, ["\x07", "a\u202eb", "\n", "z" * 200])}
    return (160.0, 120.0, 40.0, 40.0), {"stamp_ns": int(rng.integers(1, 999)) * 1_000_000_000}


def invalid_parameter(rng: np.random.Generator) -> tuple[str, object]:
    choices = [("debug_max_rate", float("nan")), ("debug_max_rate", -1.0), ("click_box_size", float("inf")),
               ("click_box_size", 0.0), ("max_search_scale", 1e308), ("search_step", float("nan")),
               ("lost_frames", 2**62), ("recover_frames", 0), ("lost_score", 2.0), ("max_input_pixels", 0),
               ("class_label", "\u202e" + "x" * int(rng.integers(1, 2000))), ("backend", "torch")]
    return pick(rng, choices)


@pytest.mark.parametrize("compressed_input", [False, True], ids=["raw", "compressed"])
def test_fuzzed_images_requests_and_parameters_leave_the_node_tracking(compressed_input: bool) -> None:
    rng = np.random.default_rng(SEED + compressed_input)
    bomb = png_bomb(12000)
    namespace = f"/fuzz_{'compressed' if compressed_input else 'raw'}"
    with tracked_scene(namespace, *OPENCV, compressed=compressed_input) as running:
        probe = running.probe
        target = running.publisher.set_target_on_latest(probe, target_id="fuzz-target")
        assert target.success, target.message
        for _ in range(BURSTS):
            messages = [malformed_compressed(rng, bomb) if compressed_input else malformed_raw(rng)
                        for _ in range(PER_BURST)]
            inject(running, messages, pause=0.02)
            box, options = invalid_target_request(rng)
            response = probe.set_target(*box, **options)
            assert not response.success, f"accepted {box} {options}: {response.message}"
            name, value = invalid_parameter(rng)
            assert not set_parameters(running, {name: value})[0].successful, f"accepted {name}={value!r:.60}"
            time.sleep(0.2)
        assert running.process.poll() is None, "the node died"
        assert_tracks_target(probe, running.publisher, target_id="fuzz-target")
        assert wait_until(lambda: int(last_diagnostic(probe)[2]["bad_input_frames"]) >= BURSTS * PER_BURST // 2, 10)
        _, _, values = last_diagnostic(probe)
        peak = peak_rss_mb(running.process.pid)
    assert values["internal_errors"] == "0", values["last_internal_error"]
    assert values["tracking_error"] == ""
    assert peak < PEAK_RSS_LIMIT_MB, f"peak memory {peak:.0f} MiB"
