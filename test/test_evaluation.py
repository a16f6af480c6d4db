"""Evaluation toolkit: hand-computed metrics, dataset layouts, the OPE runner, reports and ``asymtrack-eval``."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import functools
import json
import logging
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from asymtrack_ros.boxes import iou
from asymtrack_ros.dataset_layouts import DatasetError, detect_format, load_dataset
from asymtrack_ros.evaluation import (
    evaluate_sequence,
    pool_scores,
    run_ope,
    run_sequence,
    scored_frames,
    write_report,
)
from asymtrack_ros.evaluation.cli import main, parse_tracker_spec, run_evaluation
from asymtrack_ros.evaluation.lost_signal import summarize
from asymtrack_ros.evaluation.metrics import center_error
from asymtrack_ros.evaluation.report import PLOTS, SEQUENCE_CSV, SUMMARY_JSON
from asymtrack_ros.sequences import make_sequence
from asymtrack_ros.tracking.base import DeviceInfo, Tracker, TrackResult
from asymtrack_ros.tracking.monitor import LostPolicy

FRAME_SHAPE = (48, 64)
PERFECT_AUC = 20 / 21  # IoU 1 passes every success threshold but the last (IoU > 1)
HALF_OVERLAP_AUC = 10 / 21  # IoU 0.5 passes thresholds 0, 0.05, ..., 0.45
HALF_WIDTH_SHIFT = np.array([10.0, 0.0, 0.0, 0.0])  # on the 30 px wide target: IoU 200 / 400 = 0.5


class RedBoxTracker(Tracker):
    """Finds the red target of the synthetic frames (keeps its last box when none) and adds ``offset``."""

    def __init__(self, offset: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)) -> None:
        self.offset = np.asarray(offset, dtype=np.float64)
        self._box: np.ndarray | None = None

    @property
    def device_info(self) -> DeviceInfo:
        return DeviceInfo(backend="test", device="cpu")

    @property
    def is_initialized(self) -> bool:
        return self._box is not None

    def _initialize(self, image: np.ndarray, box: tuple[float, float, float, float]) -> None:
        self._box = np.asarray(box, dtype=np.float64)

    def _track(self, image: np.ndarray, search_scale: float) -> TrackResult:
        rows, cols = np.nonzero((image[..., 0] > 127) & (image[..., 1] < 128))
        if len(cols):
            self._box = np.array([cols.min(), rows.min(), np.ptp(cols) + 1, np.ptp(rows) + 1], dtype=np.float64)
        x, y, w, h = (float(value) for value in self._box + self.offset)
        return TrackResult((x, y, w, h), score=0.9, preprocess_ms=1.0, inference_ms=2.0, postprocess_ms=0.5)


def write_frames(directory: Path, boxes: np.ndarray, pattern: str = "{:08d}.png") -> None:
    """One black frame per box with the box filled red (no target where the box is NaN)."""
    directory.mkdir(parents=True, exist_ok=True)
    for number, box in enumerate(boxes, start=1):
        image = np.zeros((*FRAME_SHAPE, 3), dtype=np.uint8)
        if np.isfinite(box).all():
            x, y, w, h = (int(value) for value in box)
            image[y : y + h, x : x + w] = (0, 0, 255)  # BGR red
        cv2.imwrite(str(directory / pattern.format(number)), image)


def write_boxes(path: Path, boxes: np.ndarray, separator: str = ",") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(separator.join(f"{value:g}" for value in box) + "\n" for box in boxes))


def moving_boxes(num_frames: int) -> np.ndarray:
    """A 30x10 target moving (2, 3) px per frame, inside the 64x48 frames."""
    steps = np.arange(num_frames, dtype=np.float64)
    return np.column_stack([4 + 2 * steps, 5 + 3 * steps, np.full(num_frames, 30.0), np.full(num_frames, 10.0)])


@pytest.fixture
def got10k_dataset(tmp_path: Path) -> Path:
    """Two 6-frame GOT-10k sequences with PNG frames; frame 3 of the second one is flagged absent."""
    root = tmp_path / "got10k_val"
    for name, absence in (("seq_a", [0] * 6), ("seq_b", [0, 0, 0, 1, 0, 0])):
        boxes = moving_boxes(6)
        drawn = boxes.copy()
        drawn[np.array(absence, dtype=bool)] = np.nan
        write_frames(root / name, drawn)
        write_boxes(root / name / "groundtruth.txt", boxes)
        (root / name / "absence.label").write_text("".join(f"{flag}\n" for flag in absence))
    return root


# ----------------------------------------------------------------------------------------------- metrics


def test_iou_of_equal_shifted_nested_disjoint_and_nan_boxes_matches_hand_values() -> None:
    ground_truth = np.array([[0, 0, 30, 10], [0, 0, 30, 10], [0, 0, 20, 20], [0, 0, 10, 10], [0, 0, 10, 10]], float)
    boxes = np.array([[0, 0, 30, 10], [10, 0, 30, 10], [0, 0, 10, 10], [20, 20, 5, 5], [np.nan, 0, 10, 10]], float)
    np.testing.assert_array_equal(iou(boxes, ground_truth), [1.0, 0.5, 0.25, 0.0, 0.0])


def test_a_perfect_tracker_gets_full_success_precision_and_overlap_scores() -> None:
    ground_truth = moving_boxes(8)
    scores = evaluate_sequence(ground_truth, ground_truth, np.ones(8, dtype=bool))
    np.testing.assert_array_equal(scores.success_curve, [1.0] * 20 + [0.0])
    assert scores.auc == pytest.approx(PERFECT_AUC)
    assert (scores.precision, scores.norm_precision) == (1.0, 1.0)
    assert (scores.ao, scores.sr50, scores.sr75) == (1.0, 1.0, 1.0)


def test_half_overlap_boxes_get_iou_0_5_and_hand_computed_curves_and_scores() -> None:
    ground_truth = moving_boxes(5)
    scores = evaluate_sequence(ground_truth + HALF_WIDTH_SHIFT, ground_truth, np.ones(5, dtype=bool))
    np.testing.assert_array_equal(scores.ious, [0.5] * 5)
    np.testing.assert_array_equal(scores.success_curve, [1.0] * 10 + [0.0] * 11)
    assert scores.auc == pytest.approx(HALF_OVERLAP_AUC)
    assert (scores.ao, scores.sr50, scores.sr75) == (0.5, 0.0, 0.0)  # SR counts IoU > 0.5, strictly
    np.testing.assert_array_equal(scores.precision_curve, [0.0] * 10 + [1.0] * 41)  # 10 px error
    np.testing.assert_array_equal(scores.norm_precision_curve, [0.0] * 34 + [1.0] * 17)  # 10 / 30 of the width
    assert (scores.precision, scores.norm_precision) == (1.0, 0.0)


def test_center_error_precision_hand_case() -> None:
    ground_truth = np.tile([10.0, 10.0, 10.0, 20.0], (3, 1))
    boxes = ground_truth + np.array([[3, 4, 0, 0], [15, 20, 0, 0], [1, 2, 0, 0]])
    np.testing.assert_allclose(center_error(boxes, ground_truth), [5.0, 25.0, np.sqrt(5.0)])
    np.testing.assert_allclose(center_error(boxes, ground_truth, normalized=True), [0.13**0.5, 3.25**0.5, 0.02**0.5])
    scores = evaluate_sequence(boxes, ground_truth, np.ones(3, dtype=bool))
    np.testing.assert_allclose(scores.precision_curve, [0] * 3 + [1 / 3] * 2 + [2 / 3] * 20 + [1] * 26)
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.norm_precision == pytest.approx(1 / 3)
    # A box that only grows moves its centre by half the growth.
    assert center_error(np.array([[10.0, 10.0, 14.0, 20.0]]), ground_truth[:1])[0] == 2.0


def test_scored_frames_leave_out_init_and_absent_frames() -> None:
    absent = np.array([False, True, False, False, True, False])
    np.testing.assert_array_equal(scored_frames(absent, init_frame=2), [False, False, False, True, False, True])
    ground_truth = moving_boxes(6)
    boxes = ground_truth.copy()
    boxes[[0, 1, 2, 4]] = [50.0, 50.0, 1.0, 1.0]  # wrong only where nothing is scored
    scores = evaluate_sequence(boxes, ground_truth, scored_frames(absent, init_frame=2))
    assert scores.num_frames == 2
    assert (scores.ao, scores.auc) == (1.0, pytest.approx(PERFECT_AUC))


def test_pool_scores_averages_curves_per_sequence_and_pools_ious_per_frame() -> None:
    ground_truth = moving_boxes(3)
    perfect = evaluate_sequence(ground_truth[:1], ground_truth[:1], np.ones(1, dtype=bool))
    half = evaluate_sequence(ground_truth + HALF_WIDTH_SHIFT, ground_truth, np.ones(3, dtype=bool))
    unscored = evaluate_sequence(ground_truth, ground_truth, np.zeros(3, dtype=bool))
    pooled = pool_scores([perfect, half, unscored])
    assert pooled.auc == pytest.approx((PERFECT_AUC + HALF_OVERLAP_AUC) / 2)
    assert pooled.num_frames == 4
    assert pooled.ao == pytest.approx((1.0 + 3 * 0.5) / 4)
    assert pooled.sr50 == pytest.approx(1 / 4)


# ---------------------------------------------------------------------------------------------- datasets


def test_got10k_loader_marks_absent_and_zero_cover_frames_reads_rgb_and_skips_first_box_only_sequences(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    boxes = moving_boxes(4)
    for name in ("GOT-10k_Val_000001", "GOT-10k_Val_000002"):
        write_frames(tmp_path / name, boxes, "{:08d}.jpg")
        write_boxes(tmp_path / name / "groundtruth.txt", boxes)
    (tmp_path / "GOT-10k_Val_000001" / "absence.label").write_text("0\n0\n1\n0\n")
    (tmp_path / "GOT-10k_Val_000001" / "cover.label").write_text("8\n0\n8\n8\n")
    write_frames(tmp_path / "GOT-10k_Test_000001", boxes, "{:08d}.jpg")  # test split: first box only
    write_boxes(tmp_path / "GOT-10k_Test_000001" / "groundtruth.txt", boxes[:1])

    assert detect_format(tmp_path) == "got10k"
    with caplog.at_level(logging.WARNING):
        first, second = load_dataset(tmp_path)
    assert "GOT-10k_Test_000001" in caplog.text
    assert (first.name, len(first), first.frames[0].name) == ("GOT-10k_Val_000001", 4, "00000001.jpg")
    np.testing.assert_array_equal(first.absent, [False, True, True, False])
    assert np.isnan(first.ground_truth[1:3]).all()
    np.testing.assert_array_equal(first.ground_truth[[0, 3]], boxes[[0, 3]])
    assert not second.absent.any()
    image = first.read_frame(0)
    x, y = int(boxes[0, 0]) + 5, int(boxes[0, 1]) + 5
    assert image.shape == (*FRAME_SHAPE, 3) and image.dtype == np.uint8
    assert image[y, x, 0] > 200 and image[y, x, 2] < 60  # red arrives in channel 0: RGB


def test_lasot_loader_marks_occluded_out_of_view_and_zero_boxes_absent_from_root_or_category(tmp_path: Path) -> None:
    boxes = moving_boxes(5)
    boxes[1] = 0.0  # LaSOT writes 0,0,0,0 where the target is absent
    sequence_dir = tmp_path / "airplane" / "airplane-1"
    write_frames(sequence_dir / "img", boxes, "{:08d}.jpg")
    write_boxes(sequence_dir / "groundtruth.txt", boxes)
    (sequence_dir / "full_occlusion.txt").write_text("0,0,1,0,0")
    (sequence_dir / "out_of_view.txt").write_text("0,0,0,1,0")

    for root in (tmp_path, tmp_path / "airplane"):  # the dataset root or one category
        assert detect_format(root) == "lasot"
        (sequence,) = load_dataset(root)
        assert sequence.name == "airplane-1"
        np.testing.assert_array_equal(sequence.absent, [False, True, True, True, False])
        np.testing.assert_array_equal(sequence.ground_truth[4], boxes[4])


def test_otb_layout_separators_and_multiple_targets(tmp_path: Path) -> None:
    boxes = moving_boxes(3)
    write_frames(tmp_path / "Basketball" / "img", boxes, "{:04d}.jpg")
    write_boxes(tmp_path / "Basketball" / "groundtruth_rect.txt", boxes, separator="\t")
    write_frames(tmp_path / "Jogging" / "img", boxes, "{:04d}.jpg")
    write_boxes(tmp_path / "Jogging" / "groundtruth_rect.1.txt", boxes, separator=" ")
    write_boxes(tmp_path / "Jogging" / "groundtruth_rect.2.txt", boxes + 1, separator=", ")

    assert detect_format(tmp_path) == "otb"
    sequences = load_dataset(tmp_path)
    assert [sequence.name for sequence in sequences] == ["Basketball", "Jogging-1", "Jogging-2"]
    np.testing.assert_array_equal(sequences[0].ground_truth, boxes)
    np.testing.assert_array_equal(sequences[2].ground_truth, boxes + 1)
    assert sequences[0].frames[0].name == "0001.jpg"


def test_uav123_loader_marks_nan_rows_absent_initialises_after_them_and_skips_boxes_without_frames(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    boxes = moving_boxes(4)
    boxes[0] = np.nan  # target absent at the start
    write_frames(tmp_path / "data_seq" / "UAV123" / "bike1", boxes, "{:06d}.jpg")
    (tmp_path / "anno" / "UAV123").mkdir(parents=True)
    (tmp_path / "anno" / "UAV123" / "bike1.txt").write_text(
        "NaN,NaN,NaN,NaN\n" + "".join(f"{x:g},{y:g},{w:g},{h:g}\n" for x, y, w, h in boxes[1:])
    )
    write_boxes(tmp_path / "anno" / "UAV123" / "bird1_1.txt", boxes[1:])  # no frame folder of that name

    assert detect_format(tmp_path) == "uav123"
    with caplog.at_level(logging.WARNING):
        (sequence,) = load_dataset(tmp_path)
    assert "bird1_1" in caplog.text
    assert sequence.name == "bike1"
    np.testing.assert_array_equal(sequence.absent, [True, False, False, False])
    assert sequence.init_frame == 1


def test_format_override_limits_and_errors(got10k_dataset: Path, tmp_path: Path) -> None:
    assert [s.name for s in load_dataset(got10k_dataset, "got10k", max_sequences=1)] == ["seq_a"]
    assert [s.name for s in load_dataset(got10k_dataset, "got10k", max_sequences=1, skip_sequences=1)] == ["seq_b"]
    with pytest.raises(DatasetError, match="no usable lasot"):
        load_dataset(got10k_dataset, "lasot")
    with pytest.raises(DatasetError, match="unknown dataset format"):
        load_dataset(got10k_dataset, "vot")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="matches none"):
        detect_format(tmp_path / "empty")
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "missing")


def test_frames_are_read_as_rgb(got10k_dataset: Path) -> None:
    sequence = load_dataset(got10k_dataset)[0]
    x, y = (int(value) for value in sequence.ground_truth[0, :2])
    np.testing.assert_array_equal(sequence.read_frame(0)[y, x], [255, 0, 0])


# ---------------------------------------------------------------------------------------------------- OPE


def test_run_sequence_initialises_on_first_visible_frame(tmp_path: Path) -> None:
    boxes = moving_boxes(6)
    boxes[0] = np.nan
    write_frames(tmp_path / "frames", boxes)
    sequence = make_sequence("late_start", sorted((tmp_path / "frames").iterdir()), boxes)

    result = run_sequence(RedBoxTracker(), sequence, "exact")
    assert (result.tracker, result.sequence, result.init_frame) == ("exact", "late_start", 1)
    assert np.isnan(result.boxes[0]).all()
    np.testing.assert_array_equal(result.boxes[1:], boxes[1:])
    np.testing.assert_array_equal(result.confidences, [np.nan, np.nan, 0.9, 0.9, 0.9, 0.9])
    np.testing.assert_array_equal(result.tracked_timings_ms[:, :3], np.tile([1.0, 2.0, 0.5], (4, 1)))
    assert (result.tracked_timings_ms[:, 3] > 0).all()
    assert result.scores.num_frames == 4
    assert result.scores.auc == pytest.approx(PERFECT_AUC)


def test_run_ope_compares_trackers_created_once(got10k_dataset: Path) -> None:
    created = []

    def counting_factory(offset: tuple[float, float, float, float]) -> Tracker:
        created.append(offset)
        return RedBoxTracker(offset)

    factories = {
        "exact": functools.partial(counting_factory, (0.0, 0.0, 0.0, 0.0)),
        "shifted": functools.partial(counting_factory, tuple(HALF_WIDTH_SHIFT)),
    }
    results = run_ope(factories, load_dataset(got10k_dataset))
    assert len(created) == 2
    assert [[r.sequence for r in runs] for runs in results.values()] == [["seq_a", "seq_b"]] * 2
    assert [r.scores.num_frames for r in results["exact"]] == [5, 4]  # init frame and the absent frame left out
    for result in results["exact"]:
        assert result.scores.auc == pytest.approx(PERFECT_AUC)
    for result in results["shifted"]:
        assert result.scores.auc == pytest.approx(HALF_OVERLAP_AUC)
        assert result.scores.ao == pytest.approx(0.5)


# ------------------------------------------------------------------------------------------------ reports


def test_write_report_writes_sequence_csv_summary_json_per_frame_results_and_plots(
    got10k_dataset: Path, tmp_path: Path
) -> None:
    sequences = load_dataset(got10k_dataset)
    results = run_ope({"exact": RedBoxTracker, "shifted": lambda: RedBoxTracker(tuple(HALF_WIDTH_SHIFT))}, sequences)
    out = tmp_path / "report"
    summary = write_report(out, results, dataset="synthetic")

    with (out / SEQUENCE_CSV).open() as stream:
        rows = list(csv.DictReader(stream))
    assert [(row["tracker"], row["sequence"]) for row in rows] == [
        ("exact", "seq_a"),
        ("exact", "seq_b"),
        ("shifted", "seq_a"),
        ("shifted", "seq_b"),
    ]
    assert float(rows[2]["auc"]) == pytest.approx(HALF_OVERLAP_AUC)
    assert float(rows[1]["scored_frames"]) == 4
    assert json.loads((out / SUMMARY_JSON).read_text()) == summary
    assert summary["trackers"]["shifted"]["scored_frames"] == 9
    assert summary["trackers"]["shifted"]["sr50"] == 0.0
    assert summary["trackers"]["exact"]["inference_ms"] == 2.0
    assert len(summary["trackers"]["exact"]["success_curve"]) == 21
    frame_rows = (out / "results" / "shifted" / "seq_b.csv").read_text().splitlines()
    assert frame_rows[0].startswith("frame,x,y,w,h,confidence") and len(frame_rows) == 7
    for plot in PLOTS:
        assert (out / plot.filename).read_bytes().startswith(b"\x89PNG")


# ---------------------------------------------------------------------------------------------------- CLI


def test_tracker_spec_parses_name_backend_and_typed_options_and_refuses_malformed_specs() -> None:
    assert parse_tracker_spec("fast=onnx") == ("fast", "onnx", {})
    assert parse_tracker_spec("a=onnx:model=asymtrack,device=cuda:0,threads=2,fp16=true") == (
        "a",
        "onnx",
        {"model": "asymtrack", "device": "cuda:0", "threads": 2, "fp16": True},
    )
    for bad in ("onnx", "=onnx", "a=", "a=onnx:device", "a/b=onnx"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_tracker_spec(bad)


def test_run_evaluation_with_injected_factories(got10k_dataset: Path, tmp_path: Path) -> None:
    summary = run_evaluation(got10k_dataset, tmp_path / "out", {"exact": RedBoxTracker}, max_sequences=1)
    exact = summary["trackers"]["exact"]
    assert (exact["sequences"], exact["scored_frames"]) == (1, 5)
    assert exact["auc"] == pytest.approx(PERFECT_AUC)
    assert (exact["precision"], exact["norm_precision"], exact["ao"]) == (1.0, 1.0, 1.0)


@pytest.fixture
def fake_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """``create_tracker("fake", dx=...)`` makes a RedBoxTracker shifted by dx pixels."""

    def fake_create_tracker(backend: str, **options: object) -> Tracker:
        assert backend == "fake"
        return RedBoxTracker((float(options.get("dx", 0)), 0.0, 0.0, 0.0))

    monkeypatch.setattr("asymtrack_ros.tracking.create_tracker", fake_create_tracker, raising=False)


@pytest.mark.usefixtures("fake_backend")
def test_eval_cli_scores_each_tracker_prints_progress_and_writes_summary_and_plots(
    got10k_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["--dataset", str(got10k_dataset), "--format", "got10k", "--out", str(out)]
    assert main([*argv, "--tracker", "exact=fake", "--tracker", "shifted=fake:dx=10"]) == 0

    summary = json.loads((out / SUMMARY_JSON).read_text())
    assert summary["trackers"]["exact"]["auc"] == pytest.approx(PERFECT_AUC)
    assert summary["trackers"]["shifted"]["auc"] == pytest.approx(HALF_OVERLAP_AUC)
    assert summary["trackers"]["shifted"]["precision"] == 1.0
    assert summary["setup"]["trackers"] == {"exact": {"backend": "fake", "options": {}},
                                            "shifted": {"backend": "fake", "options": {"dx": 10}}}
    assert summary["trackers"]["exact"]["device"] == RedBoxTracker().device_info.to_json()
    assert summary["setup"]["host"]["cpu_count"] >= 1 and summary["setup"]["host"]["versions"]["opencv"]
    features = summary["setup"]["host"]["cpu_features"]
    assert features and all(name and name.strip("*?") == name for name in features)
    printed = capsys.readouterr()
    assert "shifted" in printed.out
    assert re.search(r"^asymtrack-eval: (\d+)/\1 \(100%\) .* \| shifted \[\d+/\d+\] .*: AUC ", printed.err, re.M)
    for plot in PLOTS:
        assert (out / plot.filename).stat().st_size > 0


@pytest.mark.usefixtures("fake_backend")
def test_eval_cli_exits_on_a_missing_dataset_or_a_repeated_tracker_name(got10k_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = ["--dataset", str(got10k_dataset), "--format", "got10k", "--out", str(out)]
    with pytest.raises(SystemExit):
        main(["--dataset", str(tmp_path / "missing"), "--out", str(out), "--tracker", "exact=fake"])
    with pytest.raises(SystemExit):
        main([*argv, "--tracker", "same=fake", "--tracker", "same=fake"])


@pytest.mark.usefixtures("fake_backend")
def test_eval_cli_policy_settings_reach_every_session_and_bad_ones_exit(got10k_dataset: Path, tmp_path: Path) -> None:
    """``--policy``: the fake tracker scores 0.9, so a policy that wants 0.95 to stay says LOST after one frame, and
    the default keeps it TRACKING; an unknown field, a value of the wrong type or an invalid policy exits."""
    argv = ["--dataset", str(got10k_dataset), "--format", "got10k", "--tracker", "exact=fake"]
    strict = ["--policy", "lost_score=0.95", "--policy", "recover_score=0.95", "--policy", "lost_frames=1"]
    for name, settings in (("default", []), ("strict", strict)):
        assert main([*argv, "--out", str(tmp_path / name), *settings]) == 0
    summaries = {name: json.loads((tmp_path / name / SUMMARY_JSON).read_text())["trackers"]["exact"]
                 for name in ("default", "strict")}
    assert summaries["default"]["visible_lost"] == 0.0 and summaries["strict"]["visible_lost"] == 1.0
    assert summaries["default"]["auc"] == summaries["strict"]["auc"], "the boxes are the tracker's either way"
    setup = json.loads((tmp_path / "strict" / SUMMARY_JSON).read_text())["setup"]
    assert setup["policy"] == {**dataclasses.asdict(LostPolicy()), "lost_score": 0.95, "recover_score": 0.95,
                               "lost_frames": 1}, "summary.json records the policy the sessions ran with"
    for bad in ("nosuch=1", "lost_frames=2.5", "lost_at_cut=1", "probation_frames=-1", "lost_score=0.9"):
        with pytest.raises(SystemExit):
            main([*argv, "--out", str(tmp_path / "bad"), "--policy", bad])


def test_lost_signal_summary_splits_visible_and_absent_frames() -> None:
    summary = summarize([(False, False, 0.9, 0.8), (True, True, 0.1, 0.2), (True, False, 0.3, 0.4)])
    assert summary["visible"] == {"frames": 1, "lost_rate": 0.0, "mean_confidence": 0.9, "mean_tracker_score": 0.8}
    assert summary["absent"]["frames"] == 2 and summary["absent"]["lost_rate"] == 0.5
    assert summary["absent"]["mean_confidence"] == pytest.approx(0.2)
    assert summarize([])["absent"]["frames"] == 0
