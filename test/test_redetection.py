"""Global re-detection while LOST: grid geometry, settings, and re-acquisition with a scripted network."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from asymtrack_ros.boxes import Box, aspect_change, exit_sides, iou
from asymtrack_ros.evaluation import SequenceResult, run_sequence, write_report
from asymtrack_ros.evaluation.lost_search import trace_hit, verdict_counts
from asymtrack_ros.models.config import ModelConfig
from asymtrack_ros.sequences import make_sequence
from asymtrack_ros.tracking import create_tracker
from asymtrack_ros.tracking.base import DeviceInfo, TrackResult
from asymtrack_ros.tracking.confirmation import FEATURES, ConfirmationHead
from asymtrack_ros.tracking.distractors import DistractorMemory, target_posterior
from asymtrack_ros.tracking.manifest import MODEL_JSON, ModelManifest
from asymtrack_ros.tracking.monitor import LostPolicy, TrackState
from asymtrack_ros.tracking.redetection import (
    RedetectionOverrides,
    RedetectionSettings,
    RegionSearch,
    SearchHit,
    Verdict,
    along_sides,
    fails_one_gate,
    grid_boxes,
)
from asymtrack_ros.tracking.session import FrameOutcome, TrackingSession
from asymtrack_ros.tracking.siamese import SearchOutput, SiameseTracker

FEAT = 16  # corner map side of the scripted network
FRAME = (240, 320)  # height, width
RED, BLUE, GREY = (230, 20, 20), (20, 20, 230), (128, 128, 128)
SIDE = 20  # target side in pixels: search crops are 80 px (factor 4)
POLICY = LostPolicy(lost_score=0.35, recover_score=0.5, lost_frames=1, recover_frames=2)


class ColourRunner:
    """A scripted network: a peaked corner pair on the saturated square in the search crop, flat maps without one.

    Mean 0 / std 1 normalisation, so the crop it receives is the RGB crop / 255.
    """

    config = ModelConfig("scripted", "tiny", template_size=32, search_size=64, mean=(0.0,) * 3, std=(1.0,) * 3)
    device_info = DeviceInfo(backend="scripted", device="cpu")

    def __init__(self, min_fraction: float = 0.0) -> None:
        self.search_calls = 0
        self.min_fraction = min_fraction  # squares smaller than this share of the crop side go unseen

    def encode_template(self, template: np.ndarray) -> str:
        return "template"

    def track_search(self, search: np.ndarray, state: str) -> SearchOutput:
        self.search_calls += 1
        channels = search[0]
        rows, cols = np.nonzero(channels.max(axis=0) - channels.min(axis=0) > 0.5)
        if not len(rows) or (cols.max() + 1 - cols.min()) < self.min_fraction * search.shape[-1]:
            flat = np.full((1, FEAT * FEAT), 1.0 / (FEAT * FEAT), np.float32)
            return SearchOutput(np.array([0.5, 0.5, 0.1, 0.1], np.float32), flat, flat)
        size = search.shape[-1]
        x1, y1, x2, y2 = cols.min() / size, rows.min() / size, (cols.max() + 1) / size, (rows.max() + 1) / size
        maps = []
        for x, y in ((x1, y1), (x2, y2)):
            one_hot = np.zeros((1, FEAT * FEAT), np.float32)
            one_hot[0, min(int(y * FEAT), FEAT - 1) * FEAT + min(int(x * FEAT), FEAT - 1)] = 1.0
            maps.append(one_hot)
        box = np.array([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], np.float32)
        return SearchOutput(box, maps[0], maps[1])


def frame(square: Box | None, colour: tuple[int, int, int] = RED) -> np.ndarray:
    """A grey frame with a coloured square (none when ``square`` is None)."""
    image = np.full((*FRAME, 3), GREY, np.uint8)
    if square is not None:
        x, y, w, h = (int(v) for v in square)
        image[y : y + h, x : x + w] = colour
    return image


START: Box = (50.0, 50.0, SIDE, SIDE)
FAR: Box = (260.0, 190.0, SIDE, SIDE)  # beyond the widest local search around START (2.5 x 80 px)


def run_outcomes(settings: RedetectionSettings, returned: Box = FAR, colour: tuple[int, int, int] = RED,
                 absent_frames: int = 20, visible_frames: int = 20, runner: ColourRunner | None = None,
                 start: Box = START) -> tuple[list[FrameOutcome], ColourRunner]:
    """Target visible at ``start`` for 5 frames, absent, then back at ``returned``: the outcome of every frame after
    the first."""
    runner = runner or ColourRunner()
    session = TrackingSession(SiameseTracker(runner, redetection=settings), POLICY)
    session.start(frame(start), start, "t")
    script = [start] * 5 + [None] * absent_frames + [returned] * visible_frames
    return [session.step(frame(square, RED if square == start else colour)) for square in script], runner


def run(settings: RedetectionSettings, returned: Box = FAR, colour: tuple[int, int, int] = RED,
        absent_frames: int = 20, visible_frames: int = 20, runner: ColourRunner | None = None, start: Box = START,
        ) -> tuple[list[TrackState], list[Box], ColourRunner]:
    """:func:`run_outcomes`' state and box of every frame."""
    outcomes, runner = run_outcomes(settings, returned, colour, absent_frames, visible_frames, runner, start)
    boxes = [o.result.box if o.result is not None else (np.nan,) * 4 for o in outcomes]
    return [o.state for o in outcomes], boxes, runner


