"""What the side-by-side benchmarks (``targets.py``, ``fusion.py``) share: their run options, the environment they
record, and how they report (a markdown table printed, the JSON written)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from asymtrack_ros.data.frame_sources import FrameSequence
from asymtrack_ros.host import host_summary
from asymtrack_ros.tracking import Tracker


def add_run_options(parser: argparse.ArgumentParser, frames: int) -> None:
    """--device, --threads, --frames (default ``frames``), --rounds, --warmup, --out."""
    parser.add_argument("--device", default="cpu", help="onnx device: cpu | cuda[:N] | tensorrt[:N] | auto")
    parser.add_argument("--threads", type=int, default=2,
                        help="the tracker's CPU threads (a fused local tracker takes one, the network the rest)")
    parser.add_argument("--frames", type=int, default=frames, help="frames per pass")
    parser.add_argument("--rounds", type=int, default=3, help="passes per configuration, taking turns")
    parser.add_argument("--warmup", type=int, default=5, help="frames dropped at the start of each pass")
    parser.add_argument("--out", type=Path, help="write the results here as JSON")


def environment(prog: str, argv: list[str] | None, args: argparse.Namespace, tracker: Tracker,
                sequence: FrameSequence, load_before: tuple[float, float, float]) -> dict[str, Any]:
    """The run's conditions: sequence, run options, device, CPU, load before and after, versions, command."""
    info = tracker.device_info
    return {
        "sequence": sequence.name, "frames": args.frames, "rounds": args.rounds, "warmup": args.warmup,
        "threads": args.threads, "device": info.device, "providers": list(info.providers), **host_summary(),
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "command": " ".join([prog, *sys.argv[1:]] if argv is None else [prog, *argv]),
    }


def report(table: str, results: dict[str, Any], out: Path | None) -> None:
    """Print ``table``; write ``results`` to ``out`` as JSON when given."""
    print(table)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
