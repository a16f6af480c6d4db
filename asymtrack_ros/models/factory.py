"""``build_model(name, variant)``: every family module is imported here, so each has registered itself."""

from __future__ import annotations

from asymtrack_ros.models import asymtrack, dytrack, hit  # noqa: F401  (importing a family registers it)
from asymtrack_ros.models.config import canonical_variant
from asymtrack_ros.models.network import TrackerNetwork
from asymtrack_ros.models.registry import FAMILIES, ModelFamily


def available_models() -> dict[str, tuple[str, ...]]:
    """Registered families and their variants."""
    return {name: family.variants for name, family in FAMILIES.items()}


def model_family(name: str) -> ModelFamily:
    """The registered family ``name`` (any case): builder, variants and checkpoint filter."""
    family = name.lower()
    if family not in FAMILIES:
        raise ValueError(f"unknown model {name!r}; available: {sorted(FAMILIES)}")
    return FAMILIES[family]


def build_model(name: str, variant: str) -> TrackerNetwork:
    """Build a model in checkpoint (training) form, with randomly initialised weights."""
    family = model_family(name)
    canonical = canonical_variant(variant)
    if canonical not in family.variants:
        raise ValueError(f"unknown variant {variant!r} for model {family.name!r}; available: {list(family.variants)}")
    return family.builder(canonical)
