"""Fit how much more colour weighs while the target is LOST (``VerificationHead.lost_colour``) on the hits the
re-detection traced (``asymtrack-eval``'s ``lost_search/<tracker>.csv``).

While LOST the check must tell a returning target from look-alikes. On those hits the embeddings mislead: a target
that comes back turned, rescaled and relit is less like its initial look than a look-alike of the same texture is,
while its colour, brightness aside, stays its own. The fit keeps the head as it is and learns one number: the
weight of the chromaticity input added to the head's log-odds while LOST, by a logistic regression with the head's
log-odds as offset, over the hits the check judged (verdicts "candidate" and "score"): on the target (in view,
IoU above the re-acquisition threshold) against elsewhere (the target away, or IoU 0), each class and hits file
weighted equally. The input is scaled by how colourful the target is, so grey footage is left as it was.

Prints the weight as JSON with, per hits file, how well the head ranks target hits above the others (ROC AUC)
before and after; ``--write`` stores it in the model directory's ``model.json``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.dataset_layouts import load_dataset
from asymtrack_ros.evaluation.lost_search import TracedHit, read_traced_hits
from asymtrack_ros.tracking.manifest import read_manifest, write_manifest
from asymtrack_ros.tracking.onnx_backend import create
from asymtrack_ros.tracking.redetection import Verdict
from asymtrack_ros.tracking.siamese import SiameseTracker
from asymtrack_ros.tracking.verification import COLOUR, TargetVerifier, VerificationHead

PROG = "python -m asymtrack_ros.training.reidentification"
L2_PENALTY = 1e-3
JUDGED = (Verdict.CANDIDATE, Verdict.SCORE)  # the verdicts given after the check ran


def hit_samples(tracker: SiameseTracker, head: VerificationHead, dataset: str | Path, hits: list[TracedHit]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(head log-odds, chromaticity input, on target) of the judged hits that are on the target or elsewhere, each
    measured against its sequence's initial target."""
    by_sequence: dict[str, list[TracedHit]] = {}
    for traced in hits:
        if traced.hit.verdict in JUDGED and (traced.on_target or traced.elsewhere):
            by_sequence.setdefault(traced.sequence, []).append(traced)
    offsets, colours, labels = [], [], []
    for sequence in load_dataset(dataset):
        if sequence.name not in by_sequence:
            continue
        start = sequence.init_frame
        verifier = TargetVerifier(sequence.read_frame(start), tuple(sequence.ground_truth[start]), tracker.embed,
                                  replace(head, lost_colour=1.0))  # measures colour
        for traced in by_sequence.pop(sequence.name):
            features = verifier.features(sequence.read_frame(traced.frame), traced.hit.result.box)
            offsets.append(head.logit(features))
            colours.append(features[COLOUR])
            labels.append(traced.on_target)
    if by_sequence:
        raise ValueError(f"{dataset} has no sequences {sorted(by_sequence)}")
    return np.array(offsets), np.array(colours), np.array(labels, dtype=bool)


def fit_weight(offsets: np.ndarray, inputs: np.ndarray, labels: np.ndarray, groups: np.ndarray,
               iterations: int = 50) -> float:
    """The weight ``w`` of ``sigmoid(offset + w * input)`` by Newton's method, L2-penalised, every (group, class)
    cell weighing the same."""
    cells = list(zip(labels, groups, strict=True))
    counts: dict[tuple, int] = {}
    for cell in cells:
        counts[cell] = counts.get(cell, 0) + 1
    weights = np.array([1.0 / (counts[cell] * len(counts)) for cell in cells])
    weight = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(offsets + weight * inputs, -60, 60)))
        gradient = float(np.sum(weights * (p - labels) * inputs)) + L2_PENALTY * weight
        curvature = float(np.sum(weights * p * (1 - p) * inputs**2)) + L2_PENALTY
        weight -= gradient / curvature
    return weight


def ranking_auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """The probability that a target hit outscores another (ties count half); None without both kinds."""
    positives, negatives = scores[labels], scores[~labels]
    if not len(positives) or not len(negatives):
        return None
    above = (positives[:, None] > negatives[None, :]).mean() + 0.5 * (positives[:, None] == negatives[None, :]).mean()
    return float(above)


def build_parser() -> argparse.ArgumentParser:
    """The command line of this module."""
    parser = command_parser(
        PROG,
        "Fit the verification head's extra colour weight while LOST on traced re-detection hits and print it as\n"
        "JSON; --write stores it in the model directory's model.json.",
        (f"{PROG} --model-dir models/asymtrack-tiny --hits runs/datasets/leave-view-val "
         "runs/eval/lvv/lost_search/ours.csv --write",),
    )
    parser.add_argument("--model-dir", required=True, type=Path, help="exported model directory with a head")
    parser.add_argument("--hits", required=True, nargs=2, action="append", metavar=("DATASET", "CSV"),
                        help="a dataset directory and the lost_search CSV of an asymtrack-eval run on it (repeatable)")
    parser.add_argument("--write", action="store_true", help="store the weight in MODEL_DIR/model.json")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Fit, print, and with ``--write`` store the weight."""
    args = build_parser().parse_args(argv)
    tracker = create(model_dir=args.model_dir, local_tracker="none")
    if not isinstance(tracker, SiameseTracker) or tracker.verification is None:
        raise SystemExit(f"{args.model_dir} is not a network model with a verification head")
    head = tracker.verification
    try:
        parts = {csv_path: hit_samples(tracker, head, dataset, read_traced_hits(Path(csv_path)))
                 for dataset, csv_path in args.hits}
    except (OSError, ValueError) as error:
        raise SystemExit(f"{PROG}: {error}") from error
    pooled = [np.concatenate([part[i] for part in parts.values()]) for i in range(3)]
    groups = np.concatenate([[name] * len(part[2]) for name, part in parts.items()])
    if pooled[2].all() or not pooled[2].any():
        raise SystemExit(f"{PROG}: the hits must include some on the target and some elsewhere")
    weight = fit_weight(*pooled, groups)
    report = {"lost_colour": weight, "hits": {
        name: {"on_target": int(labels.sum()), "elsewhere": int((~labels).sum()),
               "auc_before": ranking_auc(offsets, labels), "auc_after": ranking_auc(offsets + weight * colours, labels)}
        for name, (offsets, colours, labels) in parts.items()}}
    print(json.dumps(report, indent=2))
    if args.write:
        manifest = read_manifest(args.model_dir)
        write_manifest(args.model_dir, manifest.with_verification(replace(head, lost_colour=weight)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