def verdicts(outcomes: list[FrameOutcome]) -> set[Verdict]:
    """The gates' verdicts on the re-detection hits of ``outcomes``."""
    return {o.search_hit.verdict for o in outcomes if o.search_hit is not None}


def test_grid_crops_cover_the_frame_with_the_requested_overlap() -> None:
    boxes = grid_boxes((240, 320), (0.0, 0.0, 20.0, 20.0), search_factor=4.0, overlap=0.5)
    centres = sorted({b[0] + 10 for b in boxes}), sorted({b[1] + 10 for b in boxes})
    assert centres == ([40.0, 80.0, 120.0, 160.0, 200.0, 240.0, 280.0], [40.0, 80.0, 120.0, 160.0, 200.0])
    assert len(boxes) == 35 and all(b[2:] == (20.0, 20.0) for b in boxes)
    assert grid_boxes((240, 320), (0.0, 0.0, 100.0, 100.0), 4.0, 0.5) == [(110.0, 70.0, 100.0, 100.0)], \
        "a crop larger than the frame: one, centred"


def test_an_anchor_at_an_edge_has_the_grid_s_crops_along_that_edge_watched() -> None:
    assert exit_sides((0.0, 50.0, 20.0, 20.0), (240, 320)) == {"left"}
    assert exit_sides((304.0, 225.0, 20.0, 20.0), (240, 320)) == {"right", "bottom"}, "crossing, or within a quarter"
    assert exit_sides((10.0, 50.0, 20.0, 20.0), (240, 320)) == set()
    grid = grid_boxes((240, 320), (0.0, 0.0, 20.0, 20.0), 4.0, 0.5)
    left = along_sides(grid, (240, 320), 80.0, frozenset({"left"}))
    assert [(b[0] + 10, b[1] + 10) for b in left] == [(40.0, y) for y in (40.0, 80.0, 120.0, 160.0, 200.0)]
    assert len(along_sides(grid, (240, 320), 80.0, frozenset({"left", "top"}))) == 5 + 7 - 1
    big = grid_boxes((240, 320), (0.0, 0.0, 80.0, 80.0), 4.0, 0.5)
    assert along_sides(big, (240, 320), 320.0, frozenset({"left"})) == [], "a strip that is the whole grid: none"


EDGE: Box = (0.0, 50.0, SIDE, SIDE)  # at the left edge
EDGE_FAR: Box = (0.0, 190.0, SIDE, SIDE)  # back through the left edge, beyond the widest local search around EDGE


def test_a_target_back_through_the_edge_it_left_by_is_found_by_the_border_search() -> None:
    """The left edge's strip is 5 crops, 4 per pass: found within two passes, then confirmed in recover_frames."""
    settings = RedetectionSettings(global_search_every=0, anchor_search_every=1, border_search_every=1)
    states, boxes, runner = run(settings, returned=EDGE_FAR, start=EDGE)
    assert TrackState.TRACKING not in states[5:25]
    assert states[25 + 1 + POLICY.recover_frames:] == [TrackState.TRACKING] * (20 - 1 - POLICY.recover_frames)
    assert iou(np.array(boxes[-1:]), np.array([EDGE_FAR])).min() > 0.8
    assert runner.search_calls <= len(states) * (3 + 4), "the frame's own search, the anchor, 4 crops, a refinement"
    for off, returned, start in ((replace(settings, border_search_every=0), EDGE_FAR, EDGE), (settings, FAR, EDGE),
                                 (settings, (0.0, 190.0, SIDE, SIDE), START)):
        states, _, _ = run(off, returned=returned, start=start)
        assert TrackState.TRACKING not in states[5:], "off; back far from the edge; or it left in the middle"


