"""Evaluation on a rosbag2 recording (``asymtrack-eval --bag``): one image topic's frames, in recorded order.

The bag (a rosbag2 directory, or a single ``.mcap`` / ``.db3`` file) is read with the ``rosbags`` library (the
``eval`` extra; no ROS install needed). sensor_msgs/Image and CompressedImage are decoded as the node decodes them
(:mod:`asymtrack_ros.image_messages`: every size checked in O(1) before a pixel is touched). Frames are read
forward while the trackers run, never all held in memory.

The tracker starts on the frame whose header stamp is ``init_stamp`` (default: the first frame; with ground
truth and no initial box, the first frame where the target is visible) with ``init_box`` (default: that frame's
ground-truth row). Ground truth, when given, is an OTB text file with one ``x,y,w,h`` row per frame of the topic.
"""

from __future__ import annotations

import csv
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from asymtrack_ros.boxes import Box
from asymtrack_ros.image_messages import DEFAULT_MAX_PIXELS, ImageConversionError, compressed_to_rgb, image_to_rgb
from asymtrack_ros.sequences import TrackSequence, make_sequence
from asymtrack_ros.tracking.monitor import TrackState

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
DETECTION_FIELDS = ("frame", "stamp_ns", "bag_time_ns", "state", "x", "y", "w", "h", "score")


class RecordingError(ValueError):
    """The bag, topic, stamps or ground truth cannot be evaluated (reason in the text)."""


@dataclass(frozen=True)
class TopicIndex:
    """An image topic of a bag: its message type and, per frame in recorded order, header stamp and bag time."""

    topic: str
    msgtype: str
    stamps_ns: np.ndarray
    bag_times_ns: np.ndarray


def _open_reader(bag: Path) -> Any:
    from rosbags.rosbag2 import Reader

    return Reader(bag)


def _typestore() -> Any:
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS2_JAZZY)


def _messages(bag: Path, topic: str) -> Generator[tuple[str, int, Any], None, None]:
    """(message type, bag time ns, deserialized rosbags message) of every message on ``topic``, in bag order."""
    typestore = _typestore()
    with _open_reader(bag) as reader:
        connections = [connection for connection in reader.connections if connection.topic == topic]
        if not connections:
            images = sorted({c.topic for c in reader.connections if c.msgtype in (IMAGE, COMPRESSED_IMAGE)})
            raise RecordingError(f"{bag} has no topic {topic!r}; its image topics: {images}")
        for connection in connections:
            if connection.msgtype not in (IMAGE, COMPRESSED_IMAGE):
                raise RecordingError(f"{topic} carries {connection.msgtype}, not {IMAGE} or {COMPRESSED_IMAGE}")
        for connection, bag_time_ns, raw in reader.messages(connections=connections):
            yield connection.msgtype, bag_time_ns, typestore.deserialize_cdr(raw, connection.msgtype)


def index_topic(bag: Path, topic: str) -> TopicIndex:
    """Message type, header stamps and bag times of ``topic`` (messages deserialized, no pixel decoded)."""
    msgtypes, stamps, times = set(), [], []
    for msgtype, bag_time_ns, message in _messages(bag, topic):
        msgtypes.add(msgtype)
        stamps.append(message.header.stamp.sec * 1_000_000_000 + message.header.stamp.nanosec)
        times.append(bag_time_ns)
    if not stamps:
        raise RecordingError(f"{bag}: topic {topic} has no messages")
    if len(msgtypes) != 1:
        raise RecordingError(f"{topic} mixes message types {sorted(msgtypes)}")
    return TopicIndex(topic, msgtypes.pop(), np.array(stamps, dtype=np.int64), np.array(times, dtype=np.int64))


