"""The network + local-tracker fusion (tracking/fusion.py) with scripted parts, its settings, and the shipped
default built from model.json."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from scene import frame, target_box

from asymtrack_ros.boxes import Box
from asymtrack_ros.tracking import create_tracker
from asymtrack_ros.tracking.base import DeviceInfo, Tracker, TrackResult
from asymtrack_ros.tracking.fusion import FusedTracker, FusionSettings, network_threads, with_local_tracker
from asymtrack_ros.tracking.siamese import SiameseTracker

IMAGE = np.zeros((240, 320, 3), np.uint8)
START: Box = (100.0, 100.0, 40.0, 40.0)
ELSEWHERE: Box = (200.0, 60.0, 40.0, 40.0)


class Scripted(Tracker):
    """Returns scripted boxes and scores; counts its initialisations."""

    def __init__(self, results: list[tuple[Box, float | None]]) -> None:
        self.results, self.starts, self.centre = list(results), [], None

    @property
    def device_info(self) -> DeviceInfo:
        return DeviceInfo("scripted", "cpu", ("scripted",))

    @property
    def is_initialized(self) -> bool:
        return bool(self.starts)

    @property
    def box(self) -> Box | None:
        return self.centre

    def reposition(self, box: Box) -> None:
        self.centre = box

    def target_check(self, image: np.ndarray, box: Box) -> ByPosition:
        return ByPosition()

    def spawn(self) -> Scripted:
        return Scripted(self.results)

    def _initialize(self, image: np.ndarray, box: Box) -> None:
        self.starts.append(box)
        self.centre = box

    def _track(self, image: np.ndarray, search_scale: float) -> TrackResult:
        box, score = self.results.pop(0) if len(self.results) > 1 else self.results[0]
        return TrackResult(box, score)


class ByPosition:
    """A target check that trusts boxes to the right (x >= 150) more than others."""

    def similarity(self, image: np.ndarray, box: Box) -> float:
        return 0.9 if box[0] >= 150 else 0.2

    def remember(self, image: np.ndarray, box: Box) -> None:
        del image, box

    def recall(self, image: np.ndarray, box: Box) -> float | None:
        del image, box


def fused(network: list[tuple[Box, float | None]], local: list[tuple[Box, float | None]],
          **settings: object) -> tuple[FusedTracker, Scripted, Scripted]:
    net, loc = Scripted(network), Scripted(local)
    tracker = FusedTracker(net, lambda: loc, FusionSettings(local_tracker="csrt", **settings))  # type: ignore[arg-type]
    tracker.initialize(IMAGE, START)
    return tracker, net, loc


def test_where_both_agree_the_box_is_the_local_trackers_with_the_networks_score() -> None:
    tracker, _, _ = fused([((101.0, 100.0, 40.0, 40.0), 0.8)], [((102.0, 101.0, 40.0, 40.0), None)])
    result = tracker.track(IMAGE)
    assert result.box == (102.0, 101.0, 40.0, 40.0) and result.score == 0.8


@pytest.mark.parametrize(("agree_overlap", "score"), [(0.5, None), (0.3, 0.8)])
def test_the_networks_score_carries_over_to_a_local_box_it_overlaps_by_agree_overlap(agree_overlap: float,
                                                                                      score: float | None) -> None:
    tracker, _, _ = fused([((117.0, 100.0, 40.0, 40.0), 0.8)], [(START, None)], agree_overlap=agree_overlap)
    result = tracker.track(IMAGE)  # IoU 0.40
    assert result.box == START and result.score == score


def test_the_network_wins_after_rescue_frames_of_confident_better_looking_disagreement() -> None:
    tracker, net, loc = fused([(ELSEWHERE, 0.9)], [(START, None)], rescue_frames=3)
    boxes = [tracker.track(IMAGE).box for _ in range(3)]
    assert boxes == [START, START, ELSEWHERE]
    assert loc.starts == [START, ELSEWHERE]  # the local tracker restarted on the network's box
    assert net.box == ELSEWHERE  # the network's next search is centred on the fused box
    assert tracker.track(IMAGE).score is None  # the local box (START again) disagrees: the check scores it


def test_a_network_that_finds_no_target_beside_the_local_box_vetoes_it_with_its_score() -> None:
    tracker, _, _ = fused([(ELSEWHERE, 0.2), (ELSEWHERE, 0.5)], [(START, None)])
    assert [(r.box, r.score) for r in (tracker.track(IMAGE), tracker.track(IMAGE))] == [(START, 0.2), (START, None)]
    tracker, _, _ = fused([(ELSEWHERE, 0.2)], [(START, None)], veto_score=0.0)
    assert tracker.track(IMAGE).score is None, "veto_score 0: the check alone scores the local box"


def test_a_target_check_over_check_overrules_veto_overrules_the_veto_until_a_shot_cut() -> None:
    """The local tracker follows a box the check recognises (0.9) while the network finds nothing (0.2)."""
    right: Box = (160.0, 100.0, 40.0, 40.0)
    scene, other = (np.random.default_rng(seed).integers(0, 255, (240, 320, 3), dtype=np.uint8) for seed in (1, 2))
    net = Scripted([((10.0, 100.0, 40.0, 40.0), 0.2)])
    tracker = FusedTracker(net, lambda: Scripted([(right, None)]),
                           FusionSettings(local_tracker="csrt", check_overrules_veto=0.5))
    tracker.initialize(scene, right)
    assert tracker.track(scene).score is None, "the check scores the local box"
    assert [tracker.track(other).score for _ in range(2)] == [0.2, 0.2], "after a cut the veto stands"
    tracker.initialize(other, right)
    assert tracker.track(other).score is None, "a new target: the local box has followed it again"
    for threshold, local in ((0.95, right), (0.5, START)):  # the check (0.9 on the right, 0.2 at START) too low
        tracker = FusedTracker(net, lambda box=local: Scripted([(box, None)]),  # type: ignore[misc]
                               FusionSettings(local_tracker="csrt", check_overrules_veto=threshold))
        tracker.initialize(scene, local)
        assert tracker.track(scene).score == 0.2


@pytest.mark.parametrize(("overrule_min_score", "score"), [(0.15, None), (0.25, 0.2)])
def test_only_a_weak_veto_is_overruled(overrule_min_score: float, score: float | None) -> None:
    """The network's 0.2 is a weak veto at overrule_min_score 0.15, and stands at 0.25 (the network sees nothing)."""
    right: Box = (160.0, 100.0, 40.0, 40.0)
    scene = np.random.default_rng(1).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    tracker = FusedTracker(Scripted([((10.0, 100.0, 40.0, 40.0), 0.2)]), lambda: Scripted([(right, None)]),
                           FusionSettings(local_tracker="csrt", check_overrules_veto=0.5,
                                          overrule_min_score=overrule_min_score))
    tracker.initialize(scene, right)
    assert [tracker.track(scene).score for _ in range(2)] == [score, score]


