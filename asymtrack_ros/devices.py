"""Torch device names (``auto``, ``cpu``, ``cuda``, ``cuda:1``) resolved to devices, for trackers and training."""

from __future__ import annotations

import torch


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present; an explicitly requested but absent GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but this torch build sees no CUDA GPU (use 'cpu' or 'auto')")
    return resolved
