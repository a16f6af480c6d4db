"""Parameters rejected with a reason, click-to-track, and a clean SIGINT shutdown."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from scene import frame, target_box

from ros_fixtures import node_process, require_ros, spinning_node, stop_process, wait_until

pytestmark = [pytest.mark.ros, pytest.mark.slow]
OPENCV = ["-p", "backend:=opencv", "-p", "algorithm:=kcf"]


def fastdds_segments() -> set[str]:
    prefixes = ("fastrtps", "fast_datasharing", "sem.fastrtps")
    return {name for name in os.listdir("/dev/shm") if name.startswith(prefixes)}


def test_invalid_startup_parameter_exits_with_a_reason() -> None:
    require_ros()
    result = subprocess.run(
        [sys.executable, "-m", "asymtrack_ros.ros.tracker_node", "--ros-args", "-r", "__ns:=/badparam",
         "-p", "lost_score:=0.9", "-p", "recover_score:=0.2", *OPENCV],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "invalid configuration: recover_score 0.2 must be >= lost_score 0.9" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_runtime_parameter_changes_are_validated() -> None:
    require_ros()
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters

    def double(name: str, value: float) -> Parameter:
        return Parameter(name=name, value=ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=value))

    with spinning_node("param_checker") as node, node_process("asymtrack_ros.ros.tracker_node", "-r",
                                                              "__ns:=/params", *OPENCV):
        client = node.create_client(SetParameters, "/params/tracker/set_parameters")
        assert client.wait_for_service(timeout_sec=30)
        backend = Parameter(name="backend", value=ParameterValue(type=ParameterType.PARAMETER_STRING,
                                                                 string_value="torch"))
        label = Parameter(name="class_label", value=ParameterValue(type=ParameterType.PARAMETER_STRING,
                                                                   string_value="drone"))
        request = SetParameters.Request(parameters=[double("lost_score", 0.9), double("search_step", -1.0),
                                                    backend, label, double("lost_score", 0.2)])
        results = client.call(request, timeout_sec=20).results
    assert not results[0].successful and "recover_score" in results[0].reason
    assert not results[1].successful and "search_step" in results[1].reason
    assert not results[2].successful and "read-only" in results[2].reason
    assert results[3].successful and results[4].successful


def test_click_starts_tracking_and_sigint_leaves_no_shared_memory() -> None:
    require_ros()
    from geometry_msgs.msg import Point
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from asymtrack_ros.msg import TrackerStatus
    from asymtrack_ros.ros.image_conversion import rgb_to_image
    from asymtrack_ros.ros.tracker_client import TrackerClient

    segments_before = fastdds_segments()
    with spinning_node("click_checker") as node, \
            node_process("asymtrack_ros.ros.tracker_node", "-r", "__ns:=/click", *OPENCV) as process:
        probe = TrackerClient(node, "/click")
        images = node.create_publisher(Image, "/click/image", qos_profile_sensor_data)
        clicks = node.create_publisher(Point, "/click/image_mouse_left", 10)

        def publish(t: int) -> None:
            message = rgb_to_image(frame(t), "rgb8")
            message.header.stamp.sec = t + 1
            images.publish(message)
            time.sleep(0.05)

        assert wait_until(lambda: (publish(0), probe.snapshot("statuses"))[1], timeout=30)
        x, y, w, h = target_box(0)
        assert wait_until(lambda: clicks.get_subscription_count() > 0, timeout=10)
        clicks.publish(Point(x=x + w / 2, y=y + h / 2))
        time.sleep(0.3)
        for t in range(20):
            publish(t)
        assert probe.snapshot("statuses")[-1].state == TrackerStatus.TRACKING
        assert probe.snapshot("detections")[-1].detections[0].id == "target-1"
        debug_clicks = node.create_publisher(Point, "/click/tracker/debug_image_mouse_left", 10)
        assert wait_until(lambda: debug_clicks.get_subscription_count() > 0, timeout=10)
        x, y, w, h = target_box(20)
        debug_clicks.publish(Point(x=x + w / 2, y=y + h / 2))
        time.sleep(0.3)
        for t in range(20, 30):
            publish(t)
        assert probe.snapshot("detections")[-1].detections[0].id == "target-2", "a click on the debug image"
        assert stop_process(process, timeout=15) == 0, "the node did not exit cleanly on SIGINT"
    time.sleep(0.5)
    leftover = fastdds_segments() - segments_before
    assert not leftover, f"stale shared memory after shutdown: {sorted(leftover)}"


def test_qos_overrides_parameters_reach_the_input_subscription() -> None:
    require_ros()
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    override = "qos_overrides./qos/image.subscription.reliability:=reliable"
    with spinning_node("qos_checker") as node, \
            node_process("asymtrack_ros.ros.tracker_node", "-r", "__ns:=/qos", "-p", override, *OPENCV):
        reliable = node.create_publisher(Image, "/qos/image", QoSProfile(depth=1))
        best_effort = node.create_publisher(
            Image, "/qos/image", QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
        assert wait_until(lambda: reliable.get_subscription_count() == 1, timeout=30), "the node never subscribed"
        time.sleep(1.0)
        assert best_effort.get_subscription_count() == 0, "the reliability override was ignored"
