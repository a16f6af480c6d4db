"""Timing of trackers on a frame sequence: per-frame stage latencies, template initialisation, network time."""

from __future__ import annotations

import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asymtrack_ros.data.frame_sources import FrameSequence
from asymtrack_ros.tracking import Tracker
from asymtrack_ros.tracking.siamese import SiameseTracker

PERCENTILES = (50, 90, 99)
STAGES = ("preprocess_ms", "inference_ms", "postprocess_ms", "frame_ms")


def rss_mb(field_name: str = "VmRSS") -> float:
    """Resident set size (``VmRSS``) or its peak (``VmHWM``) of this process in MiB, from /proc."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB; the peak only


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """``{"p50": ..., "p90": ..., "p99": ..., "mean": ...}`` of millisecond samples."""
    values = np.asarray(samples, dtype=np.float64)
    return {**{f"p{q}": float(np.percentile(values, q)) for q in PERCENTILES}, "mean": float(values.mean())}


@dataclass
class Measurement:
    """Raw samples of one tracker, pooled over rounds."""

    stages: dict[str, list[float]] = field(default_factory=lambda: {stage: [] for stage in STAGES})
    init_ms: list[float] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    rss_growth_mb: float = 0.0

    def run(self, tracker: Tracker, sequence: FrameSequence) -> None:
        """One pass: initialise on frame 0 and track the others, recording every stage."""
        start = time.perf_counter()
        tracker.initialize(sequence.frames[0], sequence.init_box)
        self.init_ms.append((time.perf_counter() - start) * 1e3)
        boxes = [sequence.init_box]
        for frame in sequence.frames[1:]:
            start = time.perf_counter()
            result = tracker.track(frame)
            self.stages["frame_ms"].append((time.perf_counter() - start) * 1e3)
            self.stages["preprocess_ms"].append(result.preprocess_ms)
            self.stages["inference_ms"].append(result.inference_ms)
            self.stages["postprocess_ms"].append(result.postprocess_ms)
            boxes.append(result.box)
        self.boxes.append(np.asarray(boxes, dtype=np.float64))

    def summary(self) -> dict:
        frame_total, inference_total = sum(self.stages["frame_ms"]), sum(self.stages["inference_ms"])
        return {
            **{stage: percentiles(samples) for stage, samples in self.stages.items()},
            "template_init_ms": percentiles(self.init_ms),
            "fps": 1e3 * len(self.stages["frame_ms"]) / frame_total,
            "outside_inference_fraction": 1.0 - inference_total / frame_total,
            "frames_timed": len(self.stages["frame_ms"]),
            "rss_growth_mb": self.rss_growth_mb,
        }


def network_times(tracker: SiameseTracker, sequence: FrameSequence, boxes: np.ndarray) -> dict[str, dict]:
    """Network-only ms per frame with the cached template vs recomputing it every frame (one-stream cost).

    Uses the tracker's own crops (template on frame 0, search around the previous tracked box); the two
    variants alternate frame by frame so that host load hits both alike.
    """
    runner = tracker.runner
    template = tracker.template_input(sequence.frames[0], sequence.init_box)
    state = runner.encode_template(template)
    cached, recomputed = [], []
    for frame, previous in zip(sequence.frames[1:], boxes[:-1], strict=True):
        search, _ = tracker.search_input(frame, tuple(previous))
        start = time.perf_counter()
        runner.track_search(search, state)
        middle = time.perf_counter()
        runner.track_search(search, runner.encode_template(template))
        end = time.perf_counter()
        cached.append((middle - start) * 1e3)
        recomputed.append((end - middle) * 1e3)
    return {"network_cached_ms": percentiles(cached), "network_recomputed_template_ms": percentiles(recomputed)}
