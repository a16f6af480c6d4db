"""launch_testing: track.launch.py starts a tracker that answers set_target and exits cleanly.

Runs where launch_testing and launch_ros import (a ROS 2 install, ``colcon test``); skipped with the reason elsewhere
(neither has a PyPI wheel: test_launch_files.py's static checks cover the launch files there). With launch_testing's
pytest plugin (pytest < 9) the module runs as a launch test; without it (the plugin does not load under pytest >= 9:
run pytest with ``-p no:launch_testing -p no:launch_ros``) ``test_track_launch_under_launch_testing`` runs the
same launch test.
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

import pytest

pytest.importorskip("launch_testing", reason="launch_testing is not installed (no PyPI wheel)")
pytest.importorskip("launch_ros", reason="launch_ros is not installed (no PyPI wheel)")

from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch_testing import post_shutdown_test
from launch_testing.actions import ReadyToTest
from launch_testing.asserts import assertExitCodes

from launch import LaunchDescription

TRACK_LAUNCH = Path(__file__).resolve().parents[1] / "launch" / "track.launch.py"
NAMESPACE = "/launch_testing"


@pytest.mark.launch_test
def generate_test_description() -> LaunchDescription:
    """track.launch.py with the opencv backend (no model files needed) in its own namespace."""
    tracker = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(TRACK_LAUNCH)),
        launch_arguments={"backend": "opencv", "namespace": NAMESPACE}.items(),
    )
    return LaunchDescription([tracker, ReadyToTest()])


class TestTrackerAnswers(unittest.TestCase):
    """While the launch runs."""

    __test__ = False  # run by launch_testing, never by pytest on its own

    def test_set_target_before_any_image_is_refused_with_the_reason(self) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        from asymtrack_ros.srv import SetTarget

        context = rclpy.Context()
        rclpy.init(context=context)
        node = rclpy.create_node("launch_testing_checker", context=context)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        try:
            client = node.create_client(SetTarget, f"{NAMESPACE}/tracker/set_target")
            self.assertTrue(client.wait_for_service(timeout_sec=60), "the launched tracker never offered set_target")
            future = client.call_async(SetTarget.Request())
            executor.spin_until_future_complete(future, timeout_sec=20)
            response = future.result()
            self.assertIsNotNone(response, "set_target did not answer")
            self.assertFalse(response.success)
            self.assertIn("no image received yet", response.message)
        finally:
            executor.shutdown()
            node.destroy_node()
            rclpy.shutdown(context=context)


@post_shutdown_test()
class TestTrackerShutdown(unittest.TestCase):
    """After the launch stopped: every process exited cleanly."""

    __test__ = False

    def test_exit_codes(self, proc_info) -> None:
        assertExitCodes(proc_info)


def test_track_launch_under_launch_testing() -> None:
    """This module's launch test through launch_testing's runner (what ``launch_test`` does) when the plugin is off."""
    from launch_testing.loader import LoadTestsFromPythonModule
    from launch_testing.test_runner import LaunchTestRunner

    runner = LaunchTestRunner(test_runs=LoadTestsFromPythonModule(sys.modules[__name__], name=f"{__name__}.launch"))
    runner.validate()
    results = runner.run()
    problems = [f"{case}: {text}" for result in results.values() for case, text in (*result.errors, *result.failures)]
    assert results and all(result.wasSuccessful() for result in results.values()), "\n".join(problems)
