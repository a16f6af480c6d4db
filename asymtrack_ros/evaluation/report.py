"""Evaluation reports: per-frame result CSVs, a per-sequence CSV, a summary JSON and comparison plots (PNG).

Layout under the output directory::

    results/<tracker>/<sequence>.csv   frame, box, confidence, published score, state and timings of every frame
                                       (NaN: not tracked)
    lost_search/<tracker>.csv          every re-detection hit while LOST, its gates' verdict and IoU with the truth
                                       (``lost_search.py``)
    sequences.csv                      one row per tracker and sequence: metrics, robustness and mean timings
    summary.json                       per tracker: dataset-level metrics, robustness (false tracking,
                                       re-acquisition: ``robustness.py``), timings, curves, the device it ran
                                       on, the re-detection verdicts on and off the target and why
                                       returns were missed (``lost_search.py``); the thresholds; the
                                       run's ``setup`` when the caller gives one (``asymtrack-eval``: package
                                       version, lost policy, tracker specs, machine)
    success_plot.png, precision_plot.png, norm_precision_plot.png   all trackers, legend sorted by value

Plots need matplotlib (the ``eval`` extra), imported only when plotting.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from asymtrack_ros.evaluation.lost_search import cause_counts, verdict_counts, write_traced_hits
from asymtrack_ros.evaluation.metrics import (
    NORM_PRECISION_THRESHOLDS,
    PRECISION_THRESHOLDS_PX,
    SUCCESS_THRESHOLDS,
    Scores,
    pool_scores,
)
from asymtrack_ros.evaluation.ope import TIMING_FIELDS, SequenceResult, timing_summary
from asymtrack_ros.evaluation.robustness import pool_robustness

SEQUENCE_CSV = "sequences.csv"
SUMMARY_JSON = "summary.json"
RESULTS_DIR = "results"
LOST_SEARCH_DIR = "lost_search"
_LINE_STYLES = ("-", "--", "-.", ":")


@dataclass(frozen=True)
class _Plot:
    filename: str
    title: str
    xlabel: str
    ylabel: str
    thresholds: np.ndarray
    curve: str  # Scores attribute holding the curve
    value: str  # Scores attribute holding the headline value shown in the legend
    value_label: str
    legend_location: str


PLOTS = (
    _Plot(
        filename="success_plot.png",
        title="Success plot",
        xlabel="Overlap threshold",
        ylabel="Success rate",
        thresholds=SUCCESS_THRESHOLDS,
        curve="success_curve",
        value="auc",
        value_label="AUC",
        legend_location="lower left",
    ),
    _Plot(
        filename="precision_plot.png",
        title="Precision plot",
        xlabel="Location error threshold (px)",
        ylabel="Precision",
        thresholds=PRECISION_THRESHOLDS_PX,
        curve="precision_curve",
        value="precision",
        value_label="P@20px",
        legend_location="lower right",
    ),
    _Plot(
        filename="norm_precision_plot.png",
        title="Normalized precision plot",
        xlabel="Normalized location error threshold",
        ylabel="Normalized precision",
        thresholds=NORM_PRECISION_THRESHOLDS,
        curve="norm_precision_curve",
        value="norm_precision",
        value_label="NP@0.2",
        legend_location="lower right",
    ),
)


def write_report(out_dir: Path | str, results: Mapping[str, list[SequenceResult]], dataset: str = "",
                 setup: Mapping[str, Any] | None = None) -> dict:
    """Write every report file under ``out_dir``; returns the summary also written to ``summary.json`` (with
    ``setup``, JSON-ready, under ``"setup"`` when given: what the run was asked to do)."""
    if not any(results.values()):
        raise ValueError("no tracking results to report")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, tracker_results in results.items():
        for result in tracker_results:
            write_frame_results(out_dir / RESULTS_DIR / result.tracker / f"{result.sequence}.csv", result)
        write_traced_hits(out_dir / LOST_SEARCH_DIR / f"{name}.csv",
                          (hit for result in tracker_results for hit in result.search_hits))
    write_sequence_csv(out_dir / SEQUENCE_CSV, results)
    overall = {name: pool_scores(result.scores for result in runs) for name, runs in results.items()}
    summary = summarize(results, overall, dataset)
    if setup is not None:
        summary["setup"] = dict(setup)
    (out_dir / SUMMARY_JSON).write_text(json.dumps(summary, indent=2) + "\n")
    for plot in PLOTS:
        plot_curves(out_dir / plot.filename, plot, overall, dataset)
    return summary


def write_frame_results(path: Path, result: SequenceResult) -> None:
    """One CSV row per frame: index, box, confidence (the tracker's), published score, state and timings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = np.column_stack([np.arange(len(result.boxes)), result.boxes, result.confidences, result.published,
                             result.states, result.timings_ms])
    header = ",".join(("frame", "x", "y", "w", "h", "confidence", "published", "state", *TIMING_FIELDS))
    formats = ["%d", *["%.3f"] * 4, "%.5f", "%.5f", "%d", *["%.3f"] * len(TIMING_FIELDS)]
    np.savetxt(path, table, fmt=formats, delimiter=",", header=header, comments="")


