"""Where the session turned LOST, read from an ``asymtrack-eval`` run's per-frame results against its dataset.

Each turn from TRACKING to LOST is at an edge of the frame (the box touches one, ``boxes.exit_sides``: the target
left, or seemed to) or clear of the edges; of those clear of them, the count with the target in view on that frame,
and of these the count with it still in view over the next :data:`STAYS_FOR` frames. A re-detection that moves
away from where a target was lost inside the frame misses those (model card, "A gliding anchor, and a part-box
grown to the target's shape")::

    python -m asymtrack_ros.evaluation.lost_turns --run runs/eval/lvv3-B33 --dataset runs/datasets/leave-view-val3
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from asymtrack_ros.boxes import as_box, exit_sides
from asymtrack_ros.cli_support import add_run_arguments, command_parser, run_datasets
from asymtrack_ros.dataset_layouts import load_dataset
from asymtrack_ros.tracking.monitor import TrackState

STAYS_FOR = 30  # frames


def turn_counts(states: np.ndarray, boxes: np.ndarray, away: np.ndarray, frame_size: tuple[int, int],
                stays_for: int = STAYS_FOR) -> Counter[str]:
    """The turns to LOST of one sequence (per-frame session ``states``, ``boxes`` and the target's ``away`` flags;
    ``frame_size`` (height, width)): ``at_edge``, ``inside``, ``inside_in_view`` and ``inside_stays_in_view``."""
    states, away = np.asarray(states), np.asarray(away, dtype=bool)
    turns = np.flatnonzero((states[1:] == TrackState.LOST) & (states[:-1] == TrackState.TRACKING)) + 1
    counts: Counter[str] = Counter(at_edge=0, inside=0, inside_in_view=0, inside_stays_in_view=0)
    for turn in turns:
        if exit_sides(as_box(boxes[turn]), frame_size):
            counts["at_edge"] += 1
            continue
        counts["inside"] += 1
        if not away[turn]:
            counts["inside_in_view"] += 1
            counts["inside_stays_in_view"] += int(not away[turn:turn + stays_for].any())
    return counts


def run_counts(run: Path, dataset: Path, tracker: str, stays_for: int = STAYS_FOR) -> Counter[str]:
    """:func:`turn_counts` summed over the sequences of ``dataset`` that ``run`` has results of for ``tracker``."""
    total: Counter[str] = Counter()
    for sequence in load_dataset(dataset):
        path = run / "results" / tracker / f"{sequence.name}.csv"
        if not path.is_file():
            continue
        frames = np.genfromtxt(path, delimiter=",", names=True)
        boxes = np.column_stack([frames[key] for key in ("x", "y", "w", "h")])
        total.update(turn_counts(frames["state"].astype(int), boxes, sequence.away,
                                 sequence.read_frame(0).shape[:2], stays_for))
    return total


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser("python -m asymtrack_ros.evaluation.lost_turns", __doc__)
    add_run_arguments(parser)
    parser.add_argument("--stays-for", type=int, default=STAYS_FOR, help="frames the target must stay in view")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    total: Counter[str] = Counter()
    for run, dataset in run_datasets(args):
        total.update(run_counts(run, dataset, args.tracker, args.stays_for))
    print(json.dumps(dict(total)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
