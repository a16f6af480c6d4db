"""Shared fixtures: reference data location and loaders (tests skip with a reason when absent)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from asymtrack_ros.reference import REFERENCE_ENV, reference_dir


def require_reference(name: str) -> Path:
    """Path of a reference file, or skip the test naming the missing path and the variable."""
    path = reference_dir() / name
    if not path.exists():
        pytest.skip(f"reference file {path} absent (set {REFERENCE_ENV} to the shared/reference directory)")
    return path


def load_vectors(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Arrays of a ``*_vectors.npz`` file and its parsed ``meta_json``."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    return arrays, json.loads(str(arrays.pop("meta_json")))


@pytest.fixture(scope="session")
def megamind_frames() -> np.ndarray:
    """The 40 decoded RGB Megamind frames (video frames 1..40)."""
    with np.load(require_reference("megamind_rgb_frames.npz"), allow_pickle=False) as data:
        return data["frames"]


def state_dict_from_vectors(arrays: dict[str, np.ndarray], meta: dict) -> dict:
    """Checkpoint-form state dict stored in a vector file (float16 entries upcast to float32)."""
    import torch

    state = {}
    for key in meta["state_dict_keys"]:
        value = arrays[key]
        state[key] = torch.from_numpy(value.astype(np.float32) if value.dtype == np.float16 else value)
    return state


def vectors_or_skip(path: Path | None, model: str) -> tuple[dict[str, np.ndarray], dict]:
    """Arrays and meta of a vector file, or skip when the reference directory has none for ``model``."""
    if path is None:
        pytest.skip(f"no {model}_*_vectors.npz in the reference directory (set {REFERENCE_ENV})")
    return load_vectors(path)


def read_keys_manifest(model: str) -> dict:
    """Per-variant entries of ``<model>_keys.json``."""
    with open(require_reference(f"{model}_keys.json")) as handle:
        return json.load(handle)["variants"]


def as_tensor(arrays: dict[str, np.ndarray], key: str):
    """One stored array as a torch tensor (no copy)."""
    import torch

    return torch.from_numpy(arrays[key])