def test_the_overrule_compares_the_network_s_mean_score_over_overrule_frames() -> None:
    """A network hovering at the threshold on a target the check recognises (0.17, 0.14, 0.17, 0.14, ...):
    compared frame by frame (``overrule_frames`` 1) every other frame publishes the network's 0.14 (under the
    session's lost_score: five such frames in a row say LOST); over the last 4 frames the mean, 0.155, overrules
    every one. A network that then finds nothing
    (0.05) stands as soon as the mean falls under 0.15."""
    right: Box = (160.0, 100.0, 40.0, 40.0)
    scene = np.random.default_rng(1).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    hovering = [((10.0, 100.0, 40.0, 40.0), score) for score in [0.17, 0.14] * 3 + [0.05] * 3]
    scores = {}
    for frames in (1, 4):
        tracker = FusedTracker(Scripted(list(hovering)), lambda: Scripted([(right, None)]),
                               FusionSettings(local_tracker="csrt", check_overrules_veto=0.5,
                                              overrule_min_score=0.15, overrule_frames=frames))
        tracker.initialize(scene, right)
        scores[frames] = [tracker.track(scene).score for _ in hovering]
    assert scores[1] == [None, 0.14] * 3 + [0.05] * 3
    assert scores[4] == [None] * 6 + [0.05] * 3


def test_a_local_box_the_confident_network_disagrees_with_for_over_unscored_frames_scores_0() -> None:
    """The network sure of a box elsewhere for more than unscored_frames frames in a row: the local box scores 0
    (the session counts it towards LOST) until the two agree again; 0 switches the limit off."""
    disagree, agree = (ELSEWHERE, 0.5), ((101.0, 100.0, 40.0, 40.0), 0.8)
    tracker, _, _ = fused([disagree] * 3 + [agree, disagree, disagree, disagree], [(START, None)], unscored_frames=2)
    assert [tracker.track(IMAGE).score for _ in range(7)] == [None, None, 0.0, 0.8, None, None, 0.0]
    tracker, _, _ = fused([disagree], [(START, None)])
    assert {tracker.track(IMAGE).score for _ in range(30)} == {None}
    tracker, _, _ = fused([disagree, disagree, (ELSEWHERE, 0.2), disagree, disagree, disagree], [(START, None)],
                          unscored_frames=2)
    assert [tracker.track(IMAGE).score for _ in range(6)] == [None, None, 0.2, None, None, 0.0], "a veto resets it"


