"""Backend registry: ``create_tracker(backend, ...)``. A new backend is one module plus one line here.

Backends are imported lazily, so the ONNX and OpenCV backends never import torch.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from asymtrack_ros.tracking.base import Tracker
from asymtrack_ros.tracking.box_smoothing import SmoothingOverrides
from asymtrack_ros.tracking.redetection import REDETECTION_KEYS, RedetectionOverrides

# name -> "module:factory"; each factory takes its backend's own keyword arguments.
BACKENDS: dict[str, str] = {
    "torch": "asymtrack_ros.tracking.torch_backend:create",
    "onnx": "asymtrack_ros.tracking.onnx_backend:create",
    "opencv": "asymtrack_ros.tracking.opencv_backend:create",
}
SMOOTHING_KEYS = tuple(field.name for field in fields(SmoothingOverrides))


def available_backends() -> list[str]:
    """Registered backend names."""
    return sorted(BACKENDS)


def backend_factory(backend: str) -> Callable[..., Tracker]:
    """The ``create`` function of a registered backend (imports its module)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; available: {available_backends()}")
    module_name, factory_name = BACKENDS[backend].split(":")
    return getattr(importlib.import_module(module_name), factory_name)


def create_tracker(backend: str, model: str | None = None, variant: str | None = None, **options: Any) -> Tracker:
    """Create a tracker: ``backend`` in :func:`available_backends`, the options of its factory (its ``create``).

    ``model`` and ``variant`` (network backends) may also be given by position. Single box smoothing values
    (``window_influence=...``, see ``box_smoothing.py``) are gathered into one ``smoothing``
    :class:`SmoothingOverrides`, single re-detection values (``global_search_every=...``, ``redetection.py``) into
    one ``redetection`` :class:`RedetectionOverrides`. An option the backend does not take raises ValueError.
    """
    factory = backend_factory(backend)
    options |= {name: value for name, value in (("model", model), ("variant", variant)) if value is not None}
    _gather(options, "smoothing", SMOOTHING_KEYS, SmoothingOverrides)
    _gather(options, "redetection", REDETECTION_KEYS, RedetectionOverrides)
    unknown = sorted(set(options) - set(inspect.signature(factory).parameters))
    if unknown:
        taken = sorted(inspect.signature(factory).parameters)
        raise ValueError(f"the {backend} backend takes no {', '.join(unknown)} (its options: {', '.join(taken)})")
    return factory(**options)


def _gather(options: dict[str, Any], name: str, keys: tuple[str, ...], overrides: Callable[..., object]) -> None:
    """Replace the single values ``keys`` in ``options`` by one ``options[name] = overrides(**values)``."""
    single = {key: options.pop(key) for key in keys if key in options}
    if single:
        if name in options:
            raise ValueError(f"give {name}= or single {name} values {sorted(single)}, not both")
        options[name] = overrides(**single)
