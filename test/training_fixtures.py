"""Shared set-up of the short real training runs: a config whose tiny generated dataset needs no download."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from asymtrack_ros.data.assets import fetch_assets
from asymtrack_ros.data.generator import GeneratorConfig
from asymtrack_ros.training.config import GenerateConfig, TrainConfig, to_dict
from asymtrack_ros.training.trainer import EPOCHS_CSV


def generated_config(tmp_path: Path, num_sequences: int, num_frames: tuple[int, int], **entries: Any) -> Path:
    """``tmp_path/train.yaml``: ``entries`` (e.g. ``model``) and a ``generate`` section making ``num_sequences``
    small sequences into ``tmp_path/data`` from procedural textures (``tmp_path/assets``)."""
    generate = GenerateConfig(
        path=str(tmp_path / "data"),
        num_sequences=num_sequences,
        workers=1,
        assets=str(tmp_path / "assets"),
        generator=GeneratorConfig(frame_size=(192, 144), num_frames=num_frames, target_size=(20.0, 32.0)),
    )
    fetch_assets(generate.assets, allow_download=False)  # hermetic: procedural textures
    config_path = tmp_path / "train.yaml"
    config_path.write_text(json.dumps({**entries, "generate": to_dict(TrainConfig(generate=generate))["generate"]}))
    return config_path


def epoch_losses(run_dir: Path) -> list[float]:
    """The per-epoch ``loss`` column of a run's ``epochs.csv``."""
    with (run_dir / EPOCHS_CSV).open() as handle:
        return [float(row["loss"]) for row in csv.DictReader(handle)]
