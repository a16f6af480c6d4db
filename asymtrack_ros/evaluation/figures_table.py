"""The README's and the model card's figure tables, printed as Markdown from ``asymtrack-eval`` runs.

Each ``--run LABEL=DIR`` names a run's output directory (its ``summary.json``, ``report.py``); each of its rows
gives one figure (``--figure``, :data:`FIGURES`) per tracker (``--tracker``, a column; "–" where the run has no
such tracker or the figure is undefined, e.g. re-acquisition on a set where no target returns)::

    python -m asymtrack_ros.evaluation.figures_table --run "leave-view set 6=runs/eval/lvh6-B29" --tracker ours \\
        --figure auc --figure reacquired_within_15 --figure absent_tracking
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from asymtrack_ros.evaluation.report import SUMMARY_JSON

Summary = Mapping[str, Any]  # one tracker's entry of summary.json


def _decimal(key: str) -> Callable[[Summary], str]:
    return lambda summary: f"{summary[key]:.3f}"


def _percent(key: str) -> Callable[[Summary], str]:
    return lambda summary: f"{100 * summary[key]:.1f} %"


UNSEEN = "reacquired_within_15_after_unseen_exit"
RETURN_COUNTS = {"reacquired_within_15": "returns", UNSEEN: "returns_after_unseen_exit"}  # share: its count


def _returns(share_key: str) -> Callable[[Summary], str]:
    """The re-acquired share with its count (:data:`RETURN_COUNTS`), e.g. ``65.6 % (21 of 32)``."""

    def cell(summary: Summary) -> str:
        returns, share = int(summary[RETURN_COUNTS[share_key]]), summary[share_key]
        return f"{100 * share:.1f} % ({round(share * returns)} of {returns})"

    return cell


FIGURES: dict[str, tuple[str, Callable[[Summary], str]]] = {
    "auc": ("success AUC", _decimal("auc")),
    "precision": ("precision@20px", _decimal("precision")),
    "reacquired_within_15": ("returns re-acquired within 15 frames", _returns("reacquired_within_15")),
    UNSEEN: ("returns after an unseen exit re-acquired within 15 frames", _returns(UNSEEN)),
    "absent_tracking": ("absent frames reported TRACKING", _percent("absent_tracking")),
    "false_tracking": ("false tracking", _percent("false_tracking")),
    "visible_lost": ("visible frames not reported TRACKING", _percent("visible_lost")),
    "wall_ms": ("ms per frame", lambda summary: f"{summary['wall_ms']:.1f}"),
}
MISSING = "–"


def figure(trackers: Mapping[str, Summary], tracker: str, key: str) -> str:
    """One cell: ``tracker``'s figure ``key`` (:data:`FIGURES`), :data:`MISSING` where it has none."""
    summary = trackers.get(tracker)
    if summary is None or any(summary.get(name) is None for name in _inputs(key)):
        return MISSING
    return FIGURES[key][1](summary)


def _inputs(key: str) -> tuple[str, ...]:
    return (RETURN_COUNTS[key], key) if key in RETURN_COUNTS else (key,)


def table(runs: Sequence[tuple[str, Path]], trackers: Sequence[str], figures: Sequence[str]) -> str:
    """The Markdown table: a header of ``trackers``, then per run (label, directory) one row per figure."""
    lines = ["| | " + " | ".join(trackers) + " |", "|---|" + "---:|" * len(trackers)]
    for label, directory in runs:
        summaries = json.loads((directory / SUMMARY_JSON).read_text())["trackers"]
        for key in figures:
            cells = (figure(summaries, tracker, key) for tracker in trackers)
            lines.append(f"| {label}: {FIGURES[key][0]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def labelled_run(text: str) -> tuple[str, Path]:
    """``LABEL=DIR`` (argparse type)."""
    label, separator, directory = text.rpartition("=")
    if not separator or not label or not directory:
        raise argparse.ArgumentTypeError(f"expected LABEL=DIR, got {text!r}")
    return label, Path(directory)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=labelled_run, action="append", required=True, metavar="LABEL=DIR",
                        help="an asymtrack-eval output directory and its rows' label (repeatable, in row order)")
    parser.add_argument("--tracker", action="append", required=True, help="a column (repeatable, in order)")
    parser.add_argument("--figure", action="append", choices=sorted(FIGURES),
                        help="a row per run (repeatable, in order; default: all)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        print(table(args.run, args.tracker, args.figure or list(FIGURES)))
    except (OSError, ValueError, KeyError) as error:
        parser.error(f"cannot read a run's {SUMMARY_JSON}: {error}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
