"""The re-detection's hits while LOST, traced against the ground truth: why a return was or was not re-acquired.

Every LOST frame whose re-detection hit something (``FrameOutcome.search_hit``) gives one :class:`TracedHit`: the
refined hit, what the gates made of it (``redetection.Verdict``) and how it lies on the truth. ``asymtrack-eval``
writes them to ``lost_search/<tracker>.csv`` and counts the verdicts in ``summary.json``
(:func:`verdict_counts`): per verdict, the hits on the target (in view, IoU above the re-acquisition threshold) and
those on something else (the target away, or IoU 0). Each return not re-acquired within
``robustness.REACQUIRE_WITHIN`` frames gets a :class:`MissCause` from that window's hits (:func:`miss_causes`):
``summary.json`` counts them (``missed_returns``) and lists them per sequence (``miss_causes``).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from asymtrack_ros.boxes import as_box, box_iou
from asymtrack_ros.evaluation.robustness import REACQUIRED_IOU, in_time, reacquisition_window
from asymtrack_ros.tracking.redetection import SearchHit, Verdict

FIELDS = ("sequence", "frame", "x", "y", "w", "h", "network_score", "score", "verdict", "iou", "away")


@dataclass(frozen=True)
class TracedHit:
    """One LOST frame's re-detection hit beside its frame's truth: ``iou`` with the ground truth box (NaN: the box
    is unknown or the target absent), ``away``: the target is out of view."""

    sequence: str
    frame: int
    hit: SearchHit
    iou: float
    away: bool

    @property
    def on_target(self) -> bool:
        return not self.away and bool(self.iou > REACQUIRED_IOU)

    @property
    def elsewhere(self) -> bool:
        """On something other than the target: the target is away, or the box misses it."""
        return self.away or bool(self.iou == 0.0)


class MissCause(StrEnum):
    """Why a return was not re-acquired within ``REACQUIRE_WITHIN`` frames, judged on those frames."""

    TRACKING_ELSEWHERE = "tracking_elsewhere"  # TRACKING, its box off the target, when it came back: no search ran
    UNCONFIRMED = "unconfirmed"  # a re-detection candidate on the target, not confirmed in time
    CHECK = "check"  # hits on the target, most turned away by the check (verdict "score")
    GATES = "gates"  # hits on the target, most turned away by the size or shape gate
    IMPOSTOR = "impostor"  # hits on the target, most taken for an impostor
    NO_HIT = "no_hit"  # no re-detection hit on the target


CAUSE_OF_VERDICT = {Verdict.CANDIDATE: MissCause.UNCONFIRMED, Verdict.SCORE: MissCause.CHECK,
                    Verdict.SIZE: MissCause.GATES, Verdict.SHAPE: MissCause.GATES,
                    Verdict.IMPOSTOR: MissCause.IMPOSTOR}


def trace_hit(sequence: str, frame: int, hit: SearchHit, truth: np.ndarray, away: bool) -> TracedHit:
    """``hit`` of ``frame`` against its ground-truth box ``truth`` (x, y, w, h; NaN: unknown or absent, and so is the
    IoU: ``box_iou`` alone would call it 0, a miss)."""
    known = bool(np.isfinite(truth).all())
    overlap = box_iou(hit.result.box, as_box(truth)) if known else float("nan")
    return TracedHit(sequence, frame, hit, overlap, away)


def verdict_counts(hits: Iterable[TracedHit]) -> dict[str, dict[str, int]]:
    """Per verdict, the number of hits on the target and elsewhere (:class:`TracedHit`)."""
    counts = {group: dict.fromkeys((verdict.value for verdict in Verdict), 0) for group in ("on_target", "elsewhere")}
    for traced in hits:
        for group, member in (("on_target", traced.on_target), ("elsewhere", traced.elsewhere)):
            if member:
                counts[group][traced.hit.verdict.value] += 1
    return counts


def miss_causes(spans: Sequence[tuple[int, int]], delays: Sequence[int | None], tracking: np.ndarray,
                hits: Iterable[TracedHit]) -> tuple[MissCause | None, ...]:
    """Per return of one sequence (``spans``: ``robustness.return_spans``; ``delays``: its re-acquisition delays):
    None when re-acquired within ``REACQUIRE_WITHIN`` frames, else why not, from the frames between the return and
    ``REACQUIRE_WITHIN`` frames later (or the target's next absence). ``tracking``: per frame, whether the session
    said TRACKING; ``hits``: the sequence's traced hits. A candidate on the target outranks the other verdicts."""
    on_target = [traced for traced in hits if traced.on_target]
    return tuple(_miss_cause(span, delay, tracking, on_target) for span, delay in zip(spans, delays, strict=True))


def _miss_cause(span: tuple[int, int], delay: int | None, tracking: np.ndarray,
                on_target: Sequence[TracedHit]) -> MissCause | None:
    """:func:`miss_causes` of one return, ``span``, given the sequence's hits ``on_target``."""
    if in_time(delay):
        return None
    start, end = reacquisition_window(span)
    if tracking[start]:
        return MissCause.TRACKING_ELSEWHERE
    found = Counter(CAUSE_OF_VERDICT[traced.hit.verdict] for traced in on_target if start <= traced.frame < end)
    if MissCause.UNCONFIRMED in found:
        return MissCause.UNCONFIRMED
    return found.most_common(1)[0][0] if found else MissCause.NO_HIT


def cause_counts(causes: Iterable[MissCause | None]) -> dict[str, int]:
    """Missed returns per :class:`MissCause` (every cause listed, 0 where none)."""
    counts = Counter(cause for cause in causes if cause is not None)
    return {cause.value: counts[cause] for cause in MissCause}


def write_traced_hits(path: Path, hits: Iterable[TracedHit]) -> None:
    """One CSV row per hit (:data:`FIELDS`; ``score`` empty where the size or shape gate ran before the check)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(FIELDS)
        for traced in hits:
            hit = traced.hit
            score = "" if hit.score is None else f"{hit.score:.5f}"
            network = "" if hit.result.score is None else f"{hit.result.score:.5f}"
            writer.writerow([traced.sequence, traced.frame, *(f"{value:.3f}" for value in hit.result.box), network,
                             score, hit.verdict.value, f"{traced.iou:.4f}", int(traced.away)])
