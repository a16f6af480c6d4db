"""Lost-target state machine and session: transitions, widening search, anchored re-acquisition."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from asymtrack_ros.tracking.base import DeviceInfo, Tracker, TrackResult
from asymtrack_ros.tracking.monitor import LostPolicy, TargetMonitor, TrackState
from asymtrack_ros.tracking.redetection import RedetectionSettings
from asymtrack_ros.tracking.session import TrackingSession

POLICY = LostPolicy(lost_score=0.3, recover_score=0.5, lost_frames=3, recover_frames=2, search_step=0.5,
                    max_search_scale=2.0, recover_at_normal_scale=False)  # its own test below


def test_lost_after_n_low_scores_widens_then_recovers() -> None:
    monitor = TargetMonitor(POLICY)
    assert monitor.state == TrackState.IDLE
    monitor.start()
    states = [monitor.update(s) for s in (0.9, 0.1, 0.9, 0.1, 0.1)]
    assert states == [TrackState.TRACKING] * 5, "a single good frame resets the low-score streak"
    assert monitor.update(0.1) == TrackState.LOST and monitor.search_scale == 1.5
    assert monitor.update(0.1) == TrackState.LOST and monitor.search_scale == 2.0
    assert monitor.update(0.2) == TrackState.LOST and monitor.search_scale == 2.0, "capped at max_search_scale"
    assert monitor.update(0.6) == TrackState.LOST, "one good frame is not a recovery"
    assert monitor.update(0.6) == TrackState.TRACKING and monitor.search_scale == 1.0
    monitor.stop()
    assert monitor.state == TrackState.IDLE


def test_a_recovered_target_on_probation_is_lost_again_at_its_first_low_score() -> None:
    """For ``probation_frames`` frames after a recovery one score under ``lost_score`` says LOST (a look-alike
    confirmed by two lucky frames); later, and for the operator's own target from the start, it takes ``lost_frames``
    in a row."""
    policy = LostPolicy(lost_score=0.3, recover_score=0.5, lost_frames=3, recover_frames=2, probation_frames=3)
    monitor = TargetMonitor(policy)
    monitor.start()
    assert monitor.update(0.1) == TrackState.TRACKING, "no probation for the target the operator set"
    assert [monitor.update(0.1) for _ in range(2)] == [TrackState.TRACKING, TrackState.LOST]
    assert [monitor.update(0.6) for _ in range(2)] == [TrackState.LOST, TrackState.TRACKING]
    assert [monitor.update(s) for s in (0.4, 0.1)] == [TrackState.TRACKING, TrackState.LOST], "on probation"
    assert [monitor.update(0.6) for _ in range(2)] == [TrackState.LOST, TrackState.TRACKING]
    assert [monitor.update(s) for s in (0.6, 0.6, 0.6)] == [TrackState.TRACKING] * 3, "probation served"
    assert [monitor.update(0.1) for _ in range(3)] == [TrackState.TRACKING] * 2 + [TrackState.LOST]
    monitor.set_policy(LostPolicy(lost_score=0.3, recover_score=0.5, lost_frames=3, recover_frames=2,
                                  probation_frames=0))
    assert [monitor.update(0.6) for _ in range(2)] == [TrackState.LOST, TrackState.TRACKING]
    assert [monitor.update(0.1) for _ in range(3)] == [TrackState.TRACKING] * 2 + [TrackState.LOST], "0: off"


def test_with_follow_frames_a_confident_lost_frame_then_that_many_above_lost_score_recovers() -> None:
    """A returned target the confirmation doubts once it moves away from where it left scores between
    ``lost_score`` and ``recover_score``: after one frame at ``recover_score``, ``follow_frames`` more at or above
    ``lost_score`` recover it; a frame under ``lost_score`` or a tentative one starts over; 0 is off."""
    policy = LostPolicy(lost_score=0.3, recover_score=0.5, lost_frames=1, recover_frames=2, follow_frames=3)
    monitor = TargetMonitor(policy)
    monitor.start()
    assert monitor.update(0.1) == TrackState.LOST
    assert [monitor.update(s) for s in (0.4, 0.4, 0.4, 0.4)] == [TrackState.LOST] * 4, "never at recover_score"
    assert [monitor.update(s) for s in (0.6, 0.4, 0.4, 0.2)] == [TrackState.LOST] * 4, "dropped under lost_score"
    assert monitor.update(0.6) == TrackState.LOST
    assert monitor.update(0.4, tentative=True) == TrackState.LOST
    assert [monitor.update(s) for s in (0.4, 0.4, 0.4)] == [TrackState.LOST] * 3, "a tentative frame starts over"
    assert [monitor.update(s) for s in (0.6, 0.4, 0.35)] == [TrackState.LOST] * 3
    assert monitor.update(0.3) == TrackState.TRACKING, "the third frame at lost_score after the confident one"
    assert monitor.update(0.1) == TrackState.LOST, "on probation"
    monitor.set_policy(replace(policy, follow_frames=0))
    assert [monitor.update(s) for s in (0.6, 0.4, 0.4, 0.4, 0.4)] == [TrackState.LOST] * 5, "0: off"
    assert [monitor.update(0.6) for _ in range(2)] == [TrackState.LOST, TrackState.TRACKING]


@pytest.mark.parametrize(
    "policy",
    [LostPolicy(lost_score=0.6, recover_score=0.5), LostPolicy(lost_frames=0), LostPolicy(lost_score=1.5),
     LostPolicy(max_search_scale=0.5), LostPolicy(search_step=float("nan")), LostPolicy(min_visible=1.0),
     LostPolicy(min_visible=-0.1), LostPolicy(lost_at_cut=1), LostPolicy(probation_frames=-1),  # type: ignore[arg-type]
     LostPolicy(probation_frames=True), LostPolicy(follow_frames=-1)],
)
def test_inconsistent_policies_are_rejected(policy: LostPolicy) -> None:
    with pytest.raises(ValueError):
        TargetMonitor(policy)


class ScriptedTracker(Tracker):
    """Returns scripted scores; records the search scale and the box it was centred on."""

    def __init__(self, scores: list[float]) -> None:
        self.scores, self.calls, self._box = list(scores), [], None

    @property
    def device_info(self) -> DeviceInfo:
        return DeviceInfo(backend="scripted", device="cpu")

    @property
    def is_initialized(self) -> bool:
        return self._box is not None

    def reposition(self, box) -> None:
        self._box = box

    def _initialize(self, image, box) -> None:
        self._box = box

    def _track(self, image, search_scale: float) -> TrackResult:
        self.calls.append((search_scale, self._box))
        x, y, w, h = self._box
        self._box = (x + 5, y, w, h)  # drifts every frame
        return TrackResult(box=self._box, score=self.scores.pop(0))


class ScriptedSearcher(ScriptedTracker):
    """A scripted tracker that re-detects (a network's kind) and finds nothing."""

    redetection = RedetectionSettings(anchor_search_every=1)
    search_factor = 4.0

    def search_regions(self, image, boxes) -> list[TrackResult]:
        return []


def test_session_publishes_boxes_only_while_tracking_and_searches_around_the_last_good_box() -> None:
    image = np.zeros((100, 100, 3), np.uint8)
    tracker = ScriptedTracker([0.9, 0.1, 0.1, 0.1, 0.1, 0.8, 0.8])
    session = TrackingSession(tracker, POLICY)
    assert session.step(image).state == TrackState.IDLE
    session.start(image, (10, 10, 20, 20), "t")
    outcomes = [session.step(image) for _ in range(7)]
    assert [o.state for o in outcomes] == [TrackState.TRACKING] * 3 + [TrackState.LOST] * 3 + [TrackState.TRACKING]
    assert outcomes[0].box == (15, 10, 20, 20) and all(o.box is None for o in outcomes[3:6])
    last_good = (15, 10, 20, 20)
    assert [call[1] for call in tracker.calls[4:6]] == [last_good, last_good], "lost search must stay anchored"
    assert [call[0] for call in tracker.calls] == [1.0, 1.0, 1.0, 1.0, 1.5, 2.0, 2.0]
    with pytest.raises(ValueError):
        session.start(image, (500, 500, 5, 5), "bad")
    assert session.target_id == "t", "a refused start keeps the current target"


def test_an_out_of_view_frame_turns_tracking_into_lost_at_once_and_never_counts_towards_recovery() -> None:
    monitor = TargetMonitor(POLICY)
    monitor.start()
    assert monitor.update(0.9, out_of_view=True) == TrackState.LOST
    assert [monitor.update(0.9, out_of_view=True) for _ in range(3)] == [TrackState.LOST] * 3
    assert [monitor.update(0.9) for _ in range(2)] == [TrackState.LOST, TrackState.TRACKING]


@pytest.mark.parametrize(("lost_at_cut", "score", "state"), [
    (True, 0.2, TrackState.LOST), (True, 0.4, TrackState.TRACKING), (False, 0.2, TrackState.TRACKING)])
def test_a_low_score_at_a_shot_cut_turns_tracking_into_lost_at_once(lost_at_cut: bool, score: float,
                                                                     state: TrackState) -> None:
    monitor = TargetMonitor(LostPolicy(lost_score=0.3, lost_frames=3, lost_at_cut=lost_at_cut))
    monitor.start()
    assert monitor.update(score, cut=True) == state


def test_a_session_says_lost_at_a_cut_to_another_scene_where_its_tracker_scores_low() -> None:
    """A cut (another scene: uncorrelated noise) with a low score is LOST at once; the same score without a cut is
    the first of ``lost_frames``."""
    scene, other = (np.random.default_rng(seed).integers(0, 255, (100, 100, 3), dtype=np.uint8) for seed in (1, 2))
    for second, state in ((other, TrackState.LOST), (scene, TrackState.TRACKING)):
        session = TrackingSession(ScriptedTracker([0.9, 0.1]), POLICY)
        session.start(scene, (10, 10, 20, 20), "t")
        assert [session.step(image).state for image in (scene, second)] == [TrackState.TRACKING, state]


def test_a_box_leaving_the_image_is_lost_at_once_with_score_zero() -> None:
    """A confident tracker whose box slides over the border (as CSRT's does after the target left the view)."""
    image = np.zeros((100, 100, 3), np.uint8)
    session = TrackingSession(ScriptedTracker([0.9] * 6), POLICY)
    session.start(image, (60, 10, 20, 20), "t")
    outcomes = [session.step(image) for _ in range(6)]  # x = 65 ... 90: inside up to 80, then 75 %, 50 %, ...
    assert [o.state for o in outcomes] == [TrackState.TRACKING] * 5 + [TrackState.LOST]
    assert outcomes[4].score == 0.9 and outcomes[5].score == 0.0
    assert POLICY.min_visible == 0.6


def test_while_lost_a_network_trackers_unscored_box_confirms_nothing_but_an_opencv_trackers_can() -> None:
    """No score of its own (the fusion's local tracker disagrees with the network): for a tracker that re-detects
    with a network the check alone must not confirm a recovery; a scoreless OpenCV tracker has only the check."""
    image = np.zeros((100, 100, 3), np.uint8)  # every box looks like the (black) target
    scores = [0.9, 0.1, 0.1, 0.1, None, None, None]
    for tracker, recovers in ((ScriptedSearcher(scores), False), (ScriptedTracker(scores), True)):
        session = TrackingSession(tracker, POLICY)
        session.start(image, (10, 10, 20, 20), "t")
        states = [session.step(image).state for _ in scores]
        assert states[3:5] == [TrackState.LOST] * 2
        assert (states[-1] == TrackState.TRACKING) == recovers, type(tracker).__name__


@pytest.mark.parametrize("at_normal_scale", [False, True])
def test_with_recover_at_normal_scale_a_hit_in_the_widened_region_is_followed_and_confirmed_in_the_normal_one(
        at_normal_scale: bool) -> None:
    """A confident frame in the widened LOST region: counted towards recovery as it is, or (``recover_at_normal_scale``)
    followed in the normal region, whose frames confirm it."""
    image = np.zeros((100, 100, 3), np.uint8)
    tracker = ScriptedTracker([0.9, 0.1, 0.1, 0.1, 0.1, 0.8, 0.8, 0.8])
    session = TrackingSession(tracker, LostPolicy(lost_score=0.3, recover_score=0.5, lost_frames=3, recover_frames=2,
                                                  search_step=0.5, recover_at_normal_scale=at_normal_scale))
    session.start(image, (10, 10, 20, 20), "t")
    states = [session.step(image).state for _ in range(8)]
    tracking, lost = TrackState.TRACKING, TrackState.LOST
    confirming = 1 if at_normal_scale else 0  # the widened frame's hit is only followed
    assert states == [tracking] * 3 + [lost] * (3 + confirming) + [tracking] * (2 - confirming)
    scales = [scale for scale, _ in tracker.calls]
    assert scales[:6] == [1.0] * 4 + [1.5, 2.0], "a low LOST frame widens the search either way"
    assert scales[6:] == ([1.0, 1.0] if at_normal_scale else [2.0, 1.0])


class RememberingCheck:
    """A check that finds every box alike and records what the session remembers as the target."""

    def __init__(self) -> None:
        self.remembered: list[tuple] = []

    def similarity(self, image, box) -> float:
        return 1.0

    def remember(self, image, box) -> None:
        self.remembered.append(tuple(box))

    def recall(self, image, box) -> float | None:
        return 1.0 if self.remembered else None

    def look(self, image, box) -> None:
        return None

    def likeness(self, image, box, look) -> float:
        return 1.0


def test_a_session_does_not_remember_a_recovered_target_on_probation_and_drops_it_at_its_first_low_score() -> None:
    """A look-alike confirmed by two lucky frames: LOST at its first low score, and never remembered as the target
    (else the re-identification against the remembered target would confirm it again at once)."""
    image = np.zeros((100, 100, 3), np.uint8)
    check = RememberingCheck()
    tracker = ScriptedTracker([0.9, 0.1, 0.1, 0.1, 0.8, 0.8, 0.4, 0.1, 0.8, 0.8, 0.8, 0.8])
    tracker.target_check = lambda image, box: check  # type: ignore[method-assign]
    session = TrackingSession(tracker, LostPolicy(lost_score=0.3, recover_score=0.5, lost_frames=3,
                                                  recover_frames=2, probation_frames=2, recover_at_normal_scale=False))
    session.start(image, (10, 10, 20, 20), "t")
    outcomes = [session.step(image) for _ in range(12)]
    tracking, lost = TrackState.TRACKING, TrackState.LOST
    assert [o.state for o in outcomes] == [tracking] * 3 + [lost] * 2 + [tracking] * 2 + [lost] * 2 + [tracking] * 3
    assert check.remembered == [outcomes[0].box, outcomes[11].box], "the first frame, then the probation served"


def test_appearance_similarity_is_high_on_the_target_and_low_elsewhere() -> None:
    from asymtrack_ros.tracking.appearance import AppearanceCheck

    image = np.zeros((100, 200, 3), np.uint8)
    image[20:60, 20:60] = (200, 30, 30)  # the target: red
    image[20:60, 120:160] = (30, 30, 200)  # another object: blue
    check = AppearanceCheck(image, (20, 20, 40, 40))
    assert check.similarity(image, (20, 20, 40, 40)) == pytest.approx(1.0)
    assert check.similarity(image, (120, 20, 40, 40)) < 0.2
    assert check.similarity(image, (500, 20, 40, 40)) == 0.0, "a box outside the image shows nothing"


def grainy_film(seed: int) -> np.ndarray:
    """A black-and-white frame with film grain: a man in a dark suit at x 40-70 and again at x 150-180 on a light
    road, a black border from x 200."""
    image = np.full((120, 240, 3), 175.0)
    image[30:90, 40:70] = image[30:90, 150:180] = 60.0
    image[:, 200:] = 5.0
    return np.clip(image + np.random.default_rng(seed).normal(0.0, 3.0, image.shape), 0, 255).astype(np.uint8)


def test_on_grey_footage_the_appearance_compares_brightness_not_the_hue_of_grain() -> None:
    """On grey footage grey pixels are binned by brightness: the man found again under other grain is alike, the road
    beside him and the border are not (a hue/saturation histogram scored the road 0.91 and the man again 0.90)."""
    from asymtrack_ros.tracking.appearance import AppearanceCheck

    first, later = grainy_film(0), grainy_film(1)
    check = AppearanceCheck(first, (40, 30, 30, 60))
    assert check.similarity(later, (150, 30, 30, 60)) > 0.95
    assert check.similarity(first, (100, 30, 30, 60)) < 0.2, "the road"
    assert check.similarity(first, (185, 30, 30, 60)) < 0.2, "the road and the border"


def test_on_colour_footage_pale_pixels_keep_their_hue() -> None:
    """A pale pink target and a pale blue patch of a colour picture: grey by saturation, apart by hue; a black frame
    with a pale target and a coloured object is no grey footage either (its lit pixels decide, not the black)."""
    from asymtrack_ros.tracking.appearance import AppearanceCheck

    image = np.empty((120, 240, 3), np.uint8)
    image[:] = (40, 160, 60)
    image[30:90, 40:70], image[30:90, 150:180] = (235, 215, 222), (215, 222, 235)
    check = AppearanceCheck(image, (40, 30, 30, 60))
    assert not check.brightness
    assert check.similarity(image, (150, 30, 30, 60)) < 0.2
    assert AppearanceCheck(grainy_film(0), (40, 30, 30, 60)).brightness
    dark = np.zeros((120, 240, 3), np.uint8)
    dark[30:60, 40:60], dark[30:60, 150:170] = (235, 215, 222), (200, 120, 40)  # 98 % of the pixels black
    assert not AppearanceCheck(dark, (40, 30, 20, 30)).brightness, "a black scene with a coloured object is in colour"


def test_recall_compares_with_the_remembered_look_of_the_target() -> None:
    from asymtrack_ros.tracking.appearance import AppearanceCheck

    image = np.zeros((100, 200, 3), np.uint8)
    image[20:60, 20:60] = (200, 30, 30)  # the initial target: red
    image[20:60, 120:140] = (200, 30, 30)
    image[20:60, 140:160] = (200, 120, 30)  # the target later: half red, half orange
    check = AppearanceCheck(image, (20, 20, 40, 40))
    later = (120, 20, 40, 40)
    assert check.recall(image, later) is None, "nothing remembered yet"
    check.remember(image, later)
    assert check.similarity(image, later) < 0.6 and check.recall(image, later) == pytest.approx(1.0)
    check.remember(image, (500, 20, 40, 40))  # a box without pixels changes nothing
    assert check.recall(image, later) == pytest.approx(1.0)
    assert check.recall(image, (20, 20, 40, 40)) == pytest.approx(check.similarity(image, later), abs=1e-6)


def test_set_policy_applies_from_the_next_frame_and_refuses_an_invalid_one() -> None:
    monitor = TargetMonitor(LostPolicy(lost_frames=5))
    monitor.start()
    for _ in range(2):
        monitor.update(0.0)
    with pytest.raises(ValueError):
        monitor.set_policy(LostPolicy(lost_frames=0))
    assert monitor.policy.lost_frames == 5
    monitor.set_policy(LostPolicy(lost_frames=3))
    assert monitor.update(0.0) == TrackState.LOST, "the streak carries over into the new policy"
