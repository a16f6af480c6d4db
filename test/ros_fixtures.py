"""Helpers for tests that talk to other processes over real DDS."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from asymtrack_ros.ros.processes import start_node, stop_process

TEST_DIR = Path(__file__).resolve().parent


def require_ros() -> None:
    """Skip unless rclpy and the built interfaces import (run under scripts/ros_env.sh)."""
    try:
        import rclpy  # noqa: F401
        import vision_msgs.msg  # noqa: F401

        import asymtrack_ros.msg  # noqa: F401
    except ImportError as error:
        pytest.skip(f"ROS environment not available ({error}); run via `make test`")


@contextmanager
def peer_process(*args: str) -> Iterator[subprocess.Popen]:
    """Run ``dds_peer.py`` (or any script given by path) as a separate process; SIGINT it on exit."""
    script = args[0] if args[0].endswith(".py") else str(TEST_DIR / "dds_peer.py")
    argv = list(args[1:]) if args[0].endswith(".py") else list(args)
    process = subprocess.Popen([sys.executable, script, *argv], env=os.environ.copy())
    try:
        yield process
    finally:
        stop_process(process)


@contextmanager
def spinning_node(name: str) -> Iterator:
    """An rclpy node spun by a background executor; stops the executor before shutdown."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node(name, context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        yield node
    finally:
        executor.shutdown()
        thread.join(timeout=5)
        node.destroy_node()
        rclpy.shutdown(context=context)


def target_diagnostics(client, key: str = "state") -> dict[str, str]:
    """``key``'s value for each target in the newest /diagnostics array that lists targets (name -> value)."""
    for array in reversed(client.snapshot("diagnostics")):
        found = {s.name: {kv.key: kv.value for kv in s.values}[key] for s in array.status if ": target [" in s.name}
        if found:
            return found
    return {}


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll ``condition`` until true or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


@contextmanager
def node_process(module: str, *ros_args: str, output=None) -> Iterator[subprocess.Popen]:
    """Run ``python -m module --ros-args ...`` as a separate process; SIGINT it on exit.

    ``output``: an open file that receives the node's stdout and stderr.
    """
    process = start_node(module, *ros_args, output=output)
    try:
        yield process
    finally:
        stop_process(process)
