"""A target lost over real DDS: the default network node says LOST when its square takes another colour, and its
/diagnostics say what the re-detection found and why it did not confirm it."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scene import frame, target_box
from scene_publisher import ScenePublisher, assert_tracks_target

from ros_fixtures import node_process, require_ros, spinning_node, target_diagnostics, wait_until

pytestmark = [pytest.mark.ros, pytest.mark.slow]
NAMESPACE = "/lost"
TINT = np.array([0.3, 0.55, 1.0])  # the square in blue tones: the same texture, another object to the check
HIT = re.compile(r"^(candidate|score|shape|size): network \d\.\d\d(, checked \d\.\d\d)?$")


class Recolourable:
    """The one-target scene; once ``recoloured`` is set, its square is tinted (the target has gone, a copy of its
    texture in another colour stands where it was)."""

    def __init__(self) -> None:
        self.recoloured = False

    def __call__(self, t: int) -> np.ndarray:
        image = frame(t)
        if self.recoloured:
            x, y, w, h = (int(v) for v in target_box(t))
            image[y : y + h, x : x + w] = (image[y : y + h, x : x + w] * TINT).astype(np.uint8)
        return image


def square(client, key: str = "state") -> str | None:
    """``key``'s value in the newest /diagnostics status of the target "square" (None: none yet)."""
    values = [value for name, value in target_diagnostics(client, key).items() if name.endswith("target [square]")]
    return values[0] if values else None


def test_a_lost_target_s_diagnostics_say_what_the_re_detection_found_and_why_it_was_turned_away() -> None:
    require_ros()
    from asymtrack_ros.msg import TrackerStatus
    from asymtrack_ros.ros.tracker_client import TrackerClient

    args = ["-r", f"__ns:={NAMESPACE}", "-p", "threads:=1", "-p", "diagnostics_period:=0.2"]
    scene = Recolourable()
    with spinning_node("lost_checker") as node, node_process("asymtrack_ros.ros.tracker_node", *args):
        client = TrackerClient(node, NAMESPACE)
        publisher = ScenePublisher(node, f"{NAMESPACE}/image", compressed=False, render=scene, rate=10.0).start()
        try:
            assert wait_until(lambda: len(client.snapshot("statuses")) >= 3, timeout=60)
            assert publisher.set_target_on_latest(client, target_id="square").success
            assert_tracks_target(client, publisher, frames=4, tolerance=24.0, target_id="square")
            assert wait_until(lambda: square(client) == "TRACKING", timeout=10), target_diagnostics(client)
            assert square(client, "redetection") == "", "no re-detection while TRACKING"

            scene.recoloured = True
            assert wait_until(lambda: client.snapshot("statuses")[-1].state == TrackerStatus.LOST, timeout=30)
            assert wait_until(lambda: square(client, "redetection"), timeout=20), "no re-detection hit while LOST"
            hit = square(client, "redetection")
            assert HIT.match(hit), hit
            assert not hit.startswith("candidate"), f"the copy in another colour was confirmed: {hit}"
            assert client.snapshot("statuses")[-1].state == TrackerStatus.LOST
        finally:
            publisher.stop()
