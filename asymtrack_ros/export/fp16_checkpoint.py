"""Store a checkpoint's floating-point tensors in fp16: half the size on disk for a shipped model directory.

``load_weights`` copies them into the fp32 model (``load_state_dict`` casts), so the export and the torch backend
run the fp16-rounded weights in fp32. Export the ONNX graphs from the fp16 file, so that both backends hold
the same weights.

    python -m asymtrack_ros.export.fp16_checkpoint RUN_DIR/checkpoint.pth models/dytrack-tiny/checkpoint.pth
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch

from asymtrack_ros.checkpoint import CheckpointError, StateDict, read_checkpoint
from asymtrack_ros.cli_support import command_parser


def half_precision(state: StateDict) -> StateDict:
    """``state`` with every floating-point tensor in fp16 (integer buffers unchanged)."""
    return {key: value.half() if value.is_floating_point() else value for key, value in state.items()}


def write_fp16_checkpoint(source: Path, destination: Path) -> float:
    """Write ``{"net": half_precision(state)}`` of ``source`` to ``destination``; returns the largest rounding."""
    state = read_checkpoint(source)
    half = half_precision(state)
    rounding = max((float((half[k].float() - v.float()).abs().max()) for k, v in state.items()
                    if v.is_floating_point() and v.numel()), default=0.0)
    destination.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"net": half}, destination)
    return rounding


def build_parser() -> argparse.ArgumentParser:
    """The command line of this module."""
    parser = command_parser("python -m asymtrack_ros.export.fp16_checkpoint", __doc__.splitlines()[0],
                            (__doc__.strip().splitlines()[-1].strip(),))
    parser.add_argument("source", type=Path, help="checkpoint to read ({'net': state_dict})")
    parser.add_argument("destination", type=Path, help="fp16 checkpoint to write")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rounding = write_fp16_checkpoint(args.source, args.destination)
    except (CheckpointError, OSError) as error:  # unreadable source, unwritable destination
        parser.error(str(error))
    print(f"wrote {args.destination} (largest weight change {rounding:.3g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
