"""Safe checkpoint loading: tensors and plain containers only, clear errors naming file and key.

Checkpoints are read with ``torch.load(weights_only=True)``. Training checkpoints written by the
authors' tool chain also hold settings objects next to ``net``; those are read again with
:mod:`asymtrack_ros.restricted_pickle`, which replaces every non-allowed global by an inert
placeholder (no constructor or ``__reduce__`` of it ever runs, in zip and legacy files alike), and
the load fails if such an object sits inside the weights.
"""

from __future__ import annotations

import pickle
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from asymtrack_ros import restricted_pickle
from asymtrack_ros.restricted_pickle import RefusedObject

StateDict = dict[str, torch.Tensor]


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, unsafe or does not fit the model."""


def _refused_inside(value: Any, path: str) -> str | None:
    """Path of the first refused object inside ``value``, if any."""
    refused = type(value) if isinstance(value, RefusedObject) else value
    if isinstance(refused, type) and issubclass(refused, RefusedObject):
        return f"{path} ({refused.qualified_name})"
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _refused_inside(item, f"{path}.{key}")
            if found:
                return found
    return None


def read_checkpoint(path: str | Path) -> StateDict:
    """The state dict of a checkpoint file (``{"net": state_dict}`` or a bare state dict)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if tarfile.is_tarfile(path):  # torch's reader of this format would extract the archive
        raise CheckpointError(f"checkpoint {path} uses the tar format of PyTorch < 0.4, which is not supported")
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        content = _load_restricted(path)
    except Exception as error:  # a broken file fails in many ways
        raise CheckpointError(f"checkpoint {path} is truncated or corrupt: {error}") from error
    state = content["net"] if isinstance(content, Mapping) and "net" in content else content
    refused = _refused_inside(state, "net")
    if refused:
        raise CheckpointError(f"checkpoint {path}: refusing to load non-tensor object at {refused}")
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"checkpoint {path} holds no state dict of tensors (expected {{'net': state_dict}})")
    return dict(state)


def _load_restricted(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=restricted_pickle)
    except Exception as error:  # any failure of a hostile or broken file is a checkpoint error
        raise CheckpointError(f"checkpoint {path} cannot be read safely: {error}") from error


def load_weights(
    model: nn.Module,
    weights: str | Path | Mapping[str, torch.Tensor],
    checkpoint_filter: Callable[[StateDict], StateDict] | None = None,
) -> None:
    """Strictly load ``weights`` (a path or a state dict) into ``model``; errors name the first bad key."""
    source = str(weights) if isinstance(weights, str | Path) else "state dict"
    state = read_checkpoint(weights) if isinstance(weights, str | Path) else dict(weights)
    if checkpoint_filter is not None:
        state = checkpoint_filter(state)
    expected = model.state_dict()
    missing = [key for key in expected if key not in state]
    if missing:
        raise CheckpointError(f"{source}: missing key {missing[0]!r} ({len(missing)} missing)")
    unexpected = [key for key in state if key not in expected]
    if unexpected:
        raise CheckpointError(f"{source}: unexpected key {unexpected[0]!r} ({len(unexpected)} unexpected)")
    for key, tensor in expected.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"{source}: key {key!r} has shape {tuple(state[key].shape)}, the model expects {tuple(tensor.shape)}"
            )
    model.load_state_dict(state, strict=True)
