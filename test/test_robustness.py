"""False tracking and re-acquisition: hand-computed figures on small arrays, and their place in asymtrack-eval."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from asymtrack_ros.evaluation.report import SUMMARY_JSON, write_report
from asymtrack_ros.evaluation.robustness import (
    Robustness,
    evaluate_robustness,
    exits_seen,
    false_tracking_frames,
    lag_frames,
    on_lookalikes,
    pool_robustness,
    reacquisition_delays,
    target_returns,
)

# frame:        0     1      2      3     4     5      6      7      8      9     10     11
ABSENT = np.array([0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0], bool)
TRACKING = np.array([1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0], bool)
IOUS = np.array([1.0, 0.8, 0.0, 0.0, 0.0, 0.0, 0.2, 0.6, 0.0, 0.0, 0.0, 0.0])
SCORES = np.array([np.nan, 0.9, 0.7, 0.6, 0.1, 0.2, 0.5, 0.8, 0.1, 0.4, 0.55, 0.3])


def test_false_tracking_counts_scored_frames_with_iou_0_and_a_score_of_at_least_one_half() -> None:
    scored = ~ABSENT & (np.arange(12) > 0)
    # scored frames 1, 2, 5, 6, 7, 9, 10, 11; IoU 0 at 2, 5, 9, 10, 11; score >= 0.5 among them: 2 (0.7), 10 (0.55)
    assert false_tracking_frames(IOUS, SCORES, scored) == 2
    assert false_tracking_frames(np.array([np.nan, 0.0]), np.array([0.9, np.nan]), np.ones(2, bool)) == 1, \
        "a NaN box counts as IoU 0; a NaN score is not confident"


def test_returns_and_the_frames_until_tracking_with_iou_above_0_3() -> None:
    assert target_returns(ABSENT, init_frame=0) == [5, 9]
    assert target_returns(ABSENT, init_frame=5) == [9], "a return before or on the initialisation frame is none"
    # return 5: TRACKING at 6 with IoU 0.2 (no), at 7 with 0.6 -> 2 frames; return 9: never TRACKING again -> None
    assert reacquisition_delays(ABSENT, 0, TRACKING, IOUS) == [2, None]


def test_absent_tracking_frames_split_into_the_lost_decisions_lag_and_confirmations_during_the_absence() -> None:
    # frame:          0  1  2  3  4  5  6  7  8  9
    away = np.array([0, 0, 1, 1, 1, 1, 1, 0, 1, 1], bool)
    tracking = np.array([1, 1, 1, 1, 0, 1, 1, 1, 1, 0], bool)
    # lag: 2, 3 (the run began at 1, in view) and 8 (begun at 7); 5 and 6 were confirmed during the absence
    assert lag_frames(away, tracking, 0) == 3
    assert lag_frames(away, tracking, 2) == 2, "frame 3 continues the initialisation frame's run"
    figures = evaluate_robustness(np.zeros(10), away, 0, np.zeros(10), tracking)
    assert (figures.absent_tracking_frames, figures.absent_lag_frames) == (5, 3)
    assert figures.absent_lag == 3 / 7 and figures.summary()["absent_lag"] == 3 / 7


def test_an_exit_is_seen_when_the_target_was_tracked_on_one_of_its_last_visible_frames() -> None:
    """Frames 0-9 in view, 10-11 away, back at 12; then away at 15, back at 16. Tracked on the target until frame 3
    (the sixth-last frame before the first exit: unseen, as is a track whose box missed, frame 14: IoU 0.2)."""
    away = np.zeros(18, bool)
    away[[10, 11, 15]] = True
    tracking, ious = np.zeros(18, bool), np.zeros(18)
    tracking[:4], ious[:4] = True, 0.9
    tracking[14], ious[14] = True, 0.2
    assert exits_seen(away, 0, tracking, ious) == [False, False]
    tracking[5], ious[5] = True, 0.9  # the fifth-last frame before the exit
    tracking[13], ious[13] = True, 0.5
    assert exits_seen(away, 0, tracking, ious) == [True, True]
    assert exits_seen(away, 5, tracking, ious) == [False, True], "the initialisation frame is not a seen exit"
    figures = evaluate_robustness(ious, away, 0, np.zeros(18), tracking)
    assert figures.exits_seen == (True, True) and figures.summary()["returns_after_unseen_exit"] == 0.0
    assert math.isnan(figures.summary()["reacquired_within_15_after_unseen_exit"])


def test_a_reacquisition_after_the_target_left_again_belongs_to_the_next_return() -> None:
    absent = np.array([0, 1, 0, 0, 1, 0, 0], bool)
    tracking = np.array([1, 0, 0, 0, 0, 0, 1], bool)
    ious = np.array([1.0, 0.0, 0.9, 0.9, 0.0, 0.9, 0.9])
    assert reacquisition_delays(absent, 0, tracking, ious) == [None, 1]


def test_frames_with_an_unknown_box_are_neither_scored_nor_absences_nor_a_return() -> None:
    unknown = np.zeros(12, bool)
    unknown[8] = True  # frame 8: the target in view, its box not known
    figures = evaluate_robustness(IOUS, ABSENT, 0, SCORES, TRACKING, away=ABSENT & ~unknown)
    assert figures == Robustness(scored_frames=8, false_tracking_frames=2, absent_frames=2, absent_tracking_frames=1,
                                 reacquisition_delays=(2,), visible_lost_frames=4, absent_lag_frames=1,
                                 exits_seen=(True,))


def test_a_got10k_sequence_with_an_absence_label_marks_unflagged_nan_boxes_unknown(tmp_path: Path) -> None:
    from asymtrack_ros.dataset_layouts import load_dataset

    directory = tmp_path / "seq"
    directory.mkdir()
    for index in range(4):
        (directory / f"{index + 1:08d}.jpg").write_bytes(b"")
    (directory / "groundtruth.txt").write_text("1,1,5,5\nnan,nan,nan,nan\nnan,nan,nan,nan\n2,2,5,5\n")
    (directory / "absence.label").write_text("0\n1\n0\n0\n")
    (sequence,) = load_dataset(tmp_path, "got10k")
    assert sequence.absent.tolist() == [False, True, True, False]
    assert sequence.unknown is not None and sequence.unknown.tolist() == [False, False, True, False]
    assert sequence.away.tolist() == [False, True, False, False]
    (directory / "absence.label").unlink()
    (sequence,) = load_dataset(tmp_path, "got10k")
    assert sequence.unknown is None and sequence.away.tolist() == [False, True, True, False], \
        "without an absence file a NaN box is an absence, as in the benchmarks"


def test_sequence_figures_and_pooled_dataset_figures() -> None:
    figures = evaluate_robustness(IOUS, ABSENT, 0, SCORES, TRACKING)
    # scored frames 1, 2, 5, 6, 7, 9, 10, 11; not TRACKING among them: 5, 9, 10, 11
    assert figures == Robustness(scored_frames=8, false_tracking_frames=2, absent_frames=3, absent_tracking_frames=1,
                                 reacquisition_delays=(2, None), visible_lost_frames=4, absent_lag_frames=1,
                                 exits_seen=(True, True))
    assert (figures.false_tracking, figures.absent_tracking, figures.reacquired_within) == (2 / 8, 1 / 3, 0.5)
    assert figures.visible_lost == 0.5
    late = Robustness(scored_frames=2, false_tracking_frames=0, absent_frames=1, absent_tracking_frames=0,
                      reacquisition_delays=(16,), exits_seen=(False,))  # 16 frames: not within 15
    pooled = pool_robustness([figures, late])
    assert (pooled.false_tracking, pooled.absent_tracking, pooled.visible_lost) == (0.2, 0.25, 0.4)
    assert pooled.reacquired_within == pytest.approx(1 / 3)
    assert pooled.unseen_exit_delays == (16,) and pooled.summary()["returns_after_unseen_exit"] == 1.0
    empty = pool_robustness([])
    assert all(math.isnan(value) for value in (empty.false_tracking, empty.absent_tracking, empty.reacquired_within,
                                               empty.visible_lost))


def test_lookalike_tracking_counts_tracking_frames_on_a_recorded_look_alike_and_off_the_target() -> None:
    target, other = (0.0, 0.0, 10.0, 10.0), (50.0, 0.0, 10.0, 10.0)
    # frame:      0       1       2      3      4      5
    boxes = np.array([target, target, other, other, other, other])
    lookalikes = [[], [other], [other], [other], [other], []]
    in_view, overlapped = on_lookalikes(boxes, lookalikes)
    assert in_view.tolist() == [False, True, True, True, True, False]
    assert overlapped.tolist() == [False, False, True, True, True, False], "no look-alike in view: no overlap"
    absent = np.array([0, 0, 0, 0, 1, 0], bool)  # the target away on frame 4
    ious = np.array([1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    tracking = np.array([1, 1, 1, 0, 1, 1], bool)
    # in view after frame 0: 1-4; TRACKING on the look-alike off the target: 2 and 4 (3 is LOST)
    figures = evaluate_robustness(ious, absent, 0, np.ones(6), tracking, lookalikes=(in_view, overlapped))
    assert (figures.lookalike_frames, figures.lookalike_tracking_frames) == (4, 2)
    assert figures.summary()["lookalike_tracking"] == 0.5
    assert math.isnan(evaluate_robustness(ious, absent, 0, np.ones(6), tracking).lookalike_tracking), "none recorded"
    pooled = pool_robustness([figures, figures])
    assert (pooled.lookalike_frames, pooled.lookalike_tracking) == (8, 0.5)


def test_eval_report_has_every_trackers_robustness_in_summary_and_sequence_table(tmp_path: Path) -> None:
    from test_evaluation import RedBoxTracker, moving_boxes, write_frames

    from asymtrack_ros.evaluation import run_ope
    from asymtrack_ros.sequences import make_sequence

    boxes = moving_boxes(8)
    boxes[3:5] = np.nan  # the target leaves for two frames and comes back
    write_frames(tmp_path / "frames", boxes)
    sequence = make_sequence("leaves", sorted((tmp_path / "frames").iterdir()), boxes)
    results = run_ope({"exact": RedBoxTracker}, [sequence])
    result = results["exact"][0]
    assert result.robustness.reacquisition_delays == (0,)  # found again on the return frame, still TRACKING
    assert list(result.states[1:]) == [1] * 7 and np.isfinite(result.published[1:]).all()
    summary = write_report(tmp_path / "report", results)
    row = json.loads((tmp_path / "report" / SUMMARY_JSON).read_text())["trackers"]["exact"]
    assert row == summary["trackers"]["exact"]
    assert (row["false_tracking"], row["returns"], row["reacquired_within_15"]) == (0.0, 1.0, 1.0)
    assert row["absent_tracking"] == 1.0, "a tracker that keeps its box reports TRACKING on both absent frames"
    assert row["visible_lost"] == 0.0
    assert row["lookalike_tracking"] is None, "no look-alike recorded (no meta.json)"
    assert row["reacquisition_delays"] == {"leaves": [0]}
    header = (tmp_path / "report" / "sequences.csv").read_text().splitlines()[0].split(",")
    assert {"false_tracking", "returns", "reacquired_within_15", "absent_tracking", "visible_lost",
            "lookalike_tracking"} <= set(header)
