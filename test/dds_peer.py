"""A separate ROS 2 process for the DDS tests: ``python dds_peer.py MODE [ARGS]``.

Modes: ``set_target_server`` (serves asymtrack_ros/srv/SetTarget), ``detections COUNT``
(publishes Detection2DArray), ``images WIDTH HEIGHT COUNT`` (publishes bgr8 images best effort).
"""

from __future__ import annotations

import sys
import time
from array import array

import rclpy
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from asymtrack_ros.srv import SetTarget


def serve_set_target(node: rclpy.node.Node) -> None:
    def handle(request: SetTarget.Request, response: SetTarget.Response) -> SetTarget.Response:
        box = request.bbox
        response.success = box.size_x > 0 and box.size_y > 0
        response.message = f"box {box.center.position.x},{box.center.position.y} {box.size_x}x{box.size_y}"
        response.target_id = request.target_id or "assigned-1"
        return response

    node.create_service(SetTarget, "set_target", handle)
    rclpy.spin(node)


def sample_detections(stamp_sec: int) -> Detection2DArray:
    detection = Detection2D()
    detection.header.frame_id = "camera"
    detection.header.stamp.sec = stamp_sec
    detection.id = "target-7"
    detection.bbox.center.position.x = 320.5
    detection.bbox.center.position.y = 240.25
    detection.bbox.center.theta = 0.1
    detection.bbox.size_x = 64.0
    detection.bbox.size_y = 48.0
    hypothesis = ObjectHypothesisWithPose()
    hypothesis.hypothesis.class_id = "person"
    hypothesis.hypothesis.score = 0.875
    hypothesis.pose.pose.position.x = 1.5
    hypothesis.pose.covariance[0] = 0.25
    detection.results.append(hypothesis)
    message = Detection2DArray()
    message.header = detection.header
    message.detections.append(detection)
    return message


def publish_detections(node: rclpy.node.Node, count: int) -> None:
    publisher = node.create_publisher(Detection2DArray, "detections", 10)
    for i in range(count):
        publisher.publish(sample_detections(i))
        time.sleep(0.05)


def publish_images(node: rclpy.node.Node, width: int, height: int, count: int) -> None:
    publisher = node.create_publisher(Image, "image", qos_profile_sensor_data)
    payload = array("B", bytes(range(256)) * (width * height * 3 // 256 + 1))[: width * height * 3]
    for i in range(count):
        message = Image(height=height, width=width, encoding="bgr8", step=width * 3)
        message.header.frame_id = "camera"
        message.header.stamp.sec = i
        message.data = payload
        publisher.publish(message)
        time.sleep(1 / 30)


def main() -> None:
    mode, args = sys.argv[1], [int(a) for a in sys.argv[2:]]
    rclpy.init()
    node = rclpy.create_node(f"dds_peer_{mode}")
    time.sleep(1.0)  # let discovery settle before publishing
    try:
        if mode == "set_target_server":
            serve_set_target(node)
        elif mode == "detections":
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
