"""``python -m asymtrack_ros.benchmark.fusion``: the fused default's step with its local tracker updating beside the
network's search pass against after it, side by side in one run (JSON and a markdown table).

Modes, each a fused tracker of the given model directory on the same frames (``fusion.py``):

* ``concurrent``: ``Tracker.track``, the shipped path: the local tracker updates on its worker thread while the
  network searches on all ``threads``, whose idle threads sleep (``fusion.network_threads``);
* ``serial``: the same tracker, the network's pass first and the local update after it (``track_with``);
* ``spinning``: concurrent, with the network's idle threads spinning and one thread fewer for it (the previous
  release's default).

The modes take turns, round after round, so host load spreads over all of them. A frame's time is the tracker's
step (no session check). Each mode also reports how many of its boxes differ from the concurrent mode's and its
largest score difference: ``serial`` must give the same (the same arithmetic, in another order of the two parts);
``spinning`` may differ in the last digits (ONNX Runtime sums in another order on fewer threads).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from asymtrack_ros.benchmark.measure import percentiles
from asymtrack_ros.benchmark.side_by_side import add_run_options, environment, report
from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.data.frame_sources import FrameSequence, select_sequence
from asymtrack_ros.tracking import create_tracker
from asymtrack_ros.tracking.fusion import FusedTracker

PROG = "python -m asymtrack_ros.benchmark.fusion"
BASELINE = "spinning"

Outputs = list[tuple[tuple[float, ...], float | None]]


def fused_tracker(model_dir: Path | None, device: str, threads: int, spinning: bool = False) -> FusedTracker:
    """The model directory's tracker; SystemExit when its ``model.json`` fuses no local tracker."""
    tracker = create_tracker("onnx", model_dir=model_dir, device=device, threads=threads, spinning=spinning)
    if not isinstance(tracker, FusedTracker):
        raise SystemExit(f"{model_dir or 'the default model'} has no local tracker to fuse (model.json 'fusion')")
    return tracker


def pass_times(tracker: FusedTracker, sequence: FrameSequence, concurrent: bool, warmup: int
               ) -> tuple[list[float], Outputs]:
    """ms per step over the sequence (the first ``warmup`` frames dropped) and every step's box and score."""
    tracker.initialize(sequence.frames[0], sequence.init_box)
    times, outputs = [], []
    for image in sequence.frames[1:]:
        start = time.perf_counter()
        result = tracker.track(image) if concurrent else tracker.track_with(image, tracker.network.track(image))
        times.append((time.perf_counter() - start) * 1e3)
        outputs.append((tuple(result.box), result.score))
    return times[warmup:], outputs


def differences(outputs: Outputs, reference: Outputs) -> dict[str, float]:
    """How many boxes differ from ``reference`` 's, and the largest score difference (unscored steps: equal or inf)."""
    scores = [abs(a - b) if a is not None and b is not None else (0.0 if a == b else float("inf"))
              for (_, a), (_, b) in zip(outputs, reference, strict=True)]
    return {"differing_boxes": sum(box != other for (box, _), (other, _) in zip(outputs, reference, strict=True)),
            "max_score_difference": max(scores, default=0.0)}


def run(trackers: dict[str, FusedTracker], sequence: FrameSequence, rounds: int, warmup: int
        ) -> list[dict[str, Any]]:
    """Per mode: step-time percentiles, the p50 over the ``spinning`` p50, the differences from the concurrent
    mode's outputs (module docstring)."""
    samples: dict[str, list[float]] = {mode: [] for mode in trackers}
    outputs: dict[str, Outputs] = {}
    for _ in range(rounds):
        for mode, tracker in trackers.items():
            times, outputs[mode] = pass_times(tracker, sequence, mode == "concurrent", warmup)
            samples[mode] += times
    frame_ms = {mode: percentiles(times) for mode, times in samples.items()}
    return [{"mode": mode, "frame_ms": frame_ms[mode], "frames": len(samples[mode]),
             f"p50_vs_{BASELINE}": frame_ms[mode]["p50"] / frame_ms[BASELINE]["p50"],
             **differences(outputs[mode], outputs["concurrent"])} for mode in samples]


def markdown_table(results: list[dict[str, Any]]) -> str:
    """mode | p50 | p90 | x the previous release's default | boxes and largest score difference against concurrent."""
    rows = [f"| mode | p50 ms | p90 ms | p50 x {BASELINE} | boxes differing from concurrent | largest score "
            "difference |", "|---|---:|---:|---:|---:|---:|"]
    rows += [f"| {r['mode']} | {r['frame_ms']['p50']:.2f} | {r['frame_ms']['p90']:.2f} | "
             f"{r[f'p50_vs_{BASELINE}']:.2f} | {r['differing_boxes']} | {r['max_score_difference']:.1e} |"
             for r in results]
    return "\n".join(rows)


def build_parser() -> argparse.ArgumentParser:
    """The command line of this module."""
    parser = command_parser(
        PROG,
        "Per-frame time of the fused default: the local tracker updating beside the network's search pass\n"
        "against after it, on the reference Megamind frames (generated frames when they are absent).",
        (f"{PROG} --threads 2 --out benchmarks/fusion_cpu_2core.json",),
    )
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="ONNX model directory whose model.json fuses a local tracker (default: the shipped one)")
    add_run_options(parser, frames=60)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the comparison, print the table, write ``--out``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.threads < 2 or args.frames <= args.warmup + 1:  # 1 thread: spinning's network share would be all of it
        parser.error("--threads must be 2 or more and --frames larger than --warmup + 1")
    shared = fused_tracker(args.model_dir, args.device, args.threads)
    trackers = {"concurrent": shared, "serial": shared,
                BASELINE: fused_tracker(args.model_dir, args.device, args.threads, spinning=True)}
    sequence = select_sequence("auto", args.frames)
    load_before = os.getloadavg()
    results = run(trackers, sequence, args.rounds, args.warmup)
    conditions = environment(PROG, argv, args, shared, sequence, load_before)
    report(markdown_table(results), {"environment": conditions, "results": results}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