def write_sequence_csv(path: Path, results: Mapping[str, list[SequenceResult]]) -> None:
    """One row per tracker and sequence: frame counts, metrics, robustness and mean timings."""
    rows = [
        {
            "tracker": result.tracker,
            "sequence": result.sequence,
            "frames": len(result.boxes),
            "init_frame": result.init_frame,
            "scored_frames": result.scores.num_frames,
            **result.scores.summary(),
            **result.robustness.summary(),
            **timing_summary(result.tracked_timings_ms),
        }
        for tracker_results in results.values()
        for result in tracker_results
    ]
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def summarize(results: Mapping[str, list[SequenceResult]], overall: Mapping[str, Scores], dataset: str) -> dict:
    """JSON-ready summary: thresholds and, per tracker, dataset metrics, robustness (with every return's
    re-acquisition delay, null: never, and why each return missed in time was: ``lost_search.MissCause``), mean
    timings, curves (null: undefined) and the device of its first run (null: not recorded)."""
    trackers = {}
    for name, tracker_results in results.items():
        scores = overall[name]
        robustness = pool_robustness(result.robustness for result in tracker_results)
        numbers = {
            **scores.summary(),
            **robustness.summary(),
            **timing_summary(np.concatenate([result.tracked_timings_ms for result in tracker_results])),
        }
        trackers[name] = {
            "sequences": len(tracker_results),
            "scored_frames": scores.num_frames,
            **{key: _finite_or_none(value) for key, value in numbers.items()},
            "reacquisition_delays": {result.sequence: list(result.robustness.reacquisition_delays)
                                     for result in tracker_results if result.robustness.reacquisition_delays},
            **{plot.curve: _finite_list(getattr(scores, plot.curve)) for plot in PLOTS},
            "device": None if tracker_results[0].device is None else tracker_results[0].device.to_json(),
            "lost_search": verdict_counts(hit for result in tracker_results for hit in result.search_hits),
            "missed_returns": cause_counts(cause for result in tracker_results for cause in result.miss_causes),
            "miss_causes": {result.sequence: [None if cause is None else cause.value for cause in result.miss_causes]
                            for result in tracker_results if any(result.miss_causes)},
        }
    return {
        "dataset": dataset,
        "thresholds": {
            "success": SUCCESS_THRESHOLDS.tolist(),
            "precision_px": PRECISION_THRESHOLDS_PX.tolist(),
            "norm_precision": NORM_PRECISION_THRESHOLDS.tolist(),
        },
        "trackers": trackers,
    }


def plot_curves(path: Path, plot: _Plot, overall: Mapping[str, Scores], dataset: str = "") -> None:
    """One comparison plot of every tracker's curve, legend sorted by the plot's headline value.

    A tracker keeps its colour and line style (from its position in ``overall``) across plots.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.8))
    axes = figure.add_subplot()
    styles = {
        name: (f"C{index % 10}", _LINE_STYLES[index // 10 % len(_LINE_STYLES)]) for index, name in enumerate(overall)
    }
    values = {name: getattr(scores, plot.value) for name, scores in overall.items()}
    for name in sorted(overall, key=lambda name: np.nan_to_num(values[name], nan=-1.0), reverse=True):
        color, linestyle = styles[name]
        axes.plot(
            plot.thresholds,
            getattr(overall[name], plot.curve),
            label=f"{name} [{plot.value_label} {values[name]:.3f}]",
            color=color,
            linestyle=linestyle,
        )
    axes.set(
        title=f"{plot.title} on {dataset}" if dataset else plot.title,
        xlabel=plot.xlabel,
        ylabel=plot.ylabel,
        xlim=(plot.thresholds[0], plot.thresholds[-1]),
        ylim=(0.0, 1.02),
    )
    axes.grid(True)
    axes.legend(loc=plot.legend_location)
    figure.savefig(path, dpi=120, bbox_inches="tight")


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _finite_list(values: np.ndarray) -> list[float | None]:
    return [_finite_or_none(float(value)) for value in values]
