"""How far a reduced-precision model directory's boxes are from the fp32 one's, in image pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asymtrack_ros.boxes import Box
from asymtrack_ros.data.synthetic import generated_sequence
from asymtrack_ros.tracking.onnx_backend import OnnxRunner
from asymtrack_ros.tracking.preprocessing import clip_box
from asymtrack_ros.tracking.siamese import SiameseTracker

NUDGE_PX = 0.01  # step error injected into the fp32 tracker to measure how much the closed loop amplifies


def follow(
    tracker: SiameseTracker, frames: np.ndarray, init_box: Box, nudge_px: float = 0.0
) -> np.ndarray:
    """(N, 4) boxes of ``tracker`` following its own boxes, each moved ``nudge_px`` right before the next frame."""
    tracker.initialize(frames[0], init_box)
    boxes = [tuple(init_box)]
    for frame in frames[1:]:
        box = tracker.track(frame).box
        if nudge_px:
            box = (box[0] + nudge_px, *box[1:])
            tracker.reposition(box)
        boxes.append(box)
    return np.array(boxes)


def box_deviation(
    reference_dir: Path, candidate_dir: Path, frames: np.ndarray, init_box: Box
) -> dict[str, float]:
    """Mean and max |difference| of (x, y, w, h) on ``frames``, two ways:

    * ``tracked``: each tracker follows its own boxes (what a user sees; a small difference can send a
      tracker with an ambiguous target onto another path);
    * ``per_frame``: the candidate network gets the reference tracker's crops, so only the numerical
      difference of one step is measured;

    and ``tracked_px_mean_fp32_nudged``: the reference tracker against itself with every box moved
    ``NUDGE_PX`` (how much this sequence's closed loop amplifies a tiny step error; a ``tracked`` value near
    it says the trajectory, not the precision, sets the closed-loop difference).
    """
    reference, candidate = SiameseTracker(OnnxRunner(reference_dir)), SiameseTracker(OnnxRunner(candidate_dir))
    tracked = [follow(tracker, frames, init_box) for tracker in (reference, candidate)]
    nudged = follow(reference, frames, init_box, NUDGE_PX)
    state = candidate.runner.encode_template(candidate.template_input(frames[0], init_box))
    stepped = []
    for frame, previous in zip(frames[1:], map(tuple, tracked[0][:-1]), strict=True):
        search, resize_factor = candidate.search_input(frame, previous)
        pred_box = candidate.runner.track_search(search, state).pred_box
        box = candidate.map_back(pred_box, previous, resize_factor)
        stepped.append(clip_box(box, frame.shape[0], frame.shape[1], margin=10))
    tracked_diff = np.abs(tracked[0] - tracked[1])[1:]
    per_frame_diff = np.abs(tracked[0][1:] - np.array(stepped))
    return {
        "tracked_px_mean": float(tracked_diff.mean()), "tracked_px_max": float(tracked_diff.max()),
        "per_frame_px_mean": float(per_frame_diff.mean()), "per_frame_px_max": float(per_frame_diff.max()),
        "tracked_px_mean_fp32_nudged": float(np.abs(tracked[0] - nudged)[1:].mean()),
    }


def generated_box_deviation(reference_dir: Path, candidate_dir: Path, num_frames: int = 40, seed: int = 0) -> dict:
    """:func:`box_deviation` on the generated sequence (what the export reports)."""
    frames, boxes = generated_sequence(num_frames=num_frames, seed=seed)
    return {**box_deviation(reference_dir, candidate_dir, frames, tuple(boxes[0])),
            "sequence": f"generated seed {seed}, {num_frames} frames"}
