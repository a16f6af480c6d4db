"""The re-detection hits a run's size or shape gate turned away, judged again against the truth.

Reads an ``asymtrack-eval`` run's ``lost_search/<tracker>.csv`` and per-frame results against its dataset, rebuilds
what the session knew on each gated hit's frame as the confirmation head's training does
(``lost_context.anchor_at`` and ``context_at``) and counts, for hits the network scored at least the
policy's ``recover_score`` and labelled on the target or elsewhere (``target_label``):

* ``gated``: all of them; ``head``: those the model's confirmation head gives ``recover_score`` or more;
* ``initial_look``: those of them that also keep the size and shape of the target as selected
  (``redetection.look_verdict``: the gates' limits, against the initial box instead of the anchor);

and, over every shape-gated hit on the target, ``anchor_drifted``: those whose anchor's width over height was more
than :data:`DRIFT` times off the truth's on the anchor's own frame, the target in view there (the anchor is a fused
box, and its shape drifts).
Model card, "Follow-through with the entry carried, and gates that also know the target as selected"::

    python -m asymtrack_ros.evaluation.gated_hits --run runs/eval/lvv3-B33 --dataset runs/datasets/leave-view-val3
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from asymtrack_ros.boxes import Box, aspect_change
from asymtrack_ros.cli_support import add_run_arguments, command_parser, run_datasets
from asymtrack_ros.dataset_layouts import load_dataset
from asymtrack_ros.evaluation.lost_context import FRAME_CACHE, anchor_at, context_at, frame_rows, row_box, target_label
from asymtrack_ros.evaluation.ope import DEFAULT_POLICY
from asymtrack_ros.evaluation.report import RESULTS_DIR
from asymtrack_ros.tracking.confirmation import ConfirmationHead, candidate_features
from asymtrack_ros.tracking.manifest import read_manifest
from asymtrack_ros.tracking.monitor import LostPolicy
from asymtrack_ros.tracking.redetection import Verdict, look_verdict

DRIFT = 1.3  # an anchor whose width over height is this many times off the truth's has drifted
GATED = (Verdict.SIZE.value, Verdict.SHAPE.value)
KEYS = ("gated", "head", "initial_look")


def empty_counts() -> Counter[str]:
    """Every count this module gives, at 0."""
    return Counter({**{f"{key}_{group}": 0 for key in KEYS for group in ("on_target", "elsewhere")},
                    "shape_gated_on_target": 0, "anchor_drifted": 0})


def run_counts(run: Path, dataset: Path, head: ConfirmationHead, tracker: str = "ours",
               policy: LostPolicy = DEFAULT_POLICY) -> Counter[str]:
    """The counts of the module docstring for ``run`` over ``dataset``, with the confirmation ``head``."""
    hits: dict[str, list[dict[str, str]]] = {}
    with (run / "lost_search" / f"{tracker}.csv").open(newline="") as stream:
        for hit in csv.DictReader(stream):
            if hit["verdict"] in GATED and hit["network_score"]:
                hits.setdefault(hit["sequence"], []).append(hit)
    counts = empty_counts()
    for sequence in load_dataset(dataset):
        rows = frame_rows(run / RESULTS_DIR / tracker / f"{sequence.name}.csv") if sequence.name in hits else []
        read = functools.lru_cache(maxsize=FRAME_CACHE)(sequence.read_frame)
        initial: Box = tuple(sequence.ground_truth[sequence.init_frame])
        for hit in hits.get(sequence.name, []):
            frame, box = int(hit["frame"]), row_box(hit)
            label = target_label(hit["away"] == "1", float(hit["iou"]))
            if label and hit["verdict"] == Verdict.SHAPE.value:
                anchor_frame, anchor = anchor_at(sequence, rows, frame, policy.lost_score)
                truth = sequence.ground_truth[anchor_frame]
                known = bool(np.isfinite(truth).all()) and not sequence.away[anchor_frame]
                counts["shape_gated_on_target"] += 1
                counts["anchor_drifted"] += int(known and aspect_change(anchor, tuple(truth)) > DRIFT)
            if label is None or float(hit["network_score"]) < policy.recover_score:
                continue
            group = "on_target" if label else "elsewhere"
            context = context_at(sequence, read, rows, frame, policy.lost_score)
            confirmed = head(candidate_features(read(frame), box, context)) >= policy.recover_score
            counts[f"gated_{group}"] += 1
            counts[f"head_{group}"] += int(confirmed)
            counts[f"initial_look_{group}"] += int(confirmed and look_verdict(box, initial) is None)
    return counts


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser("python -m asymtrack_ros.evaluation.gated_hits", __doc__)
    add_run_arguments(parser)
    parser.add_argument("--model-dir", type=Path, default=Path("models/asymtrack-tiny"),
                        help="the model directory whose confirmation head judges the hits")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    head = read_manifest(args.model_dir).confirmation
    if head is None:
        raise SystemExit(f"{args.model_dir} has no confirmation head")
    total = empty_counts()
    for run, dataset in run_datasets(args):
        total.update(run_counts(run, dataset, head, args.tracker))
    print(json.dumps(dict(total)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
