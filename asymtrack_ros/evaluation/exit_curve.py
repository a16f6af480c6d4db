"""Speed/accuracy curve of an early-exit model (DyTrack, the paper's Fig. 8, Sec. IV-C "Fixed vs adaptive
exiting"): success AUC against ms per frame when every frame answers at a fixed exit 1..K, and when Eq. (1)
picks the exit with several threshold settings, all in one run on one dataset.

Fixed exit k sets tau_j = 1 for j < k (s_j, a sigmoid, never exceeds 1) and tau_k = 0 (it always does); the last
exit sets every tau to 1. An adaptive setting beats the fixed-exit line when its AUC exceeds the line's
(piecewise linear between the fixed exits, held flat beyond them) at its own ms per frame. ms per frame is the
mean wall-clock time of ``TrackingSession.step`` over every tracked frame (ONNX Runtime, crops and session
logic included), on the same machine and threads for every setting.

    python -m asymtrack_ros.evaluation.exit_curve --model-dir models/dytrack-tiny \\
        --dataset runs/datasets/synthetic-heldout --max-sequences 12 --out runs/eval/dytrack-curve
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from asymtrack_ros.cli_support import command_parser, exit_thresholds_argument
from asymtrack_ros.evaluation.cli import evaluate_dataset
from asymtrack_ros.evaluation.ope import SequenceResult, TrackerFactory

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)  # tau_1 = tau_2 for each adaptive point
CURVE_JSON, CURVE_PNG = "exit_curve.json", "exit_curve.png"
EXAMPLES = (
    "python -m asymtrack_ros.evaluation.exit_curve --model-dir models/dytrack-tiny \\\n"
    "    --dataset runs/datasets/synthetic-heldout --max-sequences 12 --out runs/eval/dytrack-curve",
    "python -m asymtrack_ros.evaluation.exit_curve --model-dir models/dytrack-tiny --dataset data/got10k-val \\\n"
    "    --thresholds 0.6,0.8 --thresholds 0.7,0.7 --threads 2 --out eval/dytrack-got10k",
)


@dataclass(frozen=True)
class CurvePoint:
    """One setting's figures: ``kind`` fixed or adaptive, its thresholds, success AUC, ms per frame, the share
    of tracked frames each exit answered, and (adaptive) the fixed-exit line's AUC at the same ms per frame."""

    name: str
    kind: str
    exit_thresholds: tuple[float, ...]
    auc: float
    ms_per_frame: float
    exit_shares: tuple[float, ...]
    fixed_line_auc: float | None = None

    @property
    def beats_fixed_line(self) -> bool | None:
        return None if self.fixed_line_auc is None else self.auc > self.fixed_line_auc


def fixed_exit_thresholds(exit: int, num_exits: int) -> tuple[float, ...]:
    """tau_1..tau_{K-1} that make every frame answer at ``exit`` (1..K)."""
    if not 1 <= exit <= num_exits:
        raise ValueError(f"exit must be in 1..{num_exits}, got {exit}")
    return tuple(1.0 if j < exit else 0.0 for j in range(1, num_exits))


def curve_settings(num_exits: int, adaptive: Sequence[tuple[float, ...]]) -> dict[str, tuple[str, tuple[float, ...]]]:
    """Setting name -> (kind, thresholds): ``exitK`` for each fixed exit, ``tau=...`` for each adaptive one."""
    settings = {f"exit{k}": ("fixed", fixed_exit_thresholds(k, num_exits)) for k in range(1, num_exits + 1)}
    for thresholds in adaptive:
        if len(thresholds) != num_exits - 1:
            raise ValueError(f"adaptive thresholds need {num_exits - 1} numbers, got {thresholds}")
        settings["tau=" + ",".join(f"{t:g}" for t in thresholds)] = ("adaptive", tuple(thresholds))
    return settings


def exit_shares(results: Sequence[SequenceResult], num_exits: int) -> tuple[float, ...]:
    """Share of the tracked frames answered by each exit 1..K."""
    exits = np.concatenate([result.exits[result.init_frame + 1 :] for result in results])
    counts = np.array([(exits == k).sum() for k in range(1, num_exits + 1)], float)
    return tuple((counts / max(len(exits), 1)).tolist())


def fixed_line_auc(points: Sequence[CurvePoint], ms_per_frame: float) -> float:
    """The fixed-exit line's AUC at ``ms_per_frame`` (linear between fixed points sorted by speed, flat beyond)."""
    fixed = sorted((p.ms_per_frame, p.auc) for p in points if p.kind == "fixed")
    speeds, aucs = zip(*fixed, strict=True)
    return float(np.interp(ms_per_frame, speeds, aucs))


def build_curve(summary: Mapping, results: Mapping[str, list[SequenceResult]],
                settings: Mapping[str, tuple[str, tuple[float, ...]]], num_exits: int) -> list[CurvePoint]:
    """The curve points from an ``asymtrack-eval`` summary and its per-sequence results, one per setting."""
    points = []
    for name, (kind, thresholds) in settings.items():
        numbers = summary["trackers"][name]
        points.append(CurvePoint(name, kind, thresholds, float(numbers["auc"]), float(numbers["wall_ms"]),
                                 exit_shares(results[name], num_exits)))
    return [replace(point, fixed_line_auc=fixed_line_auc(points, point.ms_per_frame)) if point.kind == "adaptive"
            else point for point in points]