def test_target_returning_far_away_is_found_by_the_global_search_and_confirmed_in_recover_frames() -> None:
    states, boxes, _ = run(RedetectionSettings(global_search_every=1, global_search_crops=0))
    absent, back = states[5:25], states[25:]
    assert TrackState.TRACKING not in absent, "no absent frame may be reported as TRACKING"
    assert back[: POLICY.recover_frames - 1] == [TrackState.LOST] * (POLICY.recover_frames - 1)
    assert back[POLICY.recover_frames - 1 :] == [TrackState.TRACKING] * (20 - POLICY.recover_frames + 1)
    overlaps = iou(np.array(boxes[25:]), np.array([FAR] * 20))
    assert overlaps[0] > 0.3 and overlaps[1:].min() > 0.8, "the tracker is re-centred on the target"


def test_a_followed_candidate_survives_one_doubtful_frame_but_not_one_under_lost_score() -> None:
    """Found far away, the target is followed. A frame the check doubts (half orange: 0.46, between lost_score and
    recover_score) does not send the search back to the anchor: the next frame is the tracker's own, at the normal
    scale, with no re-detection. A frame under lost_score (blue) does."""
    settings = RedetectionSettings(global_search_every=1, global_search_crops=0)
    for doubtful, still_followed in ((two_tone(FAR, (230, 120, 20)), True), (frame(FAR, BLUE), False)):
        no_follow_through = replace(POLICY, follow_frames=0)  # the doubtful frame would otherwise recover at once
        session = TrackingSession(SiameseTracker(ColourRunner(), redetection=settings), no_follow_through)
        session.start(frame(START), START, "t")
        script = [frame(START)] * 5 + [frame(None)] * 10 + [frame(FAR), doubtful, frame(FAR), frame(FAR)]
        outcomes = [session.step(image) for image in script][15:]
        assert outcomes[0].search_hit is not None and outcomes[0].search_hit.verdict == Verdict.CANDIDATE
        assert (POLICY.lost_score <= outcomes[1].score < POLICY.recover_score) is still_followed
        assert (outcomes[2].search_hit is None) is still_followed, "a dropped candidate is searched for again"
        assert [o.state for o in outcomes] == [TrackState.LOST] * 3 + [TrackState.TRACKING]


def test_a_return_where_the_target_left_is_found_by_the_normal_scale_anchor_search() -> None:
    """The session's own search widens to 2.5x while LOST; a network that misses targets that small in its crop
    finds the returning target only in the anchor search's normal-scale crop."""
    near: Box = (START[0] + 8, START[1] + 6, SIDE, SIDE)
    settings = RedetectionSettings(global_search_every=0, anchor_search_every=1)
    states, boxes, _ = run(settings, returned=near, runner=ColourRunner(min_fraction=0.15))
    assert TrackState.TRACKING not in states[5:25]
    assert states[25 + POLICY.recover_frames - 1 :] == [TrackState.TRACKING] * (20 - POLICY.recover_frames + 1)
    assert iou(np.array(boxes[26:]), np.array([near] * 19)).min() > 0.8
    states, _, _ = run(replace(settings, anchor_search_every=0), returned=near, runner=ColourRunner(min_fraction=0.15))
    assert TrackState.TRACKING not in states[5:], "the widened search alone misses it"


def test_a_target_back_farther_away_is_reacquired_but_a_box_over_twice_the_last_size_is_not() -> None:
    """The size gate is asymmetric: down to a quarter of the last confident area (the target came back farther
    away), up to twice it (a larger box is the network's usual miss)."""
    settings = RedetectionSettings(global_search_every=0, anchor_search_every=1)
    # each runner misses its square in the session's 2.5x widened crop, so only the anchor search can find it
    for side, reacquired, runner in ((0.55 * SIDE, True, ColourRunner(0.1)), (1.6 * SIDE, False, ColourRunner(0.2))):
        returned: Box = (START[0] + 2, START[1] + 2, side, side)
        outcomes, _ = run_outcomes(settings, returned=returned, runner=runner)
        states = [o.state for o in outcomes]
        assert TrackState.TRACKING not in states[5:25]
        assert (states[-1] == TrackState.TRACKING) is reacquired, f"side {side}: {states[25:]}"
        assert verdicts(outcomes[25:]) == ({Verdict.CANDIDATE} if reacquired else {Verdict.SIZE}), "the gate says why"
        hit = next(o.search_hit for o in outcomes[25:] if o.search_hit is not None)
        assert ("checked" in hit.describe()) is reacquired, "the size gate runs before the check"


