"""Compare a reduced-precision model directory with its fp32 one on real frames (box deviation in pixels)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from asymtrack_ros.benchmark.sources import select_sequence
from asymtrack_ros.export.deviation import box_deviation


def main(argv: list[str] | None = None) -> int:
    """``python -m asymtrack_ros.export.compare FP32_DIR CANDIDATE_DIR``: both ways of :func:`box_deviation`
    on the reference Megamind frames (generated frames when the reference data is absent), as JSON."""
    parser = argparse.ArgumentParser(description="box deviation of a reduced-precision model directory")
    parser.add_argument("reference_dir", type=Path, help="fp32 model directory")
    parser.add_argument("candidate_dir", type=Path, help="fp16/int8 model directory")
    parser.add_argument("--frames", type=int, default=40)
    args = parser.parse_args(argv)
    sequence = select_sequence("auto", args.frames)
    deviation = box_deviation(args.reference_dir, args.candidate_dir, sequence.frames, sequence.init_box)
    print(json.dumps({**deviation, "sequence": sequence.name}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
