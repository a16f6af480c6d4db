"""The Markdown figure tables printed from asymtrack-eval runs (evaluation/figures_table.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asymtrack_ros.evaluation.figures_table import main, table

OURS = {"auc": 0.6441, "returns": 32.0, "reacquired_within_15": 21 / 32, "absent_tracking": 0.0791,
        "false_tracking": 0.0, "visible_lost": None, "returns_after_unseen_exit": 9.0,
        "reacquired_within_15_after_unseen_exit": 4 / 9}


def run_dir(root: Path, name: str, trackers: dict[str, dict[str, float | None]]) -> Path:
    directory = root / name
    directory.mkdir()
    (directory / "summary.json").write_text(json.dumps({"trackers": trackers}))
    return directory


def test_a_row_per_run_and_figure_a_column_per_tracker_and_a_dash_where_there_is_no_figure(tmp_path: Path) -> None:
    first = run_dir(tmp_path, "a", {"ours": OURS, "csrt": {**OURS, "auc": 0.5, "returns": 0.0,
                                                             "reacquired_within_15": None}})
    second = run_dir(tmp_path, "b", {"ours": {**OURS, "auc": 0.7}})
    printed = table([("set 6", first), ("real", second)], ["ours", "csrt"],
                    ["auc", "reacquired_within_15", "absent_tracking", "visible_lost"])
    unseen = table([("set 6", first)], ["ours"], ["reacquired_within_15_after_unseen_exit"]).splitlines()[-1]
    assert unseen == "| set 6: returns after an unseen exit re-acquired within 15 frames | 44.4 % (4 of 9) |"
    assert printed.splitlines() == [
        "| | ours | csrt |", "|---|---:|---:|",
        "| set 6: success AUC | 0.644 | 0.500 |",
        "| set 6: returns re-acquired within 15 frames | 65.6 % (21 of 32) | – |",
        "| set 6: absent frames reported TRACKING | 7.9 % | 7.9 % |",
        "| set 6: visible frames not reported TRACKING | – | – |",
        "| real: success AUC | 0.700 | – |",
        "| real: returns re-acquired within 15 frames | 65.6 % (21 of 32) | – |",
        "| real: absent frames reported TRACKING | 7.9 % | – |",
        "| real: visible frames not reported TRACKING | – | – |",
    ]


def test_the_command_prints_the_table_and_rejects_a_bad_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = run_dir(tmp_path, "a", {"ours": OURS})
    assert main(["--run", f"held=out={directory}", "--tracker", "ours", "--figure", "auc"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "| held=out: success AUC | 0.644 |"
    for bad in (["--run", str(directory), "--tracker", "ours"], ["--run", f"x={tmp_path / 'none'}", "--tracker", "o"]):
        with pytest.raises(SystemExit):
            main(bad)
