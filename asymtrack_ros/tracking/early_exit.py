"""Early exit at run time (DyTrack, Eq. (1) of the paper, Sec. III-A): the ONNX runner that stops after the first
exit whose IoU prediction s_k exceeds its threshold tau_k; the last exit always answers. No torch import.

Segment k (``export/early_exit.py``) returns s_k with the hidden states and decisioner output the next segment
needs; only the answering exit runs its box head. The published score is that exit's s_k (a learned confidence),
``SearchOutput.exit`` the exit. s_k and tau_k are compared in float32, as the torch model does, so that both
backends route a frame alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from asymtrack_ros.models.config import ModelConfig
from asymtrack_ros.tracking.base import DeviceInfo
from asymtrack_ros.tracking.manifest import SEARCH_OUTPUTS, EarlyExitSpec, GraphSpec, ModelManifest
from asymtrack_ros.tracking.siamese import SearchOutput


class Session(Protocol):
    """What is used of an ``onnxruntime.InferenceSession``."""

    def run(self, output_names: list[str] | None, input_feed: dict[str, np.ndarray]) -> list[np.ndarray]: ...


class TemplateRunner(Protocol):
    """The ONNX runner whose template branch, manifest and device this one takes over."""

    config: ModelConfig
    device_info: DeviceInfo
    manifest: ModelManifest

    def encode_template(self, template: np.ndarray) -> Any: ...


def exits_here(score: float, threshold: float) -> bool:
    """s_k > tau_k in float32 (Eq. 1)."""
    return bool(np.float32(score) > np.float32(threshold))


def thresholds_for(spec: EarlyExitSpec, thresholds: Sequence[float] | None) -> tuple[float, ...]:
    """``thresholds`` (default: the manifest's) as K - 1 finite floats; ValueError otherwise."""
    values = tuple(float(t) for t in (spec.thresholds if thresholds is None else thresholds))
    if len(values) != len(spec.segments) - 1 or not all(np.isfinite(values)):
        raise ValueError(f"exit_thresholds needs {len(spec.segments) - 1} finite numbers, got {thresholds!r}")
    return values


class EarlyExitRunner:
    """Runs segment graphs until an exit answers, then that exit's head (a :class:`NetworkRunner`)."""

    def __init__(
        self, base: TemplateRunner, open_graph: Callable[[GraphSpec], Session], thresholds: Sequence[float] | None
    ) -> None:
        spec = base.manifest.early_exit
        if spec is None:
            raise ValueError(f"{base.manifest.config.name} has no early exits")
        self.base = base
        self.config = base.config
        self.device_info = base.device_info
        self.spec = spec
        self.thresholds = thresholds_for(spec, thresholds)
        self._segments = [(open_graph(graph), graph) for graph in spec.segments]
        self._heads = [open_graph(graph) for graph in spec.heads]
        self._state_names = list(base.manifest.state_names)

    def encode_template(self, template: np.ndarray) -> Any:
        return self.base.encode_template(template)

    def set_exit_thresholds(self, thresholds: Sequence[float]) -> None:
        """tau_1..tau_{K-1} from the next frame on; ValueError for the wrong count or non-finite values."""
        self.thresholds = thresholds_for(self.spec, thresholds)

    def track_search(self, search: np.ndarray, state: tuple[np.ndarray, ...]) -> SearchOutput:
        """Eq. (1): segments in turn until s_k > tau_k (or the last), then head k."""
        tensors = {"search": search, **dict(zip(self._state_names, state, strict=True))}
        for exit, (session, graph) in enumerate(self._segments, start=1):
            outputs = session.run(None, {tensor.name: tensors[tensor.name] for tensor in graph.inputs})
            tensors |= dict(zip((tensor.name for tensor in graph.outputs), outputs, strict=True))
            score = float(tensors[f"iou_{exit}"][0, 0])
            if exit == len(self._segments) or exits_here(score, self.thresholds[exit - 1]):
                boxes, prob_tl, prob_br = self._heads[exit - 1].run(
                    list(SEARCH_OUTPUTS), {f"recycled_{exit}": tensors[f"recycled_{exit}"]})
                return SearchOutput(boxes[0], prob_tl[:1], prob_br[:1], score=score, exit=exit)
        raise AssertionError("unreachable: the last exit always answers")
