"""DyTrack export and early exit at run time: ONNX = torch at every exit, and identical routing (Eq. 1)."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch

from asymtrack_ros.data.synthetic import generated_sequence
from asymtrack_ros.export import export_model
from asymtrack_ros.models.dytrack import DEFAULT_EXIT_THRESHOLDS
from asymtrack_ros.models.factory import build_model
from asymtrack_ros.tracking import create_tracker
from asymtrack_ros.tracking.manifest import MODEL_JSON, ModelDirError, manifest_problems, read_manifest

torch.set_num_threads(1)

TOLERANCE = 1e-4
FRAMES = 40


@pytest.fixture(scope="module")
def weights() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return build_model("dytrack", "tiny").state_dict()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, weights: dict[str, torch.Tensor]) -> Path:
    directory = tmp_path_factory.mktemp("dytrack") / "tiny"
    export_model(directory, "dytrack", "tiny", weights, tolerance=TOLERANCE)
    return directory


@pytest.fixture(scope="module")
def sequence() -> tuple[np.ndarray, np.ndarray]:
    return generated_sequence(FRAMES)


def run(tracker, sequence: tuple[np.ndarray, np.ndarray]) -> list:
    frames, boxes = sequence
    tracker.initialize(frames[0], tuple(float(v) for v in boxes[0]))
    return [tracker.track(frame) for frame in frames[1:]]


def torch_tracker(weights: dict[str, torch.Tensor], thresholds: tuple[float, float]):
    return create_tracker("torch", "dytrack", "tiny", weights=weights, threads=1, exit_thresholds=thresholds)


def split(scores: list[float]) -> float:
    """A threshold in the widest gap between the middle half of ``scores`` (far from every score)."""
    ordered = sorted(scores)
    middle = ordered[len(ordered) // 4 : 3 * len(ordered) // 4 + 1]
    low, high = max(pairwise(middle), key=lambda pair: pair[1] - pair[0])
    return (low + high) / 2


def test_manifest_records_segments_and_thresholds(model_dir: Path) -> None:
    manifest = read_manifest(model_dir)
    assert manifest.early_exit is not None
    assert manifest.early_exit.thresholds == DEFAULT_EXIT_THRESHOLDS
    assert [g.file for g in manifest.early_exit.segments] == ["segment_1.onnx", "segment_2.onnx", "segment_3.onnx"]
    assert [t.name for t in manifest.early_exit.segments[1].inputs] == ["hidden_2", "recycled_1"]
    assert [t.name for t in manifest.early_exit.segments[2].outputs] == ["recycled_3", "iou_3"]
    for exit in (1, 2, 3):
        assert manifest.validation[f"exit_{exit}_max_abs_diff_vs_torch"] <= TOLERANCE
    data = json.loads((model_dir / MODEL_JSON).read_text())
    data["early_exit"]["thresholds"] = [0.5]
    assert any("thresholds" in problem for problem in manifest_problems(data))
    del data["early_exit"]
    assert manifest_problems(data) == []  # a model.json without exits (every older file) still parses


def test_tampered_segment_is_refused(model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in model_dir.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    (copy / "segment_2.onnx").write_bytes(b"not a graph")
    with pytest.raises(ModelDirError, match=r"segment_2\.onnx"):
        read_manifest(copy)


@pytest.mark.parametrize("exit", [1, 2, 3])
def test_fixed_exit_parity(
    model_dir: Path, weights: dict[str, torch.Tensor], sequence: tuple[np.ndarray, np.ndarray], exit: int
) -> None:
    """Thresholds 0 force exit 1, > 1 never exit; ONNX and torch agree within 1e-4 on crops of a real run."""
    forced = {1: (0.0, 0.0), 2: (2.0, 0.0), 3: (2.0, 2.0)}[exit]
    onnx_tracker = create_tracker("onnx", model_dir=model_dir, threads=1, exit_thresholds=forced)
    reference = torch_tracker(weights, forced)
    frames, boxes = sequence
    for tracker in (onnx_tracker, reference):
        tracker.initialize(frames[0], tuple(float(v) for v in boxes[0]))
    for frame in frames[1:6]:
        search, _ = reference.search_input(frame, reference.box)
        want = reference.runner.track_search(search, reference._template_state)
        got = onnx_tracker.runner.track_search(search, onnx_tracker._template_state)
        assert got.exit == want.exit == exit
        assert abs(got.score - want.score) <= TOLERANCE
        for name in ("pred_box", "prob_tl", "prob_br"):
            np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=0, atol=TOLERANCE)
        reference.track(frame)
        onnx_tracker.track(frame)


def test_routing_identical_on_sequence(
    model_dir: Path, weights: dict[str, torch.Tensor], sequence: tuple[np.ndarray, np.ndarray]
) -> None:
    tau1 = split([r.score for r in run(torch_tracker(weights, (0.0, 0.0)), sequence)])
    tau2 = split([r.score for r in run(torch_tracker(weights, (tau1, 0.0)), sequence) if r.exit == 2])
    thresholds = (tau1, tau2)
    expected = run(torch_tracker(weights, thresholds), sequence)
    got = run(create_tracker("onnx", model_dir=model_dir, threads=1, exit_thresholds=thresholds), sequence)
    exits = [r.exit for r in expected]
    print(f"thresholds {thresholds}: exits {exits}")
    assert len(set(exits)) >= 2
    assert [r.exit for r in got] == exits
    for want, have in zip(expected, got, strict=True):
        np.testing.assert_allclose(have.box, want.box, rtol=0, atol=1e-2)
        assert abs(have.score - want.score) <= TOLERANCE
