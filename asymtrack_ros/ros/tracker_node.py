"""tracker_node: camera images in, Detection2DArray / TrackerStatus / diagnostics / debug image out.

Callbacks never block and only do O(1) checks: the image callback checks the claimed size and
layout and parks the newest message in a one-slot mailbox (replacing, and counting as dropped, a
frame still waiting); ``~/set_target`` validates the request against the named frame's size and
parks it in a mailbox keyed by target id (per id the newest request wins; at most ``max_targets``
wait). A worker thread starts the pending targets before each processed frame, then decodes, tracks
every target (``tracking/targets.py``: one batched search pass where the backend can) and publishes.
Nothing a message carries stops the worker: every failure is counted and reported in diagnostics.
"""

from __future__ import annotations

import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point, PointStamped
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rclpy.qos_overriding_options import QoSOverridingOptions
from rclpy.timer import Timer
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header
from std_srvs.srv import Trigger
from vision_msgs.msg import Detection2DArray

from asymtrack_ros.image_messages import (
    ImageConversionError,
)
from asymtrack_ros.msg import TargetOffset, TrackerStatus
from asymtrack_ros.ros.follow_geometry import Intrinsics, bearing, image_offset
from asymtrack_ros.ros.frame_history import FrameHistory
from asymtrack_ros.ros.image_conversion import rgb_to_image
from asymtrack_ros.ros.mailbox import KeyedMailbox, LatestMailbox
from asymtrack_ros.ros.messages import (
    detections_message,
    diagnostic_status,
    exit_shares,
    follow_message,
    ray_message,
    status_message,
)
from asymtrack_ros.ros.node_config import NodeConfig
from asymtrack_ros.ros.node_health import NodeHealth
from asymtrack_ros.ros.node_runner import run_node
from asymtrack_ros.ros.parameters import PARAMETERS
from asymtrack_ros.ros.received_frames import PendingTarget, ReceivedFrame, decode, receive
from asymtrack_ros.ros.service_qos import SERVICE_QOS
from asymtrack_ros.ros.stamps import stamp_ns
from asymtrack_ros.ros.stats import LatencyWindow, RateMeter
from asymtrack_ros.ros.target_request import TargetRequestError, box_from_center, validate_label
from asymtrack_ros.srv import RemoveTarget, SetTarget
from asymtrack_ros.tracking import create_tracker
from asymtrack_ros.tracking.monitor import TrackState
from asymtrack_ros.tracking.session import FrameOutcome
from asymtrack_ros.tracking.targets import TargetError, TargetSet
from asymtrack_ros.visualization import annotate

OVERRIDABLE_QOS = QoSOverridingOptions.with_default_policies()


