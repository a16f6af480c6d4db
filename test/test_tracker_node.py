"""End to end over real DDS: video source process -> tracker node process -> this checker process."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from asymtrack_ros.reference import vector_files

from conftest import load_vectors, state_dict_from_vectors
from ros_fixtures import node_process, require_ros, spinning_node, wait_until

pytestmark = [pytest.mark.ros, pytest.mark.slow]
NAMESPACE = "/e2e"


@pytest.fixture(scope="module")
def megamind_video(tmp_path_factory, megamind_frames) -> Path:
    path = tmp_path_factory.mktemp("video") / "megamind.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, (720, 528))
    for frame in megamind_frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="module")
def reference_checkpoint(tmp_path_factory) -> Path:
    files = vector_files("asymtrack")
    if not files:
        pytest.skip("no asymtrack vectors in the reference directory")
    arrays, meta = load_vectors(files[0])
    path = tmp_path_factory.mktemp("ckpt") / "asymtrack_tiny.pth"
    torch.save({"net": state_dict_from_vectors(arrays, meta)}, path)
    return path


def test_service_set_target_detections_status_diagnostics_and_reset(megamind_video, reference_checkpoint) -> None:
    require_ros()
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from asymtrack_ros.msg import TrackerStatus
    from asymtrack_ros.ros.tracker_client import TrackerClient

    source_args = ["-r", f"__ns:={NAMESPACE}", "-p", f"video:={megamind_video}", "-p", "rate:=15.0"]
    tracker_args = ["-r", f"__ns:={NAMESPACE}", "-p", "backend:=torch", "-p", f"weights:={reference_checkpoint}",
                    "-p", "device:=cpu", "-p", "class_label:=face", "-p", "diagnostics_period:=0.5",
                    "-p", "lost_score:=0.0", "-p", "recover_score:=0.0"]  # random weights: plumbing, not accuracy
    with spinning_node("e2e_checker") as node, \
            node_process("asymtrack_ros.ros.video_source_node", *source_args), \
            node_process("asymtrack_ros.ros.tracker_node", *tracker_args):
        probe = TrackerClient(node, NAMESPACE)
        image_stamps: set[tuple[int, int]] = set()
        node.create_subscription(Image, f"{NAMESPACE}/image",
                                 lambda m: image_stamps.add((m.header.stamp.sec, m.header.stamp.nanosec)),
                                 qos_profile_sensor_data)
        assert wait_until(lambda: len(probe.snapshot("statuses")) >= 3, timeout=60), "tracker published no status"
        idle = probe.snapshot("detections")
        assert idle and all(len(m.detections) == 0 for m in idle), "IDLE must publish empty arrays"
        assert probe.snapshot("statuses")[-1].state == TrackerStatus.IDLE

        response = probe.set_target(200 + 72.5, 130 + 95, 145, 190)
        assert response.success, response.message
        assert response.target_id == "target-1"
        probe.clear()
        assert wait_until(lambda: sum(len(m.detections) for m in probe.snapshot("detections")) >= 10, timeout=30)
        tracked = [m for m in probe.snapshot("detections") if m.detections]
        stamps = set(image_stamps)
        for message in tracked:
            detection = message.detections[0]
            assert message.header.frame_id == "camera" and detection.header == message.header
            assert (message.header.stamp.sec, message.header.stamp.nanosec) in stamps, "header not copied from image"
            assert detection.id == "target-1"
            assert detection.results[0].hypothesis.class_id == "face"
            assert 0.0 <= detection.results[0].hypothesis.score <= 1.0
            assert 0 <= detection.bbox.center.position.x <= 720 and 0 <= detection.bbox.center.position.y <= 528
            assert 10 <= detection.bbox.size_x <= 720 and 10 <= detection.bbox.size_y <= 528
        status = probe.snapshot("statuses")[-1]
        assert status.backend == "torch" and status.model == "asymtrack-tiny" and status.device == "cpu"
        assert status.frames_processed > 0 and status.target_id == "target-1"

        assert wait_until(lambda: any(s.name.endswith("tracker") for a in probe.snapshot("diagnostics")
                                      for s in a.status), timeout=10)
        diagnostic = next(s for a in reversed(probe.snapshot("diagnostics")) for s in a.status
                          if s.name.endswith("tracker"))
        values = {kv.key: kv.value for kv in diagnostic.values}
        assert values["backend"] == "torch" and values["device"] == "cpu"
        assert {"input_rate_hz", "output_rate_hz", "latency_p50_ms", "latency_p90_ms", "frames_dropped",
                "frames_behind"} <= set(values)
        assert isinstance(diagnostic.level, bytes)

        assert probe.reset().success
        time.sleep(0.3)
        probe.clear()
        assert wait_until(lambda: len(probe.snapshot("statuses")) >= 3, timeout=10)
        assert all(s.state == TrackerStatus.IDLE for s in probe.snapshot("statuses")[1:])
        assert all(len(m.detections) == 0 for m in probe.snapshot("detections")[1:])
        assert np.isfinite(status.latency_ms)
