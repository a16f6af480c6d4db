"""How well the lost-target signal tracks reality: LOST rate and confidence on visible vs absent frames.

Runs a TrackingSession (tracker + lost monitor + appearance check) over every sequence and splits the
frames by the ground truth's absence flags (``python -m asymtrack_ros.evaluation.lost_signal --help``).
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.dataset_layouts import load_dataset
from asymtrack_ros.evaluation.cli import TRACKER_METAVAR, parse_tracker_spec, tracker_factories
from asymtrack_ros.evaluation.ope import session_outcomes
from asymtrack_ros.sequences import TrackSequence
from asymtrack_ros.tracking.monitor import LostPolicy, TrackState
from asymtrack_ros.tracking.session import TrackingSession


def frame_records(session: TrackingSession, sequence: TrackSequence) -> list[tuple[bool, bool, float, float]]:
    """(absent, lost, published confidence, raw tracker score or NaN) per frame after initialisation."""
    records = []
    for index, outcome, _ in session_outcomes(session, sequence):
        result = outcome.result
        tracker_score = math.nan if result is None or result.score is None else result.score
        records.append((bool(sequence.away[index]), outcome.state == TrackState.LOST, outcome.score, tracker_score))
    return records


def summarize(records: list[tuple[bool, bool, float, float]]) -> dict[str, dict[str, float | None]]:
    """Frames, LOST rate, mean published confidence and mean tracker score (None for a tracker without a score),
    for visible and absent frames."""
    table = np.array(records, dtype=float).reshape(-1, 4)
    summary = {}
    for name, mask in (("visible", table[:, 0] == 0), ("absent", table[:, 0] == 1)):
        means = table[mask].mean(axis=0) if mask.any() else np.zeros(4)
        summary[name] = {"frames": int(mask.sum()), "lost_rate": float(means[1]),
                         "mean_confidence": float(means[2]),
                         "mean_tracker_score": None if math.isnan(means[3]) else float(means[3])}
    return summary


PROG = "python -m asymtrack_ros.evaluation.lost_signal"


def build_parser() -> argparse.ArgumentParser:
    """The command line of this module."""
    parser = command_parser(
        PROG,
        "LOST rate, mean confidence and mean tracker score of a tracker on the visible and the absent frames\n"
        "of a dataset, as JSON.",
        (f"{PROG} --dataset data/synthetic-heldout --tracker csrt=opencv:algorithm=csrt",
         f"{PROG} --dataset data/synthetic-heldout --lost-score 0.3 --recover-score 0.5 \\\n"
         "    --tracker ours=onnx:model_dir=models/asymtrack-tiny"),
    )
    parser.add_argument("--dataset", required=True, help="dataset directory (any asymtrack-eval format)")
    parser.add_argument("--tracker", required=True, type=parse_tracker_spec, metavar=TRACKER_METAVAR,
                        help="the tracker, as in asymtrack-eval")
    parser.add_argument("--max-sequences", type=int, metavar="N", help="use at most N sequences (default: all)")
    parser.add_argument("--skip-sequences", type=int, default=0, metavar="N", help="leave out the first N sequences")
    parser.add_argument("--lost-score", type=float, default=LostPolicy.lost_score,
                        help=f"score under which the target counts as lost ({LostPolicy.lost_frames} frames running)")
    parser.add_argument("--recover-score", type=float, default=LostPolicy.recover_score,
                        help=f"score from which a lost target is found ({LostPolicy.recover_frames} frames running)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Print :func:`summarize` of every frame of the dataset as JSON."""
    parser = build_parser()
    args = parser.parse_args(argv)
    factory = next(iter(tracker_factories([args.tracker]).values()))
    policy = LostPolicy(lost_score=args.lost_score, recover_score=args.recover_score)
    policy.validate()
    records = []
    for sequence in load_dataset(args.dataset, max_sequences=args.max_sequences, skip_sequences=args.skip_sequences):
        records += frame_records(TrackingSession(factory(), policy), sequence)
    print(json.dumps(summarize(records), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
