"""``ros2 run asymtrack_ros managed_tracker_node``: the tracker as a lifecycle node (starts unconfigured)."""

from __future__ import annotations

from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn

from asymtrack_ros.ros.node_runner import run_node
from asymtrack_ros.ros.tracker_node import TrackerNodeBase


class ManagedTrackerNode(TrackerNodeBase, LifecycleNode):
    """The tracker as a managed (lifecycle) node (``ros2 run asymtrack_ros managed_tracker_node``).

    Driven through ``~/change_state`` / ``~/get_state``: configure loads the model (and fails if it
    cannot), activate subscribes and publishes, deactivate stops all processing, cleanup frees the
    model, shutdown exits cleanly from any state.
    """

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        if self._configure():
            self._cleanup()
            return TransitionCallbackReturn.FAILURE
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        self._activate()
        return super().on_activate(state)

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self._deactivate()
        return super().on_deactivate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        self._cleanup()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        if self._input_subscriptions or self.worker is not None:
            self._deactivate()
        self._cleanup()
        return TransitionCallbackReturn.SUCCESS


def main(args: list[str] | None = None) -> int:
    """Entry point of ``ros2 run asymtrack_ros managed_tracker_node``."""
    return run_node(ManagedTrackerNode, SingleThreadedExecutor, args)


if __name__ == "__main__":
    raise SystemExit(main())
