"""The LOST confirmation head (tracking/confirmation.py): its features, its parse, its fit on mined hits (the mined
features equal those the session computed live), and the session confirming by it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_redetection import POLICY, RED, SIDE, ColourRunner, frame

from asymtrack_ros.boxes import Box
from asymtrack_ros.dataset_layouts import load_dataset
from asymtrack_ros.evaluation import run_sequence, write_report
from asymtrack_ros.tracking.appearance import colour_histogram, core_chromaticity
from asymtrack_ros.tracking.confirmation import (
    COLOUR_RANGE,
    FEATURES,
    ConfirmationHead,
    LostContext,
    candidate_features,
)
from asymtrack_ros.tracking.manifest import MODEL_JSON, ModelManifest
from asymtrack_ros.tracking.monitor import TrackState
from asymtrack_ros.tracking.redetection import RedetectionSettings
from asymtrack_ros.tracking.session import TrackingSession
from asymtrack_ros.tracking.siamese import SiameseTracker
from asymtrack_ros.training.confirmation import fit_confirmation, roc_auc, run_hits

MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "asymtrack-tiny"
FEATURE = {name: index for index, name in enumerate(FEATURES)}
AT_EXIT_ONLY = ConfirmationHead(tuple(10.0 if name == "at_exit" else 0.0 for name in FEATURES), -5.0)
LEFT_EDGE: Box = (0.0, 50.0, SIDE, SIDE)  # touches the left edge, by which the scripted target leaves
INSIDE: Box = (60.0, 50.0, SIDE, SIDE)  # within the anchor search's reach, clear of every edge
RESTING: Box = (50.0, 50.0, SIDE, SIDE)  # where the target starts


def feature(values: np.ndarray, name: str) -> float:
    return float(values[FEATURE[name]])


def context_of(image: np.ndarray, anchor: Box, target: Box, lost_frames: int = 3) -> LostContext:
    return LostContext(image.shape[:2], anchor, core_chromaticity(image, anchor), core_chromaticity(image, target),
                       colour_histogram(image, target), lost_frames)


def test_head_parses_validates_round_trips_and_rides_in_model_json() -> None:
    head = ConfirmationHead.from_mapping({"features": list(FEATURES), "weights": [0.5] * len(FEATURES), "bias": -1})
    assert head((0.0,) * len(FEATURES)) == pytest.approx(1 / (1 + math.e))
    assert ConfirmationHead.from_mapping(head.to_json()) == head
    good = head.to_json()
    for bad in ({**good, "features": list(reversed(FEATURES))}, {**good, "weights": [1.0]},
                {**good, "weights": [math.nan] * len(FEATURES)}, {"weights": good["weights"], "bias": 0.0},
                {**good, "bias": True}, {**good, "extra": 1}):
        with pytest.raises(ValueError):
            ConfirmationHead.from_mapping(bad)
    data = ModelManifest.from_json({**_shipped_json(), "confirmation": good})
    assert data.confirmation == head and data.to_json()["confirmation"] == good
    assert "confirmation" not in ModelManifest.from_json(_without_confirmation()).to_json()


def _shipped_json() -> dict:
    return json.loads((MODEL_DIR / MODEL_JSON).read_text())


def _without_confirmation() -> dict:
    return {key: value for key, value in _shipped_json().items() if key != "confirmation"}


def test_features_place_a_box_against_the_anchor_its_exit_and_the_targets_colour() -> None:
    image = frame(None)
    image[50:70, 0:20] = RED  # a box of the target's colour at the exit edge
    image[100:130, 150:170] = (20, 20, 230)  # a blue one, taller, in the middle
    target, anchor = (50.0, 50.0, SIDE, SIDE), LEFT_EDGE
    image[50:70, 50:70] = RED
    context = context_of(image, anchor, target, lost_frames=4)
    at_exit = candidate_features(image, LEFT_EDGE, context)
    inside = candidate_features(image, (150.0, 100.0, 20.0, 30.0), context)
    assert feature(at_exit, "at_exit") == 1.0 and feature(inside, "at_exit") == 0.0
    assert feature(at_exit, "anchor_at_edge") == feature(inside, "anchor_at_edge") == 1.0
    assert feature(at_exit, "anchor_distance") == 0.0 and feature(at_exit, "away_from_exit") == 0.0
    distance = math.log1p(math.hypot(160 - 10, 115 - 60) / SIDE)
    assert feature(inside, "anchor_distance") == pytest.approx(distance) == feature(inside, "away_from_exit")
    assert feature(inside, "size_change") == pytest.approx(math.log(1.5))
    assert feature(inside, "shape_change") == pytest.approx(math.log(1.5))
    assert feature(at_exit, "target_colour") == pytest.approx(math.log(COLOUR_RANGE[0]))  # the same red
    assert feature(inside, "target_colour") == pytest.approx(math.log(COLOUR_RANGE[1]))  # unrelated: clipped
    assert feature(at_exit, "histogram") > 0.9 > feature(inside, "histogram")
    assert feature(at_exit, "lost_frames") == pytest.approx(math.log1p(4))
    middle = context_of(image, (150.0, 100.0, 20.0, 20.0), target)  # an anchor clear of the edges
    assert feature(candidate_features(image, LEFT_EDGE, middle), "anchor_at_edge") == 0.0
    off_image = candidate_features(image, (900.0, 900.0, 20.0, 20.0), context)
    assert feature(off_image, "target_colour") == math.log(COLOUR_RANGE[1])  # no pixels: unrelated


def test_the_fit_separates_the_hits_and_gives_a_constant_feature_no_weight() -> None:
    rng = np.random.default_rng(3)
    labels = rng.random(600) < 0.5
    features = rng.normal(size=(600, len(FEATURES)))
    features[:, FEATURE["target_colour"]] -= 1.5 * labels  # the target's colour lies closer
    features[:, FEATURE["anchor_distance"]] += 2.0 * ~labels  # elsewhere lies farther
    features[:, FEATURE["lost_frames"]] = 2.0
    head = fit_confirmation(features, labels)
    scores = np.array([head(row) for row in features])
    auc = roc_auc(scores, labels)
    assert auc is not None and auc > 0.9
    assert head.weights[FEATURE["target_colour"]] < 0 and head.weights[FEATURE["anchor_distance"]] < 0
    assert head.weights[FEATURE["lost_frames"]] == 0.0
    assert roc_auc(scores, np.ones(600, bool)) is None


def leave_and_return(returned: Box, absent_frames: int = 8, visible_frames: int = 12) -> list[Box | None]:
    """The red square at rest, leaving by the left edge, away, then back in ``returned``."""
    resting = [RESTING] * 5
    leaving = [(50.0 - 12.0 * step, 50.0, SIDE, SIDE) for step in range(1, 7)]
    return [*resting, *leaving, *[None] * absent_frames, *[returned] * visible_frames]


def states(head: ConfirmationHead | None, script: list[Box | None]) -> list[TrackState]:
    runner = ColourRunner(min_fraction=0.15)  # the widened LOST search misses the square: the re-detection finds it
    tracker = SiameseTracker(runner, redetection=RedetectionSettings(border_search_every=1), confirmation=head)
    session = TrackingSession(tracker, POLICY)
    session.start(frame(RESTING), RESTING, "t")
    return [session.step(frame(square)).state for square in script[1:]]


def test_the_session_confirms_a_return_by_the_head_while_lost() -> None:
    """The head confirms only re-detection hits at the exit edge: the target back there is re-acquired, back inside
    the frame it is not (without a head, the appearance check re-acquires it there too)."""
    back_inside = states(AT_EXIT_ONLY, leave_and_return(INSIDE))
    assert TrackState.LOST in back_inside and back_inside[-1] == TrackState.LOST
    assert states(None, leave_and_return(INSIDE))[-1] == TrackState.TRACKING
    back_at_exit = states(AT_EXIT_ONLY, leave_and_return(LEFT_EDGE))
    assert TrackState.LOST in back_at_exit and back_at_exit[-1] == TrackState.TRACKING


class RecordingHead(ConfirmationHead):
    """A head that confirms as :data:`AT_EXIT_ONLY` and records the features of every box it scored, by frame."""

    def probability(self, image: np.ndarray, box: Box, context: LostContext) -> float:
        RECORDED.append((context, box, candidate_features(image, box, context)))
        return super().probability(image, box, context)


RECORDED: list[tuple[LostContext, Box, np.ndarray]] = []


def write_dataset(root: Path, script: list[Box | None]) -> Path:
    """``script`` as a GOT-10k sequence (frames, ground truth, absence flags) under ``root``."""
    directory = root / "data" / "leave"
    directory.mkdir(parents=True)
    for index, square in enumerate(script):
        cv2.imwrite(str(directory / f"{index + 1:08d}.png"), cv2.cvtColor(frame(square), cv2.COLOR_RGB2BGR))
    boxes = [square if square is not None and square[0] >= 0 else None for square in script]
    (directory / "groundtruth.txt").write_text(
        "\n".join("0,0,0,0" if box is None else ",".join(f"{v:.1f}" for v in box) for box in boxes) + "\n")
    (directory / "absence.label").write_text("\n".join("1" if box is None else "0" for box in boxes) + "\n")
    return directory.parent


def test_mined_hits_carry_the_features_the_session_computed_live(tmp_path: Path) -> None:
    """A run over a leave-and-return sequence, re-mined from its CSVs: every hit the head scored live has the
    same features mined (the anchor, its colour and the frames since TRACKING rebuilt from the run's rows)."""
    dataset = write_dataset(tmp_path, leave_and_return(LEFT_EDGE))
    sequence = load_dataset(dataset)[0]
    head = RecordingHead(AT_EXIT_ONLY.weights, AT_EXIT_ONLY.bias)
    RECORDED.clear()
    runner = ColourRunner(min_fraction=0.15)  # the widened LOST search misses the square: the re-detection finds it
    tracker = SiameseTracker(runner, redetection=RedetectionSettings(border_search_every=1), confirmation=head)
    result = run_sequence(tracker, sequence, "ours", POLICY)
    write_report(tmp_path / "run", {"ours": [result]})
    features, labels = run_hits(tmp_path / "run", dataset, lost_score=POLICY.lost_score)
    assert len(labels) and labels.any()
    live = [values for _, box, values in RECORDED]
    matched = [row for row in features if any(np.allclose(row, values, atol=1e-3) for values in live)]
    assert len(matched) == len(features), "every mined hit is one the head scored live, with the same features"
