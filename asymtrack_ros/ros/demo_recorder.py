"""The demo's client node: sets the target through the service and records what the tracker says."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

from asymtrack_ros.msg import TrackerStatus
from asymtrack_ros.ros.image_conversion import image_to_rgb
from asymtrack_ros.srv import SetTarget


def stamp_key(header) -> int:
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


@dataclass
class FrameRecord:
    """Everything seen for one published frame, keyed by its stamp."""

    index: int
    image: np.ndarray
    box: tuple[float, float, float, float] | None = None
    score: float | None = None
    state: int | None = None
    latency_ms: float | None = None
    processing_ms: float | None = None


@dataclass
class Recording:
    frames: dict[int, FrameRecord] = field(default_factory=dict)
    statuses: list[TrackerStatus] = field(default_factory=list)


class DemoRecorder(Node):
    """Subscribes to the camera, detections and status of one tracker namespace."""

    def __init__(self, namespace: str) -> None:
        super().__init__("demo_client")
        self.lock = threading.Lock()
        self.recording = Recording()
        self.first_frame = threading.Event()
        self.create_subscription(Image, f"{namespace}/image", self._on_image, qos_profile_sensor_data)
        self.create_subscription(Detection2DArray, f"{namespace}/detections", self._on_detections, 100)
        self.create_subscription(TrackerStatus, f"{namespace}/tracker/status", self._on_status, 100)
        self.client = self.create_client(SetTarget, f"{namespace}/tracker/set_target")

    def _on_image(self, message: Image) -> None:
        with self.lock:
            frames = self.recording.frames
            frames[stamp_key(message.header)] = FrameRecord(len(frames), image_to_rgb(message))
        self.first_frame.set()

    def _on_detections(self, message: Detection2DArray) -> None:
        with self.lock:
            record = self.recording.frames.get(stamp_key(message.header))
            if record is None or not message.detections:
                return
            detection = message.detections[0]
            w, h = detection.bbox.size_x, detection.bbox.size_y
            center = detection.bbox.center.position
            record.box = (center.x - w / 2, center.y - h / 2, w, h)

    def _on_status(self, message: TrackerStatus) -> None:
        with self.lock:
            self.recording.statuses.append(message)
            record = self.recording.frames.get(stamp_key(message.header))
            if record is not None:
                record.score, record.state = message.score, message.state
                record.latency_ms, record.processing_ms = message.latency_ms, message.processing_ms

    def first_stamp(self):
        """Header stamp of the first recorded frame."""
        with self.lock:
            key = min(self.recording.frames)
        return key // 1_000_000_000, key % 1_000_000_000

    def set_target(self, box: tuple[float, float, float, float], stamp: tuple[int, int]) -> SetTarget.Response:
        """Ask the tracker to follow ``box`` (x, y, w, h) drawn on the frame stamped ``stamp``."""
        if not self.client.wait_for_service(timeout_sec=60):
            raise RuntimeError("the tracker's set_target service never appeared")
        request = SetTarget.Request()
        request.header.stamp.sec, request.header.stamp.nanosec = stamp
        x, y, w, h = box
        request.bbox.center.position.x, request.bbox.center.position.y = x + w / 2, y + h / 2
        request.bbox.size_x, request.bbox.size_y = float(w), float(h)
        response = self.client.call(request, timeout_sec=30)
        if response is None:
            raise RuntimeError("set_target timed out")
        return response
