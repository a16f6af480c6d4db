"""The machine a run happens on, for the reports that time or score it: speeds compare only within one machine, and
OpenCV and ONNX Runtime pick their kernels by the CPU's vector instructions, so boxes can differ between machines
(CSRT's measurably, and with them the default fusion's)."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (``platform.processor()`` elsewhere)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def cpu_features() -> list[str]:
    """The vector instruction sets OpenCV dispatches to on this CPU, e.g. ``["SSE", ..., "AVX2"]``: those of
    ``cv2.getCPUFeaturesLine()`` not marked missing (``?``)."""
    return [name.lstrip("*") for name in cv2.getCPUFeaturesLine().split() if not name.endswith("?")]


def library_versions() -> dict[str, str]:
    """Versions of the libraries involved (torch only when something loaded it)."""
    import onnxruntime

    versions = {"python": platform.python_version(), "numpy": np.__version__, "opencv": cv2.__version__,
                "onnxruntime": onnxruntime.__version__}
    if "torch" in sys.modules:
        versions["torch"] = sys.modules["torch"].__version__
    return versions


def host_summary() -> dict[str, Any]:
    """CPU model, CPU count, vector instruction sets and library versions."""
    return {"cpu": cpu_name(), "cpu_count": os.cpu_count(), "cpu_features": cpu_features(),
            "versions": library_versions()}
