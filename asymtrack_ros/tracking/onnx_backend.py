"""ONNX Runtime backend: an exported model directory run as a :class:`NetworkRunner` (no torch import).

The template graph runs once per target and returns the cached tensors; the search graph takes the
search crop plus those tensors. Cropping, normalisation, map-back and scoring are the shared
:class:`SiameseTracker`'s. Execution providers are tried in priority order; the ones a session
actually uses are in ``tracker.device_info`` and a requested provider that is missing or fell back
is logged as a warning and listed in ``device_info.warnings``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from asymtrack_ros.tracking.base import DeviceInfo
from asymtrack_ros.tracking.box_smoothing import NO_OVERRIDES, SmoothingOverrides
from asymtrack_ros.tracking.early_exit import EarlyExitRunner
from asymtrack_ros.tracking.installed_models import default_model_dir
from asymtrack_ros.tracking.manifest import GraphSpec, ModelDirError, ModelManifest, read_manifest
from asymtrack_ros.tracking.redetection import NO_REDETECTION_OVERRIDES, RedetectionOverrides
from asymtrack_ros.tracking.siamese import NetworkRunner, SearchOutput, SiameseTracker
from asymtrack_ros.tracking.weights_export import model_dir_for_weights

LOGGER = logging.getLogger(__name__)

CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"
# Default priority: the first one this onnxruntime build has wins, CPU is always last.
DEFAULT_PROVIDERS = ("TensorrtExecutionProvider", CUDA_PROVIDER, "OpenVINOExecutionProvider", CPU_PROVIDER)
PROVIDER_DEVICES = {
    "TensorrtExecutionProvider": "tensorrt",
    CUDA_PROVIDER: "cuda",
    "OpenVINOExecutionProvider": "openvino",
    "DmlExecutionProvider": "directml",
    "CoreMLExecutionProvider": "coreml",
    CPU_PROVIDER: "cpu",
}
GRAPH_OPTIMIZATION_LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def requested_providers(device: str = "auto", providers: Sequence[str] | None = None) -> tuple[str, ...]:
    """Providers to ask for, in priority order: ``providers`` if given, else derived from ``device``.

    ``auto``: :data:`DEFAULT_PROVIDERS` that this build has; ``cpu``: CPU only; ``cuda``: CUDA then CPU.
    """
    if providers:
        return tuple(providers)
    if device == "auto":
        available = set(ort.get_available_providers())
        return tuple(p for p in DEFAULT_PROVIDERS if p in available)
    if device == "cpu":
        return (CPU_PROVIDER,)
    if device == "cuda":
        return (CUDA_PROVIDER, CPU_PROVIDER)
    raise ValueError(f"device {device!r} not supported by the onnx backend (auto, cpu, cuda; or pass providers=[...])")


def session_options(
    threads: int | None = None, graph_optimization: str = "all", spinning: bool = True
) -> ort.SessionOptions:
    """Sequential execution, ``threads`` intra-op threads (None: onnxruntime's default).

    ``spinning=False`` lets idle worker threads sleep instead of busy-waiting: a little more latency on an
    idle CPU, much less on one shared with other busy processes.
    """
    if graph_optimization not in GRAPH_OPTIMIZATION_LEVELS:
        raise ValueError(f"graph_optimization {graph_optimization!r} not in {sorted(GRAPH_OPTIMIZATION_LEVELS)}")
    options = ort.SessionOptions()
    options.graph_optimization_level = GRAPH_OPTIMIZATION_LEVELS[graph_optimization]
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    if threads:
        options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return options


def open_session(
    path: Path, spec: GraphSpec, options: ort.SessionOptions, providers: Sequence[str]
) -> ort.InferenceSession:
    """Load one graph and require its boundary to equal ``spec`` (names, order, shapes, float32)."""
    try:
        session = ort.InferenceSession(str(path), options, providers=list(providers))
    except Exception as error:  # onnxruntime raises bare Exception subclasses for unreadable models
        raise ModelDirError(f"{path} cannot be loaded by ONNX Runtime: {error}") from error
    for kind, actual, expected in (
        ("input", session.get_inputs(), spec.inputs),
        ("output", session.get_outputs(), spec.outputs),
    ):
        found = [(node.name, tuple(node.shape), node.type) for node in actual]
        wanted = [(tensor.name, tensor.shape, "tensor(float)") for tensor in expected]
        if found != wanted:
            raise ModelDirError(f"{path}: {kind}s {found} do not match model.json {wanted}")
    return session


def provider_warnings(requested: Sequence[str], used: Sequence[str], graph: str) -> list[str]:
    """One message per requested provider that this build lacks or that the session did not take."""
    available = set(ort.get_available_providers())
    messages = []
    for provider in requested:
        if provider not in available:
            messages.append(f"{provider} requested but this onnxruntime build lacks it (has {sorted(available)})")
        elif provider not in used:
            messages.append(f"{provider} requested but {graph} fell back to {list(used)}")
    return messages


class OnnxRunner:
    """Runs ``template.onnx`` once per target and ``search.onnx`` per frame."""

    def __init__(
        self,
        model_dir: str | Path,
        providers: Sequence[str] = (CPU_PROVIDER,),
        threads: int | None = None,
        graph_optimization: str = "all",
        spinning: bool = True,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.manifest: ModelManifest = read_manifest(self.model_dir)
        self.config = self.manifest.config
        options = session_options(threads, graph_optimization, spinning)
        available = set(ort.get_available_providers())  # the others become warnings below, not onnxruntime noise
        usable = [provider for provider in providers if provider in available] or [CPU_PROVIDER]
        self._options, self._usable = options, usable
        self.template_session, self.search_session = (
            open_session(self.model_dir / spec.file, spec, options, usable)
            for spec in (self.manifest.template, self.manifest.search)
        )
        used = tuple(self.search_session.get_providers())
        warnings = dict.fromkeys(
            provider_warnings(providers, self.template_session.get_providers(), self.manifest.template.file)
            + provider_warnings(providers, used, self.manifest.search.file)
        )
        for message in warnings:
            LOGGER.warning("onnx backend: %s", message)
        self.device_info = DeviceInfo(
            backend="onnx", device=PROVIDER_DEVICES.get(used[0], used[0]), providers=used,
            requested=tuple(providers), warnings=tuple(warnings),
        )
        LOGGER.info("onnx backend: %s (%s) on %s", self.model_dir, self.manifest.precision, list(used))
        self._template_input = self.manifest.template.inputs[0]
        self._search_input = self.manifest.search.inputs[0]
        self._state_names = list(self.manifest.state_names)
        self._search_outputs = [tensor.name for tensor in self.manifest.search.outputs]

    def encode_template(self, template: np.ndarray) -> tuple[np.ndarray, ...]:
        """Template crop (1, 3, Ht, Wt) -> the cached tensors, in ``model.json`` order."""
        self._check_shape(template, self._template_input.shape, self.manifest.template.file)
        return tuple(self.template_session.run(self._state_names, {self._template_input.name: template}))

    def track_search(self, search: np.ndarray, state: tuple[np.ndarray, ...]) -> SearchOutput:
        """Search crop (1, 3, Hs, Ws) + cached tensors -> box and corner maps of the first sample."""
        self._check_shape(search, self._search_input.shape, self.manifest.search.file)
        feeds = {self._search_input.name: search, **dict(zip(self._state_names, state, strict=True))}
        pred_boxes, prob_tl, prob_br = self.search_session.run(self._search_outputs, feeds)
        return SearchOutput(pred_box=pred_boxes[0], prob_tl=prob_tl[:1], prob_br=prob_br[:1])

    def open_graph(self, spec: GraphSpec) -> ort.InferenceSession:
        """Another graph of the directory, with this runner's session options and providers."""
        return open_session(self.model_dir / spec.file, spec, self._options, self._usable)

    def _check_shape(self, array: np.ndarray, expected: tuple[int, ...], file: str) -> None:
        if array.shape != expected:
            raise ValueError(f"{self.model_dir / file} expects input shape {expected}, got {array.shape}")


def create(
    model: str = "asymtrack",
    variant: str = "tiny",
    device: str = "auto",
    model_dir: str | Path | None = None,
    weights: str | Path | None = None,
    providers: Sequence[str] | None = None,
    threads: int | None = None,
    graph_optimization: str = "all",
    spinning: bool = True,
    smoothing: SmoothingOverrides = NO_OVERRIDES,
    redetection: RedetectionOverrides = NO_REDETECTION_OVERRIDES,
    exit_thresholds: Sequence[float] | None = None,
) -> SiameseTracker:
    """ONNX Runtime tracker for an exported model directory (``asymtrack-export``).

    An early-exit model (DyTrack: ``"early_exit"`` in ``model.json``) stops at the first exit whose IoU
    prediction exceeds its threshold (``early_exit.py``); ``exit_thresholds`` overrides the ``model.json`` ones.

    ``model_dir=None`` uses :func:`default_model_dir` (model, variant); otherwise model and variant come
    from the directory's ``model.json``. ``weights`` (a checkpoint, instead of ``model_dir``) is exported
    once into a cache and reused (``asymtrack_ros/export/cache.py``; needs ``asymtrack_ros.export`` loaded).
    ``providers`` (priority order) overrides ``device``; ``threads``,
    ``graph_optimization`` and ``spinning``: see :func:`session_options`. The score calibration and the box
    smoothing and global re-detection are the ones in ``model.json``; ``smoothing`` and ``redetection`` override
    single values (see ``box_smoothing.py``, ``redetection.py``).
    """
    if weights is not None and model_dir is not None:
        raise ValueError("give the onnx backend model_dir or weights, not both")
    if weights is not None:
        directory = model_dir_for_weights(weights, model, variant)
    else:
        directory = Path(model_dir) if model_dir is not None else default_model_dir(model, variant)
    runner = OnnxRunner(directory, requested_providers(device, providers), threads, graph_optimization, spinning)
    manifest = runner.manifest
    network: NetworkRunner = runner
    if manifest.early_exit is not None:
        network = EarlyExitRunner(runner, runner.open_graph, exit_thresholds)
    elif exit_thresholds is not None:
        raise ValueError(f"exit_thresholds is for early-exit models; {directory} has none")
    return SiameseTracker(network, smoothing.apply(manifest.smoothing), manifest.calibration,
                          manifest.redetection.replace(redetection))