def plot_curve(path: Path, points: Sequence[CurvePoint], title: str) -> None:
    """The curve as a PNG: fixed exits joined by a line, adaptive settings as labelled points."""
    from matplotlib.figure import Figure  # renders with Agg, no display needed

    figure = Figure(figsize=(6.4, 4.4))
    axes = figure.add_subplot()
    fixed = sorted((p for p in points if p.kind == "fixed"), key=lambda p: p.ms_per_frame)
    axes.plot([p.ms_per_frame for p in fixed], [p.auc for p in fixed], "s-", color="C0", label="fixed exit")
    for point in fixed:
        axes.annotate(point.name.replace("exit", "exit "), (point.ms_per_frame, point.auc),
                      textcoords="offset points", xytext=(4, -12), fontsize=8, color="C0")
    adaptive = [p for p in points if p.kind == "adaptive"]
    axes.plot([p.ms_per_frame for p in adaptive], [p.auc for p in adaptive], "o", color="C3",
              label="adaptive exit (Eq. 1)")
    for index, point in enumerate(adaptive):  # labels alternate above and below: nearby points stay readable
        axes.annotate(_short_label(point.exit_thresholds), (point.ms_per_frame, point.auc), textcoords="offset points",
                      xytext=(4, 4 if index % 2 == 0 else -11), fontsize=8, color="C3")
    axes.set(title=title, xlabel="ms per frame (lower is faster)", ylabel="success AUC")
    axes.grid(True)
    axes.legend(loc="lower right")
    figure.savefig(path, format="png", dpi=110, bbox_inches="tight")


def _short_label(thresholds: Sequence[float]) -> str:
    """``τ=0.6`` when every threshold is the same, else ``τ=0.6,0.8``."""
    values = thresholds[:1] if len(set(thresholds)) == 1 else thresholds
    return "τ=" + ",".join(f"{t:g}" for t in values)


def run_curve(model_dir: Path, dataset: Path, out_dir: Path, adaptive: Sequence[tuple[float, ...]],
              threads: int, max_sequences: int | None = None, skip_sequences: int = 0) -> list[CurvePoint]:
    """Evaluate every setting on ``dataset`` in one run; writes ``asymtrack-eval``'s report, the JSON and the PNG."""
    from asymtrack_ros.tracking import create_tracker
    from asymtrack_ros.tracking.manifest import read_manifest

    early_exit = read_manifest(model_dir).early_exit
    if early_exit is None:
        raise ValueError(f"{model_dir} has no early exits (model.json has no early_exit)")
    num_exits = len(early_exit.segments)
    settings = curve_settings(num_exits, adaptive)
    factories: dict[str, TrackerFactory] = {
        name: functools.partial(create_tracker, "onnx", model_dir=str(model_dir), device="cpu", threads=threads,
                                exit_thresholds=thresholds)
        for name, (_, thresholds) in settings.items()}
    summary, results = evaluate_dataset(dataset, out_dir, factories, max_sequences=max_sequences,
                                        skip_sequences=skip_sequences, show_progress=True)
    points = build_curve(summary, results, settings, num_exits)
    sequences = summary["trackers"]["exit1"]["sequences"]
    report = {"model_dir": str(model_dir), "dataset": str(dataset), "skip_sequences": skip_sequences,
              "sequences": sequences, "threads": threads,
              "points": [{**asdict(p), "beats_fixed_line": p.beats_fixed_line} for p in points]}
    (out_dir / CURVE_JSON).write_text(json.dumps(report, indent=1) + "\n")
    plot_curve(out_dir / CURVE_PNG, points, f"{model_dir.name} on {dataset.name} ({sequences} sequences)")
    return points


def build_parser() -> argparse.ArgumentParser:
    """The command line of this module."""
    parser = command_parser("python -m asymtrack_ros.evaluation.exit_curve",
                            "Speed/accuracy curve of an early-exit model: fixed exits vs exit thresholds.", EXAMPLES)
    parser.add_argument("--model-dir", required=True, type=Path, help="exported early-exit model (asymtrack-export)")
    parser.add_argument("--dataset", required=True, type=Path, help="dataset directory asymtrack-eval reads")
    parser.add_argument("--out", required=True, type=Path, help="output directory (report, exit_curve.json/.png)")
    parser.add_argument("--thresholds", action="append", type=exit_thresholds_argument, metavar="TAU1,TAU2",
                        help="an adaptive setting, repeat for several (default: tau1 = tau2 = "
                        + ", ".join(f"{t:g}" for t in DEFAULT_THRESHOLDS) + ")")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads (default: 1)")
    parser.add_argument("--max-sequences", type=int, metavar="N", help="only the first N sequences (default: all)")
    parser.add_argument("--skip-sequences", type=int, default=0, metavar="N", help="leave out the first N sequences")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    adaptive = args.thresholds or [(t, t) for t in DEFAULT_THRESHOLDS]
    try:
        points = run_curve(args.model_dir, args.dataset, args.out, adaptive, args.threads, args.max_sequences,
                           args.skip_sequences)
    except ValueError as error:
        parser.error(str(error))
    print(f"{'setting':<14} {'auc':>7} {'ms/frame':>9}  exit shares      fixed line at same ms")
    for p in points:
        verdict = "beats" if p.beats_fixed_line else "below"
        line = "" if p.fixed_line_auc is None else f"{p.fixed_line_auc:.4f} ({verdict})"
        shares = " ".join(f"{share:.2f}" for share in p.exit_shares)
        print(f"{p.name:<14} {p.auc:7.4f} {p.ms_per_frame:9.2f}  {shares:<16} {line}")
    print(f"wrote {args.out / CURVE_JSON} and {args.out / CURVE_PNG}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
