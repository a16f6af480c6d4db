"""tracker_node: camera images in, Detection2DArray / TrackerStatus / diagnostics / debug image out.

Callbacks never block: the image callback only parks the newest message in a one-slot mailbox
(replacing, and counting as dropped, a frame still waiting); a worker thread converts, tracks and
publishes. Services and the worker share the tracker under one lock.
"""

from __future__ import annotations

import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from std_srvs.srv import Trigger
from vision_msgs.msg import Detection2DArray

from asymtrack_ros.msg import TrackerStatus
from asymtrack_ros.ros.image_conversion import (
    ImageConversionError,
    check_layout,
    compressed_to_rgb,
    image_to_rgb,
    rgb_to_image,
)
from asymtrack_ros.ros.mailbox import LatestMailbox
from asymtrack_ros.ros.messages import detections_message, diagnostic_status, status_message
from asymtrack_ros.ros.node_runner import run_node
from asymtrack_ros.ros.parameters import (
    backend_options,
    check_update,
    current_values,
    declare_parameters,
    runtime_settings,
    validate_startup,
)
from asymtrack_ros.srv import SetTarget
from asymtrack_ros.tracking import create_tracker
from asymtrack_ros.tracking.frame_history import FrameHistory
from asymtrack_ros.tracking.monitor import TrackState
from asymtrack_ros.tracking.session import FrameOutcome, TrackingSession
from asymtrack_ros.tracking.stats import LatencyWindow, RateMeter
from asymtrack_ros.tracking.target_request import TargetRequestError, box_from_center
from asymtrack_ros.visualization import annotate


def to_rgb(message: Image | CompressedImage):
    """RGB frame of a raw or compressed image message (ImageConversionError on bad input)."""
    return compressed_to_rgb(message) if isinstance(message, CompressedImage) else image_to_rgb(message)


def stamp_ns(header: Header) -> int:
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


