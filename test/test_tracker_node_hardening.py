"""Hostile input against the real node process: nothing one message carries may stop it or hold it.

Each test drives ``tracker_node`` in its own process over DDS and ends with the node still alive
and tracking. Boxes that overflow the crop arithmetic, odd-width YUV, images whose header claims a
huge size, decompression bombs, frames of another size, out-of-range parameters and target ids,
SIGINT while tracking and a flood of set_target calls.
"""

from __future__ import annotations

import io
import struct
import tempfile
import time
import zlib
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np
import pytest
from scene import frame
from scene_publisher import ScenePublisher, assert_tracks_target

from ros_fixtures import node_process, require_ros, spinning_node, stop_process, wait_until

pytestmark = [pytest.mark.ros, pytest.mark.slow]
OPENCV = ("-p", "backend:=opencv", "-p", "algorithm:=kcf")
# The shipped network (the default backend) strays up to ~16 px on this synthetic scene's 48 px square.
NETWORK_TOLERANCE = 24.0


@dataclass
class RunningNode:
    node: object
    probe: object
    process: object
    publisher: ScenePublisher
    namespace: str


@contextmanager
def tracked_scene(namespace: str, *args: str, compressed: bool = False, output=None) -> Iterator[RunningNode]:
    """A tracker node process receiving the scene at 15 Hz, with a probe; the target is not set yet."""
    require_ros()
    from asymtrack_ros.ros.tracker_client import TrackerClient

    node_args = ["-r", f"__ns:={namespace}", "-p", "diagnostics_period:=0.3",
                 "-p", f"compressed_input:={str(compressed).lower()}", *args]
    with spinning_node(f"checker_{namespace.strip('/')}") as node, \
            node_process("asymtrack_ros.ros.tracker_node", *node_args, output=output) as process:
        probe = TrackerClient(node, namespace)
        publisher = ScenePublisher(node, f"{namespace}/image", compressed).start()
        try:
            assert wait_until(lambda: len(probe.snapshot("statuses")) >= 3, timeout=60), "node never answered"
            yield RunningNode(node, probe, process, publisher, namespace)
        finally:
            publisher.stop()


def inject(running: RunningNode, messages: list, pause: float = 0.15) -> None:
    """Publish bad messages with no good frame in between (each one reaches the worker)."""
    with running.publisher.lock:
        for message in messages:
            running.publisher.publisher.publish(message)
            time.sleep(pause)


