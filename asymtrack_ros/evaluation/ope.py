"""One-pass evaluation (OPE): initialise once on the first frame with a visible target, then track every later frame.

No re-initialisation after failures. Frames before the initialisation frame (target absent at the start) are not
tracked. Each tracker is created once by its factory and re-initialised per sequence (``Tracker.initialize``
resets every cached state).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from asymtrack_ros.evaluation.metrics import Scores, evaluate_sequence, scored_frames
from asymtrack_ros.sequences import TrackSequence
from asymtrack_ros.tracking.base import Tracker

logger = logging.getLogger(__name__)

TrackerFactory = Callable[[], Tracker]
TIMING_FIELDS = ("preprocess_ms", "inference_ms", "postprocess_ms", "wall_ms")


@dataclass(frozen=True, eq=False)
class SequenceResult:
    """One tracker's pass over one sequence.

    ``boxes`` (N, 4), ``confidences`` (N,) and ``timings_ms`` (N, len(TIMING_FIELDS)) are NaN on frames that were
    not tracked (``confidences`` also where the tracker has no score); the ``init_frame`` row of ``boxes`` holds
    the ground truth the tracker started from. ``wall_ms`` is the wall-clock time of ``Tracker.track`` (frame
    decoding excluded), the other timings are the tracker's own.
    """

    tracker: str
    sequence: str
    init_frame: int
    boxes: np.ndarray
    confidences: np.ndarray
    timings_ms: np.ndarray
    scores: Scores

    @property
    def tracked_timings_ms(self) -> np.ndarray:
        """Timing rows of the tracked frames (those after ``init_frame``)."""
        return self.timings_ms[self.init_frame + 1 :]


def run_sequence(tracker: Tracker, sequence: TrackSequence, tracker_name: str) -> SequenceResult:
    """Run ``tracker`` over ``sequence`` once and score it."""
    num_frames, init_frame = len(sequence), sequence.init_frame
    boxes = np.full((num_frames, 4), np.nan)
    confidences = np.full(num_frames, np.nan)
    timings_ms = np.full((num_frames, len(TIMING_FIELDS)), np.nan)
    boxes[init_frame] = sequence.ground_truth[init_frame]
    tracker.initialize(sequence.read_frame(init_frame), tuple(boxes[init_frame]))
    for index in range(init_frame + 1, num_frames):
        image = sequence.read_frame(index)
        start = time.perf_counter()
        result = tracker.track(image)
        wall_ms = (time.perf_counter() - start) * 1e3
        boxes[index] = result.box
        confidences[index] = np.nan if result.score is None else result.score
        timings_ms[index] = (result.preprocess_ms, result.inference_ms, result.postprocess_ms, wall_ms)
    scores = evaluate_sequence(boxes, sequence.ground_truth, scored_frames(sequence.absent, init_frame))
    return SequenceResult(tracker_name, sequence.name, init_frame, boxes, confidences, timings_ms, scores)


def run_ope(
    factories: Mapping[str, TrackerFactory],
    sequences: Iterable[TrackSequence],
    progress: Callable[[str], None] = logger.info,
) -> dict[str, list[SequenceResult]]:
    """Every named tracker run over every sequence: results by tracker name, in sequence order.

    ``progress`` receives a line per finished tracker and sequence (tracker, sequence, AUC, fps).
    """
    sequences = list(sequences)
    results: dict[str, list[SequenceResult]] = {}
    for name, factory in factories.items():
        tracker = factory()
        results[name] = []
        for position, sequence in enumerate(sequences, start=1):
            result = run_sequence(tracker, sequence, name)
            results[name].append(result)
            fps = timing_summary(result.tracked_timings_ms)["fps"]
            auc = result.scores.auc
            progress(f"{name} [{position}/{len(sequences)}] {sequence.name}: AUC {auc:.3f}, {fps:.1f} fps")
    return results


def timing_summary(timings_ms: np.ndarray) -> dict[str, float]:
    """Mean of each timing field over the given (frames, fields) rows, and ``fps`` from the mean wall time."""
    if not len(timings_ms):
        return {**dict.fromkeys(TIMING_FIELDS, float("nan")), "fps": float("nan")}
    means = dict(zip(TIMING_FIELDS, (float(value) for value in timings_ms.mean(axis=0)), strict=True))
    return {**means, "fps": 1e3 / means["wall_ms"] if means["wall_ms"] > 0 else float("inf")}
