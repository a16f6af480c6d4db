"""Real rclpy over DDS between separate processes: interfaces, services, large images, confinement."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ros_fixtures import peer_process, require_ros, spinning_node, wait_until

pytestmark = pytest.mark.ros
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _ros() -> None:
    require_ros()


def test_generated_types_have_the_vision_msgs_4_1_1_fields() -> None:
    from vision_msgs.msg import BoundingBox2D, Detection2D, Detection2DArray, ObjectHypothesisWithPose

    from asymtrack_ros.msg import TrackerStatus
    from asymtrack_ros.srv import SetTarget

    assert Detection2DArray.get_fields_and_field_types() == {
        "header": "std_msgs/Header",
        "detections": "sequence<vision_msgs/Detection2D>",
    }
    assert Detection2D.get_fields_and_field_types() == {
        "header": "std_msgs/Header",
        "results": "sequence<vision_msgs/ObjectHypothesisWithPose>",
        "bbox": "vision_msgs/BoundingBox2D",
        "id": "string",
    }
    assert BoundingBox2D.get_fields_and_field_types() == {
        "center": "vision_msgs/Pose2D", "size_x": "double", "size_y": "double",
    }
    assert ObjectHypothesisWithPose.get_fields_and_field_types() == {
        "hypothesis": "vision_msgs/ObjectHypothesis", "pose": "geometry_msgs/PoseWithCovariance",
    }
    request_fields = SetTarget.Request.get_fields_and_field_types()
    assert request_fields["bbox"] == "vision_msgs/BoundingBox2D" and request_fields["normalized"] == "boolean"
    assert set(SetTarget.Response.get_fields_and_field_types()) == {"success", "message", "target_id"}
    assert {TrackerStatus.IDLE, TrackerStatus.TRACKING, TrackerStatus.LOST} == {0, 1, 2}
    assert {"score", "latency_ms", "frames_dropped", "backend", "model", "device"} <= set(
        TrackerStatus.get_fields_and_field_types()
    )


def test_the_nodes_detections_message_arrives_intact_in_another_process() -> None:
    from vision_msgs.msg import Detection2DArray

    received: list[Detection2DArray] = []
    with spinning_node("detections_listener") as node:
        node.create_subscription(Detection2DArray, "detections", received.append, 10)
        with peer_process("detections", "60"):
            assert wait_until(lambda: len(received) >= 3, timeout=20), "no Detection2DArray arrived"
    message = received[-1]
    detection = message.detections[0]
    assert message.header.frame_id == "camera" and detection.header == message.header and detection.id == "target-7"
    assert (detection.bbox.center.position.x, detection.bbox.center.position.y) == (320.5, 240.25)
    assert (detection.bbox.size_x, detection.bbox.size_y, detection.bbox.center.theta) == (64.0, 48.0, 0.0)
    hypothesis = detection.results[0]
    assert (hypothesis.hypothesis.class_id, hypothesis.hypothesis.score) == ("person", 0.875)


def test_full_hd_ish_images_best_effort_arrive_with_the_profile_and_convert_back_exactly() -> None:
    """1280x720 bgr8 (2.7 MB) published best effort: the default FastDDS profile drops these."""
    import numpy as np
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from asymtrack_ros.image_messages import image_to_rgb

    from dds_peer import pattern

    received: list[Image] = []
    published = 90
    with spinning_node("image_listener") as node:
        node.create_subscription(Image, "image", received.append, qos_profile_sensor_data)
        with peer_process("images", "1280", "720", str(published)) as publisher:
            publisher.wait(timeout=60)
            wait_until(lambda: len(received) >= published, timeout=2)
    assert len(received) >= 0.8 * published, f"only {len(received)} of {published} images arrived"
    image = received[-1]
    assert (image.width, image.height, image.encoding, image.step) == (1280, 720, "bgr8", 3840)
    np.testing.assert_array_equal(image_to_rgb(image), pattern(1280, 720))


def test_dds_is_confined_to_loopback() -> None:
    """The test environment pins discovery and transports to this machine (see README)."""
    assert os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") == "LOCALHOST"
    profile = Path(os.environ["FASTRTPS_DEFAULT_PROFILES_FILE"])
    assert profile == REPO / "config" / "fastdds_loopback.xml"
    ns = {"f": "http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles"}
    root = ET.parse(profile).getroot()
    assert root.find(".//f:participant/f:rtps/f:useBuiltinTransports", ns).text == "false"
    udp = [d for d in root.iterfind(".//f:transport_descriptor", ns) if d.find("f:type", ns).text == "UDPv4"]
    assert [a.text for d in udp for a in d.iterfind("f:interfaceWhiteList/f:address", ns)] == ["127.0.0.1"]
    peers = [a.text for a in root.iterfind(".//f:initialPeersList//f:address", ns)]
    assert peers == ["127.0.0.1"]
    if os.environ.get("ASYMTRACK_NETNS_ISOLATED"):
        interfaces = [line.split(":")[0].strip() for line in Path("/proc/net/dev").read_text().splitlines()[2:]]
        assert interfaces == ["lo"], "tests must run in a loopback-only network namespace"
