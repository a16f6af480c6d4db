"""Box smoothing: the window's soft-argmax matches the networks' corner heads, size damping, model.json plumbing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from asymtrack_ros.export.cli import main as export_main
from asymtrack_ros.models.factory import build_model
from asymtrack_ros.tracking import create_tracker
from asymtrack_ros.tracking.box_smoothing import NO_OVERRIDES, NO_SMOOTHING, BoxSmoothing, SmoothingOverrides
from asymtrack_ros.tracking.manifest import MODEL_JSON, manifest_problems, read_manifest

SMOOTHING = BoxSmoothing(window_influence=0.3, size_update_rate=0.5, max_scale_step=1.1)


@pytest.mark.parametrize("model", ["asymtrack", "hit"])
def test_unwindowed_soft_argmax_equals_the_corner_head(model: str) -> None:
    torch.manual_seed(0)
    network = build_model(model, "tiny").eval()
    config = network.config
    with torch.inference_mode():
        state = network.encode_template(torch.randn(1, 3, config.template_size, config.template_size))
        out = network.track_search(torch.randn(1, 3, config.search_size, config.search_size), state)
    prob_tl, prob_br = out["prob_tl"][0].numpy(), out["prob_br"][0].numpy()
    feat_size = round(math.sqrt(prob_tl.size))
    box = NO_SMOOTHING.corner_box(prob_tl, prob_br, feat_size)
    np.testing.assert_allclose(box, out["pred_boxes"][0].numpy(), atol=1e-5)


def test_window_pulls_a_two_peak_map_towards_the_centre() -> None:
    feat_size = 16
    prob = np.zeros((feat_size, feat_size))
    prob[8, 8] = prob[1, 1] = 0.5
    flat = prob.reshape(-1)
    plain = NO_SMOOTHING.corner_box(flat, flat, feat_size)
    assert plain[0] == pytest.approx(4.5 / 16) and plain[2] == pytest.approx(0.0)
    full = BoxSmoothing(window_influence=1.0).corner_box(flat, flat, feat_size)
    assert full[0] > 7 / 16
    partial = BoxSmoothing(window_influence=0.5).corner_box(flat, flat, feat_size)[0]
    assert 4.5 / 16 < partial < 8 / 16


def test_size_damping_keeps_the_centre_and_bounds_the_step() -> None:
    previous, predicted = (100.0, 100.0, 40.0, 20.0), (90.0, 110.0, 80.0, 10.0)
    assert NO_SMOOTHING.damp_size(previous, predicted, 0.3) is predicted
    x, y, w, h = BoxSmoothing(size_update_rate=0.5).damp_size(previous, predicted, 1.0)
    assert (w, h) == (60.0, 15.0) and (x + w / 2, y + h / 2) == (130.0, 115.0)
    _, _, w, h = BoxSmoothing(size_update_rate=0.5).damp_size(previous, predicted, 0.5)  # less sure: smaller step
    assert (w, h) == (50.0, 17.5)
    x, y, w, h = BoxSmoothing(max_scale_step=1.1).damp_size(previous, predicted, 1.0)
    assert (w, h) == pytest.approx((44.0, 20 / 1.1)) and (x + w / 2, y + h / 2) == pytest.approx((130.0, 115.0))


def test_a_low_score_holds_the_box() -> None:
    previous, predicted = (100.0, 100.0, 40.0, 20.0), (90.0, 110.0, 80.0, 10.0)
    holding = BoxSmoothing(size_update_rate=0.5, hold_score=0.4)
    assert holding.update(previous, predicted, 0.39) == previous
    assert holding.update(previous, predicted, 0.4) == holding.damp_size(previous, predicted, 0.4)
    assert NO_SMOOTHING.update(previous, predicted, 0.0) is predicted


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"window_influence": 1.5}, "window_influence"),
        ({"size_update_rate": 0.0}, "size_update_rate"),
        ({"max_scale_step": 0.9}, "max_scale_step"),
        ({"max_scale_step": float("nan")}, "max_scale_step"),
        ({"hold_score": 1.5}, "hold_score"),
        ({"speed": 1.0}, "unknown box smoothing keys"),
        ({"window_influence": "a lot"}, "bad box smoothing values"),
    ],
)
def test_from_mapping_refuses_out_of_range_unknown_and_non_numeric_values(values: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BoxSmoothing.from_mapping(values)


def test_box_smoothing_survives_a_json_round_trip() -> None:
    assert BoxSmoothing.from_mapping(json.loads(json.dumps(NO_SMOOTHING.to_json()))) == NO_SMOOTHING
    assert BoxSmoothing.from_mapping(SMOOTHING.to_json()) == SMOOTHING


def test_replace_and_overrides_change_only_the_given_values_and_accept_inf() -> None:
    assert SMOOTHING.replace(size_update_rate=None, max_scale_step="inf") == BoxSmoothing(0.3, 0.5, math.inf)
    assert SmoothingOverrides(max_scale_step=math.inf).apply(SMOOTHING) == BoxSmoothing(0.3, 0.5, math.inf)
    assert NO_OVERRIDES.apply(SMOOTHING) == SMOOTHING


def test_model_json_carries_the_smoothing_and_options_override_it(tmp_path: Path) -> None:
    out = tmp_path / "smoothed"
    flags = ["--window-influence", "0.3", "--size-update-rate", "0.5", "--max-scale-step", "1.1"]
    assert export_main(["--random-init", "--out", str(out), *flags]) == 0
    assert read_manifest(out).smoothing == SMOOTHING
    assert create_tracker("onnx", model_dir=out, threads=1).smoothing == SMOOTHING
    plain = create_tracker("onnx", model_dir=out, threads=1, window_influence=0, size_update_rate=1,
                           max_scale_step="inf")
    assert plain.smoothing == NO_SMOOTHING
    overrides = SmoothingOverrides(window_influence=0, size_update_rate=1, max_scale_step=math.inf)
    assert create_tracker("onnx", model_dir=out, threads=1, smoothing=overrides).smoothing == NO_SMOOTHING
    with pytest.raises(ValueError, match="not both"):
        create_tracker("onnx", model_dir=out, smoothing=overrides, hold_score=0.5)
    with pytest.raises(ValueError, match="opencv backend takes no smoothing"):
        create_tracker("opencv", window_influence=0.3)
    data = json.loads((out / MODEL_JSON).read_text())
    data["tracker"]["size_update_rate"] = 2.0
    assert any("bad value for 'tracker'" in problem for problem in manifest_problems(data))
    del data["tracker"]  # model directories written before the key existed stay valid, without smoothing
    assert manifest_problems(data) == []


def test_smoothing_changes_only_the_box_not_the_score(tmp_path: Path) -> None:
    frame = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    results = []
    for options in ({}, SMOOTHING.__dict__):
        torch.manual_seed(0)
        tracker = create_tracker("torch", random_init=True, threads=1, **options)
        tracker.initialize(frame, (100, 80, 60, 40))
        results.append(tracker.track(frame))
    assert results[0].score == results[1].score
    assert results[0].box != results[1].box
