"""Start a node module as its own process and stop it the way a terminal would (SIGINT, then kill)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import IO


def start_node(module: str, *ros_args: str, output: IO | None = None) -> subprocess.Popen:
    """``python -m module --ros-args ros_args...`` with this process's environment.

    ``output``: a file that receives the node's stdout and stderr (default: this process's own).
    """
    return subprocess.Popen([sys.executable, "-m", module, "--ros-args", *ros_args], env=os.environ.copy(),
                            stdout=output, stderr=subprocess.STDOUT if output is not None else None)


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
