"""One-pass evaluation (OPE): initialise once on the first frame with a visible target, then track every later frame.

Each tracker runs inside a :class:`TrackingSession` (lost monitor, appearance check, global re-detection), as
the node runs it: the recorded box is the tracker's box of every frame (also while LOST), next to the
published score and the state. No re-initialisation after failures. Frames before the initialisation frame
(target absent at the start) are not tracked. Each tracker is created once by its factory and re-initialised per
sequence (``Tracker.initialize`` resets every cached state; each sequence gets a new session).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from asymtrack_ros.boxes import iou
from asymtrack_ros.dataset_layouts import lookalike_boxes
from asymtrack_ros.evaluation.lost_search import MissCause, TracedHit, miss_causes, trace_hit
from asymtrack_ros.evaluation.metrics import Scores, evaluate_sequence, scored_frames
from asymtrack_ros.evaluation.robustness import Robustness, evaluate_robustness, on_lookalikes, return_spans
from asymtrack_ros.sequences import TrackSequence
from asymtrack_ros.tracking.base import DeviceInfo, Tracker
from asymtrack_ros.tracking.monitor import LostPolicy, TrackState
from asymtrack_ros.tracking.session import FrameOutcome, TrackingSession

logger = logging.getLogger(__name__)

TrackerFactory = Callable[[], Tracker]
DEFAULT_POLICY = LostPolicy()
TIMING_FIELDS = ("preprocess_ms", "inference_ms", "postprocess_ms", "wall_ms")


@dataclass(frozen=True, eq=False)
class SequenceResult:
    """One tracker's pass over one sequence.

    ``boxes`` (N, 4), ``confidences`` (N,), ``published`` (N,) and ``timings_ms`` (N, len(TIMING_FIELDS)) are NaN
    on frames that were not tracked (``confidences``, the tracker's own score, also where the tracker has none;
    ``published`` is the session's score); ``states`` holds the session's :class:`TrackState` (IDLE where not
    tracked), ``exits`` the early exit that answered (DyTrack; 0 where none did or the model has no exits),
    ``device`` where the tracker ran (``Tracker.device_info``; None: not recorded), ``search_hits`` the
    re-detection's hits while LOST against the truth and ``miss_causes`` why each return was or was not re-acquired
    in time (``lost_search.py``). The ``init_frame`` row of
    ``boxes`` holds the ground truth the tracker started from. ``wall_ms`` is the wall-clock time of
    ``TrackingSession.step`` (frame decoding excluded), the other timings are the tracker's own.
    """

    tracker: str
    sequence: str
    init_frame: int
    boxes: np.ndarray
    confidences: np.ndarray
    timings_ms: np.ndarray
    scores: Scores
    published: np.ndarray
    states: np.ndarray
    robustness: Robustness
    exits: np.ndarray
    device: DeviceInfo | None = None
    search_hits: tuple[TracedHit, ...] = ()
    miss_causes: tuple[MissCause | None, ...] = ()

    @property
    def tracked_timings_ms(self) -> np.ndarray:
        """Timing rows of the tracked frames (those after ``init_frame``)."""
        return self.timings_ms[self.init_frame + 1 :]


def session_outcomes(session: TrackingSession, sequence: TrackSequence) -> Iterator[tuple[int, FrameOutcome, float]]:
    """Start ``session`` on the sequence's initialisation frame, then step it over every later frame:
    (frame index, outcome, wall-clock ms of the step) per frame."""
    start = sequence.init_frame
    session.start(sequence.read_frame(start), tuple(sequence.ground_truth[start]), sequence.name)
    for index in range(start + 1, len(sequence)):
        image = sequence.read_frame(index)
        began = time.perf_counter()
        outcome = session.step(image)
        yield index, outcome, (time.perf_counter() - began) * 1e3


def run_sequence(
    tracker: Tracker, sequence: TrackSequence, tracker_name: str, policy: LostPolicy = DEFAULT_POLICY
) -> SequenceResult:
    """Run ``tracker`` in a :class:`TrackingSession` with ``policy`` over ``sequence`` once and score it."""
    num_frames, init_frame = len(sequence), sequence.init_frame
    boxes = np.full((num_frames, 4), np.nan)
    confidences, published = np.full(num_frames, np.nan), np.full(num_frames, np.nan)
    states, exits = np.full(num_frames, int(TrackState.IDLE)), np.zeros(num_frames, dtype=int)
    timings_ms = np.full((num_frames, len(TIMING_FIELDS)), np.nan)
    boxes[init_frame] = sequence.ground_truth[init_frame]
    search_hits = []
    for index, outcome, wall_ms in session_outcomes(TrackingSession(tracker, policy), sequence):
        result = outcome.result
        if result is None:
            raise RuntimeError(f"the session stopped on frame {index} of {sequence.name}")
        if outcome.search_hit is not None:
            search_hits.append(trace_hit(sequence.name, index, outcome.search_hit, sequence.ground_truth[index],
                                         bool(sequence.away[index])))
        boxes[index], published[index], states[index] = result.box, outcome.score, outcome.state
        confidences[index] = np.nan if result.score is None else result.score
        exits[index] = result.exit or 0
        timings_ms[index] = (result.preprocess_ms, result.inference_ms, result.postprocess_ms, wall_ms)
    scores = evaluate_sequence(boxes, sequence.ground_truth, scored_frames(sequence.absent, init_frame))
    tracking = states == TrackState.TRACKING
    robustness = evaluate_robustness(iou(boxes, sequence.ground_truth), sequence.absent, init_frame, published,
                                     tracking, sequence.away, on_lookalikes(boxes, lookalike_boxes(sequence)))
    causes = miss_causes(return_spans(sequence.away, init_frame), robustness.reacquisition_delays, tracking,
                         search_hits)
    return SequenceResult(tracker_name, sequence.name, init_frame, boxes, confidences, timings_ms, scores,
                          published, states, robustness, exits, tracker.device_info, tuple(search_hits), causes)


def run_ope(
    factories: Mapping[str, TrackerFactory],
    sequences: Iterable[TrackSequence],
    progress: Callable[[str], None] = logger.info,
    policy: LostPolicy = DEFAULT_POLICY,
) -> dict[str, list[SequenceResult]]:
    """Every named tracker run over every sequence in sessions with ``policy``: results by tracker name, in sequence
    order.

    ``progress`` receives a line per finished tracker and sequence (tracker, sequence, AUC, fps).
    """
    sequences = list(sequences)
    results: dict[str, list[SequenceResult]] = {}
    for name, factory in factories.items():
        tracker = factory()
        results[name] = []
        for position, sequence in enumerate(sequences, start=1):
            result = run_sequence(tracker, sequence, name, policy)
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
