"""Bad input never stops the node: each case ends with the node still tracking the target correctly."""

from __future__ import annotations

import time
from array import array

import pytest
from scene import target_box
from scene_publisher import ScenePublisher, assert_tracks_target

from ros_fixtures import node_process, require_ros, spinning_node, wait_until

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def bad_raw_images():
    from sensor_msgs.msg import Image

    unknown = Image(height=4, width=4, encoding="bayer_wxyz9", step=16, data=array("B", bytes(64)))
    short = Image(height=240, width=320, encoding="rgb8", step=960, data=array("B", bytes(1000)))
    empty = Image(height=0, width=0, encoding="rgb8", step=0)
    narrow_step = Image(height=2, width=4, encoding="rgb8", step=5, data=array("B", bytes(10)))
    return {"unknown encoding": unknown, "data shorter than step*height": short, "zero-size": empty,
            "step under width*channels": narrow_step}


@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "compressed"])
def test_bad_images_and_bad_targets_leave_the_node_tracking(compressed: bool) -> None:
    require_ros()
    from sensor_msgs.msg import CompressedImage

    from asymtrack_ros.msg import TrackerStatus
    from asymtrack_ros.ros.tracker_client import TrackerClient

    namespace = f"/bad_{'compressed' if compressed else 'raw'}"
    args = ["-r", f"__ns:={namespace}", "-p", "backend:=opencv", "-p", "algorithm:=csrt",
            "-p", f"compressed_input:={str(compressed).lower()}", "-p", "diagnostics_period:=0.5"]
    with spinning_node("bad_input_checker") as node, node_process("asymtrack_ros.ros.tracker_node", *args) as proc:
        probe = TrackerClient(node, namespace)
        before_frames = probe.set_target(100, 100, 40, 40)
        assert not before_frames.success and "no image received yet" in before_frames.message

        publisher = ScenePublisher(node, f"{namespace}/image", compressed)
        publisher.thread.start()
        try:
            assert wait_until(lambda: len(probe.snapshot("statuses")) >= 3, timeout=30)
            x, y, w, h = target_box(publisher.t)
            invalid = {
                "NaN": (float("nan"), y, w, h, False), "zero size": (x, y, 0, h, False),
                "negative size": (x, y, w, -5, False), "outside the image": (900, 900, w, h, False),
                "normalized out of range": (1.5, 0.5, 0.1, 0.1, True),
            }
            for case, (cx, cy, bw, bh, normalized) in invalid.items():
                response = probe.set_target(cx, cy, bw, bh, normalized=normalized)
                assert not response.success and response.message, case
            stale = probe.set_target(x + w / 2, y + h / 2, w, h, stamp_ns=5_000_000_000)
            assert not stale.success and "no buffered frame" in stale.message
            time.sleep(0.3)
            assert probe.snapshot("statuses")[-1].state == TrackerStatus.IDLE, "a refused target changed the state"

            response = publisher.set_target_on_latest(probe)
            assert response.success, response.message
            assert_tracks_target(probe, publisher, target_id=response.target_id)

            bad = bad_raw_images()
            if compressed:
                bad = {"corrupt jpeg": CompressedImage(format="jpeg", data=array("B", b"\xff\xd8garbage" * 50)),
                       "empty compressed": CompressedImage(format="jpeg")}
            with publisher.lock:  # no good frame may replace a bad one before the node looks at it
                for message in bad.values():
                    publisher.publisher.publish(message)
                    time.sleep(0.15)
            refused = probe.set_target(float("nan"), 1, 1, 1)
            assert not refused.success
            assert_tracks_target(probe, publisher)
            assert probe.snapshot("statuses")[-1].target_id == response.target_id

            def bad_frames_counted() -> bool:
                for array_message in reversed(probe.snapshot("diagnostics")):
                    for status in array_message.status:
                        values = {kv.key: kv.value for kv in status.values}
                        if status.name.endswith("tracker") and int(values["bad_input_frames"]) >= len(bad):
                            return True
                return False

            assert wait_until(bad_frames_counted, timeout=10), "bad frames not reported in diagnostics"
            assert proc.poll() is None, "the node died"
        finally:
            publisher.stop()
