"""The demo's client node: sets the target through the tracker client and records frames with their results."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

from asymtrack_ros.image_messages import image_to_rgb
from asymtrack_ros.msg import TrackerStatus
from asymtrack_ros.ros.stamps import stamp_ns
from asymtrack_ros.ros.tracker_client import TrackerClient


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
    """The frames by stamp, the statuses in arrival order, and when the stream ran (monotonic seconds): the first
    frame's arrival and the last status's."""

    frames: dict[int, FrameRecord] = field(default_factory=dict)
    statuses: list[TrackerStatus] = field(default_factory=list)
    first_frame_at: float | None = None
    last_status_at: float | None = None

    def add_frame(self, stamp: int, image: np.ndarray, now: float) -> None:
        self.frames[stamp] = FrameRecord(len(self.frames), image)
        if self.first_frame_at is None:
            self.first_frame_at = now

    def add_status(self, message: TrackerStatus, now: float) -> FrameRecord | None:
        """Keep ``message``; the record of its frame, if that frame was seen."""
        self.statuses.append(message)
        self.last_status_at = now
        return self.frames.get(stamp_ns(message.header.stamp))

    def stream_seconds(self) -> float | None:
        """From the first frame's arrival to the last status's (None before both): the time the tracker had for
        the frames it processed, without the nodes' start-up."""
        if self.first_frame_at is None or self.last_status_at is None:
            return None
        return self.last_status_at - self.first_frame_at


class DemoRecorder(Node):
    """Subscribes to the camera of one tracker namespace; its ``tracker`` client records the results."""

    def __init__(self, namespace: str) -> None:
        super().__init__("demo_client")
        self.lock = threading.Lock()
        self.recording = Recording()
        self.first_frame = threading.Event()
        self.create_subscription(Image, f"{namespace}/image", self._on_image, qos_profile_sensor_data)
        self.tracker = TrackerClient(self, namespace, on_detections=self._on_detections, on_status=self._on_status)

    def _on_image(self, message: Image) -> None:
        with self.lock:
            self.recording.add_frame(stamp_ns(message.header.stamp), image_to_rgb(message), time.monotonic())
        self.first_frame.set()

    def _on_detections(self, message: Detection2DArray) -> None:
        with self.lock:
            record = self.recording.frames.get(stamp_ns(message.header.stamp))
            if record is None or not message.detections:
                return
            detection = message.detections[0]
            w, h = detection.bbox.size_x, detection.bbox.size_y
            center = detection.bbox.center.position
            record.box = (center.x - w / 2, center.y - h / 2, w, h)

    def _on_status(self, message: TrackerStatus) -> None:
        with self.lock:
            record = self.recording.add_status(message, time.monotonic())
            if record is not None:
                record.score, record.state = message.score, message.state
                record.latency_ms, record.processing_ms = message.latency_ms, message.processing_ms

    def first_stamp_ns(self) -> int:
        """Stamp of the first recorded frame."""
        with self.lock:
            return min(self.recording.frames)
