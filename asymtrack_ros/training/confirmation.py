"""Fit the LOST confirmation head (``tracking/confirmation.py``) on the LOST boxes of evaluation runs.

An ``asymtrack-eval`` run writes every LOST frame's re-detection hit (``lost_search/<tracker>.csv``, with its
network score, the truth's IoU and whether the target was away) and every frame's box, published score and state
(``results/<tracker>/<sequence>.csv``). From those and the dataset's frames ``evaluation.lost_context`` rebuilds
what the session knew on each hit's frame (the anchor: the last TRACKING box published at ``lost_score`` or more,
else the initial box; the frames since the last TRACKING frame), and this computes the hit's
:data:`confirmation.FEATURES`. Hits the network scored,
and the tracker's own boxes on LOST frames the network scored at least ``recover_score`` (the boxes it could
confirm), are labelled as ``lost_search.TracedHit`` judges them: on the target (in view, IoU above the
re-acquisition threshold) or elsewhere (the target away, or IoU 0); the rest are left out.

The head is an L2-regularised logistic regression (Newton's method) on standardised features, folded back into
weights on the raw features. Prints it as JSON with the ROC AUC on each run; ``--write`` stores it in the model
directory's ``model.json``. Fit it on runs over generated *training* sequences, never on the sets that choose it.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
from pathlib import Path

import numpy as np

from asymtrack_ros.boxes import Box, box_iou
from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.dataset_layouts import load_dataset
from asymtrack_ros.evaluation.lost_context import FRAME_CACHE, context_at, frame_rows, row_box, target_label
from asymtrack_ros.evaluation.report import RESULTS_DIR
from asymtrack_ros.tracking.confirmation import FEATURES, ConfirmationHead, candidate_features
from asymtrack_ros.tracking.manifest import read_manifest, write_manifest
from asymtrack_ros.tracking.monitor import LostPolicy, TrackState
from asymtrack_ros.training.logistic import newton_logistic

PROG = "python -m asymtrack_ros.training.confirmation"
L2_PENALTY = 1e-2  # on the standardised features' weights, with the log loss averaged over the hits
MIN_SCALE = 1e-9  # a feature constant over the hits gets weight 0


def run_hits(run: Path, dataset: Path, tracker: str = "ours", lost_score: float = LostPolicy().lost_score,
             own_score: float = LostPolicy().recover_score) -> tuple[np.ndarray, np.ndarray]:
    """(features, on target) of one run over ``dataset``: the labelled re-detection hits the network scored, and the
    tracker's own boxes on LOST frames where the network scored them at least ``own_score`` (those it could
    confirm)."""
    sequences = {sequence.name: sequence for sequence in load_dataset(dataset)}
    samples: dict[str, list[tuple[int, Box, bool]]] = {}
    with (run / "lost_search" / f"{tracker}.csv").open(newline="") as stream:
        for hit in csv.DictReader(stream):
            label = target_label(hit["away"] == "1", float(hit["iou"]))
            if hit["network_score"] and label is not None:
                samples.setdefault(hit["sequence"], []).append((int(hit["frame"]), row_box(hit), label))
    features, labels = [], []
    for name, sequence in sequences.items():
        rows = frame_rows(run / RESULTS_DIR / tracker / f"{name}.csv")
        for frame, row in enumerate(rows):
            if int(row["state"]) == TrackState.LOST and float(row["confidence"]) >= own_score:
                box, truth = row_box(row), sequence.ground_truth[frame]
                overlap = box_iou(box, tuple(truth)) if np.isfinite(truth).all() else float("nan")
                label = target_label(bool(sequence.away[frame]), overlap)
                if label is not None:
                    samples.setdefault(name, []).append((frame, box, label))
        read = functools.lru_cache(maxsize=FRAME_CACHE)(sequence.read_frame)
        for frame, box, label in samples.get(name, []):
            features.append(candidate_features(read(frame), box, context_at(sequence, read, rows, frame, lost_score)))
            labels.append(label)
    return np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURES)), np.asarray(labels, dtype=bool)


def fit_confirmation(features: np.ndarray, labels: np.ndarray, l2: float = L2_PENALTY) -> ConfirmationHead:
    """The head (module docstring): standardised, fitted, folded back to raw-feature weights."""
    mean, scale = features.mean(axis=0), np.maximum(features.std(axis=0), MIN_SCALE)
    design = np.hstack([(features - mean) / scale, np.ones((len(features), 1))])
    penalty = np.append(np.full(features.shape[1], l2), 0.0)
    theta = newton_logistic(design, labels, np.full(len(labels), 1.0 / len(labels)), penalty)
    weights = theta[:-1] / scale
    return ConfirmationHead(tuple(float(value) for value in weights), float(theta[-1] - weights @ mean))


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """The probability that a random positive scores above a random negative (ties count half); None without both."""
    positives, negatives = scores[labels], scores[~labels]
    if not len(positives) or not len(negatives):
        return None
    above = (positives[:, None] > negatives[None, :]).sum() + 0.5 * (positives[:, None] == negatives[None, :]).sum()
    return float(above / (len(positives) * len(negatives)))


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser(
        PROG, "Fit the LOST confirmation head on the LOST boxes of asymtrack-eval runs (over generated "
        "training sequences) and print it as JSON; --write stores it in the model directory's model.json.",
        (f"{PROG} --run runs/eval/mine-111 runs/datasets/mine-111 --run runs/eval/mine-113 runs/datasets/mine-113 "
         "--model-dir models/asymtrack-tiny --write",),
    )
    parser.add_argument("--run", required=True, nargs=2, action="append", metavar=("RUN", "DATASET"),
                        help="an asymtrack-eval output directory and the dataset it ran on (repeatable)")
    parser.add_argument("--tracker", default="ours", help="the tracker's name in the runs (default: ours)")
    parser.add_argument("--model-dir", type=Path, help="model directory whose model.json --write updates")
    parser.add_argument("--write", action="store_true", help="store the head in MODEL_DIR/model.json")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Mine, fit, print, and with ``--write`` store the head."""
    args = build_parser().parse_args(argv)
    if args.write and args.model_dir is None:
        raise SystemExit("--write needs --model-dir")
    parts = {run: run_hits(Path(run), Path(dataset), args.tracker) for run, dataset in args.run}
    features = np.vstack([part[0] for part in parts.values()])
    labels = np.concatenate([part[1] for part in parts.values()])
    if labels.all() or not labels.any():
        raise SystemExit(f"the runs' hits are all of one kind ({len(labels)} hits): nothing to fit")
    head = fit_confirmation(features, labels)
    report = {"confirmation": head.to_json(), "hits": len(labels), "on_target": int(labels.sum()),
              "roc_auc": {run: roc_auc(np.array([head(row) for row in part[0]]), part[1])
                          for run, part in parts.items()}}
    print(json.dumps(report, indent=2))
    if args.write:
        write_manifest(args.model_dir, read_manifest(args.model_dir).with_confirmation(head))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
