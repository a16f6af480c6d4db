"""Probing missed returns (``evaluation.miss_probe``): a scripted tracker loses a coloured square that leaves and
comes back; whether the whole-frame probe finds it and what the session's LOST check says of it name the verdict."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_monitor import ScriptedSearcher

from asymtrack_ros.boxes import Box, centre
from asymtrack_ros.evaluation.miss_probe import (
    MIN_FOUND,
    ProbeVerdict,
    main,
    missed_windows,
    probe_sequence,
    return_verdict,
)
from asymtrack_ros.evaluation.robustness import REACQUIRE_WITHIN
from asymtrack_ros.sequences import TrackSequence
from asymtrack_ros.tracking.base import TrackResult
from asymtrack_ros.tracking.monitor import LostPolicy, TrackState
from asymtrack_ros.tracking.redetection import RedetectionSettings
from asymtrack_ros.tracking.session import TrackingSession

SIZE = (120, 160)  # (height, width)
TARGET: Box = (60.0, 40.0, 20.0, 20.0)
AWAY = range(3, 6)  # the target is out of view on these frames
FRAMES = 12
RETURN = AWAY.stop
POLICY = LostPolicy(lost_score=0.35, recover_score=0.5, lost_frames=1, recover_frames=2)


class Finder(ScriptedSearcher):
    """Scores 0.9 on the first frame, then 0.1 (LOST from frame 2 on, and no re-detection of its own: the session
    stays LOST); its region search boxes the square at ``found_score`` when a crop (``search_factor`` times the box's
    side) covers the square's centre, else nothing at 0.1."""

    redetection = RedetectionSettings(anchor_search_every=0)

    def __init__(self, square: Box | None, found_score: float = 0.9) -> None:
        super().__init__([0.9] + [0.1] * FRAMES)
        self.square, self.found_score = square, found_score

    def search_regions(self, image: np.ndarray, boxes: list[Box]) -> list[TrackResult]:
        return [self._hit(box) for box in boxes]

    def _hit(self, box: Box) -> TrackResult:
        half = self.search_factor * np.sqrt(box[2] * box[3]) / 2
        (cx, cy), square = centre(box), self.square
        if square is not None and all(abs(a - b) <= half for a, b in zip(centre(square), (cx, cy), strict=True)):
            return TrackResult(square, self.found_score)
        return TrackResult((cx, cy, 4.0, 4.0), 0.1)


