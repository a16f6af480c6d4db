"""Checkpoints for the ONNX backend: who turns one into a model directory (registered from above).

The ONNX backend never imports torch, and ``tracking`` never imports ``export``. So exporting a
checkpoint on demand is a service that ``asymtrack_ros.export.cache`` registers here when it is
imported (the node imports it when ``backend:=onnx`` comes with ``weights``; Python users run
``import asymtrack_ros.export``). Until then ``create_tracker("onnx", weights=...)`` says how to enable it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

# (checkpoint, model, variant) -> an exported, verified model directory
WeightsExporter = Callable[[Path, str, str], Path]
_registered: list[WeightsExporter] = []


def register_weights_exporter(exporter: WeightsExporter) -> None:
    """Make ``exporter`` the one :func:`model_dir_for_weights` uses."""
    _registered[:] = [exporter]


def model_dir_for_weights(weights: str | Path, model: str, variant: str) -> Path:
    """An ONNX model directory exported from ``weights`` (cached by the registered exporter)."""
    if not _registered:
        raise ValueError("the onnx backend exports a checkpoint only with asymtrack_ros.export loaded (it needs "
                         "torch): `import asymtrack_ros.export` first, or export once with asymtrack-export and "
                         "pass model_dir")
    return _registered[0](Path(weights), model, variant)
