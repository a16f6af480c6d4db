"""Real-footage ground truth (issue #14): blob extraction and association, gap filling and unknown frames,
exit labels, keyframe interpolation, contact sheets. Synthetic frames only: no download, a second or two."""

from __future__ import annotations

import json

import numpy as np
import pytest

from asymtrack_ros.data.assets import REAL_VIDEO_WHEELS
from asymtrack_ros.data.blob_tracks import (
    ForegroundConfig,
    TrackerConfig,
    blob_appearance,
    box_foreground,
    exit_labels,
    fill_gaps,
    find_blobs,
    foreground_mask,
    gate_costs,
    greedy_match,
    median_background,
    track_blobs,
)
from asymtrack_ros.data.contact_sheet import contact_sheet, frame_label
from asymtrack_ros.data.keyframes import interpolate_keyframes, range_mask
from asymtrack_ros.data.real_footage import KEYFRAMES, entry_ground_truth

SIZE = (160, 120)  # width, height
GREY = 128


def scene(people: list[tuple[int, int, tuple[int, int, int]]]) -> np.ndarray:
    """A grey BGR frame with 10x30 upright people at (x, y) in the given colours."""
    frame = np.full((SIZE[1], SIZE[0], 3), GREY, np.uint8)
    for x, y, colour in people:
        frame[y:y + 30, x:x + 10] = colour
    return frame


def walk(steps: int, start: int, velocity: int) -> list[int]:
    return [start + velocity * step for step in range(steps)]


def test_median_background_removes_moving_people() -> None:
    frames = [scene([(x, 40, (0, 0, 0))]) for x in walk(9, 10, 15)]
    assert (median_background(frames) == GREY).all()


def test_foreground_mask_keeps_people_and_drops_shadows() -> None:
    background = scene([])
    frame = scene([(30, 40, (0, 0, 200))])
    frame[80:90, 60:120] = int(GREY * 0.7)  # a shadow: darker, same chromaticity
    mask = foreground_mask(frame, background, ForegroundConfig())
    assert mask[40:70, 30:40].mean() > 0.9
    assert not mask[80:90, 60:120].any()
    blobs = find_blobs(mask, min_area=50)
    np.testing.assert_allclose(blobs, [[30, 40, 10, 30]])
    assert box_foreground(mask, blobs[0]) == pytest.approx(1.0)
    assert box_foreground(mask, np.array([500.0, 500, 10, 10])) == 0.0


def test_gate_rejects_far_resized_and_differently_coloured_blobs() -> None:
    config = TrackerConfig()
    predicted = np.array([[50.0, 40, 10, 30]])
    blobs = np.array([[52.0, 41, 10, 30], [120, 40, 10, 30], [45, 40, 25, 30], [50, 40, 10, 60]])
    costs = gate_costs(predicted, blobs, config)
    assert np.isfinite(costs[0, 0]) and np.isinf(costs[0, 1:]).all()
    colours = np.array([[0.0] * 6, [200.0] * 6, [0.0] * 6, [0.0] * 6])
    assert np.isinf(gate_costs(predicted, blobs[:2], config, np.array([[200.0] * 6]), colours[:2])[0, 0])


def test_greedy_match_takes_cheapest_pairs_once() -> None:
    costs = np.array([[1.0, 2.0], [0.5, np.inf], [np.inf, np.inf]])
    assert greedy_match(costs) == [(1, 0), (0, 1)]


def test_tracks_follow_constant_velocity_through_a_crossing() -> None:
    """Two people of different colours walk towards each other, overlap (one merged blob) and part: each
    track keeps its person and coasts (NaN) through the merged frames."""
    red, blue = (0, 0, 220), (220, 0, 0)
    frames = [scene([(x1, 40, red), (x2, 40, blue)]) for x1, x2 in zip(walk(16, 10, 8), walk(16, 130, -8), strict=True)]
    background = scene([])
    masks = [foreground_mask(frame, background, ForegroundConfig()) for frame in frames]
    blobs = [find_blobs(mask, 50) for mask in masks]
    appearances = [np.array([blob_appearance(f, m, b) for b in bs]).reshape(len(bs), 6)
                   for f, m, bs in zip(frames, masks, blobs, strict=True)]
    tracks = track_blobs(blobs, TrackerConfig(), appearances)
    assert len(tracks) == 2
    merged = [index for index, frame_blobs in enumerate(blobs) if len(frame_blobs) == 1]
    assert merged, "the walkers should merge into one blob somewhere"
    for track, expected in zip(tracks, (walk(16, 10, 8), walk(16, 130, -8)), strict=True):
        known = np.isfinite(track).all(axis=1)
        assert not known[merged].any()
        np.testing.assert_allclose(track[known, 0], np.array(expected)[known])
        assert known[0] and known[-1]