def decode_image(msgtype: str, message: Any, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """HxWx3 uint8 RGB frame of a rosbags Image or CompressedImage (sizes checked first, as in the node)."""
    if msgtype == COMPRESSED_IMAGE:
        return compressed_to_rgb(message, max_pixels)
    return image_to_rgb(message, max_pixels)


class _FrameCursor:
    """Forward reader of a topic's frames: decodes only the frames asked for; going back reopens the bag."""

    def __init__(self, bag: Path, topic: str, max_pixels: int) -> None:
        self._bag, self._topic, self._max_pixels = bag, topic, max_pixels
        self._messages: Generator[tuple[str, int, Any], None, None] | None = None
        self._next = 0

    def read(self, index: int) -> np.ndarray:
        if self._messages is None or index < self._next:
            self.close()
            self._messages, self._next = _messages(self._bag, self._topic), 0
        try:
            while True:
                msgtype, _, message = next(self._messages)
                self._next += 1
                if self._next > index:
                    return decode_image(msgtype, message, self._max_pixels)
        except StopIteration:
            raise IndexError(f"{self._topic} has no frame {index}") from None
        except ImageConversionError as error:
            raise RecordingError(f"{self._bag} {self._topic} frame {index}: {error}") from error

    def close(self) -> None:
        if self._messages is not None:
            self._messages.close()
            self._messages = None


@dataclass(frozen=True, eq=False)
class RecordingSequence(TrackSequence):
    """A bag topic as a :class:`TrackSequence`: every entry of ``frames`` is the bag, ``read_frame`` decodes
    the frame from it, ``init_frame`` is the chosen start (not the first visible frame), ``has_ground_truth``
    tells whether rows other than the start come from a ground-truth file."""

    index: TopicIndex
    start: int
    has_ground_truth: bool
    cursor: _FrameCursor = field(repr=False)

    @property
    def init_frame(self) -> int:
        return self.start

    def read_frame(self, index: int) -> np.ndarray:
        return self.cursor.read(index)

    def close(self) -> None:
        """Close the bag if a read left it open."""
        self.cursor.close()


def open_recording(
    bag: Path | str,
    topic: str,
    init_box: Box | None = None,
    init_stamp_ns: int | None = None,
    ground_truth: np.ndarray | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> RecordingSequence:
    """The sequence of ``topic`` in ``bag``, started on the ``init_stamp_ns`` frame with ``init_box`` (see the
    module docstring for the defaults); ``ground_truth`` (N, 4) has a row per frame of the topic."""
    bag = Path(bag)
    if not bag.exists():
        raise RecordingError(f"{bag} does not exist")
    if init_box is None and ground_truth is None:
        raise RecordingError("give an initial box or ground truth to start from")
    index = index_topic(bag, topic)
    count = len(index.stamps_ns)
    if ground_truth is not None and len(ground_truth) != count:
        raise RecordingError(f"ground truth has {len(ground_truth)} rows, {topic} has {count} frames")
    boxes = np.full((count, 4), np.nan) if ground_truth is None else np.asarray(ground_truth, dtype=np.float64).copy()
    start = _start_frame(index, boxes, init_box, init_stamp_ns)
    if init_box is not None:
        boxes[start] = init_box
    elif not (np.isfinite(boxes[start]).all() and (boxes[start, 2:] > 0).all()):
        raise RecordingError(f"the target is absent in the ground truth of the start frame {start}")
    sequence = make_sequence(f"{bag.stem}{topic.replace('/', '_')}", (bag,) * count, boxes)
    return RecordingSequence(sequence.name, sequence.frames, sequence.ground_truth, sequence.absent, index, start,
                             ground_truth is not None, _FrameCursor(bag, topic, max_pixels))


def _start_frame(index: TopicIndex, boxes: np.ndarray, init_box: Box | None, init_stamp_ns: int | None) -> int:
    if init_stamp_ns is not None:
        matches = np.flatnonzero(index.stamps_ns == init_stamp_ns)
        if not len(matches):
            raise RecordingError(f"no frame of {index.topic} has the header stamp {init_stamp_ns} ns")
        return int(matches[0])
    if init_box is not None:
        return 0
    visible = np.flatnonzero(np.isfinite(boxes).all(axis=1) & (boxes[:, 2:] > 0).all(axis=1))
    if not len(visible):
        raise RecordingError("the target is absent in every ground-truth row")
    return int(visible[0])


def write_detections(path: Path, sequence: RecordingSequence, boxes: np.ndarray, published: np.ndarray,
                     states: Sequence[int]) -> None:
    """One row per frame, as the node would publish it: source header stamp, bag time, state, and the box and
    score where the detection array is not empty (TRACKING; frames before the start are IDLE)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(DETECTION_FIELDS)
        for frame, (stamp, bag_time, state) in enumerate(
            zip(sequence.index.stamps_ns, sequence.index.bag_times_ns, states, strict=True)
        ):
            tracking = state == TrackState.TRACKING
            values = [f"{value:.3f}" for value in boxes[frame]] + [f"{published[frame]:.5f}"] if tracking else [""] * 5
            writer.writerow([frame, int(stamp), int(bag_time), TrackState(state).name, *values])
