"""What every tracker network is: ``TrackerNetwork``, the base class of the family modules' networks.

The tracking, export and training code use a network only through this interface (its ``config``, the
two branches and ``fuse``), whatever its family.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self, TypeVar

import torch
from torch import nn

from asymtrack_ros.models.config import ModelConfig

ModuleT = TypeVar("ModuleT", bound=nn.Module)


class TrackerNetwork(nn.Module):
    """A two-branch tracker network: ``encode_template`` once per target, ``track_search`` per frame.

    ``track_search`` returns ``pred_boxes`` (B, 4) normalised cx, cy, w, h in the search crop and the corner
    distributions ``prob_tl``/``prob_br`` (B, fs*fs).
    """

    config: ModelConfig

    def encode_template(self, template: torch.Tensor) -> Any:
        """Template image (B, 3, S, S) -> the family's template state (a tuple of tensors)."""
        raise NotImplementedError

    def track_search(self, search: torch.Tensor, state: Any) -> dict[str, torch.Tensor]:
        """Search image (B, 3, S, S) + template state -> ``pred_boxes``, ``prob_tl``, ``prob_br``."""
        raise NotImplementedError

    def fuse(self, fold_batchnorm: bool = False) -> Self:
        """Deploy form, in place (``fold_batchnorm``: also fold the corner head's BatchNorms, as the export does)."""
        raise NotImplementedError


def typed_modules(modules: Iterable[nn.Module], kind: type[ModuleT]) -> list[ModuleT]:
    """``modules`` (e.g. an ``nn.ModuleList``, whose items are typed ``nn.Module``) as a list of ``kind``."""
    typed = []
    for module in modules:
        if not isinstance(module, kind):
            raise TypeError(f"expected {kind.__name__}, got {type(module).__name__}")
        typed.append(module)
    return typed


def typed_module(module: nn.Module, kind: type[ModuleT]) -> ModuleT:
    """``module`` (e.g. an item of an ``nn.ModuleList``) as ``kind``."""
    (typed,) = typed_modules((module,), kind)
    return typed


def tensor_sum(terms: Iterable[torch.Tensor]) -> torch.Tensor:
    """``sum(terms)`` (the builtin, same arithmetic) typed as a tensor; ValueError when there are no terms."""
    total = sum(terms)
    if not isinstance(total, torch.Tensor):
        raise ValueError("tensor_sum of no tensors")
    return total
