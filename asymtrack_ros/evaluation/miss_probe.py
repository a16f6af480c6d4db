"""Why a missed return was missed, probed: could the network find the returning target, and would the check take it?

``asymtrack-eval`` names a cause per missed return from the LOST search's own hits (``lost_search.miss_causes``);
a return the search never hit is ``no_hit`` whatever the reason. This replays the session over each sequence of a
run that has a missed return (the same tracker spec and lost policy as the run) and, on every LOST frame of the
return's window (``robustness.REACQUIRE_WITHIN`` frames from the return), also searches the whole frame (the grid of
``redetection.grid_boxes`` at the anchor's scale) and a crop centred on the truth. Each box found on the target
(IoU at least :data:`FOUND_IOU`, network score at least :data:`FOUND_SCORE`) is scored by the session's LOST check
(``TrackingSession.lost_check``). A missed return is then:

* ``network``: the target found on fewer than :data:`MIN_FOUND` of its window's LOST frames (the network cannot box
  it, even in a crop centred on it);
* ``check``: found on :data:`MIN_FOUND` or more, but the check never reaches the policy's ``recover_score`` there;
* ``search``: found and the check passes on at least one frame: the LOST search did not take that box (its crops
  lay elsewhere, another hit won, or the impostor watch claimed it).

The probes run after each step and change nothing the session does. Model card, "Where the development misses come
from"::

    python -m asymtrack_ros.evaluation.miss_probe --run runs/eval/lvv3-PHF36 --dataset runs/datasets/leave-view-val3
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from asymtrack_ros.boxes import Box, as_box, box_iou
from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.dataset_layouts import load_dataset
from asymtrack_ros.evaluation.cli import (
    TRACKER_METAVAR,
    TrackerSpec,
    lost_policy,
    parse_policy_setting,
    parse_tracker_spec,
    tracker_factories,
)
from asymtrack_ros.evaluation.ope import session_outcomes
from asymtrack_ros.evaluation.robustness import reacquisition_window, return_spans
from asymtrack_ros.sequences import TrackSequence
from asymtrack_ros.tracking.monitor import LostPolicy, TrackState
from asymtrack_ros.tracking.redetection import RegionSearch, grid_boxes
from asymtrack_ros.tracking.session import TrackingSession

FOUND_IOU = 0.5  # a box of the network on the target
FOUND_SCORE = 0.5  # ... that the network is sure of
MIN_FOUND = 3  # frames of a window with the target found: fewer is the network's miss
GRID_OVERLAP = 0.5  # adjacent crops of the whole-frame grid overlap by this share of their side


class ProbeVerdict(StrEnum):
    """What the probes say a missed return lacked (module docstring)."""

    NETWORK = "network"
    CHECK = "check"
    SEARCH = "search"


@dataclass(frozen=True)
class ProbedReturn:
    """One missed return: its sequence, return frame and recorded cause (``asymtrack-eval``'s ``miss_causes``), the
    LOST frames of its window probed, those with the target found, the check's best on them (None: never found)
    and the verdict."""

    sequence: str
    frame: int
    recorded_cause: str
    lost_frames: int
    found_frames: int
    best_check: float | None
    verdict: ProbeVerdict


def return_verdict(checks: Sequence[float | None], recover_score: float) -> ProbeVerdict:
    """The verdict of one window from its LOST frames' best checks of the boxes found on the target (None: none)."""
    found = [check for check in checks if check is not None]
    if len(found) < MIN_FOUND:
        return ProbeVerdict.NETWORK
    return ProbeVerdict.SEARCH if max(found) >= recover_score else ProbeVerdict.CHECK


def probe_frame(session: TrackingSession, searcher: RegionSearch, image: np.ndarray, truth: Box) -> float | None:
    """The session's LOST check's best score over the boxes the network finds on ``truth`` in the whole-frame grid
    at the anchor's scale and in a crop centred on ``truth``; None when it finds none."""
    grid = grid_boxes((image.shape[0], image.shape[1]), session.anchor, searcher.search_factor, GRID_OVERLAP)
    found = [hit.box for hit in searcher.search_regions(image, [*grid, truth])
             if (hit.score or 0.0) >= FOUND_SCORE and box_iou(hit.box, truth) >= FOUND_IOU]
    return max((session.lost_check(image, box) for box in found), default=None)


def probe_sequence(session: TrackingSession, searcher: RegionSearch, sequence: TrackSequence,
                   windows: Sequence[tuple[int, int]]) -> list[list[float | None]]:
    """Replay ``session`` over ``sequence`` up to the last window's end; per window (``[start, stop)`` frames), the
    :func:`probe_frame` of each LOST frame in it with a known truth."""
    checks: list[list[float | None]] = [[] for _ in windows]
    last = max((stop for _, stop in windows), default=0)
    for index, outcome, _ in session_outcomes(session, sequence):
        truth = sequence.ground_truth[index]
        for slot, (start, stop) in enumerate(windows):
            if start <= index < stop and outcome.state == TrackState.LOST and np.isfinite(truth).all():
                checks[slot].append(probe_frame(session, searcher, sequence.read_frame(index), as_box(truth)))
        if index + 1 >= last:
            break
    return checks


def missed_windows(sequence: TrackSequence, causes: Sequence[str | None]) -> list[tuple[int, int, str]]:
    """(start, stop, recorded cause) of each missed return of ``sequence`` (``causes``: the run's ``miss_causes``
    for it, one per return, None where re-acquired in time); the window ends ``REACQUIRE_WITHIN`` frames after the
    return or at the target's next absence."""
    spans = return_spans(sequence.away, sequence.init_frame)
    if len(spans) != len(causes):
        raise ValueError(f"{sequence.name}: the run lists {len(causes)} returns, the dataset has {len(spans)}")
    return [(*reacquisition_window(span), cause) for span, cause in zip(spans, causes, strict=True)
            if cause is not None]


def recorded_causes(run: Path, tracker_name: str) -> dict[str, list[str | None]]:
    """The run's ``miss_causes`` of ``tracker_name`` (its ``summary.json``); SystemExit with the reason when the run
    has none."""
    try:
        trackers = json.loads((run / "summary.json").read_text())["trackers"]
        return dict(trackers[tracker_name]["miss_causes"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"{run}: no miss causes of tracker {tracker_name!r} in summary.json ({error!r})") from error


def probe_run(run: Path, dataset: Path, spec: TrackerSpec, policy: LostPolicy) -> list[ProbedReturn]:
    """Every missed return of the tracker named by ``spec`` (``parse_tracker_spec``, as the run's) in ``run`` over
    ``dataset``, probed with a tracker built from ``spec`` in sessions with ``policy``."""
    recorded = recorded_causes(run, spec[0])
    (factory,) = tracker_factories([spec]).values()
    probed = []
    for sequence in load_dataset(dataset):
        if sequence.name not in recorded:  # the run lists the sequences with a missed return only
            continue
        windows = missed_windows(sequence, recorded[sequence.name])
        if not windows:
            continue
        tracker = factory()
        if not isinstance(tracker, RegionSearch):
            raise SystemExit(f"{spec[0]}: the tracker cannot search given regions, nothing to probe")
        spans = [(start, stop) for start, stop, _ in windows]
        for (start, _, cause), checks in zip(windows, probe_sequence(TrackingSession(tracker, policy), tracker,
                                                                    sequence, spans), strict=True):
            found = [check for check in checks if check is not None]
            probed.append(ProbedReturn(sequence.name, start, cause, len(checks), len(found),
                                       max(found, default=None), return_verdict(checks, policy.recover_score)))
    return probed


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser("python -m asymtrack_ros.evaluation.miss_probe", __doc__)
    parser.add_argument("--run", type=Path, required=True, help="an asymtrack-eval output directory")
    parser.add_argument("--dataset", type=Path, required=True, help="the dataset the run evaluated")
    parser.add_argument("--tracker", default=parse_tracker_spec("ours=onnx"), type=parse_tracker_spec,
                        metavar=TRACKER_METAVAR,
                        help="the run's tracker spec (default: ours=onnx); its NAME picks the run's results")
    parser.add_argument("--policy", action="append", default=[], type=parse_policy_setting, metavar="KEY=VALUE",
                        help="a lost-policy field as in the run (repeatable)")
    parser.add_argument("--out", type=Path, help="also write the probed returns there as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    probed = probe_run(args.run, args.dataset, args.tracker, lost_policy(args.policy))
    for row in probed:
        best = "-" if row.best_check is None else f"{row.best_check:.2f}"
        print(f"{row.sequence} return@{row.frame} {row.recorded_cause}: found on {row.found_frames} of "
              f"{row.lost_frames} LOST frames, best check {best} -> {row.verdict.value}")
    counts = Counter(row.verdict.value for row in probed)
    print(json.dumps({verdict.value: counts[verdict.value] for verdict in ProbeVerdict}))
    if args.out is not None:
        args.out.write_text(json.dumps([asdict(row) for row in probed], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
