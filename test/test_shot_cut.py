"""Shot-cut detection (tracking/shot_cut.py): motion within a shot is no cut, another scene is, flat frames never."""

from __future__ import annotations

import numpy as np

from asymtrack_ros.tracking.shot_cut import ShotCutDetector


def textured(seed: int, shape: tuple[int, int] = (240, 320)) -> np.ndarray:
    """A smooth random RGB scene (blurred noise: structure at the thumbnail's scale)."""
    noise = np.random.default_rng(seed).random((shape[0] // 20, shape[1] // 20, 3))
    return (np.kron(noise, np.ones((20, 20, 1))) * 255).astype(np.uint8)


def test_a_shot_that_pans_a_little_is_no_cut_and_another_scene_is() -> None:
    scene, other = textured(1), textured(2)
    detector = ShotCutDetector()
    assert not detector.is_cut(scene), "the first frame has nothing to cut from"
    assert not detector.is_cut(np.roll(scene, 4, axis=1)), "a 4 px pan"
    assert detector.is_cut(other)
    assert not detector.is_cut(other), "the new shot goes on"


def test_flat_frames_are_no_cut_and_start_sets_the_previous_frame() -> None:
    detector = ShotCutDetector()
    black = np.zeros((240, 320, 3), np.uint8)
    detector.start(black)
    assert not detector.is_cut(textured(1)), "a fade-in from black: nothing to correlate"
    detector.start(textured(2))
    assert detector.is_cut(textured(3))
