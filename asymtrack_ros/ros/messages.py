"""Output messages of the tracker node, built from core results (header always the image's)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from geometry_msgs.msg import PointStamped
from std_msgs.msg import Header
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from asymtrack_ros.msg import TargetOffset, TargetStatus, TrackerStatus
from asymtrack_ros.ros.follow_geometry import Bearing, ImageOffset
from asymtrack_ros.tracking.session import FrameOutcome

DIAGNOSTIC_LEVELS = {"OK": DiagnosticStatus.OK, "WARN": DiagnosticStatus.WARN, "ERROR": DiagnosticStatus.ERROR}


def detections_message(header: Header, outcomes: Sequence[FrameOutcome], class_label: str) -> Detection2DArray:
    """One Detection2D, with its target's id, per target tracked on this frame (none LOST)."""
    message = Detection2DArray(header=header)
    for outcome in outcomes:
        box = outcome.box
        if box is None:
            continue
        x, y, w, h = box
        detection = Detection2D(header=header, id=outcome.target_id)
        detection.bbox.center.position.x = float(x + w / 2)
        detection.bbox.center.position.y = float(y + h / 2)
        detection.bbox.size_x, detection.bbox.size_y = float(w), float(h)
        hypothesis = ObjectHypothesisWithPose()
        hypothesis.hypothesis.class_id = class_label
        hypothesis.hypothesis.score = float(outcome.score)
        detection.results.append(hypothesis)
        message.detections.append(detection)
    return message


def diagnostic_status(
    name: str, hardware_id: str, level: str, message: str, values: dict[str, object]
) -> DiagnosticStatus:
    """A DiagnosticStatus; ``level`` is OK, WARN or ERROR (stored as the byte the message expects)."""
    return DiagnosticStatus(
        level=DIAGNOSTIC_LEVELS[level], name=name, hardware_id=hardware_id, message=message,
        values=[KeyValue(key=key, value=str(value)) for key, value in values.items()],
    )


def status_message(header: Header, outcomes: Sequence[FrameOutcome], **fields: object) -> TrackerStatus:
    """TrackerStatus for a processed frame: every target in ``targets``, the first in the scalar fields;
    ``fields`` fill the counters and backend strings."""
    status = TrackerStatus(header=header, **fields)
    status.targets = [TargetStatus(target_id=o.target_id, state=int(o.state), score=float(o.score)) for o in outcomes]
    if outcomes:
        first = outcomes[0]
        status.state, status.target_id, status.score = int(first.state), first.target_id, float(first.score)
        if first.result is not None and first.result.exit is not None:
            status.exit = first.result.exit
    return status


def exit_shares(counts: Mapping[int, int]) -> list[float]:
    """Share of the counted frames answered by exit 1..K (K: the highest exit seen); empty without counts."""
    total = sum(counts.values())
    return [counts.get(exit, 0) / total for exit in range(1, max(counts) + 1)] if total else []


def follow_message(header: Header, target_id: str, score: float, offset: ImageOffset,
                   direction: Bearing | None) -> TargetOffset:
    """TargetOffset of one tracked target (``direction`` None until camera_info has arrived)."""
    message = TargetOffset(header=header, target_id=target_id, score=float(score),
                           offset_x=float(offset.x), offset_y=float(offset.y),
                           size_x=float(offset.width), size_y=float(offset.height))
    if direction is not None:
        message.has_bearing, message.yaw, message.pitch = True, float(direction.yaw), float(direction.pitch)
    return message


def ray_message(header: Header, direction: Bearing) -> PointStamped:
    """The unit ray to the target in the camera's optical frame (the image header's frame_id)."""
    message = PointStamped(header=header)
    message.point.x, message.point.y, message.point.z = (float(v) for v in direction.ray)
    return message

