"""``python -m asymtrack_ros.benchmark.targets``: the per-frame cost of tracking 1, 2, 4, ... targets at once, one
batched search pass against one pass per target, side by side in one run (JSON and a markdown table).

Each configuration is a :class:`TargetSet` over the same frames, the targets spread over a grid of the image; the
configurations take turns, round after round, so host load spreads over all of them. A frame's time is the whole
``TargetSet.step`` (crops, network, post-processing, appearance check and lost monitor of every target).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from asymtrack_ros.benchmark.measure import percentiles
from asymtrack_ros.benchmark.side_by_side import add_run_options, environment, report
from asymtrack_ros.boxes import Box
from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.data.frame_sources import FrameSequence, select_sequence
from asymtrack_ros.tracking import Tracker, create_tracker
from asymtrack_ros.tracking.monitor import LostPolicy
from asymtrack_ros.tracking.targets import MAX_TARGETS_LIMIT, TargetSet

PROG = "python -m asymtrack_ros.benchmark.targets"
MODES = {"batched": True, "sequential": False}


def grid_boxes(count: int, height: int, width: int) -> list[Box]:
    """``count`` square boxes centred in the cells of a near-square grid over the image."""
    columns = next(c for c in range(1, count + 1) if c * c >= count)
    rows = -(-count // columns)
    side = min(height / rows, width / columns) / 3
    return [((index % columns + 0.5) * width / columns - side / 2, (index // columns + 0.5) * height / rows - side / 2,
             side, side) for index in range(count)]


def frame_times(tracker: Tracker, sequence: FrameSequence, count: int, batch: bool, warmup: int) -> list[float]:
    """ms per ``TargetSet.step`` of ``count`` targets over the sequence (the first ``warmup`` frames dropped)."""
    first = sequence.frames[0]
    targets = TargetSet(tracker.spawn(), LostPolicy(), max_targets=count, batch=batch)
    for index, box in enumerate(grid_boxes(count, first.shape[0], first.shape[1])):
        targets.set(first, box, f"target-{index + 1}")
    times = []
    for image in sequence.frames[1:]:
        start = time.perf_counter()
        targets.step(image)
        times.append((time.perf_counter() - start) * 1e3)
    return times[warmup:]


def run(tracker: Tracker, sequence: FrameSequence, counts: list[int], rounds: int, warmup: int
        ) -> list[dict[str, Any]]:
    """Per (targets, mode): frame-time percentiles and the p50 over the one-target p50 of the same mode."""
    samples: dict[tuple[int, str], list[float]] = {(count, mode): [] for count in counts for mode in MODES}
    for _ in range(rounds):
        for count, mode in samples:
            samples[count, mode] += frame_times(tracker, sequence, count, MODES[mode], warmup)
    results: list[dict[str, Any]] = [
        {"targets": count, "mode": mode, "frame_ms": percentiles(times), "frames": len(times)}
        for (count, mode), times in samples.items()
    ]
    single = {r["mode"]: r["frame_ms"]["p50"] for r in results if r["targets"] == 1}
    for result in results:
        if result["mode"] in single:
            result["p50_vs_one_target"] = result["frame_ms"]["p50"] / single[result["mode"]]
    return results


def markdown_table(results: list[dict[str, Any]]) -> str:
    """targets | batched p50, p90, x one target | sequential p50, p90, x one target."""
    rows = ["| targets | batched p50 ms | batched p90 ms | batched x 1 target | sequential p50 ms | sequential p90 ms "
            "| sequential x 1 target |", "|---:|---:|---:|---:|---:|---:|---:|"]
    by_key = {(r["targets"], r["mode"]): r for r in results}
    for count in sorted({r["targets"] for r in results}):
        cells = []
        for mode in MODES:
            result = by_key[count, mode]
            ratio = result.get("p50_vs_one_target")
            cells += [f"{result['frame_ms']['p50']:.2f}", f"{result['frame_ms']['p90']:.2f}",
                      f"{ratio:.2f}" if ratio is not None else "-"]
        rows.append(f"| {count} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def build_parser() -> argparse.ArgumentParser:
    """The command line of this module."""
    parser = command_parser(
        PROG,
        "Per-frame time of tracking several targets at once: one batched search pass vs one pass per target,\n"
        "on the reference Megamind frames (generated frames when the reference data is absent).",
        (f"{PROG} --targets 1 2 4 --threads 2 --out benchmarks/multi_target_cpu_2core.json",),
    )
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="ONNX model directory exported with --dynamic-batch (default: the shipped model)")
    parser.add_argument("--targets", type=int, nargs="+", default=[1, 2, 4],
                        help=f"target counts to compare, 1..{MAX_TARGETS_LIMIT} (1 is added when missing)")
    add_run_options(parser, frames=40)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the comparison, print the table, write ``--out``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    counts = sorted({1, *args.targets})
    if counts[-1] > MAX_TARGETS_LIMIT or args.frames <= args.warmup + 1:
        parser.error(f"--targets must be 1..{MAX_TARGETS_LIMIT} and --frames larger than --warmup + 1")
    tracker = create_tracker("onnx", model_dir=args.model_dir, device=args.device, threads=args.threads)
    sequence = select_sequence("auto", args.frames)
    load_before = os.getloadavg()
    results = run(tracker, sequence, counts, args.rounds, args.warmup)
    conditions = environment(PROG, argv, args, tracker, sequence, load_before)
    conditions["batched_search"] = TargetSet(tracker, LostPolicy()).batches
    report(markdown_table(results), {"environment": conditions, "results": results}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
