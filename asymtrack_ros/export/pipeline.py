"""Checkpoint -> validated ONNX model directory (``template.onnx``, ``search.onnx``, ``model.json``)."""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from tempfile import TemporaryDirectory

import onnx
import onnxruntime as ort
import torch

import asymtrack_ros
from asymtrack_ros.checkpoint import load_weights
from asymtrack_ros.export.deviation import generated_box_deviation
from asymtrack_ros.export.early_exit import exit_parity, export_exit_graphs
from asymtrack_ros.export.graphs import ExportError, batch_parity, boundary, export_graphs, torch_parity
from asymtrack_ros.export.precision import convert_fp16, quantize_int8
from asymtrack_ros.models.config import ModelConfig
from asymtrack_ros.models.dytrack import NEVER_EXIT, DyTrack, validated_thresholds
from asymtrack_ros.models.factory import build_model, model_family
from asymtrack_ros.models.network import TrackerNetwork
from asymtrack_ros.tracking.box_smoothing import NO_SMOOTHING, BoxSmoothing
from asymtrack_ros.tracking.checksums import sha256_file
from asymtrack_ros.tracking.confidence import IDENTITY, ScoreCalibration
from asymtrack_ros.tracking.fusion import NO_FUSION, FusionSettings
from asymtrack_ros.tracking.manifest import (
    MIN_OPSET,
    MODEL_JSON,
    PRECISIONS,
    SEARCH_FILE,
    TEMPLATE_FILE,
    EarlyExitSpec,
    GraphSpec,
    ModelManifest,
    write_manifest,
)
from asymtrack_ros.tracking.verification import VerificationHead

LOGGER = logging.getLogger(__name__)

Weights = str | Path | Mapping[str, torch.Tensor] | None


def deploy_model(model: str, variant: str, weights: Weights, random_init: bool, seed: int) -> TrackerNetwork:
    """The network in export form: weights loaded (or seeded random), eval, OPE and BatchNorms folded."""
    if weights is None and not random_init:
        raise ValueError(f"no checkpoint given for {model}-{variant} (pass one, or random_init=True for tests)")
    torch.manual_seed(seed)
    network = build_model(model, variant)
    if weights is not None:
        load_weights(network, weights, model_family(model).checkpoint_filter)
    return network.eval().fuse(fold_batchnorm=True)


def source_checkpoint(weights: Weights) -> dict[str, str] | None:
    """``{"file", "sha256"}`` of the weights: the file's bytes, or the tensors of an in-memory state dict."""
    if weights is None:
        return None
    if isinstance(weights, str | Path):
        return {"file": Path(weights).name, "sha256": sha256_file(Path(weights))}
    digest = hashlib.sha256()
    for key in sorted(weights):
        digest.update(key.encode())
        digest.update(weights[key].detach().cpu().contiguous().numpy().tobytes())
    return {"file": "<state dict>", "sha256": digest.hexdigest()}


def describe_directory(
    directory: Path, config: ModelConfig, precision: str, opset: int, source: dict[str, str] | None, validation: dict,
    smoothing: BoxSmoothing = NO_SMOOTHING, calibration: ScoreCalibration = IDENTITY,
    fusion: FusionSettings = NO_FUSION, verification: VerificationHead | None = None,
    early_exit: EarlyExitSpec | None = None,
) -> ModelManifest:
    """Manifest of the ONNX files in ``directory`` (boundaries and checksums read from the files); writes it."""

    def graph_spec(name: str) -> GraphSpec:
        inputs, outputs = boundary(directory / name)
        return GraphSpec(name, sha256_file(directory / name), inputs, outputs)

    template, search = graph_spec(TEMPLATE_FILE), graph_spec(SEARCH_FILE)
    exporter = {"asymtrack_ros": asymtrack_ros.__version__, "torch": torch.__version__, "onnx": onnx.__version__,
                "onnxruntime": ort.__version__}
    manifest = ModelManifest(
        config, precision, opset, template, search, source, exporter, validation, smoothing, calibration,
        early_exit=early_exit, fusion=fusion, verification=verification,
    )
    write_manifest(directory, manifest)
    return manifest


