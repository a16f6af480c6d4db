"""``asymtrack-generate``: write synthetic tracking sequences (GOT-10k layout) from registry-package images.

Example::

    asymtrack-generate --out data/synthetic-heldout --split heldout --num-sequences 30 --seed 7
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

from asymtrack_ros.data.assets import DEFAULT_CACHE, SPLITS, fetch_assets
from asymtrack_ros.data.generator import LEAVE_VIEW_MODES, GeneratorConfig, generate_dataset


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``asymtrack-generate``."""
    parser = argparse.ArgumentParser(prog="asymtrack-generate", description=__doc__.splitlines()[0].split(": ", 1)[1])
    parser.add_argument("--out", required=True, type=Path, help="dataset directory to write (resumable)")
    parser.add_argument("--split", default="train", choices=SPLITS, help="asset split (heldout: held-out images)")
    parser.add_argument("--num-sequences", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, help="processes (default: every core)")
    parser.add_argument("--leave-view", default="random", choices=LEAVE_VIEW_MODES, help="target exits and returns")
    parser.add_argument("--num-frames", type=int, nargs=2, metavar=("MIN", "MAX"), help="sequence length range")
    parser.add_argument("--assets", type=Path, default=DEFAULT_CACHE, help=f"asset cache (default {DEFAULT_CACHE})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = GeneratorConfig()
    if args.num_frames:
        config = replace(config, num_frames=tuple(args.num_frames))
    library = fetch_assets(args.assets, extras=args.split == "train")
    if library.procedural:
        logging.warning("registries unreachable: the sequences use procedural textures only")
    names = generate_dataset(
        args.out, library, args.num_sequences, args.split, args.seed, config, args.workers, args.leave_view
    )
    print(f"{len(names)} sequences in {args.out}")
    return 0