def square_sequence(tmp_path: Path, returning_colour: tuple[int, int, int]) -> TrackSequence:
    """A red square on grey, away on :data:`AWAY`, back in ``returning_colour`` from :data:`RETURN` on."""
    truth = np.tile(np.array(TARGET), (FRAMES, 1))
    absent = np.array([index in AWAY for index in range(FRAMES)])
    truth[absent] = np.nan
    paths = []
    for index in range(FRAMES):
        image = np.full((*SIZE, 3), 128, np.uint8)
        if index not in AWAY:
            x, y, w, h = (int(value) for value in TARGET)
            image[y:y + h, x:x + w] = (200, 30, 30) if index < RETURN else returning_colour
        paths.append(tmp_path / f"{index:03d}.png")
        cv2.imwrite(str(paths[-1]), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return TrackSequence("squares", tuple(paths), truth, absent)


def probe(tmp_path: Path, colour: tuple[int, int, int], tracker: Finder) -> list[float | None]:
    sequence = square_sequence(tmp_path, colour)
    (start, stop, _), = missed_windows(sequence, ["no_hit"])
    (checks,) = probe_sequence(TrackingSession(tracker, POLICY), tracker, sequence, [(start, stop)])
    return checks


def test_windows_start_at_each_missed_return_and_end_in_time_or_at_the_next_absence(tmp_path: Path) -> None:
    sequence = square_sequence(tmp_path, (200, 30, 30))
    assert missed_windows(sequence, ["check"]) == [(RETURN, FRAMES, "check")]
    assert RETURN + REACQUIRE_WITHIN + 1 > FRAMES, "the sequence ends before the window would"
    assert missed_windows(sequence, [None]) == []
    with pytest.raises(ValueError, match="returns"):
        missed_windows(sequence, [None, "check"])


def test_a_target_found_and_checked_like_itself_was_the_search_s_miss(tmp_path: Path) -> None:
    checks = probe(tmp_path, (200, 30, 30), Finder(TARGET))
    assert len(checks) == FRAMES - RETURN, "every LOST frame of the window with a known truth is probed"
    assert all(check is not None and check >= POLICY.recover_score for check in checks)
    assert return_verdict(checks, POLICY.recover_score) == ProbeVerdict.SEARCH


def test_a_target_found_but_recoloured_is_the_check_s_miss(tmp_path: Path) -> None:
    checks = probe(tmp_path, (30, 30, 200), Finder(TARGET))
    assert all(check is not None and check < POLICY.recover_score for check in checks)
    assert return_verdict(checks, POLICY.recover_score) == ProbeVerdict.CHECK


@pytest.mark.parametrize("tracker", [Finder(None), Finder(TARGET, found_score=0.3)], ids=["nothing", "unsure"])
def test_a_target_the_network_never_boxes_surely_is_the_network_s_miss(tmp_path: Path, tracker: Finder) -> None:
    checks = probe(tmp_path, (200, 30, 30), tracker)
    assert checks and all(check is None for check in checks)
    assert return_verdict(checks, POLICY.recover_score) == ProbeVerdict.NETWORK


def test_the_verdict_needs_the_target_found_on_enough_frames() -> None:
    few = [0.9] * (MIN_FOUND - 1) + [None] * 5
    assert return_verdict(few, 0.5) == ProbeVerdict.NETWORK
    assert return_verdict([*few, 0.2], 0.5) == ProbeVerdict.SEARCH
    assert return_verdict([0.2] * MIN_FOUND, 0.5) == ProbeVerdict.CHECK


def test_the_probes_change_nothing_the_session_does(tmp_path: Path) -> None:
    sequence = square_sequence(tmp_path, (200, 30, 30))
    states = []
    for probed in (False, True):
        tracker = Finder(TARGET)
        session = TrackingSession(tracker, POLICY)
        session.start(sequence.read_frame(0), tuple(TARGET), "t")
        run = []
        for index in range(1, FRAMES):
            image = sequence.read_frame(index)
            run.append(session.step(image).state)
            if probed and session.state == TrackState.LOST:
                session.lost_check(image, TARGET)
                tracker.search_regions(image, [session.anchor])
        states.append(run)
    assert states[0] == states[1]


def run_and_dataset(tmp_path: Path, causes: dict[str, list[str | None]]) -> list[str]:
    """A dataset of the square sequence's frames (a target that leaves and returns) and a run summary listing
    ``causes``; the command's arguments for them."""
    data = tmp_path / "data" / "squares"
    data.mkdir(parents=True)
    sequence = square_sequence(data, (200, 30, 30))
    for index, path in enumerate(sequence.frames):
        path.rename(data / f"{index + 1:08d}.jpg")
    rows = ["nan,nan,nan,nan" if index in AWAY else ",".join(map(str, TARGET)) for index in range(FRAMES)]
    (data / "groundtruth.txt").write_text("\n".join(rows) + "\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({"trackers": {"csrt": {"miss_causes": causes}}}))
    return ["--run", str(run), "--dataset", str(tmp_path / "data"), "--tracker", "csrt=opencv:algorithm=csrt"]


def test_the_command_probes_only_the_run_s_missed_returns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(run_and_dataset(tmp_path / "none", {})) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"network": 0, "check": 0, "search": 0}
    with pytest.raises(SystemExit, match="cannot search given regions"):
        main(run_and_dataset(tmp_path / "one", {"squares": ["no_hit"]}))


def test_a_run_without_the_tracker_s_miss_causes_is_a_clear_exit(tmp_path: Path) -> None:
    arguments = run_and_dataset(tmp_path, {})
    (tmp_path / "run" / "summary.json").write_text(json.dumps({"trackers": {"ours": {}}}))
    with pytest.raises(SystemExit, match="no miss causes of tracker 'csrt'"):
        main(arguments)
    (tmp_path / "run" / "summary.json").write_text("not json")
    with pytest.raises(SystemExit, match="no miss causes"):
        main(arguments)
