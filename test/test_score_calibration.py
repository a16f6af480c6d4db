"""Score calibration: Platt scaling fit, identity default, model.json plumbing, frame labelling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from asymtrack_ros.evaluation.ope import SequenceResult
from asymtrack_ros.evaluation.robustness import Robustness
from asymtrack_ros.evaluation.score_calibration import labelled_scores
from asymtrack_ros.export.cli import main as export_main
from asymtrack_ros.tracking import create_tracker
from asymtrack_ros.tracking.confidence import IDENTITY, ScoreCalibration
from asymtrack_ros.tracking.manifest import MODEL_JSON, manifest_problems, read_manifest


def test_fit_recovers_a_known_logistic_relation() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(1.0, 2.5, 20000)
    raw = 1.0 / (1.0 + np.exp(-logits))
    on_target = rng.random(len(raw)) < 1.0 / (1.0 + np.exp(-(0.5 * logits - 1.0)))
    fitted = ScoreCalibration.fit(raw, on_target)
    assert fitted.slope == pytest.approx(0.5, abs=0.05) and fitted.intercept == pytest.approx(-1.0, abs=0.1)
    assert fitted(0.99) > fitted(0.9) > fitted(0.5)  # monotone
    assert 0.0 < fitted(0.0) < fitted(1.0) < 1.0


def test_identity_is_exact_and_bad_values_are_refused() -> None:
    assert IDENTITY(0.123456789) == 0.123456789
    for slope, intercept in ((0.0, 0.0), (-1.0, 0.0), (float("nan"), 0.0), (1.0, float("inf"))):
        with pytest.raises(ValueError, match="score calibration"):
            ScoreCalibration(slope, intercept)
    with pytest.raises(ValueError, match="on and off the target"):
        ScoreCalibration.fit(np.array([0.2, 0.9]), np.array([True, True]))


def test_model_json_carries_the_calibration(tmp_path: Path) -> None:
    out = tmp_path / "calibrated"
    assert export_main(["--random-init", "--out", str(out), "--score-calibration", "0.4", "-1.2"]) == 0
    assert read_manifest(out).calibration == ScoreCalibration(0.4, -1.2)
    tracker = create_tracker("onnx", model_dir=out, threads=1)
    assert tracker.calibration == ScoreCalibration(0.4, -1.2)
    frame = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    tracker.initialize(frame, (100, 80, 60, 40))
    calibrated = tracker.track(frame).score
    tracker.calibration = IDENTITY
    tracker.initialize(frame, (100, 80, 60, 40))
    assert calibrated == pytest.approx(ScoreCalibration(0.4, -1.2)(tracker.track(frame).score))
    data = json.loads((out / MODEL_JSON).read_text())
    data["score_calibration"]["slope"] = -1
    assert any("bad value for 'score_calibration'" in problem for problem in manifest_problems(data))
    del data["score_calibration"]
    assert manifest_problems(data) == []


def test_frames_are_on_target_when_visible_and_overlapping() -> None:
    truth = np.array([[10, 10, 20, 20], [10, 10, 20, 20], [0, 0, 0, 0], [50, 50, 20, 20]], float)
    boxes = np.array([[10, 10, 20, 20], [12, 10, 20, 20], [10, 10, 20, 20], [10, 10, 20, 20]], float)
    confidences = np.array([np.nan, 0.9, 0.8, 0.7])
    result = SequenceResult("t", "s", 0, boxes, confidences, np.zeros((4, 4)), None, published=confidences,
                            states=np.ones(4, int), robustness=Robustness(4, 0, 1, 0, ()), exits=np.zeros(4, int))
    scores, on_target = labelled_scores(result, truth, np.array([0, 0, 1, 0]), min_iou=0.3)
    np.testing.assert_array_equal(scores, [0.9, 0.8, 0.7])
    np.testing.assert_array_equal(on_target, [True, False, False])
    # a frame whose box is unknown (target in view, not boxed) gets no label
    scores, on_target = labelled_scores(result, truth, np.array([0, 0, 1, 0]), 0.3, unknown=np.array([0, 0, 1, 0]))
    np.testing.assert_array_equal(scores, [0.9, 0.7])
    np.testing.assert_array_equal(on_target, [True, False])
