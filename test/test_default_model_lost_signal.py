"""The shipped default model (``create_tracker("onnx")``) on a generated sequence whose target leaves the view.

It must track while the target is visible, the session must say LOST while it is gone, and the target must be
re-acquired within 15 frames of its return. The scene is built
so the mechanism is observable, not by luck: the target is a saturated warm texture on a muted background,
the situation the hue/saturation appearance check (``tracking/appearance.py``) is made for, and nothing
else (distractors, occluders, video) interferes.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from asymtrack_ros.boxes import iou
from asymtrack_ros.data.assets import Asset, AssetLibrary, procedural_texture
from asymtrack_ros.data.generator import GeneratorConfig, generate_sequence
from asymtrack_ros.dataset_layouts import load_dataset
from asymtrack_ros.evaluation.lost_signal import main as lost_signal_main
from asymtrack_ros.evaluation.robustness import REACQUIRE_WITHIN, REACQUIRED_IOU
from asymtrack_ros.tracking import create_tracker
from asymtrack_ros.tracking.monitor import LostPolicy, TrackState
from asymtrack_ros.tracking.session import TrackingSession

SCENE = GeneratorConfig(
    frame_size=(320, 240), num_frames=(200, 200), target_size=(40.0, 48.0), max_speed=(1.0, 1.5),
    video_background_prob=0.0, rotation_prob=0.0, distractor_prob=0.0, occlusion_prob=0.0,
    illumination_gradient_prob=0.0, object_target_prob=1.0,
)


def _library(root: Path) -> AssetLibrary:
    rng = np.random.default_rng(7)
    muted = (procedural_texture(rng, (480, 640)) * 0.3 + 90).astype(np.uint8)  # grey-green, low saturation
    texture = procedural_texture(rng, (256, 256)).astype(np.float32)
    warm = np.clip(texture * [1.0, 0.45, 0.1] + [120, 30, 0], 0, 255).astype(np.uint8)  # saturated red/orange
    assets = []
    for name, image, role in (("background.png", muted, "any"), ("target.png", warm, "target")):
        cv2.imwrite(str(root / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        assets.append(Asset(name, "image", "procedural", "1", name, name, "train", role))
    return AssetLibrary(root, tuple(assets))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("leave_view")
    directory = generate_sequence(root, _library(root), "train", seed=5, index=0, config=SCENE, leave_view="always")
    (root / "list.txt").write_text(directory.name + "\n")
    return root


@pytest.fixture(scope="module")
def sequence(dataset: Path):
    sequence = load_dataset(dataset, "got10k")[0]
    return sequence, json.loads((dataset / sequence.name / "meta.json").read_text())


def test_default_model_tracks_says_lost_while_the_target_is_away_and_finds_it_when_it_returns(sequence) -> None:
    sequence, meta = sequence
    policy = LostPolicy()
    session = TrackingSession(create_tracker("onnx", threads=1), policy)
    session.start(sequence.read_frame(0), tuple(sequence.ground_truth[0]), "target")
    states, boxes = [TrackState.TRACKING], [sequence.ground_truth[0]]
    for index in range(1, len(sequence)):
        outcome = session.step(sequence.read_frame(index))
        states.append(outcome.state)
        boxes.append(outcome.result.box)
    states, overlaps = np.array(states), iou(np.array(boxes), sequence.ground_truth)
    absent = np.flatnonzero(sequence.absent)
    assert meta["leaves_view"] and len(absent) > 3 * policy.lost_frames
    before = slice(1, absent[0])
    assert np.mean(overlaps[before]) > 0.5, "the default model does not follow the visible target"
    assert np.mean(states[before] == TrackState.LOST) < 0.05, "LOST while the target was visible"
    gone = states[absent[0] + 2 * policy.lost_frames : absent[-1] + 1]
    assert np.mean(gone == TrackState.LOST) > 0.8, f"the target left but the session said {gone.tolist()}"
    back = slice(absent[-1] + 1, absent[-1] + 1 + REACQUIRE_WITHIN)
    found = (states[back] == TrackState.TRACKING) & (overlaps[back] > REACQUIRED_IOU)
    assert found.any(), f"not re-acquired within {REACQUIRE_WITHIN} frames of its return: {states[back].tolist()}"


def test_lost_signal_tool_reports_both_frame_kinds_under_a_given_policy(dataset: Path, capsys) -> None:
    args = ["--dataset", str(dataset), "--tracker", "kcf=opencv:algorithm=kcf"]
    assert lost_signal_main([*args, "--lost-score", "0.4", "--recover-score", "0.6"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["visible"]["frames"] > 0 and summary["absent"]["frames"] > 0
    with pytest.raises(ValueError, match="recover_score"):
        lost_signal_main([*args, "--lost-score", "0.6", "--recover-score", "0.4"])
