"""ONNX export: a checkpoint -> a model directory for the ``onnx`` backend (``asymtrack-export``)."""

from asymtrack_ros.export.graphs import ExportError
from asymtrack_ros.export.pipeline import export_model

__all__ = ["ExportError", "export_model"]
