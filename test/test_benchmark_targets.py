"""``python -m asymtrack_ros.benchmark.targets``: 1 vs N targets, batched vs one pass per target, in one run."""

from __future__ import annotations

import json
from pathlib import Path

from asymtrack_ros.benchmark.targets import grid_boxes, main


def test_grid_boxes_lie_apart_inside_the_image() -> None:
    boxes = grid_boxes(4, 480, 640)
    assert len(boxes) == 4 and len({(round(x), round(y)) for x, y, _, _ in boxes}) == 4
    assert all(0 <= x <= x + w <= 640 and 0 <= y <= y + h <= 480 for x, y, w, h in boxes)


def test_one_run_reports_every_count_and_mode(tmp_path: Path, capsys) -> None:
    out = tmp_path / "targets.json"
    assert main(["--targets", "2", "--frames", "6", "--rounds", "1", "--warmup", "1", "--threads", "1",
                 "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["environment"]["batched_search"] is True
    rows = {(r["targets"], r["mode"]): r for r in report["results"]}
    assert set(rows) == {(1, "batched"), (1, "sequential"), (2, "batched"), (2, "sequential")}
    assert rows[1, "batched"]["p50_vs_one_target"] == 1.0 and rows[2, "batched"]["frames"] == 4
    assert "| 2 |" in capsys.readouterr().out
