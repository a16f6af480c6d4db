"""Several targets over real DDS: two generated squares tracked with distinct ids, one removed, the other
re-targeted, with per-target detections, status and diagnostics."""

from __future__ import annotations

import pytest
from scene import second_box, target_box, two_target_frame
from scene_publisher import ScenePublisher, assert_tracks_target

from ros_fixtures import node_process, require_ros, spinning_node, target_diagnostics, wait_until

pytestmark = [pytest.mark.ros, pytest.mark.slow]
NAMESPACE = "/multi"


def test_two_targets_distinct_ids_remove_one_retarget_the_other() -> None:
    require_ros()
    from asymtrack_ros.msg import TrackerStatus
    from asymtrack_ros.ros.tracker_client import TrackerClient

    args = ["-r", f"__ns:={NAMESPACE}", "-p", "backend:=opencv", "-p", "algorithm:=kcf", "-p", "max_targets:=2",
            "-p", "diagnostics_period:=0.2"]
    with spinning_node("multi_checker") as node, node_process("asymtrack_ros.ros.tracker_node", *args):
        client = TrackerClient(node, NAMESPACE)
        publisher = ScenePublisher(node, f"{NAMESPACE}/image", compressed=False, render=two_target_frame).start()
        try:
            assert wait_until(lambda: len(client.snapshot("statuses")) >= 3, timeout=60)
            t, stamp = publisher.latest()
            for target_id, truth in (("alpha", target_box), ("bravo", second_box)):
                x, y, w, h = truth(t)
                response = client.set_target(x + w / 2, y + h / 2, w, h, stamp_ns=stamp, target_id=target_id)
                assert response.success and response.target_id == target_id, response.message
            full = publisher.set_target_on_latest(client, target_id="charlie")
            assert not full.success and "max_targets is 2" in full.message

            assert_tracks_target(client, publisher, target_id="alpha")
            assert_tracks_target(client, publisher, target_id="bravo", truth=second_box)
            both = [m for m in client.snapshot("detections") if len(m.detections) == 2]
            assert both and sorted(d.id for d in both[-1].detections) == ["alpha", "bravo"]
            status = client.snapshot("statuses")[-1]
            assert [(s.target_id, s.state) for s in status.targets] == \
                [("alpha", TrackerStatus.TRACKING), ("bravo", TrackerStatus.TRACKING)]
            assert (status.target_id, status.state) == ("alpha", TrackerStatus.TRACKING)
            assert wait_until(lambda: len(target_diagnostics(client)) == 2, timeout=10)
            assert set(target_diagnostics(client).values()) == {"TRACKING"}
            assert set(target_diagnostics(client, "redetection").values()) == {""}, "no re-detection while TRACKING"

            removed = client.remove_target("alpha")
            assert removed.success, removed.message
            again = client.remove_target("alpha")
            assert not again.success and "no target 'alpha' is tracked (tracked: bravo)" in again.message
            client.clear()
            assert wait_until(lambda: len(client.snapshot("statuses")) >= 5, timeout=20)
            assert all([d.id for d in m.detections] == ["bravo"] for m in client.snapshot("detections")[1:])
            assert [s.target_id for s in client.snapshot("statuses")[-1].targets] == ["bravo"]

            retarget = publisher.set_target_on_latest(client, target_id="bravo")  # onto the first square
            assert retarget.success, retarget.message
            client.clear()
            assert wait_until(lambda: len(client.snapshot("detections")) >= 3, timeout=20)
            assert_tracks_target(client, publisher, target_id="bravo")
            assert [s.target_id for s in client.snapshot("statuses")[-1].targets] == ["bravo"]

            assert client.reset().success
            client.clear()
            assert wait_until(lambda: len(client.snapshot("statuses")) >= 3, timeout=20)
            assert client.snapshot("statuses")[-1].state == TrackerStatus.IDLE
            assert not client.snapshot("statuses")[-1].targets
        finally:
            publisher.stop()


def test_the_default_network_tracks_two_targets_in_one_batched_pass() -> None:
    require_ros()
    from asymtrack_ros.ros.tracker_client import TrackerClient

    args = ["-r", f"__ns:={NAMESPACE}", "-p", "max_targets:=2", "-p", "threads:=1", "-p", "diagnostics_period:=0.2"]
    with spinning_node("multi_batch_checker") as node, node_process("asymtrack_ros.ros.tracker_node", *args):
        client = TrackerClient(node, NAMESPACE)
        publisher = ScenePublisher(node, f"{NAMESPACE}/image", compressed=False, render=two_target_frame,
                                   rate=10.0).start()
        try:
            assert wait_until(lambda: len(client.snapshot("statuses")) >= 3, timeout=60)
            assert publisher.set_target_on_latest(client, target_id="alpha").success
            assert publisher.set_target_on_latest(client, target_id="bravo", truth=second_box).success
            assert_tracks_target(client, publisher, frames=4, tolerance=24.0, target_id="bravo", truth=second_box)
            assert wait_until(lambda: [s.target_id for s in client.snapshot("statuses")[-1].targets]
                              == ["alpha", "bravo"], timeout=10)
            diagnostics = [{kv.key: kv.value for kv in s.values} for a in client.snapshot("diagnostics")
                           for s in a.status if s.name.endswith("tracker")]
            assert diagnostics and diagnostics[-1]["batched_search"] == "True"
        finally:
            publisher.stop()