class TrackerNode(Node):
    """The asymtrack_ros tracker node (see README for topics, services and parameters)."""

    def __init__(self, **kwargs) -> None:
        super().__init__("tracker", **kwargs)
        declare_parameters(self)
        values = current_values(self)
        validate_startup(values)
        self.settings = runtime_settings(values)
        self.add_on_set_parameters_callback(self._on_parameters)

        self.lock = threading.Lock()
        self.mailbox = LatestMailbox()
        self.history = FrameHistory(int(values["frame_history"]))
        self.input_rate, self.output_rate = RateMeter(), RateMeter()
        self.latency, self.processing = LatencyWindow(), LatencyWindow()
        self.frames_processed = 0
        self.input_errors = 0
        self.last_input_error = ""
        self.last_input_error_time = -1e9
        self.next_target_number = 1
        self.last_outcome: FrameOutcome | None = None
        self.last_debug_time = 0.0
        self.backend_name = str(values["backend"])
        self.model_label = "opencv" if self.backend_name == "opencv" else f"{values['model']}-{values['variant']}"
        self.session, self.backend_error = self._create_session(values)

        self.detections_pub = self.create_publisher(Detection2DArray, "detections", 10)
        self.status_pub = self.create_publisher(TrackerStatus, "~/status", 10)
        self.debug_pub = self.create_publisher(Image, "~/debug_image", 2)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._subscribe_input(values)
        self.create_service(SetTarget, "~/set_target", self._on_set_target)
        self.create_service(Trigger, "~/reset", self._on_reset)
        self.create_timer(float(values["diagnostics_period"]), self._publish_diagnostics)

        self.running = True
        self.worker = threading.Thread(target=self._process_loop, name="tracker-worker", daemon=True)
        self.worker.start()

    # --- set-up ---------------------------------------------------------------------------
    def _create_session(self, values: dict) -> tuple[TrackingSession | None, str]:
        try:
            tracker = create_tracker(self.backend_name, **backend_options(values))
        except Exception as error:  # any backend failure is reported, never fatal
            reason = f"{self.backend_name} backend failed to start: {error}"
            self.get_logger().error(reason)
            return None, reason
        info = tracker.device_info
        for warning in info.warnings:
            self.get_logger().warning(warning)
        self.get_logger().info(f"backend {info.backend} on {info.device} providers={list(info.providers)}")
        return TrackingSession(tracker, self.settings.policy), ""

    def _subscribe_input(self, values: dict) -> None:
        reliability = ReliabilityPolicy.BEST_EFFORT if values["input_reliability"] == "best_effort" \
            else ReliabilityPolicy.RELIABLE
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=int(values["input_depth"]), reliability=reliability)
        topic = str(values["input_topic"])
        if values["compressed_input"]:
            self.create_subscription(CompressedImage, f"{topic}/compressed", self._on_image, qos)
        else:
            self.create_subscription(Image, topic, self._on_image, qos)
        if values["click_topic"]:
            self.create_subscription(Point, str(values["click_topic"]), self._on_click, 10)

    @property
    def device_label(self) -> str:
        if self.session is None:
            return "none"
        info = self.session.tracker.device_info
        return f"{info.device} [{', '.join(info.providers)}]" if info.providers else info.device

    # --- callbacks (never block) ---------------------------------------------------------------
    def _on_image(self, message: Image | CompressedImage) -> None:
        now = time.monotonic()
        self.input_rate.tick(now)
        if isinstance(message, Image):
            try:
                check_layout(message)
            except ImageConversionError as error:
                self._count_bad_input(error, now)
                return
        self.history.add(stamp_ns(message.header), message)
        self.mailbox.put(message, now)

    def _count_bad_input(self, error: ImageConversionError, now: float) -> None:
        self.input_errors += 1
        self.last_input_error, self.last_input_error_time = str(error), now
        self.get_logger().warning(f"dropping bad image: {error}", throttle_duration_sec=5.0)

    def _on_parameters(self, updates):
        result, settings = check_update(self, updates)
        if settings is not None:
            self.settings = settings
            if self.session is not None:
                with self.lock:
                    self.session.monitor.policy = settings.policy
        return result

    def _on_set_target(self, request: SetTarget.Request, response: SetTarget.Response) -> SetTarget.Response:
        box = (request.bbox.center.position.x, request.bbox.center.position.y,
               request.bbox.size_x, request.bbox.size_y)
        response.success, response.message, response.target_id = self._start_target(
            box, stamp_ns(request.header), request.normalized, request.target_id)
        return response

    def _on_click(self, point: Point) -> None:
        side = self.settings.click_box_size
        ok, message, _ = self._start_target((point.x, point.y, side, side), 0, False, "")
        log = self.get_logger().info if ok else self.get_logger().warning
        log(f"click at ({point.x:.0f}, {point.y:.0f}): {message}")

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        del request
        with self.lock:
            if self.session is not None:
                self.session.stop()
        response.success, response.message = True, "tracking stopped (IDLE)"
        return response

    def _start_target(self, center_box, stamp: int, normalized: bool, target_id: str) -> tuple[bool, str, str]:
        """Initialise on the frame named by ``stamp`` (0 = latest). Returns (success, message, id)."""
        if self.session is None:
            return False, self.backend_error, ""
        found = self.history.latest() if stamp == 0 else (stamp, self.history.get(stamp))
        if found is None:
            return False, "no image received yet: publish frames before setting a target", ""
        if found[1] is None:
            return False, f"no buffered frame has stamp {stamp} ns (too old or never received)", ""
        try:
            image = to_rgb(found[1])
        except ImageConversionError as error:
            return False, f"the frame stamped {found[0]} ns cannot be decoded: {error}", ""
        with self.lock:
            try:
                box = box_from_center(center_box, image.shape, normalized)
                new_id = target_id or f"target-{self.next_target_number}"
                self.session.start(image, box, new_id)
            except (TargetRequestError, ValueError) as error:
                return False, f"invalid target: {error}", ""
            if not target_id:
                self.next_target_number += 1
        return True, f"tracking {new_id} from box {tuple(round(v, 1) for v in box)}", new_id

    # --- worker ------------------------------------------------------------------------------
    def _process_loop(self) -> None:
        while self.running:
            item = self.mailbox.take(timeout=0.1)
            if item is not None:
                self._process(*item)

    def _process(self, message: Image | CompressedImage, received: float) -> None:
        start = time.monotonic()
        try:
            image = to_rgb(message)
        except ImageConversionError as error:
            self._count_bad_input(error, start)
            return
        with self.lock:
            outcome = self._step(image)
        self.detections_pub.publish(detections_message(message.header, outcome, self.settings.class_label))
        done = time.monotonic()
        self.frames_processed += 1
        processing_ms = outcome.result.total_ms if outcome.result is not None else 0.0
        latency_ms = self._latency_ms(message.header, received, done)
        self.processing.add(processing_ms)
        self.latency.add(latency_ms)
        self.output_rate.tick(done)
        self.status_pub.publish(status_message(
            message.header, outcome, latency_ms=latency_ms, processing_ms=processing_ms,
            frames_processed=self.frames_processed, frames_dropped=self.mailbox.dropped, backend=self.backend_name,
            model=self.model_label, device=self.device_label, message=self.backend_error or self.last_input_error,
        ))
        self._publish_debug(message.header, image, outcome)

    def _step(self, image) -> FrameOutcome:
        if self.session is None:
            return FrameOutcome(TrackState.ERROR, "", None)
        try:
            outcome = self.session.step(image)
        except Exception as error:  # a failing backend must not kill the node
            self.backend_error = f"backend failed while tracking: {error}"
            self.get_logger().error(self.backend_error, throttle_duration_sec=5.0)
            self.session.stop()
            return FrameOutcome(TrackState.ERROR, "", None)
        self.last_outcome = outcome
        return outcome

    def _latency_ms(self, header: Header, received: float, done: float) -> float:
        """Image stamp -> publish on this node's clock; receive -> publish when the stamp is zero."""
        if stamp_ns(header) == 0:
            return (done - received) * 1e3
        return (self.get_clock().now().nanoseconds - stamp_ns(header)) / 1e6

    def _publish_debug(self, header: Header, image, outcome: FrameOutcome) -> None:
        """Draw the annotated frame only while someone subscribes, at most debug_max_rate Hz."""
        settings = self.settings
        if not settings.debug_image or self.debug_pub.get_subscription_count() == 0:
            return
        now = time.monotonic()
        if settings.debug_max_rate > 0 and now - self.last_debug_time < 1.0 / settings.debug_max_rate:
            return
        self.last_debug_time = now
        score = outcome.score if outcome.result is not None else None
        canvas = annotate(image, outcome.box, outcome.state, score, self.output_rate.rate(now), outcome.target_id)
        message = rgb_to_image(canvas)
        message.header = header
        self.debug_pub.publish(message)

    # --- diagnostics -----------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        now = time.monotonic()
        state = self._current_state()
        input_hz, output_hz = self.input_rate.rate(now), self.output_rate.rate(now)
        falling_behind = input_hz > 0 and output_hz < 0.8 * input_hz
        if self.backend_error:
            level, summary = "ERROR", self.backend_error
        elif state == TrackState.LOST:
            level, summary = "WARN", "target lost: searching a wider region"
        elif falling_behind:
            level, summary = "WARN", f"falling behind: {output_hz:.1f} of {input_hz:.1f} Hz processed"
        elif now - self.last_input_error_time < 5.0:
            level, summary = "WARN", f"bad input: {self.last_input_error}"
        else:
            level, summary = "OK", state.name.lower()
        outcome = self.last_outcome
        values = {
            "state": state.name, "target_id": outcome.target_id if outcome else "",
            "score": f"{outcome.score:.3f}" if outcome and outcome.result else "",
            "input_rate_hz": f"{input_hz:.2f}", "output_rate_hz": f"{output_hz:.2f}",
            "latency_p50_ms": f"{self.latency.percentile(50):.2f}",
            "latency_p90_ms": f"{self.latency.percentile(90):.2f}",
            "processing_p50_ms": f"{self.processing.percentile(50):.2f}",
            "frames_processed": self.frames_processed, "frames_dropped": self.mailbox.dropped,
            "bad_input_frames": self.input_errors, "last_input_error": self.last_input_error,
            "backend": self.backend_name, "model": self.model_label, "device": self.device_label,
        }
        array = DiagnosticArray()
        array.header.stamp = self.get_clock().now().to_msg()
        array.status.append(diagnostic_status(
            f"{self.get_name()}: tracker", self.get_fully_qualified_name(), level, summary, values))
        self.diagnostics_pub.publish(array)

    def _current_state(self) -> TrackState:
        if self.backend_error or self.session is None:
            return TrackState.ERROR
        return self.session.state

    def stop(self) -> None:
        """Stop the worker thread (before the executor and rclpy shut down)."""
        self.running = False
        self.worker.join(timeout=5)


def main(args: list[str] | None = None) -> int:
    """Entry point of ``ros2 run asymtrack_ros tracker_node``."""
    return run_node(TrackerNode, SingleThreadedExecutor, args)


if __name__ == "__main__":
    raise SystemExit(main())
