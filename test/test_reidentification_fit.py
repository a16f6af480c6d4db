"""The colour weight while LOST (training/reidentification.py): traced hits read back, the one-weight fit, and the
command end to end on a scene with a recoloured look-alike."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from scene import TARGET, frame, target_box

from asymtrack_ros.evaluation.lost_search import TracedHit, read_traced_hits, write_traced_hits
from asymtrack_ros.tracking import create_tracker
from asymtrack_ros.tracking.base import TrackResult
from asymtrack_ros.tracking.fusion import FusedTracker
from asymtrack_ros.tracking.redetection import SearchHit, Verdict
from asymtrack_ros.training.reidentification import fit_weight, main, ranking_auc

MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "asymtrack-tiny"
TINT = np.array([1.0, 0.55, 0.3])  # the target, orange
LOOK_ALIKE = (240.0, 150.0, 48.0, 48.0)  # the target's texture, tinted otherwise


def traced(frame_index: int, box: tuple[float, float, float, float], iou: float, away: bool = False,
           verdict: Verdict = Verdict.SCORE) -> TracedHit:
    return TracedHit("seq", frame_index, SearchHit(TrackResult(box, 0.9), 0.3, verdict), iou, away)


def test_traced_hits_read_back_as_written_and_a_malformed_file_is_named(tmp_path: Path) -> None:
    hits = [traced(3, (1.0, 2.0, 30.0, 40.0), 0.8), traced(4, (5.0, 6.0, 7.0, 8.0), float("nan"), away=True),
            TracedHit("seq", 5, SearchHit(TrackResult((1.0, 1.0, 9.0, 9.0), None), None, Verdict.SHAPE), 0.0, False)]
    path = tmp_path / "hits.csv"
    write_traced_hits(path, hits)
    back = read_traced_hits(path)
    assert [(h.frame, h.hit.result.box, h.hit.verdict, h.away) for h in back] == \
        [(h.frame, h.hit.result.box, h.hit.verdict, h.away) for h in hits]
    assert back[0].hit.score == pytest.approx(0.3) and back[0].on_target and back[1].elsewhere and back[2].elsewhere
    assert back[2].hit.result.score is None and back[2].hit.score is None and np.isnan(back[1].iou)
    path.write_text(path.read_text().replace("score,0.8000", "score,high"))
    with pytest.raises(ValueError, match=r"hits.csv:2"):
        read_traced_hits(path)
    path.write_text("sequence,frame\nseq,1\n")
    with pytest.raises(ValueError, match="columns"):
        read_traced_hits(path)


def test_the_fit_finds_the_weight_that_separates_and_the_auc_says_how_well() -> None:
    rng = np.random.default_rng(0)
    inputs = rng.normal(0.0, 1.0, 4000)
    offsets = rng.normal(0.0, 0.5, 4000)
    labels = rng.random(4000) < 1.0 / (1.0 + np.exp(-(offsets - 2.0 * inputs)))
    weight = fit_weight(offsets, inputs, labels, np.where(np.arange(4000) % 2, "a", "b"))
    assert weight == pytest.approx(-2.0, abs=0.25)
    assert ranking_auc(-inputs, labels) > 0.75 > ranking_auc(inputs, labels)
    assert ranking_auc(inputs, np.zeros(4000, dtype=bool)) is None


def tinted_scene(t: int) -> np.ndarray:
    """The scene's frame with the target tinted orange, after the first frame turned a quarter and dimmer (as a
    target that comes back changed), and a copy of its texture tinted otherwise (a look-alike)."""
    image = frame(t).astype(np.float64)
    x, y, w, h = (int(v) for v in target_box(t))
    patch = image[y : y + h, x : x + w] * TINT
    image[y : y + h, x : x + w] = np.rot90(patch) * 0.7 if t else patch
    lx, ly, lw, lh = (int(v) for v in LOOK_ALIKE)
    image[ly : ly + lh, lx : lx + lw] = TARGET * TINT * (0.75, 1.0, 1.0)
    return image.astype(np.uint8)


def test_the_command_learns_that_colour_tells_the_target_from_a_recoloured_copy_and_writes_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sequence = tmp_path / "dataset" / "seq"
    sequence.mkdir(parents=True)
    frames = range(0, 40, 4)
    for index, t in enumerate(frames):
        cv2.imwrite(str(sequence / f"{index + 1:08d}.png"), cv2.cvtColor(tinted_scene(t), cv2.COLOR_RGB2BGR))
    (sequence / "groundtruth.txt").write_text("".join(",".join(map(str, target_box(t))) + "\n" for t in frames))
    hits = [hit for index, t in enumerate(frames) if index
            for hit in (traced(index, target_box(t), 1.0), traced(index, LOOK_ALIKE, 0.0))]
    write_traced_hits(tmp_path / "hits.csv", hits)
    model = tmp_path / "model"
    model.mkdir()
    for name in ("model.json", "template.onnx", "search.onnx"):
        shutil.copy(MODEL_DIR / name, model / name)
    args = ["--model-dir", str(model), "--hits", str(tmp_path / "dataset"), str(tmp_path / "hits.csv")]
    assert main([*args, "--write"]) == 0
    report = json.loads(capsys.readouterr().out)["hits"][str(tmp_path / "hits.csv")]
    assert report["on_target"] == report["elsewhere"] == len(frames) - 1
    assert report["auc_after"] > report["auc_before"]
    tracker = create_tracker("onnx", model_dir=str(model), threads=1)
    assert isinstance(tracker, FusedTracker) and tracker.network.verification is not None
    shipped = create_tracker("onnx", model_dir=str(MODEL_DIR), threads=1)
    assert isinstance(shipped, FusedTracker) and shipped.network.verification is not None
    lost_colour = tracker.network.verification.lost_colour
    assert lost_colour < 0, "a colour far from the target's lowers the odds while LOST"
    assert tracker.network.verification.weights == shipped.network.verification.weights  # tracking as before
    check = tracker.network.target_check(tinted_scene(0), target_box(0))
    later = tinted_scene(36)
    assert check.similarity(later, target_box(36)) < check.similarity(later, LOOK_ALIKE) + 0.1, "alike to the head"
    lost = check.while_lost()
    assert lost.similarity(later, LOOK_ALIKE) < 0.5 < lost.similarity(later, target_box(36))
    (tmp_path / "empty.csv").write_text((tmp_path / "hits.csv").read_text().splitlines()[0] + "\n")
    with pytest.raises(SystemExit, match="on the target"):
        main(["--model-dir", str(model), "--hits", str(tmp_path / "dataset"), str(tmp_path / "empty.csv")])


def test_the_command_names_a_sequence_its_dataset_lacks(tmp_path: Path) -> None:
    write_traced_hits(tmp_path / "hits.csv", [traced(1, (1.0, 2.0, 3.0, 4.0), 0.0)])
    sequence = tmp_path / "dataset" / "other"
    sequence.mkdir(parents=True)
    for index in (1, 2):
        cv2.imwrite(str(sequence / f"{index:08d}.png"), tinted_scene(index))
    (sequence / "groundtruth.txt").write_text("10,10,20,20\n11,10,20,20\n")
    with pytest.raises(SystemExit, match="no sequences"):
        main(["--model-dir", str(MODEL_DIR), "--hits", str(tmp_path / "dataset"), str(tmp_path / "hits.csv")])
