"""Fit the target-verification head (``tracking/verification.py``) of a network model with hard negatives.

Per sampled frame of each training sequence, against the embedding of the sequence's initial target:

* positive: the true box, jittered (centre and size by up to 10 %);
* negatives: a drifted box (the target's size, shifted by 1-2 times its size in a random direction: background next
  to the target, IoU under 0.05), a box of the target's size anywhere in the frame, the generated scenes'
  look-alike distractors (their boxes in ``meta.json``'s ``"distractor_boxes"``, those overlapping the target by
  less than :data:`LOOKALIKE_MAX_IOU`), and on frames where the target is absent, the last visible box (where a
  tracker stays when its target has gone).

The head is a logistic regression over :data:`verification.FEATURES`, fitted by Newton's method with a small L2
penalty, each dataset and class weighted equally. Prints the head as JSON with its balanced accuracy on each
sequence (those left out, ``--exclude``, are a check); ``--write`` stores it in the model directory's ``model.json``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from asymtrack_ros.boxes import Box, iou
from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.dataset_layouts import load_dataset, lookalike_boxes
from asymtrack_ros.sequences import TrackSequence
from asymtrack_ros.tracking.manifest import read_manifest, write_manifest
from asymtrack_ros.tracking.onnx_backend import create
from asymtrack_ros.tracking.siamese import SiameseTracker
from asymtrack_ros.tracking.verification import FEATURES, TargetVerifier, VerificationHead
from asymtrack_ros.training.logistic import newton_logistic

PROG = "python -m asymtrack_ros.training.verification"
L2_PENALTY = 1e-3
HEAD_FOR_FEATURES = VerificationHead((0.0,) * len(FEATURES), 0.0)  # features only; its output is unused
LOOKALIKE_MAX_IOU = 0.1  # a look-alike boxed over the target is no negative
LOOKALIKE_MIN_SIDE = 8.0  # px: a sliver of a look-alike at the frame's edge shows too little of it


def sample_boxes(truth: Box | None, last_seen: Box, frame_size: tuple[int, int], rng: np.random.Generator,
                 lookalikes: Sequence[Box] = ()) -> Iterator[tuple[Box, bool]]:
    """(box, on target) samples of one frame (module docstring); ``truth`` None: the target is absent."""
    height, width = frame_size
    x, y, w, h = truth if truth is not None else last_seen
    if truth is not None:
        jitter = rng.uniform(-0.1, 0.1, 4)
        yield (x + jitter[0] * w, y + jitter[1] * h, w * (1 + jitter[2]), h * (1 + jitter[3])), True
        angle, distance = rng.uniform(0, 2 * np.pi), rng.uniform(1.0, 2.0)
        yield (x + np.cos(angle) * distance * w, y + np.sin(angle) * distance * h, w, h), False
    else:
        yield (x, y, w, h), False
    yield (rng.uniform(0, max(width - w, 1)), rng.uniform(0, max(height - h, 1)), w, h), False
    for box in lookalikes:
        apart = truth is None or iou(np.array([box]), np.array([truth]))[0] < LOOKALIKE_MAX_IOU
        if apart and min(box[2], box[3]) >= LOOKALIKE_MIN_SIDE:
            yield box, False


def sequence_samples(tracker: SiameseTracker, sequence: TrackSequence, stride: int, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) of one sequence, every ``stride``-th frame after its initialisation frame."""
    start = sequence.init_frame
    first = sequence.read_frame(start)
    verifier = TargetVerifier(first, tuple(sequence.ground_truth[start]), tracker.embed, HEAD_FOR_FEATURES)
    features, labels = [], []
    last_seen: Box = tuple(sequence.ground_truth[start])
    lookalikes = lookalike_boxes(sequence)
    for index in range(start + 1, len(sequence)):
        truth = sequence.ground_truth[index]
        visible = not sequence.absent[index] and bool(np.isfinite(truth).all())
        if visible:
            last_seen = tuple(truth)
        if (index - start) % stride or not (visible or sequence.away[index]):
            continue  # off the stride, or the target in view with its box unknown: nothing to label
        image = sequence.read_frame(index)
        for box, on_target in sample_boxes(tuple(truth) if visible else None, last_seen, image.shape[:2], rng,
                                           lookalikes[index]):
            if box[2] >= 2 and box[3] >= 2:
                features.append(verifier.features(image, box))
                labels.append(on_target)
    return np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURES)), np.asarray(labels, dtype=bool)