@pytest.mark.parametrize(("network", "why"), [
    ((ELSEWHERE, 0.4), "not confident"),
    (((10.0, 100.0, 40.0, 40.0), 0.9), "looks less like the target"),
    (((150.0, 0.0, 200.0, 200.0), 0.9), "balloons to 25 times the area"),
])
def test_the_network_never_wins_when(network: tuple[Box, float], why: str) -> None:
    tracker, _, loc = fused([network], [(START, None)], rescue_frames=2)
    assert [tracker.track(IMAGE).box for _ in range(6)] == [START] * 6, why
    assert loc.starts == [START]


def test_settings_parse_validate_and_round_trip() -> None:
    settings = FusionSettings.from_mapping({"local_tracker": "csrt", "local_params": {"use_segmentation": False},
                                            "rescue_frames": 3.0})
    assert settings.enabled and settings.rescue_frames == 3
    assert FusionSettings.from_mapping(settings.to_json()) == settings
    assert not FusionSettings().enabled and not FusionSettings(local_tracker="none").enabled
    for bad in ({"local_tracker": "csrt", "rescue_frame": 3}, {"rescue_score": 1.5}, {"rescue_frames": 0},
                {"rescue_margin": True}, {"local_params": {"use_segmentation": "no"}}, {"rescue_area_ratio": 0.5},
                {"veto_score": "0.3"}, {"veto_score": 1.2}, {"check_overrules_veto": -0.1},
                {"overrule_min_score": 1.5}, {"agree_overlap": -0.5}, {"overrule_frames": 0},
                {"overrule_frames": 2.5}, {"unscored_frames": -1}, {"unscored_frames": 1.5}):
        with pytest.raises(ValueError):
            FusionSettings.from_mapping(bad)


def test_a_local_tracker_this_opencv_lacks_leaves_the_network_alone(caplog: pytest.LogCaptureFixture) -> None:
    network = create_tracker("onnx", threads=1, local_tracker="none")
    assert isinstance(network, SiameseTracker)
    assert with_local_tracker(network, FusionSettings(local_tracker="boosting")) is network
    assert "not in this OpenCV build" in caplog.text
    with pytest.raises(ValueError, match="has no parameter 'nope'"):
        with_local_tracker(network, FusionSettings(local_tracker="csrt", local_params={"nope": 1}))


def test_the_shipped_default_is_fused_reports_both_parts_and_follows_the_square() -> None:
    tracker = create_tracker("onnx", threads=1)
    assert isinstance(tracker, FusedTracker)
    assert tracker.device_info.backend == "onnx" and any("OpenCV" in p for p in tracker.device_info.providers)
    tracker.initialize(frame(0), target_box(0))
    for t in range(1, 20):
        box = tracker.track(frame(t)).box
    assert abs(box[0] - target_box(19)[0]) < 6 and abs(box[1] - target_box(19)[1]) < 6
    other = tracker.spawn()
    assert isinstance(other, FusedTracker) and other.network.runner is tracker.network.runner


def test_a_relocated_target_restarts_the_local_tracker_there_and_a_lost_anchor_does_not() -> None:
    tracker, net, loc = fused([(START, 0.9)], [(START, None)])
    tracker.reposition(ELSEWHERE)  # the session's last confident box while LOST: only the network's search moves
    assert net.box == ELSEWHERE and loc.starts == [START]
    tracker.relocate(IMAGE, ELSEWHERE)  # a confirmed global-search candidate
    assert loc.starts == [START, ELSEWHERE] and net.box == ELSEWHERE


def test_the_session_reuses_the_fused_trackers_verifier_and_a_box_is_verified_once_per_frame() -> None:
    tracker = create_tracker("onnx", threads=1)
    assert isinstance(tracker, FusedTracker)
    image, box = frame(0), target_box(0)
    tracker.initialize(image, box)
    check = tracker.target_check(image, box)
    assert check is tracker.target_check(image, list(box))  # the one built at initialize
    assert tracker.target_check(frame(0), box) is not check  # another frame object: a new check
    runner, passes = tracker.network.runner, []
    original = runner.encode_template
    runner.encode_template = lambda crop: passes.append(1) or original(crop)  # type: ignore[method-assign]
    later = frame(5)
    first = check.similarity(later, target_box(5))  # two template passes: the box alone and with context
    assert check.similarity(later, target_box(5)) == first and len(passes) == 2
    check.similarity(frame(5), target_box(5))  # a new frame object is embedded anew
    assert len(passes) == 4


class Recording(Scripted):
    """A scripted tracker that records the thread of each update and can be told to fail."""

    def __init__(self, results: list[tuple[Box, float | None]]) -> None:
        super().__init__(results)
        self.threads: list[threading.Thread] = []
        self.fail = False

    def _track(self, image: np.ndarray, search_scale: float) -> TrackResult:
        self.threads.append(threading.current_thread())
        if self.fail:
            raise RuntimeError("scripted failure")
        return super()._track(image, search_scale)


