"""Follow output over DDS: the node's ~/follow offsets, and bearings and rays once camera_info arrives."""

from __future__ import annotations

import math
import threading

import pytest
from scene import HEIGHT, WIDTH, target_box
from scene_publisher import ScenePublisher, assert_tracks_target

from ros_fixtures import node_process, require_ros, spinning_node, wait_until

pytestmark = [pytest.mark.ros, pytest.mark.slow]
NAMESPACE = "/follow"
FX, FY, CX, CY = 300.0, 280.0, 150.0, 125.0  # a principal point off the image centre


def test_follow_offsets_and_camera_info_bearings_match_the_geometry() -> None:
    require_ros()
    from geometry_msgs.msg import PointStamped
    from sensor_msgs.msg import CameraInfo

    from asymtrack_ros.msg import TargetOffset
    from asymtrack_ros.ros.tracker_client import TrackerClient

    follows: list[TargetOffset] = []
    rays: list[PointStamped] = []
    lock = threading.Lock()

    def keep(store: list):
        def callback(message) -> None:
            with lock:
                store.append(message)
        return callback

    args = ["-r", f"__ns:={NAMESPACE}", "-p", "backend:=opencv", "-p", "algorithm:=kcf"]
    with spinning_node("follow_checker") as node, node_process("asymtrack_ros.ros.tracker_node", *args):
        client = TrackerClient(node, NAMESPACE)
        node.create_subscription(TargetOffset, f"{NAMESPACE}/tracker/follow", keep(follows), 50)
        node.create_subscription(PointStamped, f"{NAMESPACE}/tracker/target_ray", keep(rays), 50)
        publisher = ScenePublisher(node, f"{NAMESPACE}/image", compressed=False).start()
        try:
            assert wait_until(lambda: len(client.snapshot("statuses")) >= 3, timeout=60)
            response = publisher.set_target_on_latest(client)
            assert response.success, response.message
            assert_tracks_target(client, publisher, target_id=response.target_id)
            with lock:
                before_info = list(follows)
            assert before_info and not any(m.has_bearing for m in before_info) and not rays

            info_publisher = node.create_publisher(CameraInfo, f"{NAMESPACE}/camera_info", 1)
            bad = CameraInfo(width=WIDTH, height=HEIGHT, distortion_model="plumb_bob", d=[0.1, 0.0, 0.0])
            bad.k = [FX, 0.0, CX, 0.0, FY, CY, 0.0, 0.0, 1.0]  # three coefficients: no distortion model has three
            assert wait_until(lambda: info_publisher.get_subscription_count() > 0, timeout=10)
            info_publisher.publish(bad)
            assert_tracks_target(client, publisher, target_id=response.target_id)
            with lock:
                assert not any(m.has_bearing for m in follows), "a malformed camera_info was used"
            info = CameraInfo(width=WIDTH, height=HEIGHT, distortion_model="plumb_bob", d=[0.0] * 5)
            info.k = [FX, 0.0, CX, 0.0, FY, CY, 0.0, 0.0, 1.0]
            assert wait_until(lambda: (info_publisher.publish(info), any(m.has_bearing for m in follows))[1], 20)
            assert wait_until(lambda: len(rays) >= 5, timeout=20)
        finally:
            publisher.stop()
    with lock:
        with_bearing = [m for m in follows if m.has_bearing]
    for message in with_bearing[:10]:
        t = publisher.stamps[(message.header.stamp.sec, message.header.stamp.nanosec)]
        x, y, w, h = target_box(t)
        u, v = x + w / 2, y + h / 2
        assert message.target_id == response.target_id and message.header.frame_id == "camera"
        assert message.offset_x == pytest.approx((u - WIDTH / 2) / (WIDTH / 2), abs=12 / (WIDTH / 2))
        assert message.offset_y == pytest.approx((v - HEIGHT / 2) / (HEIGHT / 2), abs=12 / (HEIGHT / 2))
        assert message.size_x == pytest.approx(w / WIDTH, abs=0.05)
        # yaw from the published offset and the intrinsics (the box itself is the tracker's)
        u_box = (message.offset_x + 1) * WIDTH / 2
        assert message.yaw == pytest.approx(math.atan((u_box - CX) / FX), abs=1e-4)
        assert message.yaw == pytest.approx(math.atan((u - CX) / FX), abs=0.05)
    ray = rays[-1].point
    assert math.isclose(math.hypot(ray.x, ray.y, ray.z), 1.0, rel_tol=1e-6) and ray.z > 0
