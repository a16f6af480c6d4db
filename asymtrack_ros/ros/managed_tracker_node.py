"""``ros2 run asymtrack_ros managed_tracker_node``: the tracker as a lifecycle node (starts unconfigured)."""

from __future__ import annotations

from rclpy.executors import SingleThreadedExecutor

from asymtrack_ros.ros.node_runner import run_node
from asymtrack_ros.ros.tracker_node import ManagedTrackerNode


def main(args: list[str] | None = None) -> int:
    """Entry point of ``ros2 run asymtrack_ros managed_tracker_node``."""
    return run_node(ManagedTrackerNode, SingleThreadedExecutor, args)


if __name__ == "__main__":
    raise SystemExit(main())
