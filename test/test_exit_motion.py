"""A target leaving the view by its own motion: the exit watch and the session's LOST at once."""

from __future__ import annotations

import numpy as np
import pytest
from test_monitor import ScriptedTracker

from asymtrack_ros.boxes import Box
from asymtrack_ros.tracking.base import TrackResult
from asymtrack_ros.tracking.exit_motion import ExitWatch
from asymtrack_ros.tracking.monitor import LostPolicy, TrackState
from asymtrack_ros.tracking.redetection import RedetectionSettings, Verdict
from asymtrack_ros.tracking.session import TrackingSession

FRAME = (100, 200)  # height, width
STEP = 20  # px per frame, to the right
POLICY = LostPolicy(lost_score=0.35, lost_frames=5, min_visible=0.6)


def watched(*xs: float) -> ExitWatch:
    """A watch that saw 20 x 20 boxes at ``xs`` on consecutive TRACKING frames."""
    watch = ExitWatch()
    for x in xs:
        watch.record((x, 40.0, 20.0, 20.0))
    return watch


def test_the_prediction_moves_the_last_box_by_the_mean_step_and_needs_two_frames() -> None:
    assert watched().predicted() is None and watched(10).predicted() is None
    assert watched(10, 30).predicted() == (50.0, 40.0, 20.0, 20.0)
    assert watched(0, 10, 30).predicted() == (45.0, 40.0, 20.0, 20.0)  # (30 - 0) / 2 per frame
    watch = watched(10, 30)
    watch.reset()
    assert watch.predicted() is None


@pytest.mark.parametrize(("box", "score", "left"), [
    ((150.0, 40.0, 20.0, 20.0), 0.9, True),  # jumped back onto something else as the target left
    ((170.0, 40.0, 20.0, 20.0), 0.9, True),  # stuck at the edge where it was
    ((185.0, 40.0, 20.0, 20.0), 0.9, False),  # followed the target to the edge, still sure of it
    ((185.0, 40.0, 20.0, 20.0), 0.1, True),  # followed, but scores background there
])
def test_a_box_that_does_not_follow_a_target_leaving_or_scores_low_means_it_left(box: Box, score: float,
                                                                                 left: bool) -> None:
    watch = watched(150, 170)  # the prediction: x 190, 10 % in view
    assert watch.left_view(box, score, FRAME, POLICY.min_visible, POLICY.lost_score) == left


def test_a_prediction_still_in_view_never_means_it_left() -> None:
    watch = watched(100, 120)  # the prediction: x 140, all in view
    assert not watch.left_view((60.0, 40.0, 20.0, 20.0), 0.0, FRAME, POLICY.min_visible, POLICY.lost_score)


class JumpingTracker(ScriptedTracker):
    """Follows a target moving right at :data:`STEP` px per frame, sure of it, until the target is a sliver at the
    edge; then its box jumps back onto a look-alike at x 100, as sure."""

    def __init__(self) -> None:
        super().__init__([])

    def _track(self, image: np.ndarray, search_scale: float) -> TrackResult:
        assert self._box is not None
        x, y, w, h = self._box
        self._box = (100.0, y, w, h) if x + STEP >= FRAME[1] - 0.5 * w else (x + STEP, y, w, h)
        return TrackResult(box=self._box, score=0.9)


@pytest.mark.parametrize(("lost_at_exit", "states"), [
    (True, [TrackState.TRACKING] * 3 + [TrackState.LOST] * 2),
    (False, [TrackState.TRACKING] * 5),
])
def test_a_session_says_lost_when_the_box_jumps_back_as_its_target_leaves(lost_at_exit: bool,
                                                                          states: list[TrackState]) -> None:
    """The target reaches x 170 (all in view); the next frame it would be at x 190 (half out): the tracker's box
    jumps back to x 100. With ``lost_at_exit`` that frame is LOST at once, with score 0."""
    image = np.zeros((*FRAME, 3), np.uint8)
    policy = LostPolicy(lost_score=0.35, lost_frames=5, min_visible=0.6, lost_at_exit=lost_at_exit)
    session = TrackingSession(JumpingTracker(), policy)
    session.start(image, (110.0, 40.0, 20.0, 20.0), "t")
    outcomes = [session.step(image) for _ in range(5)]
    assert [outcome.state for outcome in outcomes] == states
    assert [outcome.result.box[0] for outcome in outcomes[:4] if outcome.result is not None] == [130, 150, 170, 100]
    assert outcomes[3].score == (0.0 if lost_at_exit else 0.9)


class LeavingSearcher(JumpingTracker):
    """A :class:`JumpingTracker` that re-detects: every search crop hits the look-alike at x 100, surely. It either
    jumps there as the target leaves (``jumps``) or follows the target out of view; after that its box scores low."""

    redetection = RedetectionSettings(anchor_search_every=1)
    search_factor = 4.0

    def __init__(self, jumps: bool) -> None:
        super().__init__()
        self.jumps, self.left = jumps, False

    def _track(self, image: np.ndarray, search_scale: float) -> TrackResult:
        assert self._box is not None
        if self.jumps or self._box[0] + STEP < FRAME[1] - 0.5 * self._box[2]:
            result = super()._track(image, search_scale)
        else:
            self._box = (self._box[0] + STEP, *self._box[1:])
            result = TrackResult(box=self._box, score=0.9)
        if self.left:
            return TrackResult(box=result.box, score=0.1)
        self.left = result.box[0] in (100.0, 190.0)
        return result

    def search_regions(self, image: np.ndarray, boxes: list[Box]) -> list[TrackResult]:
        return [TrackResult(box=(100.0, 40.0, 20.0, 20.0), score=0.9) for _ in boxes]


@pytest.mark.parametrize(("jumps", "verdict"), [(False, Verdict.IMPOSTOR), (True, Verdict.CANDIDATE)])
def test_only_a_box_seen_leaving_the_view_arms_the_impostor_watch(jumps: bool, verdict: Verdict) -> None:
    """An object in view as the tracker's box left the view is an impostor on the next LOST frames; where only the
    target's motion says it left (the box jumped back onto that object), the target may still be in view, so the same
    hit is judged by the check (on this blank frame it passes)."""
    image = np.zeros((*FRAME, 3), np.uint8)
    policy = LostPolicy(lost_score=0.35, lost_frames=5, min_visible=0.6, lost_at_exit=True)
    session = TrackingSession(LeavingSearcher(jumps), policy)
    session.start(image, (110.0, 40.0, 20.0, 20.0), "t")
    outcomes = [session.step(image) for _ in range(5)]
    assert [outcome.state for outcome in outcomes] == [TrackState.TRACKING] * 3 + [TrackState.LOST] * 2
    hit = outcomes[4].search_hit
    assert hit is not None and hit.verdict == verdict