def test_a_candidate_of_the_targets_area_but_another_shape_is_not_reacquired() -> None:
    """The shape gate: a box much wider or narrower than the last confident one (the network's loose box across the
    target and its surroundings keeps the area, not the shape) is no candidate; a mild change is."""
    settings = RedetectionSettings(global_search_every=0, anchor_search_every=1)
    for stretch, reacquired in ((1.15, True), (1.6, False)):
        returned: Box = (START[0] + 2, START[1] + 2, SIDE * stretch, SIDE / stretch)
        assert aspect_change(returned, START) == pytest.approx(stretch**2)
        # the runner misses the square in the session's 2.5x widened crop: only the anchor search can find it
        outcomes, _ = run_outcomes(settings, returned=returned, runner=ColourRunner(0.2))
        states = [o.state for o in outcomes]
        assert TrackState.TRACKING not in states[5:25]
        assert (states[-1] == TrackState.TRACKING) is reacquired, f"stretch {stretch}: {states[25:]}"
        assert verdicts(outcomes[25:]) == ({Verdict.CANDIDATE} if reacquired else {Verdict.SHAPE})


def test_a_gated_hit_boxed_the_same_on_persistent_hit_frames_in_a_row_goes_to_the_check() -> None:
    """``persistent_hit_frames``: a return the shape gate turns away (the anchor's look is stale) is judged by the
    check from the third LOST frame in a row that boxes it the same."""
    settings = RedetectionSettings(global_search_every=0, anchor_search_every=1, persistent_hit_frames=3)
    turned: Box = (START[0] + 2, START[1] + 2, SIDE * 1.6, SIDE / 1.6)
    outcomes, _ = run_outcomes(settings, returned=turned, runner=ColourRunner(0.2))
    hits = [o.search_hit.verdict for o in outcomes[25:] if o.search_hit is not None]
    assert hits[:3] == [Verdict.SHAPE, Verdict.SHAPE, Verdict.CANDIDATE]
    assert outcomes[-1].state == TrackState.TRACKING
    off = replace(settings, persistent_hit_frames=0)
    outcomes, _ = run_outcomes(off, returned=turned, runner=ColourRunner(0.2))
    assert verdicts(outcomes[25:]) == {Verdict.SHAPE}, "off by default: the shape gate alone decides"


