"""The demo's recording: frames keyed by stamp, statuses matched to them, and the stream's duration."""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Time

from asymtrack_ros.msg import TrackerStatus
from asymtrack_ros.ros.demo_recorder import Recording

IMAGE = np.zeros((4, 4, 3), np.uint8)


def status_for(stamp_ns: int) -> TrackerStatus:
    message = TrackerStatus()
    message.header.stamp = Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
    return message


def test_the_stream_runs_from_the_first_frame_to_the_last_status() -> None:
    recording = Recording()
    assert recording.stream_seconds() is None
    recording.add_frame(5 * 10**9, IMAGE, now=100.0)
    recording.add_frame(6 * 10**9, IMAGE, now=100.5)
    assert recording.stream_seconds() is None  # no status yet
    assert recording.add_status(status_for(6 * 10**9), now=102.0) is recording.frames[6 * 10**9]
    assert recording.add_status(status_for(7 * 10**9), now=103.0) is None  # a frame never seen
    assert recording.stream_seconds() == 3.0
    assert [record.index for record in recording.frames.values()] == [0, 1]
    assert len(recording.statuses) == 2