def test_the_local_tracker_updates_on_its_own_thread_while_the_network_searches() -> None:
    net, loc = Recording([(START, 0.8)]), Recording([((102.0, 101.0, 40.0, 40.0), None)])
    tracker = FusedTracker(net, lambda: loc, FusionSettings(local_tracker="csrt"))
    tracker.initialize(IMAGE, START)
    assert tracker.track(IMAGE).box == (102.0, 101.0, 40.0, 40.0)
    assert net.threads == [threading.current_thread()] and loc.threads[0].name.startswith("local-tracker")
    net.fail = True  # a failing network search: the error reaches the caller, and the local update has ended
    with pytest.raises(RuntimeError, match="scripted failure"):
        tracker.track(IMAGE)
    assert len(loc.threads) == 2  # ended before the error was raised: nothing runs on in the background
    net.fail, loc.fail = False, True  # a failing local update: its error reaches the caller too
    with pytest.raises(RuntimeError, match="scripted failure"):
        tracker.track(IMAGE)
    loc.fail = False
    assert tracker.track(IMAGE).score == 0.8


def test_a_started_local_update_is_taken_by_its_frame_only() -> None:
    net, loc = Recording([(START, 0.8)]), Recording([(START, None)])
    tracker = FusedTracker(net, lambda: loc, FusionSettings(local_tracker="csrt"))
    tracker.initialize(IMAGE, START)
    tracker.start_local(IMAGE)
    tracker.start_local(IMAGE)  # the same frame: started once
    assert tracker.track_with(IMAGE, TrackResult(START, 0.8)).score == 0.8 and len(loc.threads) == 1
    tracker.start_local(IMAGE.copy())  # a frame never tracked: its update ends before this frame's runs
    tracker.track_with(IMAGE, TrackResult(START, 0.8))
    assert len(loc.threads) == 3 and loc.threads[-1] is threading.current_thread()


def test_a_tracker_and_the_trackers_it_spawns_share_one_local_thread() -> None:
    parts: list[Recording] = []

    def local() -> Recording:
        parts.append(Recording([(START, None)]))
        return parts[-1]

    first = FusedTracker(Recording([(START, 0.8)]), local, FusionSettings(local_tracker="csrt"))
    second = first.spawn()
    for tracker in (first, second, second.spawn()):  # spawned from a spawn too
        tracker.initialize(IMAGE, START)
        tracker.track(IMAGE)
    assert len(parts) == 3 and all(part.threads[0] is parts[0].threads[0] for part in parts)
    alone = FusedTracker(Recording([(START, 0.8)]), local, FusionSettings(local_tracker="csrt"))
    alone.initialize(IMAGE, START)
    alone.track(IMAGE)
    assert parts[-1].threads[0] is not parts[0].threads[0]


def test_concurrent_fusion_gives_the_boxes_of_one_part_after_the_other() -> None:
    concurrent, serial = create_tracker("onnx", threads=2), create_tracker("onnx", threads=2)
    assert isinstance(concurrent, FusedTracker) and isinstance(serial, FusedTracker)
    for tracker in (concurrent, serial):
        tracker.initialize(frame(0), target_box(0))
    for t in range(1, 15):
        image = frame(t)
        ours, theirs = concurrent.track(image), serial.track_with(image, serial.network.track(image))
        assert (ours.box, ours.score) == (theirs.box, theirs.score)


def test_a_fused_local_tracker_takes_one_of_the_threads_only_from_a_network_whose_idle_threads_spin() -> None:
    fusion = FusionSettings(local_tracker="csrt")
    assert [network_threads(threads, fusion, spinning=True) for threads in (1, 2, 4)] == [1, 1, 3]
    assert network_threads(None, fusion, spinning=True) == max(1, len(os.sched_getaffinity(0)) - 1)
    assert [network_threads(threads, fusion, spinning=False) for threads in (None, 1, 2)] == [None, 1, 2]
    for alone in (FusionSettings(), FusionSettings(local_tracker="boosting")):  # no fusion, or not in this build
        for spinning in (True, False):
            assert network_threads(2, alone, spinning) == 2 and network_threads(None, alone, spinning) is None


def test_the_onnx_default_lets_idle_threads_sleep_and_gives_the_fused_network_all_threads() -> None:
    default = create_tracker("onnx", threads=2)
    spinning = create_tracker("onnx", threads=2, spinning=True)
    assert isinstance(default, FusedTracker) and isinstance(spinning, FusedTracker)
    for tracker, threads, spins in ((default, 2, "0"), (spinning, 1, "1")):
        options = tracker.network.runner.search_session.get_session_options()
        assert options.intra_op_num_threads == threads
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == spins
