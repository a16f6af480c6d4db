"""Tracker networks: one module per family, variants as configs.

``ModelConfig`` is torch-free; the registry functions import torch on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from asymtrack_ros.models.config import ModelConfig

_REGISTRY_NAMES = ("available_models", "build_model", "register_model")

__all__ = ["ModelConfig", *_REGISTRY_NAMES]


def __getattr__(name: str) -> Any:
    if name in _REGISTRY_NAMES:
        return getattr(importlib.import_module("asymtrack_ros.models.registry"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
