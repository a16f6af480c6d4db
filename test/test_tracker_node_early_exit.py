"""DyTrack in the node over DDS: exit_thresholds route the exits, can be changed at run time, and are reported."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from scene_publisher import ScenePublisher

from ros_fixtures import node_process, require_ros, spinning_node, wait_until

pytestmark = [pytest.mark.ros, pytest.mark.slow]
NAMESPACE = "/early_exit"


@pytest.fixture(scope="module")
def dytrack_checkpoint(tmp_path_factory) -> Path:
    from asymtrack_ros.models.factory import build_model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("dytrack") / "dytrack_tiny.pth"
    torch.save({"net": build_model("dytrack", "tiny").state_dict()}, path)
    return path


def test_exit_thresholds_route_exits_change_at_run_time_and_are_reported(dytrack_checkpoint: Path) -> None:
    require_ros()
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter

    from asymtrack_ros.ros.tracker_client import TrackerClient

    args = ["-r", f"__ns:={NAMESPACE}", "-p", "backend:=torch", "-p", "model:=dytrack", "-p", "device:=cpu",
            "-p", f"weights:={dytrack_checkpoint}", "-p", "exit_thresholds:=[0.0, 0.0]", "-p", "lost_score:=0.0",
            "-p", "recover_score:=0.0", "-p", "diagnostics_period:=0.3"]
    with spinning_node("early_exit_checker") as node, node_process("asymtrack_ros.ros.tracker_node", *args):
        client = TrackerClient(node, NAMESPACE)
        images = ScenePublisher(node, f"{NAMESPACE}/image", compressed=False, rate=10.0).start()
        parameters = node.create_client(SetParameters, f"{NAMESPACE}/tracker/set_parameters")

        def set_thresholds(values: list[float]):
            request = SetParameters.Request(parameters=[Parameter("exit_thresholds", value=values).to_parameter_msg()])
            return parameters.call(request, timeout_sec=20).results[0]

        try:
            assert wait_until(lambda: len(client.snapshot("statuses")) >= 3, timeout=60), "the node never answered"
            assert images.set_target_on_latest(client).success
            assert wait_until(lambda: sum(s.exit == 1 for s in client.snapshot("statuses")) >= 5, timeout=30)
            assert list(client.snapshot("statuses")[-1].exit_shares) == pytest.approx([1.0])
            assert parameters.wait_for_service(timeout_sec=10)
            assert not set_thresholds([0.5]).successful, "one threshold for two gates was accepted"
            assert set_thresholds([2.0, 2.0]).successful  # s_k is a sigmoid: never above 2, so exit 3 answers
            client.clear()
            assert wait_until(lambda: sum(s.exit == 3 for s in client.snapshot("statuses")) >= 5, timeout=30)
            shares = list(client.snapshot("statuses")[-1].exit_shares)
            assert len(shares) == 3 and shares[0] > 0 and shares[2] > 0 and sum(shares) == pytest.approx(1.0)
            assert wait_until(lambda: any(kv.key == "exit_shares" and kv.value.count(" ") == 2
                                          for a in client.snapshot("diagnostics") for s in a.status
                                          for kv in s.values), timeout=10)
        finally:
            images.stop()


def test_the_shipped_dytrack_tiny_runs_in_the_node_with_model_dytrack_alone() -> None:
    """``model:=dytrack`` loads the shipped ``models/dytrack-tiny`` (ONNX, its model.json thresholds): the target is
    accepted, detections come out and the status reports the exits that answered.

    Its accuracy is not asserted: one CPU hour of training leaves it unable to follow this scene's square (its
    model card says so); the exits' routing and parity are tested with seeded weights above and in
    ``test_dytrack_onnx.py``."""
    require_ros()
    from asymtrack_ros.ros.tracker_client import TrackerClient

    namespace = "/shipped_dytrack"
    args = ["-r", f"__ns:={namespace}", "-p", "model:=dytrack", "-p", "device:=cpu", "-p", "diagnostics_period:=0.3"]
    with spinning_node("shipped_dytrack_checker") as node, node_process("asymtrack_ros.ros.tracker_node", *args):
        client = TrackerClient(node, namespace)
        images = ScenePublisher(node, f"{namespace}/image", compressed=False, rate=10.0).start()
        try:
            assert wait_until(lambda: len(client.snapshot("statuses")) >= 3, timeout=60), "the node never answered"
            assert images.set_target_on_latest(client).success
            assert wait_until(lambda: sum(len(m.detections) for m in client.snapshot("detections")) >= 3, timeout=20)
            assert wait_until(lambda: any(s.exit >= 1 for s in client.snapshot("statuses")), timeout=10)
            status = client.snapshot("statuses")[-1]
            assert 1 <= len(status.exit_shares) <= 3 and sum(status.exit_shares) == pytest.approx(1.0)
        finally:
            images.stop()
