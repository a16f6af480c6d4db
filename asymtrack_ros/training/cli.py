"""``asymtrack-train``: train a tracker (AsymTrack, HiT, DyTrack) with SSTrack or random pair sampling.

DyTrack trains in two stages (``dytrack.stage``; :mod:`asymtrack_ros.training.distillation`).

A ``generate`` section makes its synthetic dataset first when the dataset's ``list.txt`` is missing (rank 0 under
``torchrun``; the others wait for it). Under ``torchrun`` the processes train together (DistributedDataParallel,
:mod:`asymtrack_ros.training.distributed`).
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.data.assets import DEFAULT_CACHE, fetch_assets
from asymtrack_ros.data.datasets import SourceConfig, load_sources
from asymtrack_ros.data.generator import generate_dataset
from asymtrack_ros.dataset_layouts import DatasetError
from asymtrack_ros.progress import Progress
from asymtrack_ros.training.config import GenerateConfig, TrainConfig, load_config
from asymtrack_ros.training.distributed import DistributedContext, from_environment, shutdown
from asymtrack_ros.training.trainer import EPOCHS_CSV, LOSS_PLOT, SCALARS_CSV, Trainer

EXAMPLES = (
    "asymtrack-train config/train_asymtrack_tiny_synthetic.yaml --device cpu --threads 1",
    "asymtrack-train config/train_asymtrack_tiny_synthetic.yaml --run-dir runs/short \\\n"
    "    --set optim.epochs=10 --set sampling.mode=random",
    "torchrun --nproc_per_node 4 -m asymtrack_ros.training config/train_asymtrack_tiny_synthetic.yaml --device cuda",
    "asymtrack-train config/train_dytrack_tiny_stage1.yaml --device cpu --threads 1   # then ..._stage2.yaml",
)


def ensure_generated(generate: GenerateConfig) -> SourceConfig:
    """Generate the configured synthetic dataset unless its ``list.txt`` exists; return it as a GOT-10k source."""
    root = Path(generate.path)
    if not (root / "list.txt").is_file():
        library = fetch_assets(generate.assets or DEFAULT_CACHE, extras=generate.split == "train")
        logging.getLogger(__name__).info(
            "generating %d %s sequences into %s", generate.num_sequences, generate.split, root
        )
        with Progress(generate.num_sequences, "generating") as progress:
            generate_dataset(
                root,
                library,
                generate.num_sequences,
                generate.split,
                generate.seed,
                generate.generator,
                generate.workers or None,
                progress=progress.advance,
            )
    return SourceConfig("got10k", str(root))


def train(config: TrainConfig, context: DistributedContext | None = None) -> Trainer:
    """Prepare the sources (generating if configured, on rank 0) and train to the last epoch."""
    context = context or DistributedContext()
    sources = list(config.sources)
    if config.generate is not None:
        if context.is_main:
            ensure_generated(config.generate)
        context.barrier()
        sources.append(ensure_generated(config.generate))
    videos, stills = load_sources(sources)
    trainer = Trainer(config, videos, stills, context)
    trainer.fit()
    return trainer


def build_parser() -> argparse.ArgumentParser:
    """The ``asymtrack-train`` command line."""
    parser = command_parser(
        "asymtrack-train",
        "Train a tracker (AsymTrack, HiT, DyTrack) with SSTrack or random pair sampling.",
        EXAMPLES,
        "Run the same command again after an interruption and it resumes from the run directory.\n"
        "--set section.key=value overrides any config entry. A 'generate' section makes its synthetic\n"
        "dataset first when the dataset's list.txt is missing. The run directory gets the checkpoints,\n"
        f"{SCALARS_CSV}, {EPOCHS_CSV} and {LOSS_PLOT} (the loss curve, redrawn after every epoch).",
    )
    parser.add_argument("config", type=Path, help="YAML or JSON training config (see config/train_*.yaml)")
    parser.add_argument("--run-dir", help="output directory (overrides run.run_dir)")
    parser.add_argument("--device", help="cpu, cuda, cuda:N or auto (overrides run.device)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (overrides run.threads)")
    parser.add_argument("--workers", type=int, help="data loader processes (overrides run.workers)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config entry, e.g. optim.epochs=10 (repeat for several)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``asymtrack-train``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        config = load_config(args.config, args.set)
    except (OSError, ValueError) as error:
        parser.error(f"config {args.config}: {error}")
    run_overrides = {
        key: value
        for key, value in (
            ("run_dir", args.run_dir),
            ("device", args.device),
            ("threads", args.threads),
            ("workers", args.workers),
        )
        if value is not None
    }
    config = replace(config, run=replace(config.run, **run_overrides))
    context = from_environment(config.run.device)  # torchrun's processes join one group; else a single process
    try:
        train(config, context)
    except DatasetError as error:
        parser.error(str(error))
    finally:
        shutdown(context)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
