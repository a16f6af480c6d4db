"""The multi-target core (tracking/targets.py): add, re-target, remove, bounds, per-target failures, and the
batched search pass giving the boxes of one pass per target."""

from __future__ import annotations

import numpy as np
import pytest
from scene import frame, target_box

from asymtrack_ros.tracking import create_tracker
from asymtrack_ros.tracking.fusion import FusedTracker
from asymtrack_ros.tracking.monitor import LostPolicy, TrackState
from asymtrack_ros.tracking.opencv_backend import OpenCVTracker
from asymtrack_ros.tracking.siamese import SiameseTracker, shared_batch_runner, track_together
from asymtrack_ros.tracking.targets import MAX_TARGETS_LIMIT, TargetError, TargetSet

POLICY = LostPolicy()
SECOND = (200.0, 150.0, 48.0, 40.0)  # a textured background patch away from the moving square


@pytest.fixture(scope="module")
def tracker() -> SiameseTracker:
    """The shipped default model's network (its search graph takes batches) on one thread."""
    made = create_tracker("onnx", threads=1, local_tracker="none")
    assert isinstance(made, SiameseTracker)
    return made


@pytest.mark.parametrize("fused", [False, True], ids=["network", "fused-default"])
def test_batched_and_sequential_steps_give_the_same_boxes(tracker: SiameseTracker, fused: bool) -> None:
    if fused:  # the shipped default: the network fused with CSRT; its network part runs batched
        default = create_tracker("onnx", threads=1)
        assert isinstance(default, FusedTracker)
        batched, sequential = TargetSet(default, POLICY, 4), TargetSet(default.spawn(), POLICY, 4, batch=False)
    else:
        batched, sequential = TargetSet(tracker, POLICY, 4), TargetSet(tracker.spawn(), POLICY, 4, batch=False)
    for targets in (batched, sequential):
        targets.set(frame(0), target_box(0), "square")
        targets.set(frame(0), SECOND, "patch")
    assert batched.batches and not sequential.batches
    for t in range(1, 15):
        one, other = batched.step(frame(t)), sequential.step(frame(t))
        assert one.batched and not other.batched
        assert [o.target_id for o in one.outcomes] == [o.target_id for o in other.outcomes] == ["square", "patch"]
        for a, b in zip(one.outcomes, other.outcomes, strict=True):
            assert a.state == b.state and a.score == pytest.approx(b.score, abs=1e-4)
            np.testing.assert_allclose(a.result.box, b.result.box, atol=1e-2)
    if fused:  # the default follows the square (the network alone drifts, and its verifier says LOST, by frame 14)
        assert one.outcomes[0].state == TrackState.TRACKING
        assert_near(one.outcomes[0].result.box, target_box(14))


def test_track_together_matches_each_trackers_own_track(tracker: SiameseTracker) -> None:
    first, second = tracker.spawn(), tracker.spawn()
    first.initialize(frame(0), target_box(0))
    second.initialize(frame(0), SECOND)
    twins = [first.spawn(), second.spawn()]
    twins[0].initialize(frame(0), target_box(0))
    twins[1].initialize(frame(0), SECOND)
    together = track_together([first, second], frame(1), [1.0, 2.0])
    alone = [twins[0].track(frame(1), 1.0), twins[1].track(frame(1), 2.0)]
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_allclose(a.box, b.box, atol=1e-2)
        assert a.score == pytest.approx(b.score, abs=1e-4)


def test_add_retarget_remove_and_clear(tracker: SiameseTracker) -> None:
    targets = TargetSet(tracker, POLICY, 2)
    targets.set(frame(0), target_box(0), "a")
    targets.set(frame(0), SECOND, "b")
    with pytest.raises(TargetError, match="max_targets is 2: remove one"):
        targets.set(frame(0), SECOND, "c")
    targets.set(frame(3), target_box(3), "b")  # re-target keeps the order
    assert targets.ids == ("a", "b")
    outcomes = targets.step(frame(4)).outcomes
    assert_near(outcomes[1].result.box, target_box(4))
    targets.remove("a")
    assert targets.ids == ("b",)
    with pytest.raises(TargetError, match="no target 'a' is tracked"):
        targets.remove("a")
    targets.clear()
    assert targets.ids == () and targets.step(frame(5)).outcomes == ()


def test_bad_boxes_and_ids_change_nothing(tracker: SiameseTracker) -> None:
    targets = TargetSet(tracker, POLICY, 3)
    targets.set(frame(0), target_box(0), "a")
    for box in ((float("nan"), 1.0, 10.0, 10.0), (10.0, 10.0, 0.0, 5.0), (900.0, 900.0, 10.0, 10.0)):
        with pytest.raises(ValueError):
            targets.set(frame(0), box, "b")
    with pytest.raises(TargetError, match="non-empty id"):
        targets.set(frame(0), SECOND, "")
    assert targets.ids == ("a",)
    assert targets.step(frame(1)).outcomes[0].state == TrackState.TRACKING


def test_one_targets_failure_drops_only_that_target(tracker: SiameseTracker) -> None:
    targets = TargetSet(tracker, POLICY, 3)
    targets.set(frame(0), target_box(0), "full")
    targets.set(frame(0)[:200], (10.0, 10.0, 40.0, 40.0), "cropped")  # started on a smaller frame
    step = targets.step(frame(1))
    assert [o.target_id for o in step.outcomes] == ["full"]
    assert [f.target_id for f in step.failures] == ["cropped"] and "image size changed" in step.failures[0].reason
    assert targets.ids == ("full",)


def test_single_target_mode_replaces_the_target(tracker: SiameseTracker) -> None:
    targets = TargetSet(tracker, POLICY)
    targets.set(frame(0), target_box(0), "a")
    targets.set(frame(0), SECOND, "b")
    assert targets.ids == ("b",)


def test_max_targets_is_bounded_and_trackers_that_cannot_spawn_say_so(tracker: SiameseTracker) -> None:
    for bad in (0, MAX_TARGETS_LIMIT + 1):
        with pytest.raises(ValueError, match="max_targets must be in"):
            TargetSet(tracker, POLICY, bad)
    targets = TargetSet(_SingleOnly(), POLICY, 2)
    targets.set(frame(0), target_box(0), "a")
    with pytest.raises(TargetError, match="one target at a time"):
        targets.set(frame(0), SECOND, "b")


def test_opencv_trackers_step_one_after_another() -> None:
    targets = TargetSet(create_tracker("opencv", algorithm="mil"), POLICY, 2)
    targets.set(frame(0), target_box(0), "a")
    targets.set(frame(0), SECOND, "b")
    step = targets.step(frame(1))
    assert not step.batched and [o.target_id for o in step.outcomes] == ["a", "b"]
    assert shared_batch_runner([targets.tracker]) is None


def assert_near(box, truth, tolerance: float = 16.0) -> None:
    """The centre of ``box`` lies within ``tolerance`` px of the centre of ``truth``."""
    (x, y, w, h), (tx, ty, tw, th) = box, truth
    assert abs(x + w / 2 - tx - tw / 2) < tolerance and abs(y + h / 2 - ty - th / 2) < tolerance, (box, truth)


class _SingleOnly(OpenCVTracker):
    """A tracker without ``spawn``."""

    def __init__(self) -> None:
        super().__init__("mil")

    def spawn(self) -> OpenCVTracker:
        return super(OpenCVTracker, self).spawn()  # type: ignore[return-value]