class TrackerNodeBase(Node):
    """Everything of the tracker node, in the phases of a managed node (see README for the interfaces).

    ``_configure`` loads the model and creates the publishers, ``_activate`` subscribes, offers the
    services and starts the worker, ``_deactivate`` undoes that (the CPU is idle), ``_cleanup`` frees
    the model and the publishers. :class:`TrackerNode` runs configure and activate at construction;
    :class:`~asymtrack_ros.ros.managed_tracker_node.ManagedTrackerNode` runs each on its lifecycle transition.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("tracker", **kwargs)
        for name, (default, description, read_only) in PARAMETERS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=description, read_only=read_only))
        self.config = NodeConfig.parse(self._parameter_values())
        self.add_on_set_parameters_callback(self._on_parameters)

        self.lock = threading.Lock()
        self.mailbox = LatestMailbox()
        self.pending_targets = KeyedMailbox(self.config.max_targets)
        self.stopping = threading.Event()
        self.worker: threading.Thread | None = None
        self.history = FrameHistory(self.config.frame_history)
        self.input_rate, self.output_rate = RateMeter(), RateMeter()
        self.latency, self.processing = LatencyWindow(), LatencyWindow()
        self.frames_processed = 0
        self.exit_counts: dict[int, int] = {}
        self.next_target_number = 1
        self.last_outcomes: tuple[FrameOutcome, ...] = ()
        self.target_states: dict[str, TrackState] = {}  # the tracked targets as last left (callbacks read it)
        self.last_debug_time = 0.0
        self.idle_since = 0.0  # when the worker last finished a frame: a frame received after it found the worker idle
        self.frames_behind = 0  # processed frames that waited for the worker (they skip the optional scan)
        self.intrinsics: Intrinsics | None = None
        self.targets: TargetSet | None = None
        self.health = NodeHealth()
        self._output_publishers: list = []
        self._input_subscriptions: list = []
        self._offered_services: list = []
        self._diagnostics_timer: Timer | None = None

    # --- phases ------------------------------------------------------------------------------
    def _configure(self) -> str:
        """Load the model and create the publishers; returns the backend error ("" when it loaded)."""
        self.targets, backend_error = self._create_targets()
        self.health = NodeHealth(backend_error=backend_error)

        def publisher(message_type, topic: str, depth: int):
            return self.create_publisher(message_type, topic, depth, qos_overriding_options=OVERRIDABLE_QOS)

        self.detections_pub = publisher(Detection2DArray, "detections", 10)
        self.status_pub = publisher(TrackerStatus, "~/status", 10)
        self.debug_pub = publisher(Image, "~/debug_image", 2)
        self.follow_pub = publisher(TargetOffset, "~/follow", 10)
        self.ray_pub = publisher(PointStamped, "~/target_ray", 10)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._output_publishers = [self.detections_pub, self.status_pub, self.debug_pub, self.follow_pub,
                                   self.ray_pub, self.diagnostics_pub]
        return backend_error

    def _activate(self) -> None:
        """Subscribe, offer the services, start the diagnostics timer and the worker."""
        self._input_subscriptions = self._subscribe_input()
        self._offered_services = [
            self.create_service(SetTarget, "~/set_target", self._on_set_target, qos_profile=SERVICE_QOS),
            self.create_service(RemoveTarget, "~/remove_target", self._on_remove_target, qos_profile=SERVICE_QOS),
            self.create_service(Trigger, "~/reset", self._on_reset, qos_profile=SERVICE_QOS)]
        self._diagnostics_timer = self.create_timer(self.config.diagnostics_period, self._publish_diagnostics)
        self.stopping = threading.Event()
        self.worker = threading.Thread(target=self._process_loop, name="tracker-worker", daemon=True)
        self.worker.start()

    def _deactivate(self) -> None:
        """Stop processing: no subscriptions, services or timer, the worker joined, the targets dropped."""
        self.stop()
        for subscription in self._input_subscriptions:
            self.destroy_subscription(subscription)
        for service in self._offered_services:
            self.destroy_service(service)
        if self._diagnostics_timer is not None:
            self.destroy_timer(self._diagnostics_timer)
        self._input_subscriptions, self._offered_services, self._diagnostics_timer = [], [], None
        self.mailbox.take(timeout=0.0)
        self._drop_targets()

    def _cleanup(self) -> None:
        """Free the model and the publishers."""
        for publisher in self._output_publishers:
            self.destroy_publisher(publisher)
        self._output_publishers, self.targets = [], None

    # --- set-up ---------------------------------------------------------------------------
    def _create_targets(self) -> tuple[TargetSet | None, str]:
        try:
            if self.config.backend == "onnx" and self.config.weights:
                import asymtrack_ros.export.cache  # noqa: F401  (lets the onnx backend export the checkpoint)
            tracker = create_tracker(self.config.backend, **self.config.backend_options())
        except Exception as error:  # any backend failure is reported, never fatal
            reason = f"{self.config.backend} backend failed to start: {error}"
            self.get_logger().error(reason)
            return None, reason
        info = tracker.device_info
        for warning in info.warnings:
            self.get_logger().warning(warning)
        self.get_logger().info(f"backend {info.backend} on {info.device} providers={list(info.providers)}")
        return TargetSet(tracker, self.config.policy, self.config.max_targets), ""

    def _subscribe_input(self) -> list:
        """The camera input: best effort, depth 1 by default (``input_*`` parameters, then ``qos_overrides``);
        its sibling camera_info; clicks."""
        config = self.config
        reliability = ReliabilityPolicy.BEST_EFFORT if config.input_reliability == "best_effort" \
            else ReliabilityPolicy.RELIABLE
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=config.input_depth, reliability=reliability)
        message_type, topic = (CompressedImage, f"{config.input_topic}/compressed") if config.compressed_input \
            else (Image, config.input_topic)
        camera_info = f"{self.resolve_topic_name(config.input_topic).rsplit('/', 1)[0]}/camera_info"
        subscriptions = [
            self.create_subscription(message_type, topic, self._on_image, qos, qos_overriding_options=OVERRIDABLE_QOS),
            self.create_subscription(CameraInfo, camera_info, self._on_camera_info, qos_profile_sensor_data),
        ]
        if config.click_topic:  # clicks on the camera image or on the annotated debug image
            subscriptions += [self.create_subscription(Point, config.click_topic, self._on_click, 10),
                              self.create_subscription(Point, "~/debug_image_mouse_left", self._on_click, 10)]
        return subscriptions

    @property
    def device_label(self) -> str:
        if self.targets is None:
            return "none"
        info = self.targets.tracker.device_info
        return f"{info.device} [{', '.join(info.providers)}]" if info.providers else info.device

    # --- callbacks (never block, never raise) -----------------------------------------------
    def _on_image(self, message: Image | CompressedImage) -> None:
        now = time.monotonic()
        self.input_rate.tick(now)
        try:
            frame = receive(message, self.config.max_input_pixels)
        except ImageConversionError as error:
            self._count_bad_input(error, now)
            return
        except Exception as error:  # nothing one message carries may stop the node
            self._count_internal_error("checking an image", error)
            return
        self.history.add(stamp_ns(message.header.stamp), frame)
        self.mailbox.put(frame, now)

    def _on_camera_info(self, message: CameraInfo) -> None:
        """Keep the newest usable intrinsics (the sibling ``camera_info`` of the image topic)."""
        try:
            self.intrinsics = Intrinsics.from_camera_info(message.k, message.d, message.distortion_model,
                                                          message.width, message.height)
        except (ValueError, TypeError) as error:
            self._count_bad_input(error, time.monotonic())
        except Exception as error:  # nothing one message carries may stop the node
            self._count_internal_error("reading camera_info", error)

    def _count_bad_input(self, error: Exception, now: float) -> None:
        self.health.bad_input.report(str(error), now)
        self.get_logger().warning(f"dropping bad input: {error}", throttle_duration_sec=5.0)

    def _count_internal_error(self, doing: str, error: Exception) -> None:
        text = f"{doing}: {type(error).__name__}: {error}"
        self.health.internal.report(text, time.monotonic())
        self.get_logger().error(f"unexpected error {text}", throttle_duration_sec=5.0)

    def _parameter_values(self) -> dict[str, object]:
        return {name: self.get_parameter(name).value for name in PARAMETERS}

    def _on_parameters(self, updates: list[Parameter]) -> SetParametersResult:
        """Accept a run-time change only if the whole configuration still parses (and the tracker takes new
        exit thresholds); then use it."""
        changed = {p.name: p.value for p in updates if p.name in PARAMETERS}
        try:
            config = NodeConfig.parse(self._parameter_values() | changed)
            if config.exit_thresholds != self.config.exit_thresholds:
                self._apply_exit_thresholds(config.exit_thresholds)
        except (ValueError, TypeError, OverflowError) as error:
            return SetParametersResult(successful=False, reason=str(error))
        except Exception as error:  # nothing one request carries may stop the node
            self._count_internal_error("checking a parameter change", error)
            return SetParametersResult(successful=False, reason=f"internal error: {error}")
        self.config = config
        if self.targets is not None:
            with self.lock:
                self.targets.set_policy(config.policy)
        return SetParametersResult(successful=True)

    def _apply_exit_thresholds(self, thresholds: tuple[float, ...] | None) -> None:
        """New early-exit thresholds for the running tracker (ValueError: refused, nothing changed)."""
        if thresholds is None:
            raise ValueError("exit_thresholds [-1.0] (the model's) applies at start only: give tau_1..tau_{K-1}")
        if self.targets is not None:
            with self.lock:
                self.targets.tracker.set_exit_thresholds(thresholds)

    def _on_set_target(self, request: SetTarget.Request, response: SetTarget.Response) -> SetTarget.Response:
        try:
            box = (request.bbox.center.position.x, request.bbox.center.position.y,
                   request.bbox.size_x, request.bbox.size_y)
            response.success, response.message, response.target_id = self._request_target(
                box, stamp_ns(request.header.stamp), request.normalized, request.target_id)
        except Exception as error:  # nothing one request carries may stop the node
            self._count_internal_error("handling set_target", error)
            response.success, response.message, response.target_id = False, f"internal error: {error}", ""
        return response

    def _on_click(self, point: Point) -> None:
        try:
            side = self.config.click_box_size
            ok, message, _ = self._request_target((point.x, point.y, side, side), 0, False, "")
        except Exception as error:  # nothing one message carries may stop the node
            self._count_internal_error("handling a click", error)
            return
        log = self.get_logger().info if ok else self.get_logger().warning
        log(f"click at ({point.x:.0f}, {point.y:.0f}): {message}")

    def _on_remove_target(self, request: RemoveTarget.Request,
                          response: RemoveTarget.Response) -> RemoveTarget.Response:
        try:
            response.success, response.message = self._remove_target(request.target_id)
        except Exception as error:  # nothing one request carries may stop the node
            self._count_internal_error("handling remove_target", error)
            response.success, response.message = False, f"internal error: {error}"
        return response

    def _remove_target(self, target_id: str) -> tuple[bool, str]:
        """Withdraw ``target_id``'s pending request and stop tracking it. Returns (success, message)."""
        if self.targets is None:
            return False, self.health.backend_error
        withdrawn = self.pending_targets.discard(target_id)
        with self.lock:
            try:
                self.targets.remove(target_id)
            except TargetError as error:
                if not withdrawn:
                    return False, str(error)
            self._note_targets()
        return True, f"stopped tracking {target_id}"

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        del request
        self._drop_targets()
        response.success, response.message = True, "tracking stopped (IDLE)"
        return response

    def _drop_targets(self) -> None:
        """Withdraw the pending requests and stop tracking every target."""
        self.pending_targets.take_all()
        with self.lock:
            if self.targets is not None:
                self.targets.clear()
            self.health.tracking_error = ""
            self._note_targets()

    def _note_targets(self) -> None:
        """Publish the tracked targets' states to the callbacks (under ``lock``)."""
        self.target_states = self.targets.states if self.targets is not None else {}

    def _request_target(self, center_box, stamp: int, normalized: bool, target_id: str) -> tuple[bool, str, str]:
        """Validate a target request in O(1) and hand it to the worker. Returns (success, message, id).

        The box is checked against the size of the frame named by ``stamp`` (0 = latest); the worker
        starts the target on that frame before it processes the next one. A new id needs room (``max_targets``
        counts tracked and pending ids); with ``max_targets`` 1 the request replaces the target.
        """
        if self.targets is None:
            return False, self.health.backend_error, ""
        found = self.history.latest() if stamp == 0 else (stamp, self.history.get(stamp))
        if found is None:
            return False, "no image received yet: publish frames before setting a target", ""
        frame_stamp, frame = found
        if frame is None:
            return False, f"no buffered frame has stamp {stamp} ns (too old or never received)", ""
        try:
            validate_label(target_id, "target_id")
            box = box_from_center(center_box, (frame.height, frame.width), normalized)
        except TargetRequestError as error:
            return False, f"invalid target: {error}", ""
        new_id = target_id
        if not new_id:
            new_id, self.next_target_number = f"target-{self.next_target_number}", self.next_target_number + 1
        single = self.config.max_targets == 1
        known = {*self.target_states, *self.pending_targets.keys()}
        if not single and new_id not in known and len(known) >= self.config.max_targets:
            return False, (f"no room for {new_id}: {len(known)} targets tracked or starting, max_targets is "
                           f"{self.config.max_targets}; remove one or re-target a tracked id"), ""
        if not self.pending_targets.put(new_id, PendingTarget(frame, box, new_id), exclusive=single):
            return False, f"no room for {new_id}: {self.config.max_targets} requests are waiting", ""
        box_text = tuple(round(v, 1) for v in box)
        return True, f"tracking {new_id} from box {box_text} on the frame stamped {frame_stamp} ns", new_id

    # --- worker ------------------------------------------------------------------------------
    def _process_loop(self) -> None:
        while not self.stopping.is_set():
            item = self.mailbox.take(timeout=0.1)
            if item is None:
                continue
            try:
                self._start_pending_targets()
                self._process(*item)
            except Exception as error:  # nothing one message carries may stop the worker
                self._count_internal_error("processing a frame", error)
            self.idle_since = time.monotonic()

    def _start_pending_targets(self) -> None:
        """Start the validated requests, each on its own frame (at most ``max_targets`` per processed frame)."""
        targets = self.targets
        if targets is None:  # no tracker: set_target accepts no request
            return
        request: PendingTarget
        for request in self.pending_targets.take_all():
            try:
                image = decode(request.frame.message, self.config.max_input_pixels)
                with self.lock:
                    targets.set(image, request.box, request.target_id)
                    self.health.tracking_error = ""
            except (ImageConversionError, ValueError) as error:  # TargetError included
                self.health.tracking_error = f"target {request.target_id} not started: {error}"
                self.get_logger().error(self.health.tracking_error)
            finally:
                with self.lock:
                    self._note_targets()

    def _process(self, frame: ReceivedFrame, received: float) -> None:
        start = time.monotonic()
        keeping_up = received >= self.idle_since  # else it waited while the worker was busy with the frame before
        self.frames_behind += not keeping_up
        message = frame.message
        try:
            image = decode(message, self.config.max_input_pixels)
        except ImageConversionError as error:
            self._count_bad_input(error, start)
            return
        with self.lock:
            outcomes = self._step(image, message.header, keeping_up)
        processing_ms = (time.monotonic() - start) * 1e3  # wall time: parallel parts count once, the session's too
        self.detections_pub.publish(detections_message(message.header, outcomes, self.config.class_label))
        self._publish_follow(message.header, outcomes, image.shape[1], image.shape[0])
        done = time.monotonic()
        self.frames_processed += 1
        latency_ms = self._latency_ms(message.header, received, done)
        self.processing.add(processing_ms)
        self.latency.add(latency_ms)
        self.output_rate.tick(done)
        self.status_pub.publish(status_message(
            message.header, outcomes, state=int(self._current_state()), latency_ms=latency_ms,
            processing_ms=processing_ms,
            frames_processed=self.frames_processed, frames_dropped=self.mailbox.dropped, backend=self.config.backend,
            model=self.config.model_label, device=self.device_label, message=self.health.summary(done)[1],
            exit_shares=exit_shares(self.exit_counts),
        ))
        self._publish_debug(message.header, image, outcomes)

    def _step(self, image, header: Header, keeping_up: bool) -> tuple[FrameOutcome, ...]:
        """Track every target on one frame (under ``lock``); the optional work (the distractor scan) only while the
        worker ``keeping_up`` with the camera. A target whose frame fails is dropped, reported until the next target
        starts, and appears once as ERROR."""
        if self.targets is None:
            return ()
        step = self.targets.step(image, scan=keeping_up)
        for failure in step.failures:
            self.health.tracking_error = (
                f"tracking {failure.target_id} failed on the {image.shape[1]}x{image.shape[0]} frame stamped "
                f"{stamp_ns(header.stamp)} ns, target dropped: {failure.reason}")
            self.get_logger().error(self.health.tracking_error, throttle_duration_sec=5.0)
        self._note_targets()
        for outcome in step.outcomes:
            if outcome.result is not None and outcome.result.exit is not None:
                self.exit_counts[outcome.result.exit] = self.exit_counts.get(outcome.result.exit, 0) + 1
        self.last_outcomes = step.outcomes
        return step.outcomes + tuple(FrameOutcome(TrackState.ERROR, f.target_id, None) for f in step.failures)

    def _publish_follow(self, header: Header, outcomes: tuple[FrameOutcome, ...], width: int, height: int) -> None:
        """Offset (always) and bearing (once camera_info is known) of each TRACKING target on ``~/follow``, and the
        ray to the first of them on ``~/target_ray`` (a PointStamped has no id)."""
        intrinsics = self.intrinsics
        if intrinsics is not None and (intrinsics.width, intrinsics.height) != (width, height):
            intrinsics = intrinsics.scaled_to(width, height)
        first_ray = True
        for outcome in outcomes:
            box = outcome.box
            if box is None:
                continue
            direction = bearing(box, intrinsics) if intrinsics is not None else None
            offset = image_offset(box, width, height)
            self.follow_pub.publish(follow_message(header, outcome.target_id, outcome.score, offset, direction))
            if direction is not None and first_ray:
                self.ray_pub.publish(ray_message(header, direction))
                first_ray = False

    def _latency_ms(self, header: Header, received: float, done: float) -> float:
        """Image stamp -> publish on this node's clock; receive -> publish when the stamp is zero."""
        if stamp_ns(header.stamp) == 0:
            return (done - received) * 1e3
        return (self.get_clock().now().nanoseconds - stamp_ns(header.stamp)) / 1e6

    def _publish_debug(self, header: Header, image, outcomes: tuple[FrameOutcome, ...]) -> None:
        """Draw the annotated frame only while someone subscribes, at most debug_max_rate Hz."""
        config = self.config
        if not config.debug_image or self.debug_pub.get_subscription_count() == 0:
            return
        now = time.monotonic()
        if config.debug_max_rate > 0 and now - self.last_debug_time < 1.0 / config.debug_max_rate:
            return
        self.last_debug_time = now
        canvas, rate = image, self.output_rate.rate(now)
        for outcome in reversed(outcomes):  # the first target drawn last: the banner shows its state
            score = outcome.score if outcome.result is not None else None
            canvas = annotate(canvas, outcome.box, outcome.state, score, rate, outcome.target_id)
        if not outcomes:
            canvas = annotate(image, None, self._current_state(), None, rate)
        message = rgb_to_image(canvas)
        message.header = header
        self.debug_pub.publish(message)

    # --- diagnostics -----------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        try:
            self.diagnostics_pub.publish(self._diagnostics(time.monotonic()))
        except Exception as error:  # a timer callback must not stop the node either
            self._count_internal_error("publishing diagnostics", error)

    def _diagnostics(self, now: float) -> DiagnosticArray:
        """The node's status (the first target's state, counters, errors), then one status per target."""
        state, states = self._current_state(), self.target_states
        outcomes = {outcome.target_id: outcome for outcome in self.last_outcomes}
        lost = [target_id for target_id, target_state in states.items() if target_state == TrackState.LOST]
        input_hz, output_hz = self.input_rate.rate(now), self.output_rate.rate(now)
        level, summary = self.health.summary(now)  # errors first, then lost, falling behind, bad input
        if level != "ERROR" and lost:
            level, summary = "WARN", f"target {', '.join(lost)} lost: searching a wider region"
        elif level != "ERROR" and input_hz > 0 and output_hz < 0.8 * input_hz:
            level, summary = "WARN", f"falling behind: {output_hz:.1f} of {input_hz:.1f} Hz processed"
        elif level == "OK":
            summary = state.name.lower()
        first = outcomes.get(next(iter(states), ""))
        health = self.health
        values = {
            "state": state.name, "target_id": first.target_id if first else "",
            "score": f"{first.score:.3f}" if first and first.result else "",
            "targets": ", ".join(states), "max_targets": self.config.max_targets,
            "batched_search": self.targets is not None and self.targets.batches,
            "input_rate_hz": f"{input_hz:.2f}", "output_rate_hz": f"{output_hz:.2f}",
            "latency_p50_ms": f"{self.latency.percentile(50):.2f}",
            "latency_p90_ms": f"{self.latency.percentile(90):.2f}",
            "processing_p50_ms": f"{self.processing.percentile(50):.2f}",
            "frames_processed": self.frames_processed, "frames_dropped": self.mailbox.dropped,
            "frames_behind": self.frames_behind,
            "targets_superseded": self.pending_targets.dropped,
            "bad_input_frames": health.bad_input.count, "last_input_error": health.bad_input.text,
            "internal_errors": health.internal.count, "last_internal_error": health.internal.text,
            "tracking_error": health.tracking_error,
            "exit_shares": " ".join(f"{share:.3f}" for share in exit_shares(self.exit_counts)),
            "backend": self.config.backend, "model": self.config.model_label, "device": self.device_label,
        }
        array = DiagnosticArray()
        array.header.stamp = self.get_clock().now().to_msg()
        array.status.append(diagnostic_status(
            f"{self.get_name()}: tracker", self.get_fully_qualified_name(), level, summary, values))
        for target_id, target_state in states.items():
            outcome = outcomes.get(target_id)
            score = f"{outcome.score:.3f}" if outcome and outcome.result else ""
            hit = outcome.search_hit if outcome else None
            array.status.append(diagnostic_status(
                f"{self.get_name()}: target [{target_id}]", self.get_fully_qualified_name(),
                "WARN" if target_state == TrackState.LOST else "OK", target_state.name.lower(),
                {"target_id": target_id, "state": target_state.name, "score": score,
                 "redetection": hit.describe() if hit else ""}))
        return array

    def _current_state(self) -> TrackState:
        """ERROR without a backend, else the first target's state (IDLE: none)."""
        if self.health.backend_error or self.targets is None:
            return TrackState.ERROR
        return next(iter(self.target_states.values()), TrackState.IDLE)

    def stop(self) -> None:
        """Stop the worker thread (before the executor and rclpy shut down)."""
        self.stopping.set()
        if self.worker is not None:
            self.worker.join(timeout=5)
            self.worker = None


class TrackerNode(TrackerNodeBase):
    """The plain tracker node: configured and active from construction on (``ros2 run asymtrack_ros tracker_node``).

    A backend that fails to load leaves it running in ERROR state with the reason in every output.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._configure()
        self._activate()


def main(args: list[str] | None = None) -> int:
    """Entry point of ``ros2 run asymtrack_ros tracker_node``."""
    return run_node(TrackerNode, SingleThreadedExecutor, args)


if __name__ == "__main__":
    raise SystemExit(main())
