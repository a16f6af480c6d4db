"""Run a node until SIGINT / shutdown, then stop it cleanly (shared by every executable)."""

from __future__ import annotations

import signal
from collections.abc import Callable

import rclpy
from rclpy.executors import Executor, ExternalShutdownException
from rclpy.node import Node


def run_node(create_node: Callable[[], Node], executor: Callable[[], Executor], args: list[str] | None) -> int:
    """Spin the node made by ``create_node``; exit code 2 (no traceback) on invalid configuration.

    ``create_node`` raises ValueError for invalid parameters. The node's optional ``stop()`` runs
    before the executor and rclpy shut down. A second SIGINT during clean-up (``ros2 launch`` and
    ``timeout`` signal the whole process group) is ignored so the clean-up always completes.
    """
    rclpy.init(args=args)
    node = None
    spinner = executor()
    try:
        node = create_node()
        spinner.add_node(node)
        spinner.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except ValueError as error:
        rclpy.logging.get_logger("asymtrack_ros").fatal(f"invalid configuration: {error}")
        return 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if node is not None and hasattr(node, "stop"):
            node.stop()
        spinner.shutdown()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
