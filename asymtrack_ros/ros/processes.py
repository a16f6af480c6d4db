"""Start a node module as its own process and stop it the way a terminal would (SIGINT, then kill)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys


def start_node(module: str, *ros_args: str) -> subprocess.Popen:
    """``python -m module --ros-args ros_args...`` with this process's environment."""
    return subprocess.Popen([sys.executable, "-m", module, "--ros-args", *ros_args], env=os.environ.copy())


def stop_process(process: subprocess.Popen, timeout: float = 10) -> int:
    """SIGINT, then kill after ``timeout`` seconds; returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
