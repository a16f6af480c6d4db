"""Backend registry: ``create_tracker(backend, ...)``. A new backend is one module plus one line here.

Backends are imported lazily, so the ONNX and OpenCV backends never import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from asymtrack_ros.tracking.base import Tracker

# name -> "module:factory"; the factory takes create_tracker's keyword arguments.
BACKENDS: dict[str, str] = {
    "torch": "asymtrack_ros.tracking.torch_backend:create",
    "onnx": "asymtrack_ros.tracking.onnx_backend:create",
    "opencv": "asymtrack_ros.tracking.opencv_backend:create",
}


def available_backends() -> list[str]:
    """Registered backend names."""
    return sorted(BACKENDS)


def create_tracker(
    backend: str,
    model: str = "asymtrack",
    variant: str = "tiny",
    weights: Any = None,
    device: str = "cpu",
    **options: Any,
) -> Tracker:
    """Create a tracker: ``backend`` in :func:`available_backends`; the rest goes to the backend factory.

    ``weights``: a checkpoint path or state dict (torch); ``device``: ``cpu``, ``cuda[:N]`` or ``auto``.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; available: {available_backends()}")
    module_name, factory_name = BACKENDS[backend].split(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    return factory(model=model, variant=variant, weights=weights, device=device, **options)
