"""PyTorch backend: the model in deploy form (OPE folded), eager, on CPU or CUDA."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from asymtrack_ros.checkpoint import load_weights
from asymtrack_ros.devices import resolve_device
from asymtrack_ros.models.dytrack import DEFAULT_EXIT_THRESHOLDS, DyTrack, validated_thresholds
from asymtrack_ros.models.factory import build_model, model_family
from asymtrack_ros.models.network import TrackerNetwork
from asymtrack_ros.tracking.base import DeviceInfo, Tracker
from asymtrack_ros.tracking.box_smoothing import NO_OVERRIDES, NO_SMOOTHING, SmoothingOverrides
from asymtrack_ros.tracking.fusion import NO_FUSION, network_threads, with_local_tracker
from asymtrack_ros.tracking.redetection import DEFAULT_REDETECTION, NO_REDETECTION_OVERRIDES, RedetectionOverrides
from asymtrack_ros.tracking.siamese import SearchOutput, SiameseTracker

Weights = str | Path | Mapping[str, torch.Tensor] | None


def torch_device_info(device: torch.device) -> DeviceInfo:
    """``cpu``, or the GPU with its index and name: ``cuda:0 (NVIDIA H200)`` (``cuda`` alone: the current GPU)."""
    if device.type != "cuda":
        return DeviceInfo(backend="torch", device=device.type)
    index = torch.cuda.current_device() if device.index is None else device.index
    return DeviceInfo(backend="torch", device=f"cuda:{index} ({torch.cuda.get_device_name(index)})")


class TorchRunner:
    """Runs ``encode_template`` / ``track_search`` of a built model under inference mode."""

    def __init__(self, model: TrackerNetwork, device: torch.device, threads: int | None = None) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.model = model.eval().fuse().to(device)
        self.config = model.config
        self.device = device
        self.device_info = torch_device_info(device)

    def encode_template(self, template: np.ndarray) -> Any:
        with torch.inference_mode():
            return self.model.encode_template(torch.from_numpy(template).to(self.device))

    def set_exit_thresholds(self, thresholds: Sequence[float]) -> None:
        """DyTrack's tau_1..tau_{K-1} from the next frame on; ValueError for other models or bad values."""
        if not isinstance(self.model, DyTrack):
            raise ValueError(f"exit_thresholds is for early-exit models (dytrack), not {self.config.name}")
        self.model.exit_thresholds = validated_thresholds(thresholds)

    def track_search(self, search: np.ndarray, state: Any) -> SearchOutput:
        with torch.inference_mode():
            out = self.model.track_search(torch.from_numpy(search).to(self.device), state)
        return SearchOutput(
            pred_box=out["pred_boxes"][0].cpu().numpy(),
            prob_tl=out["prob_tl"][:1].cpu().numpy(),
            prob_br=out["prob_br"][:1].cpu().numpy(),
            score=float(out["iou"][0, 0]) if "iou" in out else None,
            exit=int(out["exit"][0]) if "exit" in out else None,
        )


def create(
    model: str = "asymtrack",
    variant: str = "tiny",
    weights: Weights = None,
    device: str = "cpu",
    random_init: bool = False,
    threads: int | None = None,
    smoothing: SmoothingOverrides = NO_OVERRIDES,
    redetection: RedetectionOverrides = NO_REDETECTION_OVERRIDES,
    exit_thresholds: Sequence[float] | None = None,
    local_tracker: str | None = None,
) -> Tracker:
    """Torch tracker. ``weights``: official or own checkpoint path, or a state dict.

    ``exit_thresholds``: DyTrack's tau_1..tau_{K-1} (Eq. 1; default ``dytrack.DEFAULT_EXIT_THRESHOLDS``); the
    tracker's scores are then the IoU prediction of the exit that answered (``TrackResult.exit``).

    Without weights it refuses unless ``random_init=True`` (random weights track nothing). No box smoothing
    except the values ``smoothing`` sets (``box_smoothing.py``); the default global re-detection with the values
    ``redetection`` sets (``redetection.py``); the network alone unless ``local_tracker`` names an OpenCV tracker to
    fuse with it (``fusion.py``; it takes one of the ``threads``, ``fusion.network_threads``).
    """
    network = build_model(model, variant)
    if weights is not None:
        load_weights(network, weights, model_family(model).checkpoint_filter)
    elif not random_init:
        raise ValueError(f"no weights given for {model}-{variant}: pass weights=... (or random_init=True for tests)")
    if isinstance(network, DyTrack):
        network.exit_thresholds = validated_thresholds(exit_thresholds or DEFAULT_EXIT_THRESHOLDS)
    elif exit_thresholds is not None:
        raise ValueError(f"exit_thresholds is for early-exit models (dytrack), not {model}")
    fusion = NO_FUSION.with_local_tracker(local_tracker)
    runner = TorchRunner(network, resolve_device(device), network_threads(threads, fusion))
    tracker = SiameseTracker(runner, smoothing.apply(NO_SMOOTHING),
                             redetection=DEFAULT_REDETECTION.replace(redetection))
    return with_local_tracker(tracker, fusion)
