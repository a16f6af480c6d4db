"""Fit a network tracker's score calibration (``confidence.ScoreCalibration``) on labelled sequences.

Runs the tracker once over each sequence (one-pass, as ``asymtrack-eval``) with raw scores and labels every
tracked frame *on target* when the target is visible and the box overlaps it by more than ``--min-iou``;
prints the fitted slope and intercept as JSON with the ``asymtrack-export`` flag that records them
(``python -m asymtrack_ros.evaluation.score_calibration --help``).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from asymtrack_ros.boxes import iou
from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.dataset_layouts import load_dataset
from asymtrack_ros.evaluation.cli import TRACKER_METAVAR, parse_tracker_spec, tracker_factories
from asymtrack_ros.evaluation.ope import SequenceResult, run_sequence
from asymtrack_ros.tracking.confidence import IDENTITY, ScoreCalibration


def labelled_scores(
    result: SequenceResult, ground_truth: np.ndarray, absent: np.ndarray, min_iou: float,
    unknown: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(raw scores, on-target flags) of the tracked frames of one sequence, less the ``unknown`` ones (target in
    view, box not known: neither label holds)."""
    tracked = np.arange(len(absent)) > result.init_frame
    if unknown is not None:
        tracked &= ~np.asarray(unknown, dtype=bool)
    overlaps = iou(result.boxes[tracked], ground_truth[tracked])
    on_target = ~absent[tracked].astype(bool) & (np.nan_to_num(overlaps) > min_iou)
    return result.confidences[tracked], on_target


PROG = "python -m asymtrack_ros.evaluation.score_calibration"


def build_parser() -> argparse.ArgumentParser:
    """The command line of this module."""
    parser = command_parser(
        PROG,
        "Fit the Platt scaling of a network tracker's score on labelled sequences; prints slope, intercept\n"
        "and the asymtrack-export --score-calibration flag that records them, as JSON.",
        (f"{PROG} --dataset DIR --skip-sequences 12 --tracker ours=onnx:model_dir=models/asymtrack-tiny",),
    )
    parser.add_argument("--dataset", required=True, help="dataset directory (any asymtrack-eval format)")
    parser.add_argument("--tracker", required=True, type=parse_tracker_spec, metavar=TRACKER_METAVAR,
                        help="a torch or onnx tracker, as in asymtrack-eval")
    parser.add_argument("--skip-sequences", type=int, default=0, metavar="N",
                        help="leave out the first N sequences (e.g. a test part)")
    parser.add_argument("--max-sequences", type=int, metavar="N",
                        help="use at most N sequences after the skipped ones (default: all)")
    parser.add_argument("--min-iou", type=float, default=0.3, help="overlap above which a frame is on target")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Print the fitted calibration as JSON."""
    parser = build_parser()
    args = parser.parse_args(argv)
    name, factory = next(iter(tracker_factories([args.tracker]).items()))
    tracker = factory()
    if not hasattr(tracker, "calibration"):
        parser.error(f"{name}: only network trackers (torch, onnx) have a score to calibrate")
    tracker.calibration = IDENTITY  # fit on raw scores, whatever the model directory records
    scores, labels = [], []
    for sequence in load_dataset(args.dataset, max_sequences=args.max_sequences, skip_sequences=args.skip_sequences):
        result = run_sequence(tracker, sequence, name)
        raw, on_target = labelled_scores(result, sequence.ground_truth, sequence.absent, args.min_iou,
                                         sequence.unknown)
        scores.append(raw)
        labels.append(on_target)
    raw, on_target = np.concatenate(scores), np.concatenate(labels)
    calibration = ScoreCalibration.fit(raw, on_target)
    summary = {"slope": calibration.slope, "intercept": calibration.intercept, "frames": len(raw),
               "on_target_share": float(on_target.mean()),
               "export_flag": f"--score-calibration {calibration.slope:.4f} {calibration.intercept:.4f}"}
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
