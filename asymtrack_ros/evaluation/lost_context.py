"""What the session knew on a frame of an ``asymtrack-eval`` run, rebuilt from the run's files and its dataset.

A run writes every frame's box, published score and state (``results/<tracker>/<sequence>.csv``) and every LOST
frame's re-detection hit (``lost_search/<tracker>.csv``). From those this rebuilds the confirmation's
:class:`~asymtrack_ros.tracking.confirmation.LostContext` on a frame (the anchor: the last TRACKING box published at
``lost_score`` or more, else the initial box; the frames since the last TRACKING frame) and labels a box against the
truth as ``lost_search.TracedHit`` does. The head's training (``training.confirmation``) and the gated hits' report
(``gated_hits.py``) read runs through it.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np

from asymtrack_ros.boxes import Box
from asymtrack_ros.evaluation.robustness import REACQUIRED_IOU
from asymtrack_ros.sequences import TrackSequence
from asymtrack_ros.tracking.appearance import colour_histogram, core_chromaticity
from asymtrack_ros.tracking.confirmation import LostContext
from asymtrack_ros.tracking.monitor import TrackState

FRAME_CACHE = 8  # frames kept per sequence: the first, anchors and hit frames recur


def frame_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a run's per-frame results CSV, indexed by frame."""
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


def row_box(row: dict[str, str]) -> Box:
    """The (x, y, w, h) box of a results or re-detection CSV row."""
    return (float(row["x"]), float(row["y"]), float(row["w"]), float(row["h"]))


def context_at(sequence: TrackSequence, read: Callable[[int], np.ndarray], rows: list[dict[str, str]], frame: int,
               lost_score: float) -> LostContext:
    """What the session knew while processing ``frame`` (module docstring), from the run's per-frame ``rows``;
    ``read`` reads the sequence's frames."""
    start = sequence.init_frame
    tracked = [index for index in range(start + 1, frame) if int(rows[index]["state"]) == TrackState.TRACKING]
    anchor_frame, anchor = anchor_at(sequence, rows, frame, lost_score)
    first, anchor_image = read(start), read(anchor_frame)
    initial: Box = tuple(sequence.ground_truth[start])
    return LostContext(first.shape[:2], anchor, core_chromaticity(anchor_image, anchor),
                       core_chromaticity(first, initial), colour_histogram(first, initial),
                       frame - (tracked[-1] if tracked else start))


def anchor_at(sequence: TrackSequence, rows: list[dict[str, str]], frame: int, lost_score: float) -> tuple[int, Box]:
    """The anchor the session had on ``frame`` and the frame it was boxed on: the last TRACKING box published at
    ``lost_score`` or more before it, else the initial box."""
    start = sequence.init_frame
    confident = [index for index in range(start + 1, frame)
                 if int(rows[index]["state"]) == TrackState.TRACKING and float(rows[index]["published"]) >= lost_score]
    return (confident[-1], row_box(rows[confident[-1]])) if confident else (start, tuple(sequence.ground_truth[start]))


def target_label(away: bool, overlap: float) -> bool | None:
    """On the target (in view, IoU above the re-acquisition threshold: True), elsewhere (away or IoU 0: False), or
    neither (None: left out); ``overlap`` NaN: the truth is unknown."""
    on_target, elsewhere = not away and overlap > REACQUIRED_IOU, away or overlap == 0.0
    return None if on_target == elsewhere else on_target
