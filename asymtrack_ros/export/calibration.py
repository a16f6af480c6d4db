"""Calibration inputs for both graphs from generated sequences, and the activation ranges they produce."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader

from asymtrack_ros.data.synthetic import generated_sequence
from asymtrack_ros.tracking.manifest import SEARCH_FILE, TEMPLATE_FILE
from asymtrack_ros.tracking.onnx_backend import OnnxRunner
from asymtrack_ros.tracking.siamese import SiameseTracker

Feeds = list[dict[str, np.ndarray]]
FRAMES_PER_SEQUENCE = 8


def calibration_feeds(model_dir: Path, samples: int, seed: int = 1) -> dict[str, Feeds]:
    """Inputs of ``template.onnx`` and ``search.onnx``: one template per generated sequence, then search
    crops around the previous ground-truth box jittered by 10% of its size (as when tracking)."""
    runner = OnnxRunner(model_dir)
    tracker, manifest = SiameseTracker(runner), runner.manifest
    rng = np.random.default_rng(seed)
    feeds: dict[str, Feeds] = {TEMPLATE_FILE: [], SEARCH_FILE: []}
    for sequence_seed in range(seed, seed + -(-samples // FRAMES_PER_SEQUENCE)):
        frames, boxes = generated_sequence(num_frames=FRAMES_PER_SEQUENCE + 1, seed=sequence_seed)
        template = tracker.template_input(frames[0], tuple(boxes[0]))
        state = dict(zip(manifest.state_names, runner.encode_template(template), strict=True))
        feeds[TEMPLATE_FILE].append({manifest.template.inputs[0].name: template})
        for frame, (x, y, w, h) in zip(frames[1:], boxes[:-1], strict=True):
            jittered = (x + rng.normal(0, 0.1) * w, y + rng.normal(0, 0.1) * h, w, h)
            search, _ = tracker.search_input(frame, jittered)
            feeds[SEARCH_FILE].append({manifest.search.inputs[0].name: search, **state})
    return {name: items[:samples] for name, items in feeds.items()}


class FeedReader(CalibrationDataReader):
    """Hands precomputed input dicts to onnxruntime's calibrator."""

    def __init__(self, feeds: Feeds) -> None:
        self._feeds: Iterator[dict[str, np.ndarray]] = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def activation_peaks(model_path: Path, feeds: Feeds) -> dict[str, float]:
    """Largest |value| of every float tensor the graph computes (inputs included) over ``feeds``."""
    model = onnx.load(str(model_path))
    outputs = {value.name for value in model.graph.output}
    for node in model.graph.node:
        model.graph.output.extend(onnx.ValueInfoProto(name=name) for name in node.output if name not in outputs)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep every tensor name
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [value.name for value in session.get_outputs()]
    peaks: dict[str, float] = {}
    for feed in feeds:
        arrays = {**feed, **dict(zip(names, session.run(names, feed), strict=True))}
        for name, array in arrays.items():
            if array.dtype == np.float32 and array.size:
                peaks[name] = max(peaks.get(name, 0.0), float(np.abs(array).max()))
    return peaks
