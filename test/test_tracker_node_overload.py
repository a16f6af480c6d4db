"""Overload: input at 4x the achievable rate keeps the output at that rate and latency bounded."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scene import frame, target_box
from test_tracker_node import reference_checkpoint  # noqa: F401  (fixture)

from ros_fixtures import node_process, require_ros, spinning_node, wait_until

pytestmark = [pytest.mark.ros, pytest.mark.slow]
NAMESPACE = "/overload"


def publish_for(node, publisher, rate: float, seconds: float) -> int:
    """Publish scene frames stamped with the node clock at ``rate`` Hz; returns how many."""
    from asymtrack_ros.ros.image_conversion import rgb_to_image

    frames = [rgb_to_image(frame(t), "rgb8") for t in range(8)]
    count, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        message = frames[count % len(frames)]
        message.header.stamp = node.get_clock().now().to_msg()
        publisher.publish(message)
        count += 1
        next_time = start + count / rate
        time.sleep(max(0.0, next_time - time.monotonic()))
    return count


def test_overload_keeps_rate_bounds_latency_and_counts_drops(reference_checkpoint) -> None:  # noqa: F811
    require_ros()
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from asymtrack_ros.ros.tracker_client import TrackerClient

    args = ["-r", f"__ns:={NAMESPACE}", "-p", "backend:=torch", "-p", f"weights:={reference_checkpoint}",
            "-p", "device:=cpu", "-p", "threads:=1", "-p", "lost_score:=0.0", "-p", "recover_score:=0.0"]
    with spinning_node("overload_checker") as node, node_process("asymtrack_ros.ros.tracker_node", *args):
        probe = TrackerClient(node, NAMESPACE)
        publisher = node.create_publisher(Image, f"{NAMESPACE}/image", qos_profile_sensor_data)
        assert wait_until(lambda: publisher.get_subscription_count() > 0, timeout=30)
        assert wait_until(lambda: publish_for(node, publisher, 5.0, 0.4) and probe.snapshot("statuses"), timeout=30)
        x, y, w, h = target_box(0)
        assert probe.set_target(x + w / 2, y + h / 2, w, h).success

        probe.clear()
        publish_for(node, publisher, 5.0, 2.0)
        calm = probe.snapshot("statuses")
        processing_ms = float(np.median([s.processing_ms for s in calm]))
        achievable_hz = 1000.0 / processing_ms

        probe.clear()
        dropped_before = calm[-1].frames_dropped
        seconds = 4.0
        published = publish_for(node, publisher, 4 * achievable_hz, seconds)
        time.sleep(0.5)
        loaded = [s for s in probe.snapshot("statuses") if s.target_id]
        output_hz = len(loaded) / seconds
        latency_p90 = float(np.percentile([s.latency_ms for s in loaded], 90))
        period_under_load = float(np.percentile([s.processing_ms for s in loaded], 50))
        dropped = loaded[-1].frames_dropped - dropped_before
        assert wait_until(lambda: probe.snapshot("diagnostics"), timeout=5), "no diagnostics under load"
        behind = int(next(kv.value for a in reversed(probe.snapshot("diagnostics")) for s in a.status
                          if s.name.endswith("tracker") for kv in s.values if kv.key == "frames_behind"))
        print(f"achievable {achievable_hz:.1f} Hz, input {published / seconds:.1f} Hz, output {output_hz:.1f} Hz, "
              f"latency p90 {latency_p90:.1f} ms, processing p50 {period_under_load:.1f} ms, dropped {dropped}")

    assert output_hz >= 0.5 * achievable_hz, "output rate collapsed under overload"
    assert latency_p90 < 2 * max(period_under_load, processing_ms) + 5.0, "latency grew beyond two processing periods"
    assert dropped >= 0.4 * published, "dropped frames not counted"
    assert dropped + len(loaded) <= published + 2
    assert behind > 0, "frames that waited for the worker not counted"
