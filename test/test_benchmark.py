"""The benchmark CLI: combo parsing, frame sources, one small end-to-end run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from asymtrack_ros.benchmark.cli import main as bench_main
from asymtrack_ros.benchmark.combos import Combo, parse_combo
from asymtrack_ros.benchmark.measure import percentiles
from asymtrack_ros.data.frame_sources import select_sequence
from asymtrack_ros.data.synthetic import generated_sequence


def test_combo_strings_parse_into_backend_model_variant_and_precision_and_bad_combos_raise() -> None:
    assert parse_combo("torch:asymtrack:T") == Combo("torch", "asymtrack", "tiny")
    assert parse_combo("onnx:asymtrack:small") == Combo("onnx", "asymtrack", "small", "fp32")
    assert parse_combo("onnx:hit:b:int8").label == "onnx:hit:base:int8"
    assert parse_combo("opencv:kcf").label == "opencv:kcf"
    for bad in ("torch:asymtrack", "onnx:asymtrack:tiny:int4", "opencv:goturn", "tf:asymtrack:tiny", "onnx:/nowhere"):
        with pytest.raises(ValueError, match="bad combo"):
            parse_combo(bad)


def test_generated_sequence_is_seeded_and_inside_the_frame() -> None:
    frames, boxes = generated_sequence(num_frames=12, seed=5)
    again, _ = generated_sequence(num_frames=12, seed=5)
    other, _ = generated_sequence(num_frames=12, seed=6)
    assert frames.shape == (12, 360, 480, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(frames, again)
    assert not np.array_equal(frames, other)
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 0] + boxes[:, 2] <= 480).all()
    assert (boxes[:, 1] + boxes[:, 3] <= 360).all() and np.abs(np.diff(boxes[:, 0])).max() > 0
    sequence = select_sequence("generated", max_frames=12, seed=5)
    assert sequence.init_box == tuple(boxes[0]) and "generated" in sequence.name


def test_percentiles_interpolate_p50_and_p99_and_give_the_mean() -> None:
    stats = percentiles(list(range(1, 101)))
    assert stats["p50"] == pytest.approx(50.5) and stats["p99"] == pytest.approx(99.01) and stats["mean"] == 50.5


def test_small_run_writes_json_and_a_markdown_table(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench.json"
    combos = ["torch:asymtrack:tiny", "onnx:asymtrack:tiny", "opencv:kcf"]
    argv = [arg for combo in combos for arg in ("--combo", combo)]
    argv += ["--source", "generated", "--frames", "6", "--rounds", "2", "--warmup", "1", "--threads", "1",
             "--export-dir", str(tmp_path / "models"), "--out", str(out)]
    assert bench_main(argv) == 0
    table = capsys.readouterr().out
    for combo in ("torch:asymtrack:tiny", "onnx:asymtrack:tiny:fp32", "opencv:kcf"):
        assert f"| {combo} |" in table
    report = json.loads(out.read_text())
    env = report["environment"]
    assert (env["threads"], env["frames"], env["rounds"]) == (1, 6, 2) and env["peak_rss_mb"] > 0
    assert "torch" in env["versions"] and env["command"].startswith("asymtrack-bench --combo")
    torch_result, onnx_result, opencv_result = report["results"]
    for result in report["results"]:
        assert result["frames_timed"] == 10  # 2 rounds x 5 tracked frames
        assert {"p50", "p90", "p99"} <= set(result["frame_ms"]) and result["fps"] > 0
        assert 0 <= result["outside_inference_fraction"] < 1
    for result in (torch_result, onnx_result):
        assert result["network_recomputed_template_ms"]["p50"] > 0 and result["network_cached_ms"]["p50"] > 0
    assert onnx_result["providers"] == ["CPUExecutionProvider"]
    assert onnx_result["box_deviation_px"] < 0.01  # same random weights in both backends
    assert "network_cached_ms" not in opencv_result
    assert (tmp_path / "models" / "asymtrack-tiny-fp32" / "model.json").is_file()


def test_an_export_left_in_the_export_dir_is_replaced(tmp_path: Path) -> None:
    """A second run with other weights (another seed) must not reuse the first run's ONNX export."""
    out = tmp_path / "bench.json"
    for seed in ("0", "1"):
        argv = ["--combo", "torch:asymtrack:tiny", "--combo", "onnx:asymtrack:tiny", "--source", "generated",
                "--frames", "4", "--rounds", "1", "--warmup", "0", "--threads", "1", "--seed", seed,
                "--export-dir", str(tmp_path / "models"), "--out", str(out)]
        assert bench_main(argv) == 0
        assert json.loads(out.read_text())["results"][1]["box_deviation_px"] < 0.01


def test_device_column_names_the_onnx_providers_in_use_and_warnings_follow_the_table() -> None:
    from asymtrack_ros.benchmark.report import markdown_table

    environment = {"sequence": "s", "frames": 2, "rounds": 1, "warmup": 0, "threads": 1, "spinning": True,
                   "cpu": "cpu", "cpu_count": 2, "load_average_before": [0.0], "load_average_after": [0.0],
                   "peak_rss_mb": 1.0}
    results = [
        {"combo": "onnx:a:tiny:fp32", "backend": "onnx", "device": "tensorrt:0",
         "providers": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]},
        {"combo": "onnx:a:tiny:int8", "backend": "onnx", "device": "cpu", "providers": ["CPUExecutionProvider"],
         "warnings": ["CUDAExecutionProvider requested but this onnxruntime build lacks it"]},
        {"combo": "torch:a:tiny", "backend": "torch", "device": "cuda:0 (Test GPU)", "providers": []},
    ]
    table = markdown_table({"environment": environment, "results": results})
    assert "| onnx:a:tiny:fp32 | tensorrt:0 [Tensorrt, CUDA, CPU] |" in table
    assert "| onnx:a:tiny:int8 | cpu [CPU] |" in table and "| torch:a:tiny | cuda:0 (Test GPU) |" in table
    assert table.endswith("Warning, onnx:a:tiny:int8: CUDAExecutionProvider requested but this onnxruntime build "
                          "lacks it")
    assert "threads 1;" in table, "spinning as asked"
    for spinning, label in ((None, "threads 1;"), (False, "threads 1 (no spinning);")):
        assert label in markdown_table({"environment": environment | {"spinning": spinning}, "results": results})
