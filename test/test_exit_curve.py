"""DyTrack's speed/accuracy curve tool: fixed-exit settings route every frame to their exit, an adaptive setting
that routes the same way gives the same boxes, and the fixed-exit line is interpolated as documented."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from asymtrack_ros.data.synthetic import generated_sequence
from asymtrack_ros.evaluation.exit_curve import (
    CURVE_JSON,
    CURVE_PNG,
    CurvePoint,
    curve_settings,
    fixed_exit_thresholds,
    fixed_line_auc,
    main,
)
from asymtrack_ros.export.cli import main as export_main
from asymtrack_ros.tracking.manifest import read_manifest


def test_fixed_exit_thresholds_never_exit_before_and_always_exit_at_the_chosen_exit() -> None:
    assert fixed_exit_thresholds(1, 3) == (0.0, 0.0)
    assert fixed_exit_thresholds(2, 3) == (1.0, 0.0)
    assert fixed_exit_thresholds(3, 3) == (1.0, 1.0)
    with pytest.raises(ValueError, match="exit must be"):
        fixed_exit_thresholds(4, 3)
    with pytest.raises(ValueError, match="need 2 numbers"):
        curve_settings(3, [(0.5,)])


def test_fixed_line_is_linear_between_fixed_exits_and_flat_beyond() -> None:
    points = [CurvePoint("exit1", "fixed", (0, 0), 0.4, 10.0, (1, 0, 0)),
              CurvePoint("exit3", "fixed", (1, 1), 0.6, 30.0, (0, 0, 1)),
              CurvePoint("exit2", "fixed", (1, 0), 0.5, 20.0, (0, 1, 0))]
    assert fixed_line_auc(points, 15.0) == pytest.approx(0.45)
    assert fixed_line_auc(points, 5.0) == pytest.approx(0.4) and fixed_line_auc(points, 40.0) == pytest.approx(0.6)
    faster = CurvePoint("tau", "adaptive", (0.5, 0.5), 0.47, 15.0, (0.5, 0, 0.5), fixed_line_auc(points, 15.0))
    assert faster.beats_fixed_line is True


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded random DyTrack-Tiny exported by ``asymtrack-export`` with thresholds of its own."""
    directory = tmp_path_factory.mktemp("dytrack") / "tiny"
    argv = ["--random-init", "--model", "dytrack", "--out", str(directory), "--exit-thresholds", "0.4,0.8"]
    assert export_main(argv) == 0
    return directory


def test_the_export_records_the_exit_thresholds_it_was_given(model_dir: Path) -> None:
    early_exit = read_manifest(model_dir).early_exit
    assert early_exit is not None and early_exit.thresholds == (0.4, 0.8)
    with pytest.raises(SystemExit):
        export_main(["--random-init", "--model", "dytrack", "--out", "unused", "--exit-thresholds", "0.4,x"])


def write_dataset(root: Path, frames: int) -> Path:
    """One GOT-10k sequence of a generated moving square (JPEG frames, ground truth)."""
    images, boxes = generated_sequence(frames)
    sequence = root / "square"
    sequence.mkdir(parents=True)
    for index, image in enumerate(images, start=1):
        cv2.imwrite(str(sequence / f"{index:08d}.jpg"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    np.savetxt(sequence / "groundtruth.txt", boxes, fmt="%.2f", delimiter=",")
    return root


def test_curve_routes_each_setting_and_writes_json_and_png(model_dir: Path, tmp_path: Path) -> None:
    dataset, out = write_dataset(tmp_path / "data", 8), tmp_path / "curve"
    # tau=-1,2: s_1 > -1 always, so exit 1 answers every frame, as the fixed exit 1 does
    argv = ["--model-dir", str(model_dir), "--dataset", str(dataset), "--out", str(out),
            "--thresholds=-1,2", "--thresholds=2,-1"]
    assert main(argv) == 0
    report = json.loads((out / CURVE_JSON).read_text())
    points = {point["name"]: point for point in report["points"]}
    assert list(points) == ["exit1", "exit2", "exit3", "tau=-1,2", "tau=2,-1"]
    for exit in (1, 2, 3):
        shares = [0.0, 0.0, 0.0]
        shares[exit - 1] = 1.0
        assert points[f"exit{exit}"]["exit_shares"] == shares and points[f"exit{exit}"]["kind"] == "fixed"
    assert points["tau=-1,2"]["exit_shares"] == [1.0, 0.0, 0.0] and points["tau=2,-1"]["exit_shares"] == [0, 1.0, 0]
    assert points["tau=-1,2"]["auc"] == points["exit1"]["auc"] and points["tau=2,-1"]["auc"] == points["exit2"]["auc"]
    fixed = [CurvePoint(p["name"], p["kind"], tuple(p["exit_thresholds"]), p["auc"], p["ms_per_frame"],
                        tuple(p["exit_shares"])) for p in report["points"] if p["kind"] == "fixed"]
    adaptive = points["tau=-1,2"]
    assert adaptive["fixed_line_auc"] == pytest.approx(fixed_line_auc(fixed, adaptive["ms_per_frame"]))
    assert adaptive["beats_fixed_line"] == (adaptive["auc"] > adaptive["fixed_line_auc"])
    assert (out / CURVE_PNG).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (out / "summary.json").is_file()


def test_a_model_without_exits_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models = Path(__file__).resolve().parents[1] / "models" / "asymtrack-tiny"
    with pytest.raises(SystemExit):
        main(["--model-dir", str(models), "--dataset", str(tmp_path), "--out", str(tmp_path / "out")])
    assert "no early exits" in capsys.readouterr().err
