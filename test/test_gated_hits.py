"""Gated re-detection hits judged again from a run's files (``gated_hits.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from asymtrack_ros.evaluation.gated_hits import empty_counts, main, run_counts
from asymtrack_ros.tracking.confirmation import FEATURES, ConfirmationHead
from asymtrack_ros.tracking.monitor import TrackState
from asymtrack_ros.tracking.redetection import Verdict, look_verdict

FRAME = (100, 200)  # height, width
TARGET = (80.0, 30.0, 20.0, 40.0)  # tall, as selected and throughout
DRIFTED = (70.0, 40.0, 40.0, 20.0)  # the anchor: the same area, 4x wider over height
ALWAYS, NEVER = (ConfirmationHead((0.0,) * len(FEATURES), bias) for bias in (5.0, -5.0))
MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "asymtrack-tiny"


def test_a_look_is_kept_within_the_gates_size_and_shape_limits() -> None:
    assert look_verdict(TARGET, TARGET) is None
    assert look_verdict((0.0, 0.0, 30.0, 60.0), TARGET) == Verdict.SIZE, "2.25x the area"
    assert look_verdict(DRIFTED, TARGET) == Verdict.SHAPE, "4x wider over height"


def write_run(root: Path) -> tuple[Path, Path]:
    """A one-sequence dataset and a run on it: tracked on a drifted box, then LOST with a shape-gated hit on the
    target (frame 3) and a size-gated one elsewhere (frame 4)."""
    sequence = root / "data" / "seq"
    sequence.mkdir(parents=True)
    for index in range(6):
        cv2.imwrite(str(sequence / f"{index + 1:08d}.jpg"), np.full((*FRAME, 3), 90, np.uint8))
    (sequence / "groundtruth.txt").write_text("\n".join(",".join(map(str, TARGET)) for _ in range(6)) + "\n")
    run = root / "run"
    (run / "results" / "ours").mkdir(parents=True)
    states = (TrackState.TRACKING, TrackState.TRACKING) + (TrackState.LOST,) * 4
    rows = [f"{i},{','.join(map(str, DRIFTED if i else TARGET))},0.9,0.9,{int(state)},1,1,1,1"
            for i, state in enumerate(states)]
    (run / "results" / "ours" / "seq.csv").write_text(
        "frame,x,y,w,h,confidence,published,state,a,b,c,d\n" + "\n".join(rows) + "\n")
    (run / "lost_search").mkdir()
    (run / "lost_search" / "ours.csv").write_text(
        "sequence,frame,x,y,w,h,network_score,score,verdict,iou,away\n"
        f"seq,3,{','.join(map(str, TARGET))},0.9,,shape,1.0,0\n"
        "seq,4,0,0,90,90,0.9,,size,0.0,0\n"
        f"seq,5,{','.join(map(str, TARGET))},0.3,,shape,1.0,0\n")
    return run, root / "data"


def test_gated_hits_are_counted_by_the_head_and_by_the_target_s_look_as_selected(tmp_path: Path) -> None:
    run, data = write_run(tmp_path)
    counts = run_counts(run, data, ALWAYS)
    assert counts == {**empty_counts(), "gated_on_target": 1, "gated_elsewhere": 1, "head_on_target": 1,
                      "head_elsewhere": 1, "initial_look_on_target": 1, "shape_gated_on_target": 2,
                      "anchor_drifted": 2}, "frame 5's network score is under recover_score: gated, not judged"
    never = run_counts(run, data, NEVER)
    assert never["head_on_target"] == never["initial_look_on_target"] == 0 and never["gated_on_target"] == 1


def test_the_command_prints_the_counts_summed_over_its_runs(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    run, data = write_run(tmp_path)
    args = ["--run", str(run), "--dataset", str(data), "--model-dir", str(MODEL_DIR)]
    assert main(args + args) == 0
    counts = json.loads(capsys.readouterr().out)
    assert set(counts) == set(empty_counts())
    assert counts["gated_on_target"] == 2 and counts["shape_gated_on_target"] == 4
    with pytest.raises(SystemExit, match="one --dataset per --run"):
        main([*args, "--run", str(run)])
