"""Confirmation while LOST: is a re-detected box the target back, or a copy, background, a drifted box?

The learned verifier (``verification.py``) compares a box with the initial target alone, and on generated
leave-and-return scenes it tells the returning target from a recoloured copy or a patch of background barely better
than chance (ROC AUC 0.65-0.70 over the re-detection's hits). What the session knows of the LOST episode tells them
apart far better (AUC 0.80-0.97 on the development sets): where the target was last confidently seen (the anchor),
the edges it left by, how long it has been away, and its colour then and at the start. A logistic head over
:data:`FEATURES` (:class:`ConfirmationHead`, ``model.json``'s ``"confirmation"``) turns them into the probability that
the box is the target; while LOST the session uses it instead of the verifier (``session.py``), and the distractor
memory still caps it: the tracker's own box as well as the re-detection's hits. It is fitted on both, from evaluation
runs over generated training sequences (``python -m asymtrack_ros.training.confirmation``). Models without a head
keep the verifier's re-identification.

The features (colour distances are L1 distances of ``appearance.core_chromaticity``, clipped to
:data:`COLOUR_RANGE`, as logs):

* ``target_colour``, ``anchor_colour``: the box's core colour against the initial target's and the anchor's;
* ``histogram``: its colour histogram's similarity to the initial target's (``appearance.histogram_similarity``);
* ``at_exit``: it touches an edge that the anchor touches (where a target that left comes back); ``anchor_at_edge``:
  the anchor touches an edge (``boxes.exit_sides``);
* ``size_change``, ``shape_change``: |log| of its area and of its width over height against the anchor's;
* ``anchor_distance``: log(1 + the distance of its centre from the anchor's, in anchor sides); ``away_from_exit``:
  the same where it does not touch the exit edges;
* ``lost_frames``: log(1 + the frames since the last TRACKING frame).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from asymtrack_ros.boxes import Box, area_ratio, aspect_change, box_side, centre, exit_sides
from asymtrack_ros.tracking.appearance import colour_histogram, core_chromaticity, histogram_similarity
from asymtrack_ros.tracking.logistic_head import LogisticHead, head_numbers

FEATURES = ("target_colour", "anchor_colour", "histogram", "at_exit", "anchor_at_edge", "size_change",
            "shape_change", "anchor_distance", "lost_frames", "away_from_exit")
COLOUR_RANGE = (0.02, 1.0)  # core-colour distances clipped to this: as alike as noise leaves a box .. unrelated


@dataclass(frozen=True)
class LostContext:
    """What the session knows while LOST: the frame's (height, width), the anchor (the last confidently tracked box)
    and its core colour, the initial target's core colour and colour histogram (None: they covered no pixels), and
    the frames since the last TRACKING frame."""

    frame_size: tuple[int, int]
    anchor: Box
    anchor_colour: np.ndarray | None
    target_colour: np.ndarray | None
    target_histogram: np.ndarray | None
    lost_frames: int


def colour_feature(colour: np.ndarray | None, reference: np.ndarray | None) -> float:
    """log of the L1 distance of two core colours, clipped to :data:`COLOUR_RANGE`; unrelated when one is missing."""
    low, high = COLOUR_RANGE
    if colour is None or reference is None:
        return math.log(high)
    return math.log(min(max(float(np.abs(colour - reference).sum()), low), high))


def candidate_features(image: np.ndarray, box: Box, context: LostContext) -> np.ndarray:
    """The :data:`FEATURES` of ``box`` on ``image`` (module docstring)."""
    anchor = context.anchor
    colour = core_chromaticity(image, box)
    anchor_sides = exit_sides(anchor, context.frame_size)
    at_exit = bool(anchor_sides & exit_sides(box, context.frame_size))
    (x, y), (anchor_x, anchor_y) = centre(box), centre(anchor)
    distance = math.log1p(math.hypot(x - anchor_x, y - anchor_y) / max(box_side(anchor), 1.0))
    return np.array([
        colour_feature(colour, context.target_colour),
        colour_feature(colour, context.anchor_colour),
        0.0 if context.target_histogram is None else histogram_similarity(context.target_histogram,
                                                                          colour_histogram(image, box)),
        float(at_exit),
        float(bool(anchor_sides)),
        abs(math.log(max(area_ratio(box, anchor), 1e-6))),
        math.log(aspect_change(box, anchor)),
        distance,
        math.log1p(context.lost_frames),
        0.0 if at_exit else distance,
    ])


@dataclass(frozen=True)
class ConfirmationHead(LogisticHead):
    """The LOST confirmation's logistic head over :data:`FEATURES`."""

    FEATURES: ClassVar[tuple[str, ...]] = FEATURES
    NAME: ClassVar[str] = "confirmation"

    def probability(self, image: np.ndarray, box: Box, context: LostContext) -> float:
        """The probability that ``box`` on ``image`` is the target."""
        return self(candidate_features(image, box, context))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ConfirmationHead:
        """From ``model.json``'s ``{"features": [...], "weights": [...], "bias": b}``; the features must be
        :data:`FEATURES` in order (ValueError on anything else)."""
        weights, bias = head_numbers(values, cls.NAME, {"features", "weights", "bias"})
        if list(values["features"]) != list(FEATURES):
            raise ValueError(f"confirmation features must be {list(FEATURES)}, got {values['features']!r}")
        return cls(tuple(weights), bias)

    def to_json(self) -> dict[str, Any]:
        return {"features": list(FEATURES), **super().to_json()}
