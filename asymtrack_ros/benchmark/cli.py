"""``asymtrack-bench``: several backend/model/variant combos side by side, same frames, one process."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from asymtrack_ros.benchmark.combos import Combo, TrackerFactory, parse_combo
from asymtrack_ros.benchmark.measure import Measurement, network_times, rss_mb
from asymtrack_ros.benchmark.report import markdown_table
from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.data.frame_sources import FrameSequence, select_sequence
from asymtrack_ros.host import host_summary
from asymtrack_ros.models.config import canonical_variant
from asymtrack_ros.tracking.siamese import SiameseTracker

NOTES = (
    "Every combo first warms up, then the combos take turns over --rounds full passes of the sequence\n"
    "(so that host load spreads over all of them); the per-frame samples of all rounds are pooled."
)
EXAMPLES = (
    "asymtrack-bench --combo torch:asymtrack:tiny --combo onnx:asymtrack:tiny:fp32 \\\n"
    "    --combo onnx:asymtrack:tiny:int8 --combo opencv:csrt --threads 2 --out bench.json",
    "asymtrack-bench --combo onnx:models/asymtrack-tiny --video clip.mp4 --init-box 100,80,60,40 --no-spin",
)


def run_benchmark(
    combos: list[Combo], sequence: FrameSequence, factory: TrackerFactory, rounds: int = 3, warmup: int = 5,
    device: str = "cpu",
) -> dict:
    """Benchmark every combo on ``sequence``; returns ``{"environment": ..., "results": [...]}``."""
    load_before = os.getloadavg()
    cv2.setNumThreads(factory.threads)  # the crops' cv2.resize runs with the same thread count everywhere
    for combo in combos:  # exports and shared weights first, so that tracker creation alone is measured
        if combo.backend == "onnx":
            factory.model_dir(combo)
    trackers, measurements = {}, {}
    warmup_sequence = FrameSequence(sequence.name, sequence.frames[: warmup + 1], sequence.init_box)
    for combo in combos:
        before = rss_mb()
        trackers[combo.label] = factory.create(combo, device)
        Measurement().run(trackers[combo.label], warmup_sequence)
        measurements[combo.label] = Measurement(rss_growth_mb=rss_mb() - before)
    for _ in range(rounds):
        for combo in combos:
            measurements[combo.label].run(trackers[combo.label], sequence)
    results: list[dict[str, Any]] = []
    baselines: dict[tuple[str, str], np.ndarray] = {}
    for combo in combos:
        tracker, measurement = trackers[combo.label], measurements[combo.label]
        result = {"combo": combo.label, "backend": combo.backend, "model": combo.model, "variant": combo.variant,
                  "precision": combo.precision, "device": tracker.device_info.device,
                  "providers": list(tracker.device_info.providers), "warnings": list(tracker.device_info.warnings),
                  **measurement.summary()}
        boxes = measurement.boxes[-1]
        if isinstance(tracker, SiameseTracker):
            result.update(network_times(tracker, sequence, boxes))
            baseline = baselines.setdefault((combo.model, combo.variant), boxes)
            result["box_deviation_px"] = float(np.abs(boxes - baseline).mean())
        if combo.exit_thresholds is not None:
            result["exit_thresholds"] = list(combo.exit_thresholds)
        results.append(result)
    add_full_depth_speedups(combos, results)
    environment = {
        "sequence": sequence.name, "frames": len(sequence.frames), "rounds": rounds, "warmup": warmup,
        "threads": factory.threads, "spinning": factory.spinning, "device": device, **host_summary(),
        "load_average_before": list(load_before), "load_average_after": list(os.getloadavg()),
        "peak_rss_mb": rss_mb("VmHWM"),
    }
    return {"environment": environment, "results": results}


def add_full_depth_speedups(combos: list[Combo], results: list[dict[str, Any]]) -> None:
    """``speedup_vs_full_depth`` of each early-exit combo: frame p50 of the same backend, model, variant and
    precision with thresholds that never exit (all >= 1) over its own frame p50."""
    full_depth = {
        (combo.backend, combo.model, combo.variant, combo.precision): result["frame_ms"]["p50"]
        for combo, result in zip(combos, results, strict=True)
        if combo.exit_thresholds is not None and min(combo.exit_thresholds) >= 1
    }
    for combo, result in zip(combos, results, strict=True):
        key = (combo.backend, combo.model, combo.variant, combo.precision)
        if combo.exit_thresholds is not None and key in full_depth:
            result["speedup_vs_full_depth"] = full_depth[key] / result["frame_ms"]["p50"]


def _weights_option(text: str) -> tuple[tuple[str, str], Path]:
    key, equals, path = text.partition("=")
    model, _, variant = key.partition(":")
    if not equals or not model or not variant:
        raise argparse.ArgumentTypeError(f"--weights {text!r} is not MODEL:VARIANT=CHECKPOINT")
    return (model.lower(), canonical_variant(variant)), Path(path)


def _combo_option(text: str) -> Combo:
    try:
        return parse_combo(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def build_parser() -> argparse.ArgumentParser:
    """The ``asymtrack-bench`` command line."""
    parser = command_parser(
        "asymtrack-bench", "Benchmark tracker combos side by side on the same frames, in one process.", EXAMPLES, NOTES
    )
    parser.add_argument("--combo", action="append", type=_combo_option, required=True,
                        help="torch:MODEL:VARIANT, onnx:MODEL:VARIANT[:fp32|fp16|int8], onnx:MODEL_DIR, "
                             "opencv:csrt|kcf|mil (repeat)")
    parser.add_argument("--video", help="benchmark on this video instead of the reference/generated frames")
    parser.add_argument("--init-box", type=lambda s: tuple(float(v) for v in s.split(",")), metavar="X,Y,W,H",
                        help="x,y,w,h on the video's first frame (default: a centred box)")
    parser.add_argument("--source", choices=("auto", "reference", "generated"), default="auto",
                        help="frames without --video: the reference Megamind frames (auto: when present) or generated")
    parser.add_argument("--frames", type=int, default=40, help="frames per pass")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the sequence per combo")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up frames per combo (not timed)")
    parser.add_argument("--threads", type=int, default=2, help="torch, onnxruntime and OpenCV threads")
    parser.add_argument("--device", default="cpu",
                        help="device of the network backends (cpu, cuda, cuda:N; onnx combos also tensorrt, "
                             "tensorrt:N, auto); the providers used are in the device column")
    parser.add_argument("--no-spin", action="store_true",
                        help="idle worker threads sleep instead of spinning (OMP_WAIT_POLICY=PASSIVE for torch, "
                             "onnxruntime allow_spinning=0, onnx's default anyway): fairer on a CPU shared with "
                             "other busy processes")
    parser.add_argument("--weights", action="append", type=_weights_option, default=[],
                        metavar="MODEL:VARIANT=CHECKPOINT",
                        help="weights of a model (default: seeded random weights, fine for speed; repeat)")
    parser.add_argument("--export-dir", help="keep exported model directories here (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=0, help="seed of random weights and the generated sequence")
    parser.add_argument("--out", help="write the JSON results here")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: prints the markdown table, optionally writes JSON."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.no_spin:
        if "torch" in sys.modules:
            parser.error("--no-spin must be set before torch is imported")
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # read by torch's OpenMP runtime when torch loads
    labels = [combo.label for combo in args.combo]
    if len(set(labels)) != len(labels):
        parser.error(f"duplicate combos in {labels}")
    try:
        sequence = select_sequence(args.source, args.frames, args.seed, args.video, args.init_box)
    except ValueError as error:
        parser.error(str(error))
    with tempfile.TemporaryDirectory(prefix="asymtrack-bench-") as scratch:
        work_dir = Path(args.export_dir or scratch)
        factory = TrackerFactory(work_dir, args.threads, dict(args.weights), args.seed,
                                 spinning=False if args.no_spin else None)
        report = run_benchmark(args.combo, sequence, factory, args.rounds, args.warmup, args.device)
    report["environment"]["command"] = " ".join(["asymtrack-bench", *(argv if argv is not None else sys.argv[1:])])
    print(markdown_table(report))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
