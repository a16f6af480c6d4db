"""What a robot acting on the tracker cares about beyond overlap: confident mistakes and finding the target again.

* False tracking (:func:`false_tracking_frames`): scored frames (``metrics.scored_frames``) whose box has IoU 0
  with the truth while the published score (what the session publishes: the tracker's score capped by the
  appearance check) is at least :data:`CONFIDENT_SCORE`. The confidently-wrong failure a robot follows.
* Re-acquisition (:func:`reacquisition_delays`): a return is a frame after the initialisation frame where the
  target is visible again after an absence. Per return, the frames from the return until the session says
  TRACKING with IoU > :data:`REACQUIRED_IOU` (0: on the return frame itself); None when that does not happen
  before the target leaves again or the sequence ends. Summarised as the share re-acquired within
  :data:`REACQUIRE_WITHIN` frames (delay <= 15), and apart for the returns after an exit nobody saw
  (:func:`exits_seen`: not TRACKING on the target in the last :data:`SEEN_EXIT_WITHIN` visible frames before it
  left; the re-detection then watches where the target was lost, not the edge it left by), next to the share of
  absent frames reported as TRACKING. Of
  those, ``absent_lag`` counts the frames of a TRACKING run that began while the target was in view (the lost
  decision lagging behind the target's exit, :func:`lag_frames`); the rest are look-alikes or background
  confirmed during the absence.
* Visible LOST: the share of scored frames (target in view and boxed) not reported as TRACKING, the price of
  saying LOST early (a tracker that always says LOST never tracks an absent target).
* Look-alike tracking (generated datasets, which record where their look-alikes are:
  ``dataset_layouts.lookalike_boxes``): of the frames after initialisation with a look-alike in view, the share
  reported TRACKING with the box on one (IoU > :data:`REACQUIRED_IOU`) and not on the target (IoU at most that, or
  the target away). NaN where no look-alike was recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from asymtrack_ros.boxes import Box, iou

CONFIDENT_SCORE = 0.5
REACQUIRED_IOU = 0.3
REACQUIRE_WITHIN = 15  # frames
SEEN_EXIT_WITHIN = 5  # frames: an exit is seen when the target was tracked on one of its last visible frames


def false_tracking_frames(ious: np.ndarray, published_scores: np.ndarray, scored: np.ndarray) -> int:
    """Scored frames with IoU 0 (a NaN box counts as 0) and a published score >= :data:`CONFIDENT_SCORE`."""
    wrong = np.nan_to_num(np.asarray(ious, dtype=float), nan=0.0) <= 0.0
    confident = np.asarray(published_scores, dtype=float) >= CONFIDENT_SCORE
    return int((wrong & confident & np.asarray(scored, dtype=bool)).sum())


def target_returns(absent: np.ndarray, init_frame: int) -> list[int]:
    """Frames after ``init_frame`` where the target is visible and was absent on the frame before."""
    absent = np.asarray(absent, dtype=bool)
    return [int(index) for index in np.flatnonzero(absent[:-1] & ~absent[1:]) + 1 if index > init_frame]


def lag_frames(away: np.ndarray, tracking: np.ndarray, init_frame: int) -> int:
    """Frames after ``init_frame`` with the target away and reported TRACKING whose TRACKING run began while it was
    not away (in view, or from the initialisation on)."""
    away, tracking = np.asarray(away, dtype=bool), np.asarray(tracking, dtype=bool)
    count, carried = 0, True  # the initialisation frame: TRACKING, the target in view
    for index in range(init_frame + 1, len(away)):
        carried = bool(tracking[index]) and (carried or not away[index])
        count += int(carried and bool(away[index]))
    return count


def return_spans(absent: np.ndarray, init_frame: int) -> list[tuple[int, int]]:
    """Per return (:func:`target_returns`): the return frame and the frame the target is absent again (or the
    sequence's length)."""
    absent = np.asarray(absent, dtype=bool)
    spans = []
    for start in target_returns(absent, init_frame):
        leaves = np.flatnonzero(absent[start:])
        spans.append((start, start + int(leaves[0]) if len(leaves) else len(absent)))
    return spans


def reacquisition_window(span: tuple[int, int]) -> tuple[int, int]:
    """The frames ``[start, end)`` in which the return ``span`` (:func:`return_spans`) counts as re-acquired in time:
    from the return to :data:`REACQUIRE_WITHIN` frames later, or to the target's next absence."""
    start, stop = span
    return start, min(stop, start + REACQUIRE_WITHIN + 1)


def in_time(delay: int | None) -> bool:
    """Whether a return re-acquired after ``delay`` frames (None: never) was re-acquired within
    :data:`REACQUIRE_WITHIN` frames."""
    return delay is not None and delay <= REACQUIRE_WITHIN


def tracked_on_target(tracking: np.ndarray, ious: np.ndarray) -> np.ndarray:
    """Per frame: reported TRACKING with IoU > :data:`REACQUIRED_IOU` (a NaN box counts as IoU 0)."""
    return np.asarray(tracking, dtype=bool) & (np.nan_to_num(np.asarray(ious, dtype=float), nan=0.0) > REACQUIRED_IOU)


def reacquisition_delays(
    absent: np.ndarray, init_frame: int, tracking: np.ndarray, ious: np.ndarray
) -> list[int | None]:
    """Per return (:func:`return_spans`): frames until TRACKING with IoU > :data:`REACQUIRED_IOU`, or None."""
    found = tracked_on_target(tracking, ious)
    delays: list[int | None] = []
    for start, stop in return_spans(absent, init_frame):
        hits = np.flatnonzero(found[start:stop])
        delays.append(int(hits[0]) if len(hits) else None)
    return delays


def exits_seen(away: np.ndarray, init_frame: int, tracking: np.ndarray, ious: np.ndarray) -> list[bool]:
    """Per return (:func:`return_spans`): whether the session was TRACKING with IoU > :data:`REACQUIRED_IOU` on one of
    the last :data:`SEEN_EXIT_WITHIN` frames before the absence that the return ends (frames after ``init_frame``;
    a target away from the initialisation on was never seen leaving)."""
    away = np.asarray(away, dtype=bool)
    found = tracked_on_target(tracking, ious)
    seen = []
    for start, _ in return_spans(away, init_frame):
        in_view = np.flatnonzero(~away[:start])
        last = int(in_view[-1]) if len(in_view) else -1
        seen.append(bool(found[max(last - SEEN_EXIT_WITHIN + 1, init_frame + 1):last + 1].any()))
    return seen


@dataclass(frozen=True)
class Robustness:
    """Frame counts and re-acquisition delays of one sequence, or of a dataset (:func:`pool_robustness`)."""

    scored_frames: int
    false_tracking_frames: int
    absent_frames: int
    absent_tracking_frames: int
    reacquisition_delays: tuple[int | None, ...]
    visible_lost_frames: int = 0
    absent_lag_frames: int = 0
    lookalike_frames: int = 0
    lookalike_tracking_frames: int = 0
    exits_seen: tuple[bool, ...] = ()  # per return (:func:`exits_seen`), as many as reacquisition_delays

    @property
    def false_tracking(self) -> float:
        """Share of scored frames tracked confidently (score >= 0.5) with IoU 0; NaN without scored frames."""
        return self.false_tracking_frames / self.scored_frames if self.scored_frames else float("nan")

    @property
    def absent_tracking(self) -> float:
        """Share of absent frames (after initialisation) reported as TRACKING; NaN without absent frames."""
        return self.absent_tracking_frames / self.absent_frames if self.absent_frames else float("nan")

    @property
    def absent_lag(self) -> float:
        """Share of absent frames reported TRACKING by a run begun before the absence (:func:`lag_frames`)."""
        return self.absent_lag_frames / self.absent_frames if self.absent_frames else float("nan")

    @property
    def visible_lost(self) -> float:
        """Share of scored frames not reported as TRACKING; NaN without scored frames."""
        return self.visible_lost_frames / self.scored_frames if self.scored_frames else float("nan")

    @property
    def lookalike_tracking(self) -> float:
        """Share of the frames with a recorded look-alike in view reported TRACKING on one; NaN without any."""
        return self.lookalike_tracking_frames / self.lookalike_frames if self.lookalike_frames else float("nan")

    @property
    def reacquired_within(self) -> float:
        """Share of returns re-acquired within :data:`REACQUIRE_WITHIN` frames; NaN without returns."""
        return share_in_time(self.reacquisition_delays)

    @property
    def unseen_exit_delays(self) -> tuple[int | None, ...]:
        """The re-acquisition delays of the returns after an exit nobody saw (:func:`exits_seen`)."""
        return tuple(delay for delay, seen in zip(self.reacquisition_delays, self.exits_seen, strict=True) if not seen)

    def summary(self) -> dict[str, float]:
        """The headline numbers by name (NaN: undefined)."""
        unseen = self.unseen_exit_delays
        return {"false_tracking": self.false_tracking, "returns": float(len(self.reacquisition_delays)),
                f"reacquired_within_{REACQUIRE_WITHIN}": self.reacquired_within,
                "returns_after_unseen_exit": float(len(unseen)),
                f"reacquired_within_{REACQUIRE_WITHIN}_after_unseen_exit": share_in_time(unseen),
                "absent_tracking": self.absent_tracking, "absent_lag": self.absent_lag,
                "visible_lost": self.visible_lost, "lookalike_tracking": self.lookalike_tracking}


def share_in_time(delays: tuple[int | None, ...]) -> float:
    """Share of ``delays`` within :data:`REACQUIRE_WITHIN` frames (:func:`in_time`); NaN without any."""
    return sum(in_time(delay) for delay in delays) / len(delays) if delays else float("nan")


def on_lookalikes(boxes: np.ndarray, lookalikes: list[list[Box]]) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, whether a recorded look-alike is in view, and whether the box (row of ``boxes``) overlaps one
    by IoU > :data:`REACQUIRED_IOU`."""
    in_view = np.array([bool(frame_lookalikes) for frame_lookalikes in lookalikes], dtype=bool)
    overlapped = np.array([
        seen and iou(box[None], np.asarray(frame_lookalikes, dtype=float)).max() > REACQUIRED_IOU
        for box, frame_lookalikes, seen in zip(np.asarray(boxes, dtype=float), lookalikes, in_view, strict=True)],
        dtype=bool)
    return in_view, overlapped


def evaluate_robustness(
    ious: np.ndarray, absent: np.ndarray, init_frame: int, published_scores: np.ndarray, tracking: np.ndarray,
    away: np.ndarray | None = None, lookalikes: tuple[np.ndarray, np.ndarray] | None = None,
) -> Robustness:
    """:class:`Robustness` of one sequence from per-frame IoUs (NaN: no box or no truth), absence flags (frames
    without a box), published scores and TRACKING flags (frames up to ``init_frame`` are not counted). ``away``:
    the absent frames whose target is out of view (``TrackSequence.away``; default: all of them); the others have
    the target in view but not boxed: neither scored nor absences, and a target seen again after them has not
    returned. ``lookalikes``: :func:`on_lookalikes` of the sequence's boxes (None: none recorded)."""
    absent = np.asarray(absent, dtype=bool)
    away = absent if away is None else np.asarray(away, dtype=bool)
    after_init = np.arange(len(absent)) > init_frame
    scored = after_init & ~absent
    tracking = np.asarray(tracking, dtype=bool)
    in_view, overlapped = lookalikes if lookalikes is not None else (np.zeros_like(absent), np.zeros_like(absent))
    off_target = np.nan_to_num(np.asarray(ious, dtype=float), nan=0.0) <= REACQUIRED_IOU
    return Robustness(
        scored_frames=int(scored.sum()),
        false_tracking_frames=false_tracking_frames(ious, published_scores, scored),
        absent_frames=int((after_init & away).sum()),
        absent_tracking_frames=int((after_init & away & tracking).sum()),
        reacquisition_delays=tuple(reacquisition_delays(away, init_frame, tracking, ious)),
        visible_lost_frames=int((scored & ~tracking).sum()),
        absent_lag_frames=lag_frames(away, tracking, init_frame),
        lookalike_frames=int((after_init & in_view).sum()),
        lookalike_tracking_frames=int((after_init & in_view & overlapped & tracking & off_target).sum()),
        exits_seen=tuple(exits_seen(away, init_frame, tracking, ious)),
    )


def pool_robustness(items: Iterable[Robustness]) -> Robustness:
    """Dataset figures: frame counts summed, every return's delay kept (frame- and return-weighted)."""
    items = list(items)
    return Robustness(
        scored_frames=sum(item.scored_frames for item in items),
        false_tracking_frames=sum(item.false_tracking_frames for item in items),
        absent_frames=sum(item.absent_frames for item in items),
        absent_tracking_frames=sum(item.absent_tracking_frames for item in items),
        reacquisition_delays=tuple(delay for item in items for delay in item.reacquisition_delays),
        visible_lost_frames=sum(item.visible_lost_frames for item in items),
        absent_lag_frames=sum(item.absent_lag_frames for item in items),
        lookalike_frames=sum(item.lookalike_frames for item in items),
        lookalike_tracking_frames=sum(item.lookalike_tracking_frames for item in items),
        exits_seen=tuple(seen for item in items for seen in item.exits_seen),
    )
