"""ONNX export: a checkpoint -> a model directory for the ``onnx`` backend (``asymtrack-export``).

Importing the package registers the export cache, so ``create_tracker("onnx", weights=...)`` works.
"""

from asymtrack_ros.export.cache import cached_export
from asymtrack_ros.export.graphs import ExportError
from asymtrack_ros.export.pipeline import export_model

__all__ = ["ExportError", "cached_export", "export_model"]
