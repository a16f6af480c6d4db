"""Impostors: the objects in view as the target left it, followed through the LOST frames after."""

from __future__ import annotations

from asymtrack_ros.tracking.impostors import MEMORY_FRAMES, SEED_SCORE, WATCH_FRAMES, ImpostorTracks

COPY = (100.0, 100.0, 20.0, 20.0)
SURE = 0.9  # a network score that seeds an impostor
FRAME = (240, 320)  # height, width
EXITS = {"left": (-5.0, 100.0, 20.0, 20.0), "top": (100.0, -5.0, 20.0, 20.0), "right": (305.0, 100.0, 20.0, 20.0),
         "bottom": (100.0, 225.0, 20.0, 20.0)}  # a box leaving by each edge


def test_without_an_exit_nothing_is_an_impostor() -> None:
    tracks = ImpostorTracks()
    assert not tracks.claims(COPY, SURE, 1)
    assert tracks.tracks == []


def test_a_confident_hit_away_from_the_exit_in_the_watch_is_followed() -> None:
    tracks = ImpostorTracks()
    tracks.left_view(EXITS["right"], FRAME)
    assert not tracks.claims((300.0, 60.0, 20.0, 20.0), SURE, 1), "the target may come back there"
    assert not tracks.claims((40.0, 40.0, 20.0, 20.0), SEED_SCORE - 0.01, 1), "background"
    assert tracks.claims(COPY, SURE, 1)
    moved = (104.0, 100.0, 20.0, 20.0)  # 4 px: within a quarter of its side per frame
    assert tracks.claims(moved, 0.3, 2) and tracks.tracks[0].sightings[-1] == (moved, 2), "followed at any score"
    assert tracks.claims((200.0, 100.0, 20.0, 20.0), SURE, 3) and len(tracks.tracks) == 2
    assert not tracks.claims((96.0, 92.0, 40.0, 40.0), SURE, WATCH_FRAMES + 1), "larger"
    assert not tracks.claims((108.0, 95.0, 12.0, 30.0), SURE, WATCH_FRAMES + 1), "narrower"
    assert not tracks.claims((40.0, 200.0, 20.0, 20.0), SURE, WATCH_FRAMES + 1), "after the watch"
    assert not tracks.claims((302.0, 100.0, 20.0, 20.0), SURE, WATCH_FRAMES + 1), "at the exit"


def test_an_unseen_impostor_reaches_farther_with_each_frame_up_to_a_limit_and_is_forgotten() -> None:
    tracks = ImpostorTracks()
    tracks.left_view(EXITS["left"], FRAME)
    assert tracks.claims(COPY, SURE, 1)
    weak = 0.3  # continues an impostor, seeds none
    assert not tracks.claims((108.0, 100.0, 20.0, 20.0), weak, 2), "8 px in 1 frame: 5 px reach"
    assert tracks.claims((108.0, 100.0, 20.0, 20.0), weak, 4), "8 px in 3 frames"
    assert not tracks.claims((120.0, 100.0, 20.0, 20.0), weak, 9), "12 px: beyond 2 frames' reach"
    assert not tracks.claims((108.0, 100.0, 20.0, 20.0), weak, 4 + MEMORY_FRAMES + 1), "forgotten"
    assert tracks.tracks == []


def test_an_impostor_the_crops_of_one_frame_box_narrow_and_wide_stays_one_impostor() -> None:
    tracks = ImpostorTracks()
    tracks.left_view(EXITS["top"], FRAME)
    narrow, wide = (100.0, 100.0, 20.0, 40.0), (96.0, 100.0, 28.0, 40.0)  # one copy boxed by two crops: 1.4x the area
    assert tracks.claims(narrow, SURE, 1) and tracks.claims(wide, SURE, 1)
    wider = (94.0, 100.0, 33.0, 40.0)  # 1.65x the narrow box's area, 1.18x the wide one's
    for frame in range(WATCH_FRAMES + 1, WATCH_FRAMES + 4):  # after the watch: only continued impostors are claimed
        assert tracks.claims(narrow, SURE, frame), "the narrow box first"
        assert tracks.claims(wider, SURE, frame), "then a wider one: it continues the wide box of the frame before"
    assert len(tracks.tracks) == 1
    later = WATCH_FRAMES + 4
    assert tracks.claims(narrow, SURE, later) and tracks.claims(narrow, SURE, later + 1)
    assert not tracks.claims(wider, SURE, later + 2), "the wide boxes are older than its last two frames"


def test_a_new_exit_or_a_reset_forgets_the_impostors() -> None:
    tracks = ImpostorTracks()
    tracks.left_view(EXITS["top"], FRAME)
    assert tracks.claims(COPY, SURE, 1)
    tracks.left_view(EXITS["bottom"], FRAME)
    assert tracks.tracks == [] and tracks.exit_sides == {"bottom"}
    tracks.reset()
    assert tracks.exit_sides is None and not tracks.claims(COPY, SURE, 1)
