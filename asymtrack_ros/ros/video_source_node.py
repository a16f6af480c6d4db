"""video_source_node: publish a video file or camera as ``image`` (what image_publisher does).

Frames go out at the video's native rate (or ``rate``), stamped with the node clock at capture
and ``frame_id``; ``loop`` restarts the file at its end (otherwise the node exits there). ``compressed`` also publishes
``image/compressed`` (JPEG).
"""

from __future__ import annotations

import cv2
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image

from asymtrack_ros.ros.image_conversion import rgb_to_compressed, rgb_to_image
from asymtrack_ros.ros.node_runner import run_node

PARAMETERS: dict[str, tuple[object, str]] = {
    "video": ("", "video file path; empty = use camera_index"),
    "camera_index": (0, "cv2.VideoCapture device index when video is empty"),
    "rate": (0.0, "publish rate in Hz; 0 = the video's native rate (30 Hz for cameras without one)"),
    "loop": (True, "restart the video at its end"),
    "frame_id": ("camera", "header.frame_id of the published images"),
    "compressed": (False, "also publish image/compressed (JPEG)"),
    "max_frames": (0, "stop after this many frames (0 = unlimited)"),
    "wait_for_subscribers": (0, "hold the first frame until this many subscribers matched `image`"),
}


class VideoSourceNode(Node):
    """Reads frames with OpenCV and publishes them best effort, like a camera driver."""

    def __init__(self, **kwargs) -> None:
        super().__init__("video_source", **kwargs)
        for name, (default, description) in PARAMETERS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=description, read_only=True))
        param = self.get_parameter
        source = param("video").value or int(param("camera_index").value)
        self.capture = cv2.VideoCapture(source)
        if not self.capture.isOpened():
            raise ValueError(f"cannot open video source {source!r}")
        native = self.capture.get(cv2.CAP_PROP_FPS) or 30.0
        rate = float(param("rate").value) or native
        self.loop, self.frame_id = bool(param("loop").value), str(param("frame_id").value)
        self.max_frames, self.published = int(param("max_frames").value), 0
        self.wait_for_subscribers = int(param("wait_for_subscribers").value)
        self.image_pub = self.create_publisher(Image, "image", qos_profile_sensor_data)
        self.compressed_pub = (
            self.create_publisher(CompressedImage, "image/compressed", qos_profile_sensor_data)
            if param("compressed").value else None
        )
        self.timer = self.create_timer(1.0 / rate, self._publish_next)
        self.get_logger().info(f"publishing {source} at {rate:.2f} Hz as frame {self.frame_id!r}")

    def _publish_next(self) -> None:
        if self.published == 0 and self.image_pub.get_subscription_count() < self.wait_for_subscribers:
            return
        ok, frame_bgr = self.capture.read()
        if not ok and self.loop:
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame_bgr = self.capture.read()
        if not ok or (self.max_frames and self.published >= self.max_frames):
            self.get_logger().info(f"end of video after {self.published} frames: exiting")
            self.timer.cancel()
            self.context.try_shutdown()
            return
        frame_rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        image = rgb_to_image(frame_rgb, encoding="rgb8")
        image.header.stamp = self.get_clock().now().to_msg()
        image.header.frame_id = self.frame_id
        self.image_pub.publish(image)
        if self.compressed_pub is not None:
            compressed = rgb_to_compressed(frame_rgb)
            compressed.header = image.header
            self.compressed_pub.publish(compressed)
        self.published += 1

    def stop(self) -> None:
        """Release the video file or camera."""
        self.capture.release()


def main(args: list[str] | None = None) -> int:
    """Entry point of ``ros2 run asymtrack_ros video_source_node``."""
    return run_node(VideoSourceNode, SingleThreadedExecutor, args)


if __name__ == "__main__":
    raise SystemExit(main())
