"""Model family registry: ``build_model(name, variant)`` and the per-variant crop config."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from torch import nn

from asymtrack_ros.models.config import (  # noqa: F401  (re-exported: the names used to live here)
    IMAGENET_MEAN,
    IMAGENET_STD,
    VARIANT_ALIASES,
    ModelConfig,
    canonical_variant,
)

ModelBuilder = Callable[[str], nn.Module]
_FAMILIES: dict[str, tuple[ModelBuilder, tuple[str, ...]]] = {}


def register_model(name: str, variants: tuple[str, ...]) -> Callable[[ModelBuilder], ModelBuilder]:
    """Register ``builder(variant) -> nn.Module`` for a model family."""

    def decorator(builder: ModelBuilder) -> ModelBuilder:
        _FAMILIES[name] = (builder, variants)
        return builder

    return decorator


def available_models() -> dict[str, tuple[str, ...]]:
    """Registered families and their variants."""
    _import_families()
    return {name: variants for name, (_, variants) in _FAMILIES.items()}


def build_model(name: str, variant: str) -> nn.Module:
    """Build a model in checkpoint (training) form, with randomly initialised weights."""
    _import_families()
    family = name.lower()
    if family not in _FAMILIES:
        raise ValueError(f"unknown model {name!r}; available: {sorted(_FAMILIES)}")
    builder, variants = _FAMILIES[family]
    canonical = canonical_variant(variant)
    if canonical not in variants:
        raise ValueError(f"unknown variant {variant!r} for model {family!r}; available: {list(variants)}")
    return builder(canonical)


def _import_families() -> None:
    """Import the family modules so that their ``register_model`` calls run."""
    from asymtrack_ros.models import asymtrack, hit  # noqa: F401


def checkpoint_filter_for(name: str) -> Callable[[dict], dict]:
    """The family's ``checkpoint_filter`` (official checkpoint keys -> ours)."""
    _import_families()
    module = importlib.import_module(f"asymtrack_ros.models.{name.lower()}")
    return module.checkpoint_filter
