"""``python -m asymtrack_ros.benchmark.fusion``: the fused step with its local update beside the network's pass
against after it, in one run, with the differences of their outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asymtrack_ros.benchmark.fusion import differences, main

INT8 = Path(__file__).resolve().parents[1] / "models" / "asymtrack-tiny" / "int8"


def test_differences_count_boxes_and_the_largest_score_gap() -> None:
    reference = [((1.0, 2.0, 3.0, 4.0), 0.5), ((1.0, 2.0, 3.0, 4.0), None)]
    assert differences(reference, reference) == {"differing_boxes": 0, "max_score_difference": 0.0}
    other = [((1.0, 2.0, 3.0, 5.0), 0.75), ((1.0, 2.0, 3.0, 4.0), None)]
    assert differences(other, reference) == {"differing_boxes": 1, "max_score_difference": 0.25}
    assert differences([((1.0, 2.0, 3.0, 4.0), 0.5)] * 2, reference)["max_score_difference"] == float("inf")


def test_one_run_reports_every_mode_and_the_serial_one_gives_the_same_outputs(tmp_path: Path, capsys) -> None:
    out = tmp_path / "fusion.json"
    assert main(["--frames", "8", "--rounds", "1", "--warmup", "1", "--out", str(out)]) == 0
    rows = {r["mode"]: r for r in json.loads(out.read_text())["results"]}
    assert set(rows) == {"concurrent", "serial", "spinning"}
    assert rows["spinning"]["p50_vs_spinning"] == 1.0 and rows["concurrent"]["frames"] == 6
    assert rows["serial"]["differing_boxes"] == 0 and rows["serial"]["max_score_difference"] == 0.0
    assert "| concurrent |" in capsys.readouterr().out


def test_a_model_without_a_local_tracker_or_one_thread_is_refused() -> None:
    with pytest.raises(SystemExit, match="no local tracker"):
        main(["--model-dir", str(INT8), "--frames", "8"])  # the int8 export is the network alone
    with pytest.raises(SystemExit):
        main(["--threads", "1"])
