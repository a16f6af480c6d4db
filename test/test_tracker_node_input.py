"""Bad input never stops the node: each case ends with the node still tracking the target correctly."""

from __future__ import annotations

import threading
import time
from array import array

import pytest
from scene import frame, target_box

from ros_fixtures import node_process, require_ros, spinning_node, wait_until

pytestmark = [pytest.mark.ros, pytest.mark.slow]


class ScenePublisher:
    """Publishes scene frames (raw rgb8 or JPEG) at ``rate`` Hz; bad messages can be injected."""

    def __init__(self, node, topic: str, compressed: bool, rate: float = 15.0) -> None:
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CompressedImage, Image

        self.compressed = compressed
        self.publisher = node.create_publisher(CompressedImage if compressed else Image,
                                               f"{topic}/compressed" if compressed else topic,
                                               qos_profile_sensor_data)
        self.rate, self.t, self.running = rate, 0, True
        self.lock = threading.Lock()
        self.stamps: dict[tuple[int, int], int] = {}
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _message(self, t: int):
        from asymtrack_ros.ros.image_conversion import rgb_to_compressed, rgb_to_image

        message = rgb_to_compressed(frame(t)) if self.compressed else rgb_to_image(frame(t), "rgb8")
        message.header.frame_id = "camera"
        message.header.stamp.sec, message.header.stamp.nanosec = 1000 + t // 10, (t % 10) * 100_000_000
        return message

    def _run(self) -> None:
        while self.running:
            with self.lock:
                message = self._message(self.t)
                self.stamps[(message.header.stamp.sec, message.header.stamp.nanosec)] = self.t
                self.t += 1
                self.publisher.publish(message)
            time.sleep(1.0 / self.rate)

    def stop(self) -> None:
        self.running = False
        self.thread.join(timeout=5)


def assert_tracks_target(probe, publisher, frames: int = 8, tolerance: float = 12.0) -> None:
    """The next ``frames`` detections lie within ``tolerance`` px of the square's true centre."""
    probe.clear()
    assert wait_until(lambda: sum(len(m.detections) for m in probe.snapshot("detections")) >= frames, timeout=20), \
        "the node stopped publishing detections"
    for message in probe.snapshot("detections"):
        if not message.detections:
            continue
        t = publisher.stamps[(message.header.stamp.sec, message.header.stamp.nanosec)]
        x, y, w, h = target_box(t)
        center = message.detections[0].bbox.center.position
        assert abs(center.x - (x + w / 2)) < tolerance and abs(center.y - (y + h / 2)) < tolerance, \
            f"frame {t}: box centre ({center.x:.1f}, {center.y:.1f}) far from ({x + w / 2}, {y + h / 2})"


def bad_raw_images():
    from sensor_msgs.msg import Image

    unknown = Image(height=4, width=4, encoding="bayer_wxyz9", step=16, data=array("B", bytes(64)))
    short = Image(height=240, width=320, encoding="rgb8", step=960, data=array("B", bytes(1000)))
    empty = Image(height=0, width=0, encoding="rgb8", step=0)
    narrow_step = Image(height=2, width=4, encoding="rgb8", step=5, data=array("B", bytes(10)))
    return {"unknown encoding": unknown, "data shorter than step*height": short, "zero-size": empty,
            "step under width*channels": narrow_step}


@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "compressed"])
def test_bad_images_and_bad_targets_leave_the_node_tracking(compressed: bool) -> None:
    require_ros()
    from node_probe import NodeProbe
    from sensor_msgs.msg import CompressedImage

    from asymtrack_ros.msg import TrackerStatus

    namespace = f"/bad_{'compressed' if compressed else 'raw'}"
    args = ["-r", f"__ns:={namespace}", "-p", "backend:=opencv", "-p", "algorithm:=csrt",
            "-p", f"compressed_input:={str(compressed).lower()}", "-p", "diagnostics_period:=0.5"]
    with spinning_node("bad_input_checker") as node, node_process("asymtrack_ros.ros.tracker_node", *args) as proc:
        probe = NodeProbe(node, namespace)
        before_frames = probe.set_target(100, 100, 40, 40)
        assert not before_frames.success and "no image received yet" in before_frames.message

        publisher = ScenePublisher(node, f"{namespace}/image", compressed)
        publisher.thread.start()
        try:
            assert wait_until(lambda: len(probe.snapshot("statuses")) >= 3, timeout=30)
            x, y, w, h = target_box(publisher.t)
            invalid = {
                "NaN": (float("nan"), y, w, h, False), "zero size": (x, y, 0, h, False),
                "negative size": (x, y, w, -5, False), "outside the image": (900, 900, w, h, False),
                "normalized out of range": (1.5, 0.5, 0.1, 0.1, True),
            }
            for case, (cx, cy, bw, bh, normalized) in invalid.items():
                response = probe.set_target(cx, cy, bw, bh, normalized=normalized)
                assert not response.success and response.message, case
            stale = probe.set_target(x + w / 2, y + h / 2, w, h, stamp=(5, 0))
            assert not stale.success and "no buffered frame" in stale.message
            time.sleep(0.3)
            assert probe.snapshot("statuses")[-1].state == TrackerStatus.IDLE, "a refused target changed the state"

            with publisher.lock:
                t = publisher.t - 1
            stamp = next(s for s, frame_t in publisher.stamps.items() if frame_t == t)
            x, y, w, h = target_box(t)
            response = probe.set_target(x + w / 2, y + h / 2, w, h, stamp=stamp)
            assert response.success, response.message
            assert_tracks_target(probe, publisher)

            bad = bad_raw_images()
            if compressed:
                bad = {"corrupt jpeg": CompressedImage(format="jpeg", data=array("B", b"\xff\xd8garbage" * 50)),
                       "empty compressed": CompressedImage(format="jpeg")}
            with publisher.lock:  # no good frame may replace a bad one before the node looks at it
                for message in bad.values():
                    publisher.publisher.publish(message)
                    time.sleep(0.15)
            refused = probe.set_target(float("nan"), 1, 1, 1)
            assert not refused.success
            assert_tracks_target(probe, publisher)
            assert probe.snapshot("statuses")[-1].target_id == response.target_id

            def bad_frames_counted() -> bool:
                for array_message in reversed(probe.snapshot("diagnostics")):
                    for status in array_message.status:
                        values = {kv.key: kv.value for kv in status.values}
                        if status.name.endswith("tracker") and int(values["bad_input_frames"]) >= len(bad):
                            return True
                return False

            assert wait_until(bad_frames_counted, timeout=10), "bad frames not reported in diagnostics"
            assert proc.poll() is None, "the node died"
        finally:
            publisher.stop()