def install(staging: Path, out_dir: Path, manifest: ModelManifest) -> None:
    """Copy the ONNX files, then ``model.json`` last (a half-copied directory fails its checksums)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in (*(graph.file for graph in manifest.graphs), MODEL_JSON):
        shutil.copyfile(staging / name, out_dir / name)


def reduce_precision(fp32_dir: Path, fp32: ModelManifest, target: Path, precision: str, samples: int) -> dict:
    """Write the fp16/int8 graphs of ``fp32_dir`` into ``target``; returns their box deviation from fp32."""
    if precision == "fp16":
        convert_fp16(fp32_dir, target, samples)
    else:
        quantize_int8(fp32_dir, target, samples)
    describe_directory(target, fp32.config, precision, fp32.opset, fp32.source_checkpoint, fp32.validation,
                       fp32.smoothing, fp32.calibration, fp32.fusion, fp32.verification)
    deviation = generated_box_deviation(fp32_dir, target)
    LOGGER.info("%s vs fp32 boxes on the %s: tracked mean %.3f px (max %.3f), per frame mean %.3f px (max %.3f)",
                precision, deviation["sequence"], deviation["tracked_px_mean"], deviation["tracked_px_max"],
                deviation["per_frame_px_mean"], deviation["per_frame_px_max"])
    return {f"box_deviation_vs_fp32_{key}": value for key, value in deviation.items()}


def export_model(
    out_dir: str | Path,
    model: str = "asymtrack",
    variant: str = "tiny",
    weights: Weights = None,
    precision: str = "fp32",
    *,
    random_init: bool = False,
    seed: int = 0,
    opset: int = MIN_OPSET,
    tolerance: float = 1e-4,
    calibration_samples: int = 32,
    smoothing: BoxSmoothing = NO_SMOOTHING,
    calibration: ScoreCalibration = IDENTITY,
    exit_thresholds: tuple[float, ...] | None = None,
    dynamic_batch: bool = False,
    fusion: FusionSettings = NO_FUSION,
    verification: VerificationHead | None = None,
) -> ModelManifest:
    """Export, check and validate; ``out_dir`` only receives files once everything passed.

    An early-exit model (DyTrack) also gets one graph per segment and per exit head (``early_exit.py``), each exit
    checked against PyTorch within ``tolerance``; ``exit_thresholds`` (default: the model's) are recorded as the
    default tau_k, and ``search.onnx`` is its full pass (no early exit). fp32 only, for now.

    ``smoothing``, ``calibration``, ``fusion`` and ``verification`` are recorded in ``model.json`` (the box
    smoothing, score calibration, local tracker and verification head that suit the model; the head runs on the
    exported template graph). ``dynamic_batch``: ``search.onnx`` takes any batch (the search crops of several targets in
    one pass; models without early exits); each sample must match a batch-1 run within ``tolerance``.
    The fp32 graphs must match PyTorch within ``tolerance`` (max abs diff of boxes and corner maps on
    random crops). fp16/int8 graphs derive from them; their box deviation from fp32 on a generated
    sequence is logged and stored in ``model.json["validation"]``.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} not in {PRECISIONS}")
    if opset < MIN_OPSET:
        raise ValueError(f"opset {opset} < {MIN_OPSET}")
    network = deploy_model(model, variant, weights, random_init, seed)
    thresholds = None
    if isinstance(network, DyTrack):
        if precision != "fp32":
            raise ValueError(f"{model} exports in fp32 only (its segment graphs have no {precision} path yet)")
        thresholds = validated_thresholds(exit_thresholds or network.exit_thresholds)
        network.exit_thresholds = NEVER_EXIT  # search.onnx: the plain full pass
    elif exit_thresholds is not None:
        raise ValueError(f"exit_thresholds is for early-exit models (dytrack), not {model}")
    if dynamic_batch and isinstance(network, DyTrack):
        raise ValueError(f"{model} runs its exits one target at a time: export it without dynamic_batch")
    source = source_checkpoint(weights)
    with TemporaryDirectory() as scratch:
        fp32_dir, final_dir = Path(scratch) / "fp32", Path(scratch) / precision
        fp32_dir.mkdir()
        export_graphs(network, fp32_dir, opset, dynamic_batch)
        validation = {**torch_parity(network, fp32_dir), "tolerance": tolerance}
        if dynamic_batch:
            validation["max_abs_diff_batch_vs_single"] = batch_parity(fp32_dir)
        early_exit = None
        if isinstance(network, DyTrack) and thresholds is not None:
            early_exit = export_exit_graphs(network, fp32_dir, opset, thresholds)
            validation |= exit_parity(network, fp32_dir, early_exit)
        max_abs_diff = max(validation["max_abs_diff_vs_torch"], validation.get("exits_max_abs_diff_vs_torch", 0.0),
                           validation.get("max_abs_diff_batch_vs_single", 0.0))
        LOGGER.info("%s-%s: ONNX Runtime vs PyTorch max abs diff %.2e (tolerance %.0e), template state rel. diff %.1e",
                    model, variant, max_abs_diff, tolerance, validation["state_max_rel_diff_vs_torch"])
        if max_abs_diff > tolerance:
            raise ExportError(f"ONNX Runtime output differs from PyTorch by {max_abs_diff:.2e} > {tolerance:.0e}")
        tuning = (smoothing, calibration, fusion, verification)
        manifest = describe_directory(fp32_dir, network.config, "fp32", opset, source, validation, *tuning,
                                      early_exit=early_exit)
        if precision != "fp32":
            final_dir.mkdir()
            validation = {**validation, **reduce_precision(fp32_dir, manifest, final_dir, precision,
                                                           calibration_samples)}
            manifest = describe_directory(final_dir, network.config, precision, opset, source, validation, *tuning)
        install(final_dir, Path(out_dir), manifest)
    return manifest
