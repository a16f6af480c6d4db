"""Turns to LOST read from a run's per-frame results (``lost_turns.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from asymtrack_ros.evaluation.lost_turns import main, turn_counts
from asymtrack_ros.tracking.monitor import TrackState

T, L = int(TrackState.TRACKING), int(TrackState.LOST)
FRAME = (100, 200)  # height, width
INSIDE, EDGE = (80.0, 40.0, 20.0, 20.0), (0.0, 40.0, 20.0, 20.0)


def test_turns_are_split_by_the_edge_and_by_whether_the_target_stayed_in_view() -> None:
    states = np.array([T, L, T, L, L, T, L, L, L, L])
    boxes = np.array([INSIDE, INSIDE, EDGE, EDGE, EDGE, INSIDE, INSIDE, INSIDE, INSIDE, INSIDE])
    away = np.array([False] * 8 + [True, True])  # the target leaves two frames after the third turn
    counts = turn_counts(states, boxes, away, FRAME, stays_for=2)
    assert counts == {"at_edge": 1, "inside": 2, "inside_in_view": 2, "inside_stays_in_view": 2}
    counts = turn_counts(states, boxes, away, FRAME, stays_for=3)
    assert counts["inside_stays_in_view"] == 1, "the third turn's target leaves within 3 frames"
    away[6] = True
    assert turn_counts(states, boxes, away, FRAME)["inside_in_view"] == 1


def test_the_command_reads_a_run_s_results_against_its_dataset(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    sequence = tmp_path / "data" / "seq"
    sequence.mkdir(parents=True)
    for index in range(4):
        cv2.imwrite(str(sequence / f"{index + 1:08d}.jpg"), np.zeros((*FRAME, 3), np.uint8))
    (sequence / "groundtruth.txt").write_text("\n".join(",".join(map(str, INSIDE)) for _ in range(4)) + "\n")
    results = tmp_path / "run" / "results" / "ours"
    results.mkdir(parents=True)
    rows = [f"{i},{','.join(map(str, INSIDE))},0.9,0.9,{state},1,1,1,1" for i, state in enumerate((T, T, L, L))]
    (results / "seq.csv").write_text("frame,x,y,w,h,confidence,published,state,a,b,c,d\n" + "\n".join(rows) + "\n")
    assert main(["--run", str(tmp_path / "run"), "--dataset", str(tmp_path / "data")]) == 0
    assert json.loads(capsys.readouterr().out) == {"at_edge": 0, "inside": 1, "inside_in_view": 1,
                                                   "inside_stays_in_view": 1}
