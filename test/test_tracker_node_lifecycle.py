"""The managed tracker node over DDS: every lifecycle transition, its topics, the provider, and an idle CPU."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from scene_publisher import ScenePublisher

from ros_fixtures import node_process, require_ros, spinning_node, wait_until

pytestmark = [pytest.mark.ros, pytest.mark.slow]
NAMESPACE = "/lifecycle"
TICKS_PER_SECOND = 100  # USER_HZ of /proc/<pid>/stat


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def cpu_share_while(pid: int, seconds: float) -> float:
    """Share of one core the process uses over ``seconds``."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


def test_lifecycle_transitions_drive_topics_provider_and_cpu() -> None:
    require_ros()
    from lifecycle_msgs.msg import State, Transition
    from lifecycle_msgs.srv import ChangeState, GetState

    from asymtrack_ros.ros.tracker_client import TrackerClient

    with spinning_node("lifecycle_checker") as node, \
            node_process("asymtrack_ros.ros.managed_tracker_node", "-r", f"__ns:={NAMESPACE}") as process:
        change = node.create_client(ChangeState, f"{NAMESPACE}/tracker/change_state")
        get = node.create_client(GetState, f"{NAMESPACE}/tracker/get_state")
        assert change.wait_for_service(timeout_sec=30) and get.wait_for_service(timeout_sec=30)

        def state() -> int:
            return get.call(GetState.Request(), timeout_sec=10).current_state.id

        def transition(transition_id: int) -> None:
            request = ChangeState.Request()
            request.transition.id = transition_id
            assert change.call(request, timeout_sec=60).success, f"transition {transition_id} failed"

        client = TrackerClient(node, NAMESPACE)
        images = ScenePublisher(node, f"{NAMESPACE}/image", compressed=False, rate=20.0).start()
        status_topic, image_topic = f"{NAMESPACE}/tracker/status", f"{NAMESPACE}/image"
        try:
            assert state() == State.PRIMARY_STATE_UNCONFIGURED
            assert node.count_publishers(status_topic) == 0 and node.count_subscribers(image_topic) == 0

            transition(Transition.TRANSITION_CONFIGURE)
            assert state() == State.PRIMARY_STATE_INACTIVE
            assert wait_until(lambda: node.count_publishers(status_topic) == 1, timeout=10)
            assert node.count_subscribers(image_topic) == 0 and not client.snapshot("statuses")

            transition(Transition.TRANSITION_ACTIVATE)
            assert wait_until(lambda: len(client.snapshot("statuses")) >= 5, timeout=30), "active but silent"
            status = client.snapshot("statuses")[-1]
            assert status.backend == "onnx" and "CPUExecutionProvider" in status.device
            assert images.set_target_on_latest(client).success
            active_cpu = cpu_share_while(process.pid, 2.0)

            transition(Transition.TRANSITION_DEACTIVATE)
            assert state() == State.PRIMARY_STATE_INACTIVE
            assert wait_until(lambda: node.count_subscribers(image_topic) == 0, timeout=10)
            client.clear()
            inactive_cpu = cpu_share_while(process.pid, 2.0)
            assert not client.snapshot("statuses"), "an inactive node published"

            transition(Transition.TRANSITION_ACTIVATE)
            assert wait_until(lambda: len(client.snapshot("statuses")) >= 3, timeout=30), "reactivation failed"
            assert client.snapshot("statuses")[-1].state == 0, "the target was dropped on deactivate (IDLE)"

            transition(Transition.TRANSITION_DEACTIVATE)
            transition(Transition.TRANSITION_CLEANUP)
            assert state() == State.PRIMARY_STATE_UNCONFIGURED
            assert wait_until(lambda: node.count_publishers(status_topic) == 0, timeout=10)

            transition(Transition.TRANSITION_UNCONFIGURED_SHUTDOWN)
            assert state() == State.PRIMARY_STATE_FINALIZED
        finally:
            images.stop()
        print(f"CPU share of one core: active {active_cpu:.2f}, inactive {inactive_cpu:.3f}")
    assert process.returncode == 0
    assert inactive_cpu < 0.05 and inactive_cpu < 0.25 * active_cpu, (active_cpu, inactive_cpu)
