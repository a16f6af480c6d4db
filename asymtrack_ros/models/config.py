"""Torch-free model description: the per-variant crop config and ImageNet normalisation.

Kept apart from :mod:`asymtrack_ros.models.factory` (which imports torch) so that the ONNX
backend and the shared tracking code can use it on robots without PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

VARIANT_ALIASES = {"t": "tiny", "s": "small", "b": "base"}


@dataclass(frozen=True)
class ModelConfig:
    """What the tracker needs to know about a model variant: crop geometry and normalisation."""

    name: str
    variant: str
    template_size: int
    search_size: int
    template_factor: float = 2.0
    search_factor: float = 4.0
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD


def canonical_variant(variant: str) -> str:
    """Map ``t|s|b`` aliases (any case) to ``tiny|small|base``."""
    lowered = variant.lower()
    return VARIANT_ALIASES.get(lowered, lowered)
