"""The learned target verifier (tracking/verification.py): the head, its fit with hard negatives, its input from the
exported template graph (equal to PyTorch's), and its export into model.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scene import SECOND_TARGET, TARGET, frame, target_box

from asymtrack_ros.boxes import iou
from asymtrack_ros.dataset_layouts import lookalike_boxes
from asymtrack_ros.export.cli import main as export_main
from asymtrack_ros.sequences import TrackSequence
from asymtrack_ros.tracking import create_tracker
from asymtrack_ros.tracking.appearance import core_chromaticity
from asymtrack_ros.tracking.fusion import FusedTracker
from asymtrack_ros.tracking.manifest import read_manifest
from asymtrack_ros.tracking.siamese import SiameseTracker
from asymtrack_ros.tracking.verification import TargetVerifier, VerificationHead, chromaticity_feature
from asymtrack_ros.training.verification import balanced_accuracy, fit_head, sample_boxes

CHECKPOINT = Path(__file__).resolve().parents[1] / "models" / "asymtrack-tiny" / "checkpoint.pth"


@pytest.fixture(scope="module")
def network() -> SiameseTracker:
    tracker = create_tracker("onnx", threads=1, local_tracker="none")
    assert isinstance(tracker, SiameseTracker) and tracker.verification is not None
    return tracker


def test_head_parses_validates_and_is_a_logistic() -> None:
    head = VerificationHead.from_mapping({"weights": [-1.0, -0.5, 3.0, -2.0], "bias": -4.0})
    assert head((-2.0, 0.0, 1.0, 0.5)) == pytest.approx(1 / (1 + np.exp(0.0)))
    assert VerificationHead.from_mapping(head.to_json()) == head
    fitted_before_colour = VerificationHead.from_mapping({"weights": [-1.0, -0.5, 3.0], "bias": -4.0})
    assert fitted_before_colour == VerificationHead((-1.0, -0.5, 3.0, 0.0), -4.0)  # scores as it did
    for bad in ({"weights": [1.0, 2.0], "bias": 0.0}, {"weights": [1.0, 2.0, float("nan")], "bias": 0.0},
                {"weights": [1.0, 2.0, 3.0]}, {"weights": "123", "bias": 0},
                {"weights": [True, 1.0, 1.0], "bias": 0.0}):
        with pytest.raises(ValueError):
            VerificationHead.from_mapping(bad)


def test_the_target_scores_above_a_look_alike_background_and_a_drifted_box(network: SiameseTracker) -> None:
    verifier = network.target_check(frame(0), target_box(0))
    assert isinstance(verifier, TargetVerifier)
    image = frame(30)
    image[150:190, 250:290] = SECOND_TARGET  # another textured square: a look-alike in kind
    x, y, w, h = target_box(30)
    on_target = verifier.similarity(image, (x, y, w, h))
    for other in ((250.0, 150.0, 40.0, 40.0), (x + 1.5 * w, y, w, h), (5.0, 5.0, w, h)):
        assert verifier.similarity(image, other) < on_target - 0.2, other
    assert on_target > 0.5
    assert verifier.similarity(image, (5000.0, 5000.0, w, h)) < 0.05  # outside the image: nothing


def test_colour_tells_a_recoloured_copy_and_says_nothing_on_grey_footage() -> None:
    rng = np.random.default_rng(5)
    texture = rng.integers(0, 120, (60, 60, 3)).astype(np.float64) + np.array([120.0, 60.0, 20.0])  # orange
    image, box = texture.astype(np.uint8), (0.0, 0.0, 60.0, 60.0)
    reference = core_chromaticity(image, box)
    assert reference is not None
    darker = core_chromaticity((texture * 0.6).astype(np.uint8), box)
    recoloured = core_chromaticity(np.clip(texture * (0.8, 1.0, 1.25), 0, 255).astype(np.uint8), box)
    same = chromaticity_feature(reference, reference)
    assert chromaticity_feature(reference, darker) == same < 0  # brightness aside: as alike as the target itself
    assert chromaticity_feature(reference, recoloured) > 0 > same
    assert chromaticity_feature(reference, None) >= chromaticity_feature(reference, recoloured)
    grey = np.repeat(texture.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8)
    grey_reference = core_chromaticity(grey, box)
    assert grey_reference is not None and chromaticity_feature(grey_reference, recoloured) == pytest.approx(0.0)
    assert core_chromaticity(image, (70.0, 70.0, 10.0, 10.0)) is None  # off the image
    assert chromaticity_feature(None, recoloured) == 0.0  # no reference colour (the head ignores colour): neutral


def test_colour_lets_a_head_reject_a_recoloured_look_alike(network: SiameseTracker) -> None:
    """The generator's look-alikes: the target's texture with a channel weighted by 0.75-1.25. The pooled
    embeddings and the histogram find this one alike; the head fitted with colour (model card) rejects it, the
    same head without its colour weight does not."""
    tint = np.array([1.0, 0.55, 0.3])
    image = frame(0).astype(np.float64)
    x, y, w, h = (int(v) for v in target_box(0))
    image[y : y + h, x : x + w] *= tint
    later = frame(30).astype(np.float64)
    x, y, w, h = (int(v) for v in target_box(30))
    later[y : y + h, x : x + w] *= tint
    later[150:198, 240:288] = TARGET * tint * (0.75, 1.0, 1.0)
    later_image, look_alike = later.astype(np.uint8), (240.0, 150.0, 48.0, 48.0)
    with_colour = VerificationHead((-0.89, 0.23, 2.22, -1.26), -2.92)
    without_colour = VerificationHead((*with_colour.weights[:3], 0.0), with_colour.bias)
    checks = [TargetVerifier(image.astype(np.uint8), target_box(0), network.embed, head)
              for head in (with_colour, without_colour)]
    assert checks[0].similarity(later_image, look_alike) < 0.5 < checks[1].similarity(later_image, look_alike)
    assert all(check.similarity(later_image, target_box(30)) > 0.9 for check in checks)


def test_recall_runs_the_head_against_the_remembered_target(network: SiameseTracker) -> None:
    verifier = network.target_check(frame(0), target_box(0))
    assert isinstance(verifier, TargetVerifier)
    later, elsewhere = frame(40), (200.0, 20.0, 60.0, 50.0)
    assert verifier.recall(later, target_box(40)) is None, "nothing remembered yet"
    verifier.remember(later, target_box(40))
    remembered = TargetVerifier(later, target_box(40), network.embed, verifier.head)
    for box in (target_box(40), elsewhere):
        assert verifier.recall(later, box) == pytest.approx(remembered.similarity(later, box), abs=1e-6)
    recalled, other = verifier.recall(later, target_box(40)), verifier.recall(later, elsewhere)
    assert recalled is not None and other is not None and recalled > other + 0.2


def test_hard_negatives_barely_overlap_the_truth_and_the_fit_separates_them() -> None:
    rng = np.random.default_rng(0)
    truth = (100.0, 80.0, 40.0, 60.0)
    for _ in range(50):
        samples = list(sample_boxes(truth, truth, (240, 320), rng))
        assert [on for _, on in samples][:2] == [True, False]
        assert iou(np.array([samples[0][0]]), np.array([truth]))[0] > 0.6
        assert iou(np.array([samples[1][0]]), np.array([truth]))[0] < 0.05  # drifted by 1-2 sizes
    absent = list(sample_boxes(None, truth, (240, 320), rng))
    assert not any(on for _, on in absent) and absent[0][0] == truth  # where a tracker stays once it is gone
    features = np.vstack([rng.normal([-4.0, -3.0, 0.8, -1.0], 0.3, (200, 4)),
                          rng.normal([-1.5, -1.0, 0.3, 0.5], 0.3, (600, 4))])
    labels = np.arange(800) < 200
    head = fit_head(features, labels, np.where(np.arange(800) % 2, "real", "generated"))
    assert balanced_accuracy(head, features, labels) > 0.97 and head.weights[0] < 0 < head.weights[2]
    assert head.weights[3] < 0


def test_look_alikes_recorded_by_the_generator_are_negatives_unless_over_the_target(tmp_path: Path) -> None:
    truth, rng = (100.0, 80.0, 40.0, 60.0), np.random.default_rng(1)
    apart, over, sliver = (200.0, 20.0, 38.0, 55.0), (105.0, 85.0, 40.0, 60.0), (0.0, 100.0, 4.0, 50.0)
    samples = list(sample_boxes(truth, truth, (240, 320), rng, [apart, over, sliver]))
    assert samples[-1] == (apart, False) and over not in [box for box, _ in samples]
    assert sliver not in [box for box, _ in samples]
    assert (apart, False) in list(sample_boxes(None, truth, (240, 320), rng, [apart]))  # target away: any look-alike
    directory = tmp_path / "seq"
    directory.mkdir()
    frames = tuple(directory / f"{i:08d}.jpg" for i in range(1, 3))
    sequence = TrackSequence("seq", frames, np.zeros((2, 4)), np.zeros(2, dtype=bool))
    assert lookalike_boxes(sequence) == [[], []]  # no meta.json: no recorded look-alikes
    (directory / "meta.json").write_text(json.dumps({"distractor_boxes": [[list(apart)], []]}))
    assert lookalike_boxes(sequence) == [[apart], []]
    (directory / "meta.json").write_text(json.dumps({"distractor_boxes": [[[1, 2, 3]], []]}))
    with pytest.raises(ValueError, match="distractor_boxes"):
        lookalike_boxes(sequence)


def test_the_exported_template_graph_gives_the_verifier_pytorchs_embedding(network: SiameseTracker) -> None:
    torch_network = create_tracker("torch", weights=str(CHECKPOINT), threads=1)
    for t, box in ((0, target_box(0)), (40, target_box(40)), (40, (200.0, 20.0, 60.0, 50.0))):
        for ours, theirs in zip(network.embed(frame(t), box), torch_network.embed(frame(t), box), strict=True):
            assert float(ours @ theirs) > 1 - 1e-6


def test_asymtrack_export_records_the_local_tracker_and_the_head(tmp_path: Path) -> None:
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps({"verification": {"weights": [-1.0, -0.5, 3.0, -1.2], "bias": -4.0}, "samples": 10}))
    out = tmp_path / "model"
    assert export_main([str(CHECKPOINT), "--out", str(out), "--local-tracker", "csrt",
                        "--local-params", '{"use_segmentation": false}', "--verification", str(fit)]) == 0
    manifest = read_manifest(out)
    assert manifest.fusion.local_tracker == "csrt" and manifest.fusion.local_params == {"use_segmentation": False}
    assert manifest.verification == VerificationHead((-1.0, -0.5, 3.0, -1.2), -4.0)
    tracker = create_tracker("onnx", model_dir=str(out), threads=1)
    assert isinstance(tracker, FusedTracker) and tracker.network.verification == manifest.verification
    fit.write_text("{}")
    assert export_main([str(CHECKPOINT), "--out", str(tmp_path / "bad"), "--verification", str(fit)]) == 1