def fit_head(features: np.ndarray, labels: np.ndarray, groups: np.ndarray | None = None,
             iterations: int = 50) -> VerificationHead:
    """L2-regularised logistic regression by Newton's method; every (group, class) cell weighs the same (``groups``:
    e.g. the dataset of each sample, so that a large generated set does not drown a small real one)."""
    design = np.hstack([features, np.ones((len(features), 1))])
    cells = list(zip(labels, groups if groups is not None else np.zeros(len(labels)), strict=True))
    counts: dict[tuple, int] = {}
    for cell in cells:
        counts[cell] = counts.get(cell, 0) + 1
    weights = np.array([1.0 / (counts[cell] * len(counts)) for cell in cells])
    theta = newton_logistic(design, labels, weights, np.full(design.shape[1], L2_PENALTY), iterations)
    return VerificationHead(tuple(float(value) for value in theta[:-1]), float(theta[-1]))


def balanced_accuracy(head: VerificationHead, features: np.ndarray, labels: np.ndarray) -> float:
    """Mean of the accuracies on positives and on negatives at p = 0.5."""
    predicted = np.array([head(row) >= 0.5 for row in features], dtype=bool)
    return float(np.mean([(predicted[labels] == 1).mean(), (predicted[~labels] == 0).mean()]))


def build_parser() -> argparse.ArgumentParser:
    """The command line of this module."""
    parser = command_parser(
        PROG,
        "Fit the target-verification head of an exported model on labelled sequences (hard negatives mined\n"
        "from them) and print it as JSON; --write stores it in the model directory's model.json.",
        (f"{PROG} --dataset runs/datasets/real-val --exclude bikes-cyclist --exclude carphone-face "
         "--dataset runs/datasets/synthetic-train --model-dir models/asymtrack-tiny --write",),
    )
    parser.add_argument("--dataset", required=True, action="append", help="training dataset directory (repeatable)")
    parser.add_argument("--model-dir", required=True, type=Path, help="exported model directory (its template graph)")
    parser.add_argument("--exclude", action="append", default=[], metavar="NAME",
                        help="leave this sequence out of the fit (repeatable); it is reported as a check")
    parser.add_argument("--stride", type=int, default=3, help="sample every N-th frame (default: 3)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the sampled boxes (default: 0)")
    parser.add_argument("--write", action="store_true", help="store the head in MODEL_DIR/model.json")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Fit, print, and with ``--write`` store the head."""
    args = build_parser().parse_args(argv)
    tracker = create(model_dir=args.model_dir, local_tracker="none")
    if not isinstance(tracker, SiameseTracker):
        raise SystemExit(f"{args.model_dir} is not a network model")
    rng = np.random.default_rng(args.seed)
    parts = {(directory, sequence.name): sequence_samples(tracker, sequence, args.stride, rng)
             for directory in args.dataset for sequence in load_dataset(directory)}
    fitted = [key for key in parts if key[1] not in args.exclude]
    if not fitted:
        raise SystemExit(f"every sequence of {args.dataset} is excluded")
    features = np.vstack([parts[key][0] for key in fitted])
    labels = np.concatenate([parts[key][1] for key in fitted])
    groups = np.concatenate([[key[0]] * len(parts[key][1]) for key in fitted])
    head = fit_head(features, labels, groups)
    report = {"verification": head.to_json(), "fitted_on": [name for _, name in fitted], "samples": len(labels),
              "positives": int(labels.sum()),
              "balanced_accuracy": {name: balanced_accuracy(head, *part) for (_, name), part in parts.items()}}
    print(json.dumps(report, indent=2))
    if args.write:
        manifest = read_manifest(args.model_dir)
        write_manifest(args.model_dir, manifest.with_verification(head))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
