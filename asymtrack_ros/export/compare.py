"""Compare a reduced-precision model directory with its fp32 one on real frames (box deviation in pixels)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.data.frame_sources import select_sequence
from asymtrack_ros.export.deviation import box_deviation

PROG = "python -m asymtrack_ros.export.compare"


def build_parser() -> argparse.ArgumentParser:
    """The command line of this module."""
    parser = command_parser(
        PROG,
        "Box deviation (pixels) of a reduced-precision model directory from its fp32 one, both ways, as JSON,\n"
        "on the reference Megamind frames (generated frames when the reference data is absent).",
        (f"{PROG} models/asymtrack-tiny models/asymtrack-tiny-int8 --frames 100",),
    )
    parser.add_argument("reference_dir", type=Path, help="fp32 model directory")
    parser.add_argument("candidate_dir", type=Path, help="fp16/int8 model directory")
    parser.add_argument("--frames", type=int, default=40, help="frames to track")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Print :func:`box_deviation` of ``CANDIDATE_DIR`` from ``REFERENCE_DIR`` as JSON."""
    parser = build_parser()
    args = parser.parse_args(argv)
    sequence = select_sequence("auto", args.frames)
    deviation = box_deviation(args.reference_dir, args.candidate_dir, sequence.frames, sequence.init_box)
    print(json.dumps({**deviation, "sequence": sequence.name}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