def test_a_wide_blob_starts_no_track() -> None:
    wide = [np.array([[10.0, 10, 40, 20]]) for _ in range(3)]
    assert track_blobs(wide, TrackerConfig()) == []


def test_fill_gaps_interpolates_short_foreground_gaps_only() -> None:
    boxes = np.full((20, 4), np.nan)
    boxes[0] = boxes[4] = [0, 0, 10, 10]
    boxes[4] = [8, 0, 10, 10]
    boxes[14] = [30, 0, 10, 10]
    boxes[15] = [32, 0, 10, 10]

    def foreground(frame: int, box: np.ndarray) -> float:
        return 0.2 if frame == 2 else 0.9

    filled = fill_gaps(boxes, foreground, max_gap=8)
    np.testing.assert_allclose(filled[1], [2, 0, 10, 10])
    np.testing.assert_allclose(filled[3], [6, 0, 10, 10])
    assert np.isnan(filled[2]).all()  # mostly background: unknown
    assert np.isnan(filled[5:14]).all()  # 9 frames: too long a gap
    assert np.isnan(filled[16:]).all()  # after the last box: untouched


def test_exit_labels_mark_frames_outside_the_view_only_at_the_border() -> None:
    boxes = np.full((10, 4), np.nan)
    boxes[2] = [0, 40, 10, 30]  # walks in at the left border
    boxes[6] = [70, 40, 10, 30]  # last seen in the middle: not known to have left
    absent = exit_labels(boxes, SIZE)
    assert absent[:2].all() and not absent[2:].any()
    boxes[6] = [150, 40, 10, 30]  # last seen at the right border
    assert exit_labels(boxes, SIZE)[7:].all()


def test_keyframes_interpolate_but_not_across_absent_or_unknown() -> None:
    keyframes = {1: [0, 0, 10, 10], 5: [8, 4, 14, 10], 8: [0, 0, 10, 10], 12: [20, 0, 10, 10]}
    boxes, absent = interpolate_keyframes(14, keyframes, absent=[(6, 6)], unknown=[(10, 10)])
    np.testing.assert_allclose(boxes[3], [4, 2, 12, 10])
    assert np.isnan(boxes[0]).all() and np.isnan(boxes[13]).all()
    assert np.isnan(boxes[6:8]).all() and np.isnan(boxes[9:12]).all()
    np.testing.assert_allclose(boxes[8], [0, 0, 10, 10])
    assert absent.tolist() == [index == 6 for index in range(14)]


@pytest.mark.parametrize("keyframes, absent", [
    ({3: [0, 0, 10, 10]}, [(3, 4)]),
    ({20: [0, 0, 10, 10]}, []),
    ({2: [0, 0, 0, 10]}, []),
])
def test_keyframe_errors(keyframes: dict[int, list[float]], absent: list[tuple[int, int]]) -> None:
    with pytest.raises(ValueError):
        interpolate_keyframes(10, keyframes, absent=absent)


def test_the_shipped_keyframes_interpolate_and_name_known_videos() -> None:
    """Every moving-camera sequence of the keyframe file: keyframes inside its frames and outside its absent and
    unknown ranges, boxes on most of its present frames, a source the asset cache holds and, for small targets, a
    contact-sheet zoom of a few box heights."""
    sources = {f"{wheel.package}/{member.rsplit('/', 1)[-1]}"
               for wheel in REAL_VIDEO_WHEELS for member in wheel.members}
    for entry in json.loads(KEYFRAMES.read_text())["sequences"]:
        boxes, absent = entry_ground_truth(entry)
        known = np.isfinite(boxes).all(axis=1)
        assert known[~absent].mean() > 0.5, entry["name"]
        assert entry["source"] in sources or entry["source"].startswith("opencv-doc/data/"), entry["source"]
        assert 1.0 <= entry.get("zoom", 1.0) <= 10.0, entry["name"]


def test_range_mask_checks_bounds() -> None:
    assert range_mask(5, [(1, 2)]).tolist() == [False, True, True, False, False]
    with pytest.raises(ValueError):
        range_mask(5, [(3, 5)])


def test_contact_sheet_labels_and_grid() -> None:
    boxes = np.array([[10.0, 10, 20, 40]] * 25)
    boxes[10] = np.nan
    absent = np.zeros(25, dtype=bool)
    absent[20] = True
    assert [frame_label(i, boxes[i], bool(absent[i])) for i in (0, 10, 20)] == ["0", "10 unknown", "20 absent"]
    sheet = contact_sheet(lambda index: scene([]), boxes, absent, step=10, zoom=3.0)
    assert sheet.ndim == 3 and sheet.shape[1] == 8 * 192
