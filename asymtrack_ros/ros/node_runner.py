"""Run a node until SIGINT / SIGTERM / shutdown, then stop it cleanly (shared by every executable)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

import rclpy
from rclpy.executors import Executor, ExternalShutdownException
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

SPIN_PERIOD = 0.1  # seconds between checks for a stop request


def run_node(create_node: Callable[[], Node], executor: Callable[[], Executor], args: list[str] | None) -> int:
    """Spin the node made by ``create_node``; exit code 2 (no traceback) on invalid configuration.

    ``create_node`` raises ValueError for invalid parameters. rclpy's own signal handlers are off:
    they would invalidate the context while the node's worker thread may still be publishing.
    Instead SIGINT and SIGTERM only ask the spin loop to end; then the node's optional ``stop()``
    joins its threads, and only after that the executor and rclpy shut down. Further signals during
    the clean-up (``ros2 launch`` and ``timeout`` signal the whole process group) are ignored.
    """
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    stop_requested = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stop_requested.set())
    node = None
    spinner = executor()
    try:
        try:
            node = create_node()
        except ValueError as error:
            rclpy.logging.get_logger("asymtrack_ros").fatal(f"invalid configuration: {error}")
            return 2
        spinner.add_node(node)
        while not stop_requested.is_set() and rclpy.ok():
            spinner.spin_once(timeout_sec=SPIN_PERIOD)
    except ExternalShutdownException:
        pass
    finally:
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signal_number, signal.SIG_IGN)
        if node is not None and hasattr(node, "stop"):
            node.stop()
        spinner.shutdown()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
