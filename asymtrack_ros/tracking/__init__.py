"""Backend-independent tracking: the Tracker interface, pre/post-processing and the backend registry."""

from asymtrack_ros.tracking.base import DeviceInfo, Tracker, TrackResult
from asymtrack_ros.tracking.registry import available_backends, create_tracker

__all__ = ["DeviceInfo", "TrackResult", "Tracker", "available_backends", "create_tracker"]
