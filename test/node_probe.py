"""A checker for the tracker node: records its outputs and calls its services (real DDS)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_srvs.srv import Trigger
from vision_msgs.msg import Detection2DArray

from asymtrack_ros.msg import TrackerStatus
from asymtrack_ros.srv import SetTarget


@dataclass
class Recorded:
    detections: list[Detection2DArray] = field(default_factory=list)
    statuses: list[TrackerStatus] = field(default_factory=list)
    diagnostics: list[DiagnosticArray] = field(default_factory=list)
    image_stamps: set[tuple[int, int]] = field(default_factory=set)


class NodeProbe:
    """Subscribes to ``<ns>/detections``, ``<ns>/tracker/status``, ``/diagnostics`` and ``<ns>/image``."""

    def __init__(self, node: Node, namespace: str) -> None:
        self.node, self.namespace = node, namespace
        self.lock = threading.Lock()
        self.recorded = Recorded()
        node.create_subscription(Detection2DArray, f"{namespace}/detections", self._keep("detections"), 50)
        node.create_subscription(TrackerStatus, f"{namespace}/tracker/status", self._keep("statuses"), 50)
        node.create_subscription(DiagnosticArray, "/diagnostics", self._keep("diagnostics"), 10)
        node.create_subscription(Image, f"{namespace}/image", self._on_image, qos_profile_sensor_data)
        self.set_target_client = node.create_client(SetTarget, f"{namespace}/tracker/set_target")
        self.reset_client = node.create_client(Trigger, f"{namespace}/tracker/reset")

    def _keep(self, name: str):
        def callback(message) -> None:
            with self.lock:
                getattr(self.recorded, name).append(message)

        return callback

    def _on_image(self, message: Image) -> None:
        with self.lock:
            self.recorded.image_stamps.add((message.header.stamp.sec, message.header.stamp.nanosec))

    def snapshot(self, name: str) -> list:
        with self.lock:
            return list(getattr(self.recorded, name))

    def clear(self) -> None:
        with self.lock:
            self.recorded.detections.clear()
            self.recorded.statuses.clear()

    def set_target(self, cx: float, cy: float, w: float, h: float, normalized: bool = False,
                   stamp: tuple[int, int] = (0, 0), target_id: str = "") -> SetTarget.Response:
        assert self.set_target_client.wait_for_service(timeout_sec=30), "set_target service never appeared"
        request = SetTarget.Request(normalized=normalized, target_id=target_id)
        request.header.stamp.sec, request.header.stamp.nanosec = stamp
        request.bbox.center.position.x, request.bbox.center.position.y = float(cx), float(cy)
        request.bbox.size_x, request.bbox.size_y = float(w), float(h)
        response = self.set_target_client.call(request, timeout_sec=20)
        assert response is not None, "set_target call timed out"
        return response

    def reset(self) -> Trigger.Response:
        assert self.reset_client.wait_for_service(timeout_sec=30)
        response = self.reset_client.call(Trigger.Request(), timeout_sec=20)
        assert response is not None
        return response
