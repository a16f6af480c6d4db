"""The client side of a tracker node: records what it publishes and calls its services (real DDS).

One class serves the demo recorder, the node benchmark and the tests: it keeps every detections,
status and diagnostics message (``snapshot``), calls the ``on_detections`` / ``on_status`` hooks
with each message as it arrives, and sends ``~/set_target``, ``~/remove_target`` and ``~/reset`` requests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from std_srvs.srv import Trigger
from vision_msgs.msg import Detection2DArray

from asymtrack_ros.msg import TrackerStatus
from asymtrack_ros.ros.service_qos import SERVICE_QOS
from asymtrack_ros.ros.stamps import ns_stamp
from asymtrack_ros.srv import RemoveTarget, SetTarget

Message = TypeVar("Message")


@dataclass
class Recorded:
    """Everything a tracker node published since the last ``clear``."""

    detections: list[Detection2DArray] = field(default_factory=list)
    statuses: list[TrackerStatus] = field(default_factory=list)
    diagnostics: list[DiagnosticArray] = field(default_factory=list)


class TrackerClient:
    """Talks to the tracker node under ``namespace`` (``<ns>/detections``, ``<ns>/tracker/...``, ``/diagnostics``)."""

    def __init__(self, node: Node, namespace: str, on_detections: Callable[[Detection2DArray], None] | None = None,
                 on_status: Callable[[TrackerStatus], None] | None = None) -> None:
        self.node, self.namespace = node, namespace
        self.lock = threading.Lock()
        self.recorded = Recorded()
        node.create_subscription(
            Detection2DArray, f"{namespace}/detections", self._keep("detections", on_detections), 100
        )
        node.create_subscription(TrackerStatus, f"{namespace}/tracker/status", self._keep("statuses", on_status), 100)
        node.create_subscription(DiagnosticArray, "/diagnostics", self._keep("diagnostics"), 10)
        self.set_target_client = node.create_client(SetTarget, f"{namespace}/tracker/set_target",
                                                    qos_profile=SERVICE_QOS)
        self.remove_target_client = node.create_client(RemoveTarget, f"{namespace}/tracker/remove_target",
                                                       qos_profile=SERVICE_QOS)
        self.reset_client = node.create_client(Trigger, f"{namespace}/tracker/reset", qos_profile=SERVICE_QOS)

    def _keep(self, name: str, hook: Callable[[Message], None] | None = None) -> Callable[[Message], None]:
        """A subscription callback: ``hook(message)``, then the message appended to ``recorded.<name>``."""

        def callback(message: Message) -> None:
            if hook is not None:
                hook(message)
            with self.lock:
                getattr(self.recorded, name).append(message)

        return callback

    def snapshot(self, name: str) -> list:
        """A copy of the recorded ``detections``, ``statuses`` or ``diagnostics``."""
        with self.lock:
            return list(getattr(self.recorded, name))

    def clear(self) -> None:
        """Forget the recorded detections and statuses."""
        with self.lock:
            self.recorded.detections.clear()
            self.recorded.statuses.clear()

    def wait_for_services(self, timeout: float) -> bool:
        """True once both services are there (the node is up)."""
        return self.set_target_client.wait_for_service(timeout_sec=timeout) and \
            self.reset_client.wait_for_service(timeout_sec=timeout)

    def set_target(self, cx: float, cy: float, w: float, h: float, normalized: bool = False, stamp_ns: int = 0,
                   target_id: str = "", timeout: float = 20.0) -> SetTarget.Response:
        """Ask for the box centred on (cx, cy) of size w x h on the frame stamped ``stamp_ns`` (0 = latest)."""
        request = SetTarget.Request(normalized=normalized, target_id=target_id)
        request.header.stamp = ns_stamp(stamp_ns)
        request.bbox.center.position.x, request.bbox.center.position.y = float(cx), float(cy)
        request.bbox.size_x, request.bbox.size_y = float(w), float(h)
        return self._call(self.set_target_client, request, timeout)

    def remove_target(self, target_id: str, timeout: float = 20.0) -> RemoveTarget.Response:
        """Stop tracking ``target_id`` (``~/remove_target``)."""
        return self._call(self.remove_target_client, RemoveTarget.Request(target_id=target_id), timeout)

    def reset(self, timeout: float = 20.0) -> Trigger.Response:
        """Stop tracking (``~/reset``)."""
        return self._call(self.reset_client, Trigger.Request(), timeout)

    @staticmethod
    def _call(client, request, timeout: float):
        if not client.wait_for_service(timeout_sec=timeout):
            raise RuntimeError(f"service {client.srv_name} never appeared")
        response = client.call(request, timeout_sec=timeout)
        if response is None:
            raise RuntimeError(f"service {client.srv_name} did not answer within {timeout} s")
        return response