def last_diagnostic(probe) -> tuple[bytes, str, dict[str, str]] | None:
    """Level, message and values of the node's newest /diagnostics status."""
    for array_message in reversed(probe.snapshot("diagnostics")):
        for status in array_message.status:
            if status.name.endswith("tracker"):
                return status.level, status.message, {kv.key: kv.value for kv in status.values}
    return None


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process in MiB."""
    with open(f"/proc/{pid}/status") as handle:
        line = next(line for line in handle if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def jpeg_claiming(width: int, height: int) -> bytes:
    """A valid small JPEG whose frame header (SOF0) claims ``width`` x ``height``."""
    _, encoded = cv2.imencode(".jpg", frame(0))
    data = bytearray(encoded.tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def png_bomb(side: int) -> bytes:
    """A greyscale PNG of ``side`` x ``side`` black pixels: a few hundred KB that decode to side**2*3 bytes."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    compressor, stream = zlib.compressobj(9), io.BytesIO()
    rows = bytes(side + 1) * 500
    for _ in range(side // 500):
        stream.write(compressor.compress(rows))
    stream.write(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", stream.getvalue()) + chunk(b"IEND", b"")


def compressed(data: bytes, fmt: str):
    from sensor_msgs.msg import CompressedImage

    return CompressedImage(format=fmt, data=array("B", data))


def set_parameters(running: RunningNode, values: dict[str, object]) -> list:
    """Results of one SetParameters call (each parameter accepted or refused on its own)."""
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter

    client = running.node.create_client(SetParameters, f"{running.namespace}/tracker/set_parameters")
    assert client.wait_for_service(timeout_sec=30)
    request = SetParameters.Request(parameters=[Parameter(k, value=v).to_parameter_msg() for k, v in values.items()])
    response = client.call(request, timeout_sec=20)
    assert response is not None, "set_parameters timed out"
    return list(response.results)


def test_overflowing_and_oversized_boxes_are_refused_and_the_node_keeps_tracking() -> None:
    with tracked_scene("/hard_boxes") as running:
        probe = running.probe
        for case, box in {"1e308 box": (160.0, 120.0, 1e308, 1e308), "1e308 centre": (1e308, 1e308, 40.0, 40.0),
                          "box larger than the image": (160.0, 120.0, 5000.0, 5000.0),
                          "sub-pixel box": (160.0, 120.0, 1e-300, 1e-300)}.items():
            response = probe.set_target(*box)
            assert not response.success and response.message, case
        assert running.process.poll() is None, "the node died on a huge box"
        assert running.publisher.set_target_on_latest(probe).success
        assert_tracks_target(probe, running.publisher, tolerance=NETWORK_TOLERANCE)


def test_odd_width_yuv_and_huge_raw_claims_do_not_stop_the_worker() -> None:
    from sensor_msgs.msg import Image

    with tracked_scene("/hard_yuv", *OPENCV) as running:
        assert running.publisher.set_target_on_latest(running.probe).success
        assert_tracks_target(running.probe, running.publisher)
        odd = [Image(height=4, width=width, encoding=encoding, step=2 * width, data=array("B", bytes(8 * width)))
               for encoding in ("uyvy", "yuyv", "yuv422", "yuv422_yuy2") for width in (1, 5)]
        huge = Image(height=65500, width=65500, encoding="rgb8", step=65500 * 3, data=array("B", bytes(64)))
        inject(running, [*odd, huge])
        assert_tracks_target(running.probe, running.publisher)
        assert wait_until(lambda: int(last_diagnostic(running.probe)[2]["bad_input_frames"]) >= len(odd) + 1, 10)


def test_compressed_header_claiming_a_huge_size_is_refused_without_decoding() -> None:
    with tracked_scene("/hard_claim", *OPENCV, compressed=True) as running:
        assert running.publisher.set_target_on_latest(running.probe).success
        inject(running, [compressed(jpeg_claiming(65500, 65500), "jpeg"),
                         compressed(jpeg_claiming(20000, 20000), "jpeg")])
        assert_tracks_target(running.probe, running.publisher)
        assert wait_until(lambda: "max_input_pixels" in last_diagnostic(running.probe)[2]["last_input_error"], 10)


def test_decompression_bomb_is_refused_by_its_header_and_memory_stays_low() -> None:
    bomb = compressed(png_bomb(20000), "png")
    with tracked_scene("/hard_bomb", *OPENCV, compressed=True) as running:
        assert running.publisher.set_target_on_latest(running.probe).success
        inject(running, [bomb], pause=1.0)
        assert_tracks_target(running.probe, running.publisher)
        assert wait_until(lambda: "max_input_pixels" in last_diagnostic(running.probe)[2]["last_input_error"], 10)
        peak = peak_rss_mb(running.process.pid)
    assert peak < 900, f"peak memory {peak:.0f} MiB: the bomb was decoded"


def test_a_failed_frame_is_reported_and_the_error_clears_when_a_new_target_tracks() -> None:
    from asymtrack_ros.msg import TrackerStatus
    from asymtrack_ros.ros.image_conversion import rgb_to_image

    with tracked_scene("/hard_error") as running:
        probe = running.probe
        # From frame 60 on the search region lies right of x = 30: a 10x10 frame leaves no overlap at all.
        assert wait_until(lambda: running.publisher.t >= 60, timeout=30)
        assert running.publisher.set_target_on_latest(probe).success
        assert_tracks_target(probe, running.publisher, tolerance=NETWORK_TOLERANCE)
        tiny = rgb_to_image(np.full((10, 10, 3), 90, np.uint8), "rgb8")
        tiny.header.stamp.sec = 1
        inject(running, [tiny])
        assert wait_until(lambda: last_diagnostic(probe)[0] == b"\x02", 10), "the failed frame was not reported"
        second = running.publisher.set_target_on_latest(probe)
        assert second.success
        assert_tracks_target(probe, running.publisher, tolerance=NETWORK_TOLERANCE, target_id=second.target_id)
        time.sleep(1.0)
        level, message, values = last_diagnostic(probe)
        status = probe.snapshot("statuses")[-1]
    # The shipped network may lose this scene's square later on (README): LOST is fine, ERROR is not.
    assert level != b"\x02" and values["tracking_error"] == "", f"diagnostics still {level!r}: {message}"
    assert status.state in (TrackerStatus.TRACKING, TrackerStatus.LOST) and status.message == ""


def test_out_of_range_parameters_and_target_ids_are_refused() -> None:
    with tracked_scene("/hard_values", *OPENCV) as running:
        refused = [("debug_max_rate", float("nan")), ("debug_max_rate", 1e12), ("click_box_size", float("inf")),
                   ("max_search_scale", 1e308), ("search_step", 1e308), ("lost_frames", 2**62),
                   ("recover_frames", -3), ("lost_score", float("nan")), ("class_label", "x" * 1_000_000),
                   ("class_label", "bell\a")]
        results = [set_parameters(running, {name: value})[0] for name, value in refused]
        accepted = [name for (name, _), result in zip(refused, results, strict=True) if result.successful]
        assert not accepted, f"accepted out-of-range values for {accepted}"
        assert all(result.reason for result in results)
        for target_id in ("x" * 1_000_000, "evil\x1b[31mred", "rtl\u202eoverride", "line\nbreak", "tab\t"):
            response = running.publisher.set_target_on_latest(running.probe, target_id=target_id)
            assert not response.success and "target_id" in response.message, repr(target_id[:20])
        good = running.publisher.set_target_on_latest(running.probe, target_id="drone-1 (red)")
        assert good.success and good.target_id == "drone-1 (red)"
        assert_tracks_target(running.probe, running.publisher, target_id=good.target_id)


def test_sigint_while_tracking_exits_cleanly_without_a_traceback() -> None:
    with tempfile.TemporaryFile("w+") as output:
        with tracked_scene("/hard_sigint", output=output) as running:  # the network: ~10 ms in every frame
            assert running.publisher.set_target_on_latest(running.probe).success
            running.publisher.rate = 200.0  # the worker is busy with a frame whenever the signal lands
            time.sleep(1.0)
            code = stop_process(running.process, timeout=15)
        output.seek(0)
        log = output.read()
    assert code == 0, log[-2000:]
    assert "Traceback" not in log and "Failed to publish" not in log, log[-2000:]


def call_set_target(probe, calls_per_second: float, seconds: float, prefix: str) -> tuple[list, float]:
    """``set_target`` at a steady rate for ``seconds``, every other call with a NaN box (refused), without waiting
    for answers; returns the futures and the seconds it took."""
    from asymtrack_ros.srv import SetTarget

    futures, start = [], time.monotonic()
    for index in range(round(calls_per_second * seconds)):
        request = SetTarget.Request(target_id=f"{prefix}-{index}")
        request.bbox.center.position.x, request.bbox.center.position.y = 110.0, 100.0
        request.bbox.size_x = request.bbox.size_y = 48.0 if index % 2 else float("nan")
        futures.append(probe.set_target_client.call_async(request))
        time.sleep(max(0.0, start + (index + 1) / calls_per_second - time.monotonic()))
    return futures, time.monotonic() - start


def test_a_flood_of_set_target_calls_is_answered_and_tracking_goes_on() -> None:
    """200 calls/s keep the worker at >= half the frame rate it reaches, in the same run, while re-targeted on
    every frame by calls at the camera rate (each frame then starts a target, flood or not: the ratio measures
    what the flood itself costs)."""
    with tracked_scene("/hard_flood") as running:
        probe = running.probe
        assert running.publisher.set_target_on_latest(probe).success
        assert_tracks_target(probe, running.publisher, tolerance=NETWORK_TOLERANCE)
        probe.clear()
        calm, calm_seconds = call_set_target(probe, 30, 3.0, "calm")
        calm_rate = len(probe.snapshot("statuses")) / calm_seconds
        probe.clear()
        futures, flood_seconds = call_set_target(probe, 200, 5.0, "flood")
        flood_rate = len(probe.snapshot("statuses")) / flood_seconds
        wait_until(lambda: all(f.done() for f in futures + calm), timeout=10)
        answered = sum(f.done() for f in futures)
        assert running.publisher.set_target_on_latest(probe, target_id="after").success
        assert_tracks_target(probe, running.publisher, tolerance=NETWORK_TOLERANCE, target_id="after")
    assert answered >= 990, f"only {answered} of 1000 calls answered within 10 s of the flood"
    assert flood_rate >= 0.5 * calm_rate, \
        f"{flood_rate:.1f} frames/s processed during the flood, {calm_rate:.1f} at 30 calls/s"
