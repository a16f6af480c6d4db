"""Why a return was missed: ``lost_search.miss_causes`` over the re-detection hits traced after it."""

from __future__ import annotations

import numpy as np

from asymtrack_ros.boxes import Box
from asymtrack_ros.evaluation.lost_search import MissCause, TracedHit, cause_counts, miss_causes, trace_hit
from asymtrack_ros.evaluation.robustness import REACQUIRE_WITHIN, return_spans
from asymtrack_ros.tracking.base import TrackResult
from asymtrack_ros.tracking.redetection import SearchHit, Verdict

TARGET: Box = (100.0, 100.0, 40.0, 40.0)
ELSEWHERE: Box = (300.0, 200.0, 40.0, 40.0)
RETURN = 10  # the target is away on frames 5-9 and back from frame 10 to the end
FRAMES = 40
AWAY = np.array([5 <= index < RETURN for index in range(FRAMES)])
LOST = np.zeros(FRAMES, dtype=bool)


def hit(frame: int, verdict: Verdict, box: Box = TARGET) -> TracedHit:
    """A hit on ``box`` at ``frame`` (the target's truth: :data:`TARGET`) with the gates' ``verdict``."""
    searched = SearchHit(TrackResult(box, 0.9), None if verdict in (Verdict.SIZE, Verdict.SHAPE) else 0.4, verdict)
    return trace_hit("s", frame, searched, np.array(TARGET), away=bool(AWAY[frame]))


def cause(delay: int | None, hits: list[TracedHit], tracking: np.ndarray = LOST) -> MissCause | None:
    (only,) = miss_causes(return_spans(AWAY, 0), [delay], tracking, hits)
    return only


def test_a_return_re_acquired_in_time_has_no_cause_and_a_late_one_has() -> None:
    hits = [hit(RETURN + 2, Verdict.SCORE)]
    assert cause(REACQUIRE_WITHIN, hits) is None
    assert cause(REACQUIRE_WITHIN + 1, hits) == MissCause.CHECK
    assert cause(None, hits) == MissCause.CHECK


def test_the_most_frequent_verdict_on_the_target_names_the_cause() -> None:
    shapes = [hit(RETURN + k, Verdict.SHAPE) for k in (1, 2, 3)]
    assert cause(None, [hit(RETURN, Verdict.SCORE), *shapes]) == MissCause.GATES
    assert cause(None, [hit(RETURN, Verdict.IMPOSTOR), hit(RETURN + 1, Verdict.IMPOSTOR)]) == MissCause.IMPOSTOR
    assert cause(None, [*shapes, hit(RETURN + 4, Verdict.CANDIDATE)]) == MissCause.UNCONFIRMED, "a candidate first"


def test_only_hits_on_the_target_within_the_window_count() -> None:
    outside = [hit(RETURN + REACQUIRE_WITHIN + 1, Verdict.SCORE), hit(RETURN - 2, Verdict.SCORE)]
    off_target = [hit(RETURN + 1, Verdict.SCORE, ELSEWHERE), hit(RETURN + 2, Verdict.CANDIDATE, ELSEWHERE)]
    assert cause(None, outside + off_target) == MissCause.NO_HIT


def test_tracking_something_else_when_the_target_returns_is_its_own_cause() -> None:
    tracking = np.ones(FRAMES, dtype=bool)
    assert cause(None, [hit(RETURN + 1, Verdict.SCORE)], tracking) == MissCause.TRACKING_ELSEWHERE


def test_each_return_is_judged_by_its_own_window_and_the_counts_list_every_cause() -> None:
    away = AWAY | (np.arange(FRAMES) >= 30)
    again = np.concatenate([away, np.zeros(10, dtype=bool)])  # back again at frame 40
    spans = return_spans(again, 0)
    assert spans == [(RETURN, 30), (40, 50)]
    tracking = np.zeros(50, dtype=bool)
    causes = miss_causes(spans, [None, None], tracking, [hit(RETURN + 1, Verdict.SCORE)])
    assert causes == (MissCause.CHECK, MissCause.NO_HIT)
    counts = cause_counts([*causes, None])
    assert counts == {**dict.fromkeys((c.value for c in MissCause), 0), "check": 1, "no_hit": 1}
