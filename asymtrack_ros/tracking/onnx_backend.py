"""ONNX Runtime backend: an exported model directory run as a :class:`NetworkRunner` (no torch import).

The template graph runs once per target and returns the cached tensors; the search graph takes the
search crop plus those tensors. Cropping, normalisation, map-back and scoring are the shared
:class:`SiameseTracker`'s. Execution providers are tried in priority order; the ones a session
actually uses are in ``tracker.device_info`` and a requested provider that is missing or fell back
is logged as a warning and listed in ``device_info.warnings``. Provider options (CUDA device, TensorRT fp16
and engine cache) are ``ort_providers.py``'s; on CUDA and TensorRT the template state stays on the GPU.
A search graph exported with a dynamic batch (``model.json``: ``"batch"``) also searches for several targets in
one pass (:meth:`OnnxRunner.track_search_batch`), their template states stacked once per set of targets.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from asymtrack_ros.tracking.base import DeviceInfo, Tracker
from asymtrack_ros.tracking.box_smoothing import NO_OVERRIDES, SmoothingOverrides
from asymtrack_ros.tracking.early_exit import EarlyExitRunner
from asymtrack_ros.tracking.fusion import network_threads, with_local_tracker
from asymtrack_ros.tracking.installed_models import default_model_dir
from asymtrack_ros.tracking.manifest import GraphSpec, ModelDirError, ModelManifest, read_manifest
from asymtrack_ros.tracking.ort_providers import (
    CPU_PROVIDER,
    TENSORRT_PROVIDER,
    GpuSettings,
    device_label,
    engine_cache_dir,
    provider_options,
    requested_providers,
    split_device,
    trt_cache_root,
    uses_io_binding,
)
from asymtrack_ros.tracking.redetection import NO_REDETECTION_OVERRIDES, RedetectionOverrides
from asymtrack_ros.tracking.siamese import NetworkRunner, SearchOutput, SiameseTracker
from asymtrack_ros.tracking.weights_export import model_dir_for_weights

LOGGER = logging.getLogger(__name__)

GRAPH_OPTIMIZATION_LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def session_options(
    threads: int | None = None, graph_optimization: str = "all", spinning: bool = False
) -> ort.SessionOptions:
    """Sequential execution, ``threads`` intra-op threads (None: onnxruntime's default).

    ``spinning=True`` lets idle worker threads busy-wait instead of sleeping: a little less latency on an
    otherwise idle CPU, much more on one shared with other threads (a fused local tracker, OpenCV's own pool) or
    busy processes.
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
    path: Path, spec: GraphSpec, options: ort.SessionOptions, providers: Sequence[str], settings: GpuSettings
) -> ort.InferenceSession:
    """Load one graph with ``providers`` (their options from ``settings``) and require its boundary to equal
    ``spec`` (names, order, shapes, float32)."""
    try:
        session = ort.InferenceSession(str(path), options, providers=list(providers),
                                       provider_options=[provider_options(p, settings) for p in providers])
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


def gpu_settings(manifest: ModelManifest, providers: Sequence[str], device_id: int, trt_fp16: bool) -> GpuSettings:
    """The GPU providers' options for ``manifest``'s graphs; with TensorRT among ``providers`` its engine cache
    folder (:func:`engine_cache_dir` under :func:`trt_cache_root`) is created."""
    if TENSORRT_PROVIDER not in providers:
        return GpuSettings(device_id, trt_fp16)
    cache_dir = engine_cache_dir(trt_cache_root(), [graph.sha256 for graph in manifest.graphs], trt_fp16)
    cache_dir.mkdir(parents=True, exist_ok=True)
    return GpuSettings(device_id, trt_fp16, cache_dir)


class OnnxRunner:
    """Runs ``template.onnx`` once per target and ``search.onnx`` per frame.

    ``state_device``: where :meth:`encode_template` keeps the template state. None (CPU providers, early-exit
    models): numpy arrays, searched with a plain ``run``; ``("cuda", N)`` (CUDA or TensorRT first): OrtValues
    on that GPU, bound to the search graph through an IO binding so that they are not copied every frame.
    """

    def __init__(
        self,
        model_dir: str | Path,
        providers: Sequence[str] = (CPU_PROVIDER,),
        threads: int | None = None,
        graph_optimization: str = "all",
        spinning: bool = False,
        device_id: int = 0,
        trt_fp16: bool = True,
        manifest: ModelManifest | None = None,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.manifest: ModelManifest = manifest if manifest is not None else read_manifest(self.model_dir)
        self.config = self.manifest.config
        options = session_options(threads, graph_optimization, spinning)
        available = set(ort.get_available_providers())  # the others become warnings below, not onnxruntime noise
        usable = [provider for provider in providers if provider in available] or [CPU_PROVIDER]
        self._options, self._usable = options, usable
        self._settings = gpu_settings(self.manifest, usable, device_id, trt_fp16)
        self.template_session, self.search_session = (
            open_session(self.model_dir / spec.file, spec, options, usable, self._settings)
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
            backend="onnx", device=device_label(used[0], device_id), providers=used,
            requested=tuple(providers), warnings=tuple(warnings),
        )
        bind = uses_io_binding(used) and self.manifest.early_exit is None  # early exit: segments take numpy
        self.state_device: tuple[str, int] | None = ("cuda", device_id) if bind else None
        LOGGER.info("onnx backend: %s (%s) on %s", self.model_dir, self.manifest.precision, list(used))
        self._template_input = self.manifest.template.inputs[0]
        self._search_input = self.manifest.search.inputs[0]
        self._state_names = list(self.manifest.state_names)
        self._search_outputs = [tensor.name for tensor in self.manifest.search.outputs]
        self.batched = self.manifest.batched_search
        self._stacked: tuple[tuple[object, ...], tuple[np.ndarray | ort.OrtValue, ...]] = ((), ())

    def encode_template(self, template: np.ndarray) -> tuple[np.ndarray | ort.OrtValue, ...]:
        """Template crop (1, 3, Ht, Wt) -> the cached tensors, in ``model.json`` order (on ``state_device``)."""
        self._check_shape(template, self._template_input.shape, self.manifest.template.file)  # static batch 1
        state = self.template_session.run(self._state_names, {self._template_input.name: template})
        if self.state_device is None:
            return tuple(state)
        return tuple(ort.OrtValue.ortvalue_from_numpy(array, *self.state_device) for array in state)

    def track_search(self, search: np.ndarray, state: tuple[np.ndarray | ort.OrtValue, ...]) -> SearchOutput:
        """Search crop (1, 3, Hs, Ws) + cached tensors -> box and corner maps of the first sample."""
        self._check_shape(search, (1, *self._search_input.sample_shape), self.manifest.search.file)
        return self._run_search(search, state)[0]

    def track_search_batch(self, search: np.ndarray, states: Sequence[tuple[np.ndarray | ort.OrtValue, ...]]
                           ) -> list[SearchOutput]:
        """Search crops (N, 3, Hs, Ws), one per target, + each target's cached tensors -> one output per target,
        in one pass (:attr:`batched` graphs only; ValueError otherwise)."""
        if not self.batched:
            raise ValueError(f"{self.model_dir / self.manifest.search.file} takes batch 1: export it with "
                             "--dynamic-batch to search for several targets in one pass")
        self._check_shape(search, (len(states), *self._search_input.sample_shape), self.manifest.search.file)
        return self._run_search(search, self._stacked_states(states))

    def _stacked_states(self, states: Sequence[tuple[np.ndarray | ort.OrtValue, ...]]
                        ) -> tuple[np.ndarray | ort.OrtValue, ...]:
        """The targets' template tensors stacked along the batch, rebuilt only when the set of states changes
        (the cache holds the states themselves, so their identities stay unique)."""
        key = tuple(states)
        cached_key, stacked = self._stacked
        if len(key) != len(cached_key) or any(a is not b for a, b in zip(key, cached_key, strict=True)):
            on_host = [[v.numpy() if isinstance(v, ort.OrtValue) else v for v in state] for state in states]
            arrays = tuple(np.concatenate(tensors) for tensors in zip(*on_host, strict=True))
            stacked = arrays if self.state_device is None else tuple(
                ort.OrtValue.ortvalue_from_numpy(array, *self.state_device) for array in arrays)
            self._stacked = (key, stacked)
        return stacked

    def _run_search(self, search: np.ndarray, state: Sequence[np.ndarray | ort.OrtValue]) -> list[SearchOutput]:
        """One search-graph pass; one output per sample of the batch."""
        if self.state_device is None:
            feeds = {self._search_input.name: search, **dict(zip(self._state_names, state, strict=True))}
            pred_boxes, prob_tl, prob_br = self.search_session.run(self._search_outputs, feeds)
        else:
            pred_boxes, prob_tl, prob_br = self._run_bound_search(search, state)
        return [SearchOutput(pred_box=pred_boxes[i], prob_tl=prob_tl[i:i + 1], prob_br=prob_br[i:i + 1])
                for i in range(search.shape[0])]

    def _run_bound_search(self, search: np.ndarray, state: Sequence[ort.OrtValue]) -> list[np.ndarray]:
        """The search graph through an IO binding: the crop is copied to the device, the state is bound where it
        lies, the (small) outputs come back to host memory."""
        binding = self.search_session.io_binding()
        binding.bind_cpu_input(self._search_input.name, search)
        for name, value in zip(self._state_names, state, strict=True):
            binding.bind_ortvalue_input(name, value)
        for name in self._search_outputs:
            binding.bind_output(name)
        self.search_session.run_with_iobinding(binding)
        return list(binding.copy_outputs_to_cpu())

    def open_graph(self, spec: GraphSpec) -> ort.InferenceSession:
        """Another graph of the directory, with this runner's session options and providers."""
        return open_session(self.model_dir / spec.file, spec, self._options, self._usable, self._settings)

    def _check_shape(self, array: np.ndarray, expected: tuple[int | str, ...], file: str) -> None:
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
    spinning: bool = False,
    smoothing: SmoothingOverrides = NO_OVERRIDES,
    redetection: RedetectionOverrides = NO_REDETECTION_OVERRIDES,
    exit_thresholds: Sequence[float] | None = None,
    trt_fp16: bool = True,
    local_tracker: str | None = None,
) -> Tracker:
    """ONNX Runtime tracker for an exported model directory (``asymtrack-export``).

    An early-exit model (DyTrack: ``"early_exit"`` in ``model.json``) stops at the first exit whose IoU
    prediction exceeds its threshold (``early_exit.py``); ``exit_thresholds`` overrides the ``model.json`` ones.

    ``model_dir=None`` uses :func:`default_model_dir` (model, variant); otherwise model and variant come
    from the directory's ``model.json``. ``weights`` (a checkpoint, instead of ``model_dir``) is exported
    once into a cache and reused (``asymtrack_ros/export/cache.py``; needs ``asymtrack_ros.export`` loaded).
    ``providers`` (priority order) overrides ``device`` (``auto``, ``cpu``, ``cuda[:N]``, ``tensorrt[:N]``; the GPU
    index N applies to the CUDA and TensorRT providers either way). ``trt_fp16``: TensorRT may run in fp16
    (engines cached under ``$XDG_CACHE_HOME/asymtrack_ros/trt``, see ``ort_providers.py``). ``threads``
    (the tracker's CPU threads: the network's all, shared with a fused local tracker while its threads
    sleep, one fewer when they spin; ``fusion.network_threads``),
    ``graph_optimization`` and ``spinning``: see :func:`session_options`. The score calibration and the box
    smoothing, global re-detection, local tracker, verification and confirmation heads are the ones in ``model.json``;
    ``smoothing`` and ``redetection`` override single values (see ``box_smoothing.py``, ``redetection.py``),
    ``local_tracker`` the OpenCV tracker fused with the network ("none": the network alone; ``fusion.py``).
    """
    if weights is not None and model_dir is not None:
        raise ValueError("give the onnx backend model_dir or weights, not both")
    if weights is not None:
        directory = model_dir_for_weights(weights, model, variant)
    else:
        directory = Path(model_dir) if model_dir is not None else default_model_dir(model, variant)
    manifest = read_manifest(directory)
    fusion = manifest.fusion.with_local_tracker(local_tracker)
    runner = OnnxRunner(directory, requested_providers(device, providers), network_threads(threads, fusion, spinning),
                        graph_optimization, spinning, split_device(device)[1], trt_fp16, manifest)
    network: NetworkRunner = runner
    if manifest.early_exit is not None:
        network = EarlyExitRunner(runner, runner.open_graph, exit_thresholds)
    elif exit_thresholds is not None:
        raise ValueError(f"exit_thresholds is for early-exit models; {directory} has none")
    tracker = SiameseTracker(network, smoothing.apply(manifest.smoothing), manifest.calibration,
                             manifest.redetection.replace(redetection), manifest.verification, manifest.confirmation)
    return with_local_tracker(tracker, fusion)
