"""Benchmark combinations (``backend:model:variant[:precision]``, ``onnx:DIR``, ``opencv:ALGORITHM``) -> trackers.

An early-exit model (DyTrack) takes its exit thresholds after ``@``: ``onnx:dytrack:tiny@0,0`` (always exit 1),
``onnx:dytrack:tiny@2,2`` (always the last exit); combos that differ only there share one export.

Network combos of one model and variant share their weights (a ``--weights`` checkpoint, or one seeded
random initialisation), so that their boxes can be compared; ONNX combos without a model directory
are exported into a work directory first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from asymtrack_ros.models.config import canonical_variant
from asymtrack_ros.tracking import Tracker, create_tracker
from asymtrack_ros.tracking.manifest import MODEL_JSON, PRECISIONS, read_manifest
from asymtrack_ros.tracking.opencv_backend import ALGORITHMS


@dataclass(frozen=True)
class Combo:
    """One benchmarked configuration."""

    backend: str
    model: str = ""
    variant: str = ""
    precision: str = ""
    model_dir: Path | None = None
    exit_thresholds: tuple[float, ...] | None = None

    @property
    def label(self) -> str:
        parts = [self.backend, self.model, self.variant, self.precision]
        label = ":".join(p for p in parts if p)
        if self.exit_thresholds is None:
            return label
        return label + "@" + ",".join(f"{t:g}" for t in self.exit_thresholds)


def parse_combo(text: str) -> Combo:
    """A combo, optionally followed by ``@TAU1,TAU2,...`` (early-exit thresholds, Eq. 1 of DyTrack)."""
    combo_text, at, thresholds = text.partition("@")
    combo = parse_plain_combo(combo_text)
    if not at:
        return combo
    try:
        values = tuple(float(value) for value in thresholds.split(","))
    except ValueError:
        raise ValueError(f"bad exit thresholds in {text!r}: use @TAU1,TAU2 (numbers)") from None
    if combo.backend == "opencv":
        raise ValueError(f"{text!r}: OpenCV trackers have no exits")
    return replace(combo, exit_thresholds=values)


def parse_plain_combo(text: str) -> Combo:
    """``torch:asymtrack:tiny``, ``onnx:asymtrack:tiny:int8``, ``onnx:path/to/model_dir``, ``opencv:csrt``."""
    backend, _, rest = text.partition(":")
    fields = rest.split(":") if rest else []
    if backend == "opencv" and len(fields) == 1 and fields[0] in ALGORITHMS:
        return Combo("opencv", variant=fields[0])
    if backend == "onnx" and len(fields) == 1 and (Path(fields[0]) / MODEL_JSON).is_file():
        manifest = read_manifest(fields[0])
        return Combo("onnx", manifest.config.name, manifest.config.variant, manifest.precision, Path(fields[0]))
    if backend == "torch" and len(fields) == 2:
        return Combo("torch", fields[0].lower(), canonical_variant(fields[1]))
    if backend == "onnx" and len(fields) in (2, 3):
        precision = fields[2] if len(fields) == 3 else "fp32"
        if precision in PRECISIONS:
            return Combo("onnx", fields[0].lower(), canonical_variant(fields[1]), precision)
    raise ValueError(
        f"bad combo {text!r}: use torch:MODEL:VARIANT, onnx:MODEL:VARIANT[:{'|'.join(PRECISIONS)}], onnx:MODEL_DIR "
        f"or opencv:{'|'.join(ALGORITHMS)}"
    )


class TrackerFactory:
    """Builds each combo's tracker; keeps the shared weights and the exported model directories. ``spinning``:
    whether idle onnx threads busy-wait (None: the backend's default, sleeping)."""

    def __init__(
        self, work_dir: Path, threads: int, weights: dict[tuple[str, str], Path], seed: int = 0,
        spinning: bool | None = None,
    ) -> None:
        self.work_dir = work_dir
        self.threads = threads
        self.spinning = spinning
        self.weights = weights
        self.seed = seed
        self._state_dicts: dict[tuple[str, str], Any] = {}
        self._exported: set[Path] = set()

    def weights_for(self, model: str, variant: str) -> Any:
        """The ``--weights`` checkpoint of (model, variant), else one seeded random state dict per pair."""
        key = (model, variant)
        if key in self.weights:
            return self.weights[key]
        if key not in self._state_dicts:
            import torch

            from asymtrack_ros.models.factory import build_model

            torch.manual_seed(self.seed)
            self._state_dicts[key] = build_model(model, variant).state_dict()
        return self._state_dicts[key]

    def model_dir(self, combo: Combo) -> Path:
        """The combo's model directory, exported into the work directory on first use in this run (an export
        left there by an earlier run is replaced: it may come from other weights or an older exporter)."""
        if combo.model_dir is not None:
            return combo.model_dir
        directory = self.work_dir / f"{combo.model}-{combo.variant}-{combo.precision}"
        if directory not in self._exported:
            from asymtrack_ros.export import export_model

            export_model(directory, combo.model, combo.variant, self.weights_for(combo.model, combo.variant),
                         combo.precision, seed=self.seed)
            self._exported.add(directory)
        return directory

    def create(self, combo: Combo, device: str = "cpu") -> Tracker:
        if combo.backend == "opencv":
            return create_tracker("opencv", algorithm=combo.variant, threads=self.threads)
        exits: dict[str, Any] = {} if combo.exit_thresholds is None else {"exit_thresholds": combo.exit_thresholds}
        if combo.backend == "onnx":
            spinning: dict[str, Any] = {} if self.spinning is None else {"spinning": self.spinning}  # None: default
            return create_tracker("onnx", device=device, model_dir=self.model_dir(combo), threads=self.threads,
                                  **spinning, **exits)
        weights = self.weights_for(combo.model, combo.variant)
        return create_tracker(combo.backend, combo.model, combo.variant, weights=weights, device=device,
                              threads=self.threads, **exits)
