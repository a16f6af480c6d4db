"""The model family table: each family module registers its builder, variants and checkpoint filter.

Torch-free and family-agnostic: the family modules import this one, never the other way round
(:mod:`asymtrack_ros.models.factory` imports the families and looks them up here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asymtrack_ros.models.network import TrackerNetwork

ModelBuilder = Callable[[str], "TrackerNetwork"]
CheckpointFilter = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class ModelFamily:
    """One family: ``builder(variant)`` (checkpoint form, random weights) and the filter that maps the
    authors' checkpoint keys to ours."""

    name: str
    variants: tuple[str, ...]
    builder: ModelBuilder
    checkpoint_filter: CheckpointFilter


FAMILIES: dict[str, ModelFamily] = {}


def strip_data_parallel_prefix(state_dict: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint filter of a family whose key names are the authors' own: drops DataParallel's ``module.``."""
    return {key.removeprefix("module."): value for key, value in state_dict.items()}


def register_model(
    name: str, variants: tuple[str, ...], checkpoint_filter: CheckpointFilter
) -> Callable[[ModelBuilder], ModelBuilder]:
    """Decorator registering ``builder(variant) -> TrackerNetwork`` with its variants and checkpoint filter."""

    def decorator(builder: ModelBuilder) -> ModelBuilder:
        FAMILIES[name] = ModelFamily(name, variants, builder, checkpoint_filter)
        return builder

    return decorator