def two_tone(square: Box | None, right: tuple[int, int, int]) -> np.ndarray:
    """A frame with a square whose left half is red and right half ``right`` (no square when None)."""
    image = frame(square)
    if square is not None:
        x, y, w, h = (int(v) for v in square)
        image[y : y + h, x + w // 2 : x + w] = right
    return image


def test_a_target_that_changed_its_look_while_tracked_is_reidentified_by_its_last_confident_look() -> None:
    """Back as it looked when it left (half orange) it is confirmed; the same return after a target that left
    all red is not: half orange is too far from the initial all-red look alone."""
    orange = (230, 120, 20)
    for looks_before_leaving, confirmed in ((orange, True), (RED, False)):
        session = TrackingSession(SiameseTracker(ColourRunner()), POLICY)
        session.start(frame(START), START, "t")
        script = [(START, RED)] * 3 + [(START, looks_before_leaving)] * 5 + [(None, RED)] * 10 + [(START, orange)] * 8
        states = [session.step(two_tone(square, right)).state for square, right in script]
        assert states[7] == TrackState.TRACKING and TrackState.TRACKING not in states[9:18]
        assert (states[-1] == TrackState.TRACKING) == confirmed, looks_before_leaving


def test_without_the_global_search_the_far_return_is_never_reacquired() -> None:
    states, _, _ = run(RedetectionSettings(global_search_every=0))
    assert TrackState.TRACKING not in states[5:]


def test_a_bounded_pass_covers_the_grid_over_several_frames_at_a_bounded_cost() -> None:
    crops = 4
    settings = RedetectionSettings(global_search_every=1, global_search_crops=crops, anchor_search_every=0)
    states, _, runner = run(settings, absent_frames=7)
    first_tracking = states.index(TrackState.TRACKING, 12)
    assert first_tracking - 12 < -(-35 // crops) + POLICY.recover_frames, "every crop visited once in ceil(35/4) passes"
    assert runner.search_calls <= len(states) * (2 + crops), "the frame's own search, the crops, one refinement"


def test_global_passes_run_every_nth_lost_frame() -> None:
    runner_calls = []
    for every in (1, 3):
        settings = RedetectionSettings(global_search_every=every, global_search_crops=0, anchor_search_every=0)
        _, _, runner = run(settings, visible_frames=0)
        runner_calls.append(runner.search_calls - 25)  # one local search per frame
    assert runner_calls == [19 * 35, 7 * 35]  # the first absent frame turns LOST; then 19 LOST frames: 1, 4, ..., 19


def test_a_look_alike_for_the_network_but_not_in_appearance_is_never_confirmed() -> None:
    outcomes, _ = run_outcomes(RedetectionSettings(global_search_every=1, global_search_crops=0), colour=BLUE)
    assert TrackState.TRACKING not in [o.state for o in outcomes[5:]]
    hits = [o.search_hit for o in outcomes[25:] if o.search_hit is not None]
    assert hits and {hit.verdict for hit in hits} == {Verdict.SCORE}, "found, and turned away by the check"
    assert all(hit.score is not None and hit.score < POLICY.recover_score <= (hit.result.score or 0) for hit in hits)
    assert hits[0].describe() == f"score: network {hits[0].result.score:.2f}, checked {hits[0].score:.2f}"
    assert verdicts(outcomes[:25]) == set(), "nothing to hit while the target is away"


def test_settings_validate_parse_and_merge_overrides() -> None:
    with pytest.raises(ValueError, match="global_search_overlap"):
        RedetectionSettings(global_search_overlap=0.95)
    with pytest.raises(ValueError, match="global_search_every"):
        RedetectionSettings(global_search_every=-1)
    parsed = RedetectionSettings.from_mapping({"global_search_every": 3.0, "global_search_overlap": 0.25})
    assert parsed == RedetectionSettings(3, 0.25, RedetectionSettings.global_search_crops)
    with pytest.raises(ValueError, match="whole number"):
        RedetectionSettings.from_mapping({"global_search_crops": 2.5})
    with pytest.raises(ValueError, match="unknown"):
        RedetectionSettings.from_mapping({"global_search_rate": 1})
    assert parsed.replace(RedetectionOverrides(global_search_crops=0)) == RedetectionSettings(3, 0.25, 0)
    assert RedetectionSettings.from_mapping({"distractor_scan_every": 4}).distractor_scan_every == 4
    assert RedetectionSettings.from_mapping({"border_search_every": 2}).border_search_every == 2
    assert parsed.replace(RedetectionOverrides(border_search_every=3)).border_search_every == 3
    with pytest.raises(ValueError, match="border_search_every"):
        RedetectionSettings(border_search_every=-1)
    with pytest.raises(ValueError, match="distractor_scan_every"):
        RedetectionSettings(distractor_scan_every=-2)


def test_model_json_tracker_section_and_create_tracker_options_set_the_global_search() -> None:
    data = json.loads((Path(__file__).resolve().parents[1] / "models" / "asymtrack-tiny" / MODEL_JSON).read_text())
    data["tracker"] |= {"global_search_every": 5, "global_search_crops": 2}
    manifest = ModelManifest.from_json(data)
    assert manifest.redetection == RedetectionSettings(5, 0.5, 2, distractor_scan_every=2, border_search_every=1,
                                                       persistent_hit_frames=3)
    assert ModelManifest.from_json(json.loads(json.dumps(manifest.to_json()))) == manifest
    shipped = create_tracker("onnx", threads=1)
    assert isinstance(shipped, RegionSearch) and shipped.redetection.anchor_search_every == 1
    assert shipped.redetection.distractor_scan_every == 2 and shipped.redetection.border_search_every == 1
    assert shipped.redetection.persistent_hit_frames == 3
    assert create_tracker("onnx", threads=1, persistent_hit_frames=0).redetection.persistent_hit_frames == 0
    tracker = create_tracker("onnx", threads=1, global_search_every=0, anchor_search_every=0, border_search_every=0)
    assert isinstance(tracker, RegionSearch) and not tracker.redetection.enabled


def test_opencv_trackers_cannot_search_globally_so_their_sessions_behave_as_before() -> None:
    tracker = create_tracker("opencv", algorithm="kcf")
    assert not isinstance(tracker, RegionSearch)
    session = TrackingSession(tracker, POLICY)
    session.start(frame(START), START, "t")
    states = [session.step(frame(square)) for square in [START] * 3 + [None] * 5 + [FAR] * 5]
    assert states[-1].state == TrackState.LOST


ORANGE = (230, 120, 20)
SEEN: Box = (150.0, 30.0, SIDE, SIDE)  # where the target comes back: far from START and from the look-alike


def marked(square: Box | None, look_alike: Box) -> np.ndarray:
    """The target (red, its right quarter orange) in ``square`` (absent: None) and an all-red look-alike."""
    image = frame(look_alike)
    if square is not None:
        x, y, w, h = (int(v) for v in square)
        image[y : y + h, x : x + w] = RED
        image[y : y + h, x + 3 * w // 4 : x + w] = ORANGE
    return image


def constant_head(probability: float) -> ConfirmationHead:
    """A LOST confirmation head that gives every box ``probability``."""
    return ConfirmationHead((0.0,) * len(FEATURES), math.log(probability / (1.0 - probability)))


TRACKED = 36  # frames: the scan, one crop per frame, covers the 35 crops of the frame's grid


def look_alike_outcomes(scan_every: int, confirmation: ConfirmationHead | None = None) -> list[FrameOutcome]:
    """The target tracked beside an all-red look-alike at FAR for TRACKED frames, absent for 20, then back at SEEN
    (``confirmation``: the LOST confirmation head)."""
    settings = RedetectionSettings(global_search_every=1, global_search_crops=0, distractor_scan_every=scan_every)
    tracker = SiameseTracker(ColourRunner(), redetection=settings, confirmation=confirmation)
    session = TrackingSession(tracker, POLICY)
    session.start(marked(START, FAR), START, "t")
    script = [START] * TRACKED + [None] * 20 + [SEEN] * 10
    return [session.step(marked(square, FAR)) for square in script]


def run_with_look_alike(scan_every: int) -> list[TrackState]:
    """The states of :func:`look_alike_outcomes` without a confirmation head."""
    return [outcome.state for outcome in look_alike_outcomes(scan_every)]


def test_a_look_alike_seen_beside_the_tracked_target_is_not_confirmed_while_lost_but_the_target_is() -> None:
    """Its hue histogram is close enough to the target's (3/4 of it red) for the check alone to confirm it; the
    memory of it, taken while the target was tracked, makes the look-alike lose against it."""
    unaware = run_with_look_alike(scan_every=0)
    absent = slice(TRACKED, TRACKED + 20)
    assert TrackState.TRACKING in unaware[absent], "without the memory the global search confirms the look-alike"
    aware = run_with_look_alike(scan_every=1)
    assert aware[:TRACKED] == [TrackState.TRACKING] * TRACKED
    assert TrackState.TRACKING not in aware[absent], "with it, no absent frame is TRACKING"
    assert aware[-1] == TrackState.TRACKING, "and the returning target is re-acquired"


def test_with_a_head_the_cap_weighs_the_check_s_own_evidence_for_the_target() -> None:
    """A head that gives every box 0.6: the remembered look-alike still caps itself to nothing during the absence,
    and the returning target, which the check finds far more like the target than like the look-alike, keeps the
    head's 0.6 (weighing the head's number against the check's likeness to the look-alike gave it 0.51)."""
    outcomes = look_alike_outcomes(scan_every=1, confirmation=constant_head(0.6))
    assert [outcome.state for outcome in outcomes[TRACKED : TRACKED + 20]] == [TrackState.LOST] * 20
    assert outcomes[TRACKED + 20].score == pytest.approx(0.6)
    assert outcomes[-1].state == TrackState.TRACKING


class LikenessCheck:
    """A target check whose likeness to any remembered look is ``likeness`` and whose similarity to the target is
    ``similarity``."""

    def __init__(self, likeness: float, similarity: float = 0.0) -> None:
        self._likeness, self._similarity = likeness, similarity

    def likeness(self, image: np.ndarray, box: Box, look: object) -> float:
        return self._likeness

    def similarity(self, image: np.ndarray, box: Box) -> float:
        return self._similarity


def test_the_cap_weighs_the_better_evidence_for_the_target_against_the_closest_look_alike() -> None:
    settings = RedetectionSettings(distractor_scan_every=1)
    memory = DistractorMemory(SiameseTracker(ColourRunner(), redetection=settings), settings)
    image, check = frame(START), LikenessCheck(0.9)
    assert memory.cap(image, START, check, 0.6) == 0.6, "nothing remembered: no cap"
    memory.looks.append("a look-alike's look")
    assert memory.cap(image, START, check, 0.6) == pytest.approx(target_posterior(0.6, 0.9))
    sure = LikenessCheck(0.9, similarity=0.98)
    assert memory.cap(image, START, sure, 0.6) == 0.6, "far more like the target: the score stands"
    assert memory.cap(image, START, sure, 0.95) == pytest.approx(target_posterior(0.98, 0.9))


def test_target_posterior_weighs_the_target_against_the_look_alike() -> None:
    assert target_posterior(0.9, 0.9) == pytest.approx(0.5)
    assert target_posterior(0.9, 0.1) > 0.98 and target_posterior(0.6, 0.95) < 0.1
    assert target_posterior(0.7, 0.0) == 1.0 and target_posterior(0.0, 0.0) == 0.5


def tracked_search_calls(scan_every: int, scan: bool = True) -> int:
    """Search passes of 12 confidently tracked frames."""
    runner = ColourRunner()
    settings = RedetectionSettings(global_search_crops=3, distractor_scan_every=scan_every)
    session = TrackingSession(SiameseTracker(runner, redetection=settings), POLICY)
    session.start(marked(START, FAR), START, "t")
    states = [session.step(marked(START, FAR), scan=scan).state for _ in range(12)]
    assert states == [TrackState.TRACKING] * 12
    return runner.search_calls


def test_the_scan_costs_one_search_pass_every_nth_confident_frame() -> None:
    assert tracked_search_calls(4) - tracked_search_calls(0) == 3, "scans on confident frames 1, 5 and 9"


def test_a_caller_falling_behind_skips_the_scan() -> None:
    assert tracked_search_calls(1, scan=False) == tracked_search_calls(0)


def test_search_regions_in_one_batched_pass_equal_one_pass_per_region() -> None:
    tracker = create_tracker("onnx", threads=1, local_tracker="none")
    assert isinstance(tracker, SiameseTracker) and getattr(tracker.runner, "batched", False)
    image = np.random.default_rng(3).integers(0, 255, (*FRAME, 3), dtype=np.uint8)
    tracker.initialize(image, (100.0, 80.0, 40.0, 40.0))
    boxes = [(20.0 + 70 * i, 60.0 + 20 * i, 40.0, 40.0) for i in range(3)]
    batched = tracker.search_regions(image, boxes)
    tracker.runner.batched = False  # type: ignore[attr-defined]
    single = tracker.search_regions(image, boxes)
    np.testing.assert_allclose([r.box for r in batched], [r.box for r in single], atol=1e-3)
    assert [r.score for r in batched] == pytest.approx([r.score for r in single], abs=1e-5)


def evaluated_leave_and_return(tmp_path: Path, settings: RedetectionSettings) -> tuple[SequenceResult, dict]:
    """The scripted tracker with ``settings`` over a square that leaves for 20 frames and comes back far away: its
    result and ``asymtrack-eval``'s summary of it."""
    script: list[Box | None] = [START] * 6 + [None] * 20 + [FAR] * 20
    paths = []
    for index, square in enumerate(script):
        paths.append(tmp_path / "frames" / f"{index:04d}.png")
        paths[-1].parent.mkdir(exist_ok=True)
        cv2.imwrite(str(paths[-1]), cv2.cvtColor(frame(square), cv2.COLOR_RGB2BGR))
    truth = np.array([square if square is not None else (np.nan,) * 4 for square in script], dtype=float)
    sequence = make_sequence("leave-and-return", paths, truth)
    result = run_sequence(SiameseTracker(ColourRunner(), redetection=settings), sequence, "scripted", POLICY)
    return result, write_report(tmp_path / "report", {"scripted": [result]})["trackers"]["scripted"]


def test_an_evaluation_traces_each_lost_frames_hit_against_the_truth(tmp_path: Path) -> None:
    """``asymtrack-eval``'s report lists the re-detection hits with their verdicts and IoU, and counts them."""
    settings = RedetectionSettings(global_search_every=1, global_search_crops=0)
    result, summary = evaluated_leave_and_return(tmp_path, settings)
    assert result.search_hits and all(hit.frame >= 26 for hit in result.search_hits), "hits only after the return"
    counts = summary["lost_search"]
    assert counts["on_target"]["candidate"] == len(result.search_hits) > 0
    assert sum(counts["elsewhere"].values()) == 0
    assert summary["reacquisition_delays"] == {"leave-and-return": [1]}
    assert sum(summary["missed_returns"].values()) == 0 and summary["miss_causes"] == {}
    with (tmp_path / "report" / "lost_search" / "scripted.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert [int(row["frame"]) for row in rows] == [hit.frame for hit in result.search_hits]
    assert all(row["verdict"] == "candidate" and float(row["iou"]) > 0.8 and row["away"] == "0" for row in rows)
    assert float(rows[0]["score"]) >= POLICY.recover_score


def test_an_evaluation_names_why_a_return_was_missed(tmp_path: Path) -> None:
    """Without a search that reaches where the target came back, its return is missed with no hit on it."""
    result, summary = evaluated_leave_and_return(tmp_path, RedetectionSettings())
    assert summary["reacquisition_delays"] == {"leave-and-return": [None]}
    assert not any(hit.on_target for hit in result.search_hits)
    assert summary["miss_causes"] == {"leave-and-return": ["no_hit"]}
    assert summary["missed_returns"]["no_hit"] == 1 and sum(summary["missed_returns"].values()) == 1


def test_a_hit_where_the_targets_box_is_unknown_counts_neither_on_the_target_nor_elsewhere() -> None:
    hit = SearchHit(TrackResult(START, 0.9), 0.2, Verdict.SCORE)
    assert hit.candidate_score is None and SearchHit(hit.result, 0.7, Verdict.CANDIDATE).candidate_score == 0.7
    unknown = trace_hit("s", 3, hit, np.full(4, np.nan), away=False)
    assert np.isnan(unknown.iou) and not unknown.on_target and not unknown.elsewhere
    away, missed = trace_hit("s", 4, hit, np.full(4, np.nan), away=True), trace_hit("s", 5, hit, np.array(FAR), False)
    on = trace_hit("s", 6, hit, np.array(START), away=False)
    counts = verdict_counts([unknown, away, missed, on])
    assert counts["elsewhere"]["score"] == 2 and counts["on_target"]["score"] == 1


def scene(*squares: Box | None) -> np.ndarray:
    """A grey frame with a red square at each of ``squares`` (None: none there)."""
    image = frame(None)
    for square in squares:
        if square is not None:
            x, y, w, h = (int(v) for v in square)
            image[y : y + h, x : x + w] = RED
    return image


def test_a_look_alike_in_view_as_the_target_left_is_an_impostor_and_the_target_back_by_that_edge_is_not() -> None:
    """The target leaves through the right edge (the tracker's box of that frame hangs half over it) while a red copy
    waits mid-frame, beyond the widened local search. The global search finds the copy on the first LOST frame: in
    view as the target left, away from the edge it left by, it is an impostor, followed from frame to frame and
    never confirmed. The target back through the right edge is re-acquired. Where the target is lost mid-frame
    instead (no exit), the check confirms the copy: it cannot tell two red squares apart."""
    settings = RedetectionSettings(global_search_every=1, global_search_crops=0)
    copy: Box = (150.0, 100.0, SIDE, SIDE)
    back: Box = (300.0, 200.0, SIDE, SIDE)
    start: Box = (280.0, 100.0, SIDE, SIDE)
    for last_box, exits in (((310.0, 100.0, SIDE, SIDE), True), ((270.0, 100.0, SIDE, SIDE), False)):
        session = TrackingSession(SiameseTracker(ColourRunner(), redetection=settings), POLICY)
        session.start(scene(start, copy), start, "t")
        before = [session.step(scene(start, copy)) for _ in range(3)]
        gone = session.step(scene(None, copy), tracked=TrackResult(last_box, 0.0 if not exits else 0.9))
        outcomes = [session.step(scene(square, copy)) for square in [*[None] * 15, *[back] * 10]]
        assert [o.state for o in [*before, gone]] == [TrackState.TRACKING] * 3 + [TrackState.LOST]
        absent = outcomes[:15]
        on_copy = [o.box is not None and iou(np.array([o.box]), np.array([copy]))[0] > 0.5 for o in absent]
        assert any(on_copy) is not exits, [o.state for o in absent]
        if exits:
            assert Verdict.CANDIDATE not in verdicts(absent) and Verdict.IMPOSTOR in verdicts(absent)
            assert outcomes[-1].box is not None and iou(np.array([outcomes[-1].box]), np.array([back]))[0] > 0.8


def test_only_a_hit_failing_one_gate_can_persist() -> None:
    look: Box = (0.0, 0.0, 20.0, 20.0)
    assert fails_one_gate((0.0, 0.0, 32.0, 12.5), look)  # keeps the area, not the shape
    assert fails_one_gate((0.0, 0.0, 40.0, 40.0), look)  # keeps the shape, not the area (4x)
    assert not fails_one_gate((0.0, 0.0, 64.0, 25.0), look)  # keeps neither
    assert not fails_one_gate((0.0, 0.0, 22.0, 20.0), look)  # keeps both: no gate to pass
