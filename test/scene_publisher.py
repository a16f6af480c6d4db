"""Publishes the moving-target scene into a node under test and checks that the node tracks it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
from scene import frame, target_box

from ros_fixtures import wait_until


class ScenePublisher:
    """Publishes scene frames (raw rgb8 or JPEG) at ``rate`` Hz; bad messages can be injected under ``lock``.

    ``render``: frame index -> RGB image (default: the one-target scene)."""

    def __init__(self, node, topic: str, compressed: bool, rate: float = 15.0,
                 render: Callable[[int], np.ndarray] = frame) -> None:
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CompressedImage, Image

        self.compressed, self.render = compressed, render
        self.publisher = node.create_publisher(CompressedImage if compressed else Image,
                                               f"{topic}/compressed" if compressed else topic,
                                               qos_profile_sensor_data)
        self.rate, self.t, self.running = rate, 0, True
        self.lock = threading.Lock()
        self.stamps: dict[tuple[int, int], int] = {}
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _message(self, t: int):
        from asymtrack_ros.ros.image_conversion import rgb_to_compressed, rgb_to_image

        image = self.render(t)
        message = rgb_to_compressed(image) if self.compressed else rgb_to_image(image, "rgb8")
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

    def start(self) -> ScenePublisher:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.running = False
        self.thread.join(timeout=5)

    def latest(self) -> tuple[int, int]:
        """The last published frame index and its stamp in nanoseconds."""
        with self.lock:
            t = self.t - 1
        sec, nanosec = next(stamp for stamp, frame_t in self.stamps.items() if frame_t == t)
        return t, sec * 1_000_000_000 + nanosec

    def set_target_on_latest(self, probe, target_id: str = "", truth: Callable[[int], tuple] = target_box):
        """Ask the node to track the square (``truth``: its box per frame) on the last published frame; returns
        the response."""
        t, stamp = self.latest()
        x, y, w, h = truth(t)
        return probe.set_target(x + w / 2, y + h / 2, w, h, stamp_ns=stamp, target_id=target_id)


def assert_tracks_target(probe, publisher: ScenePublisher, frames: int = 8, tolerance: float = 12.0,
                         target_id: str | None = None, truth: Callable[[int], tuple] = target_box) -> None:
    """The next ``frames`` detections (of ``target_id`` only, if given) lie within ``tolerance`` px of the square
    (``truth``: its box per frame).

    A target request takes effect with the next processed frame, so a frame or two of the previous
    target may still arrive after the service answered: name the new id to skip them.
    """
    def detections() -> list:
        return [(message, detection) for message in probe.snapshot("detections") for detection in message.detections
                if target_id is None or detection.id == target_id]

    probe.clear()
    assert wait_until(lambda: len(detections()) >= frames, timeout=20), "the node stopped publishing detections"
    for message, detection in detections():
        t = publisher.stamps[(message.header.stamp.sec, message.header.stamp.nanosec)]
        x, y, w, h = truth(t)
        center = detection.bbox.center.position
        assert abs(center.x - (x + w / 2)) < tolerance and abs(center.y - (y + h / 2)) < tolerance, \
            f"frame {t}: box centre ({center.x:.1f}, {center.y:.1f}) far from ({x + w / 2}, {y + h / 2})"
