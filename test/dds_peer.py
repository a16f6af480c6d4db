"""A separate ROS 2 process that publishes with this package's message builders: ``python dds_peer.py MODE [ARGS]``.

Modes: ``detections COUNT`` (the tracker node's Detection2DArray for a tracked box),
``images WIDTH HEIGHT COUNT`` (bgr8 images of :func:`pattern`, best effort).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import rclpy
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

from asymtrack_ros.ros.image_conversion import rgb_to_image
from asymtrack_ros.ros.messages import detections_message
from asymtrack_ros.tracking.base import TrackResult
from asymtrack_ros.tracking.monitor import TrackState
from asymtrack_ros.tracking.session import FrameOutcome


def pattern(width: int, height: int) -> np.ndarray:
    """An RGB image whose every byte differs from its neighbours (a byte lost or moved shows)."""
    return (np.arange(height * width * 3, dtype=np.uint32) % 251).astype(np.uint8).reshape(height, width, 3)


def publish_detections(node: rclpy.node.Node, count: int) -> None:
    """The tracker node's own detections message for a tracked box, ``count`` times."""
    publisher = node.create_publisher(Detection2DArray, "detections", 10)
    result = TrackResult(box=(288.5, 216.25, 64.0, 48.0), score=0.875)
    outcome = FrameOutcome(TrackState.TRACKING, "target-7", result, score=0.875)
    for i in range(count):
        header = Header(frame_id="camera")
        header.stamp.sec = i
        publisher.publish(detections_message(header, [outcome], "person"))
        time.sleep(0.05)


def publish_images(node: rclpy.node.Node, width: int, height: int, count: int) -> None:
    """``count`` bgr8 images of :func:`pattern` made by the node's own converter, best effort at 30 Hz, once the
    listener is matched (best effort drops what is sent before: under CPU load discovery takes longer than the
    settling second)."""
    publisher = node.create_publisher(Image, "image", qos_profile_sensor_data)
    deadline = time.monotonic() + 30
    while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    message = rgb_to_image(pattern(width, height), "bgr8")
    message.header.frame_id = "camera"
    for i in range(count):
        message.header.stamp.sec = i
        publisher.publish(message)
        time.sleep(1 / 30)


def main() -> None:
    mode, args = sys.argv[1], [int(a) for a in sys.argv[2:]]
    rclpy.init()
    node = rclpy.create_node(f"dds_peer_{mode}")
    time.sleep(1.0)  # let discovery settle before publishing
    try:
        if mode == "detections":
            publish_detections(node, *args)
        elif mode == "images":
            publish_images(node, *args)
        else:
            raise SystemExit(f"unknown mode {mode}")
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
