"""Report of an evaluation on a recording (``asymtrack-eval --bag``).

With ground truth: the usual report (:func:`asymtrack_ros.evaluation.report.write_report`: per-frame and
per-sequence CSVs, ``summary.json``, plots). Without: ``summary.json`` with timings and the share of frames in
each state (no accuracy without ground truth, so no plots). Both add, under the output directory::

    detections/<tracker>.csv   per frame of the topic, what the node would have published: the source header
                               stamp, the bag time, the state, and box and score while TRACKING
    summary.json "recording"   bag, topic, message type, frames, start frame and its stamp, ground truth or not
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from asymtrack_ros.evaluation.ope import DEFAULT_POLICY, SequenceResult, TrackerFactory, run_ope, timing_summary
from asymtrack_ros.evaluation.recording import RecordingSequence, write_detections
from asymtrack_ros.evaluation.report import SUMMARY_JSON, write_report
from asymtrack_ros.tracking.monitor import LostPolicy, TrackState

DETECTIONS_DIR = "detections"
logger = logging.getLogger(__name__)


def evaluate_recording(
    sequence: RecordingSequence,
    out_dir: Path | str,
    factories: Mapping[str, TrackerFactory],
    progress: Callable[[str], None] = logger.info,
    policy: LostPolicy = DEFAULT_POLICY,
    setup: Mapping[str, Any] | None = None,
) -> dict:
    """Run every tracker over the recording once (sessions with ``policy``), write the report (with ``setup``, as
    ``write_report``); returns the summary (closes the bag).

    ``progress`` receives a line per finished tracker."""
    try:
        results = run_ope(factories, [sequence], progress, policy)
    finally:
        sequence.close()
    return write_recording_report(out_dir, results, sequence, setup)


def write_recording_report(
    out_dir: Path | str, results: Mapping[str, list[SequenceResult]], sequence: RecordingSequence,
    setup: Mapping[str, Any] | None = None,
) -> dict:
    """Write the report files (module docstring; ``setup`` as ``write_report``) and return the summary."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if sequence.has_ground_truth:
        summary = write_report(out_dir, results, sequence.name)
    else:
        summary = {"dataset": sequence.name,
                   "trackers": {name: _states_and_timings(runs[0]) for name, runs in results.items()}}
    if setup is not None:
        summary["setup"] = dict(setup)
    summary["recording"] = recording_summary(sequence)
    (out_dir / SUMMARY_JSON).write_text(json.dumps(summary, indent=2) + "\n")
    for name, runs in results.items():
        result = runs[0]
        write_detections(out_dir / DETECTIONS_DIR / f"{name}.csv", sequence, result.boxes, result.published,
                         result.states.tolist())
    return summary


def recording_summary(sequence: RecordingSequence) -> dict:
    """Where the frames came from and where tracking started."""
    index = sequence.index
    return {
        "bag": str(sequence.frames[0]),
        "topic": index.topic,
        "msgtype": index.msgtype,
        "frames": len(sequence),
        "init_frame": sequence.init_frame,
        "init_stamp_ns": int(index.stamps_ns[sequence.init_frame]),
        "ground_truth": sequence.has_ground_truth,
    }


def _states_and_timings(result: SequenceResult) -> dict:
    tracked = result.states[result.init_frame + 1 :]
    shares = {f"{state.name.lower()}_share": float(np.mean(tracked == state)) if len(tracked) else None
              for state in (TrackState.TRACKING, TrackState.LOST)}
    timings = {key: value if math.isfinite(value) else None
               for key, value in timing_summary(result.tracked_timings_ms).items()}
    device = None if result.device is None else result.device.to_json()
    return {"tracked_frames": len(tracked), **shares, **timings, "device": device}
